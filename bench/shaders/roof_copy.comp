#version 450
/* Copy bandwidth with a compute shader: the ceiling a memory-bound compute kernel (the library's
 * own) can reach. vkCmdCopyBuffer is no such ceiling: drivers may run it on a path that is slower
 * than the shader cores (an H100 measured 850 GB/s with it, against 3.0 TB/s for a CUDA copy).
 *
 * Each workgroup copies one tile of ROOF_COPY_UNROLL x 256 blocks of 16 bytes (uvec4, the widest
 * access a lane has). Invocation i takes blocks i, i + 256, i + 512, ... of its tile, so every load
 * and every store of a subgroup covers consecutive blocks (one 512-byte run for 32 lanes): fully
 * coalesced. With ROOF_COPY_UNROLL > 1 all loads are issued before any store, so each lane has that
 * many independent reads in flight; with 1, the bytes in flight come from occupancy alone.
 * One tile per workgroup over a large grid rather than a grid-stride loop: no loop overhead, and
 * the workgroup scheduler hands out the tiles in address order.
 *
 * Measured on an H100 80GB HBM3 (driver 580.159.04, 512 MiB buffers, read + write, two runs each):
 *   ROOF_COPY_UNROLL 1: 3007 / 3008 GB/s   2: 2985 / 2979   4: 2965 / 2968   8: 2925 / 2921
 * (vkCmdCopyBuffer: 850 GB/s; a CUDA device-to-device copy: 3.0 TB/s). One block per invocation
 * already matches the CUDA copy there and more per invocation was slightly slower, so 1 is the
 * default; the unrolled form stays for devices that need more reads in flight per lane. */

#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 256) in;

/* Blocks per invocation; roofline.c's ROOF_COPY_BLOCKS_PER_GROUP must be 256 times this. */
#ifndef ROOF_COPY_UNROLL
#define ROOF_COPY_UNROLL 1
#endif

layout(std430, set = 0, binding = 0) readonly restrict buffer Src { uvec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly restrict buffer Dst { uvec4 dst[]; };

layout(push_constant) uniform Params {
    uint blocks; /* 16-byte blocks to copy; the grid may overshoot it (x/y split, last tile) */
} pc;

void main()
{
    /* The grid is split over x and y when it exceeds maxComputeWorkGroupCount[0]. */
    uint tile = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    uint i = tile * (ROOF_COPY_UNROLL * 256u) + gl_LocalInvocationID.x;
    if (i + (ROOF_COPY_UNROLL - 1) * 256u < pc.blocks) {
        /* Every tile but (at most) the last: no per-block bounds checks. The loops are unrolled
         * (the array stays in registers) and the loads all come before the stores. */
        uvec4 v[ROOF_COPY_UNROLL];
        [[unroll]] for (uint j = 0u; j < ROOF_COPY_UNROLL; ++j)
            v[j] = src[i + j * 256u];
        [[unroll]] for (uint j = 0u; j < ROOF_COPY_UNROLL; ++j)
            dst[i + j * 256u] = v[j];
    } else {
        for (uint j = 0u; j < ROOF_COPY_UNROLL; ++j, i += 256u)
            if (i < pc.blocks)
                dst[i] = src[i];
    }
}
