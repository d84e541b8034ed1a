#version 450
/* A layer's floor (roofline.c, bench_floor_layer): a copy that moves exactly the bytes one layer
 * moves, so that a layer chained with the compute barrier can be set beside the least any
 * dispatch moving its data could cost. It reads in_blocks 16-byte blocks of input and w_blocks of
 * weights (both from one buffer) and writes out_blocks of output: invocation i reads the i-th
 * block of the concatenated input and weights and writes the i-th output block, so each lane does
 * at most one 16-byte load and one 16-byte store, consecutive lanes touch consecutive blocks
 * (fully coalesced), and the grid has max(in + w, out) lanes: as many loads in flight as the data
 * allows. One block per lane is what copied fastest on the H100 (bench/shaders/roof_copy.comp).
 * A lane past the output still reads its block and stores it only where it equals pc.never, a
 * value the host never puts in the (zero-filled) source but the compiler cannot know, so no load
 * is removed. Lanes past both ends do nothing. Workgroup size: constant_id 0. */

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly restrict buffer Src { uvec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer Dst { uvec4 dst[]; };

layout(push_constant) uniform Params {
    uint in_base;    /* first block of this set's input in src */
    uint in_blocks;
    uint w_base;     /* first block of the weights in src */
    uint w_blocks;
    uint out_base;   /* first block of this set's output in dst */
    uint out_blocks;
    uint never;      /* a word the source never holds */
} pc;

void main()
{
    /* The grid is split over x and y when it exceeds maxComputeWorkGroupCount[0]. */
    const uint i = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * gl_WorkGroupSize.x +
                   gl_LocalInvocationID.x;
    const uint reads = pc.in_blocks + pc.w_blocks;
    uvec4 v = uvec4(i);
    if (i < pc.in_blocks)
        v = src[pc.in_base + i];
    else if (i < reads)
        v = src[pc.w_base + (i - pc.in_blocks)];
    if (i < pc.out_blocks)
        dst[pc.out_base + i] = v;
    else if (i < reads && v.x == pc.never)
        dst[pc.out_base] = v;
}
