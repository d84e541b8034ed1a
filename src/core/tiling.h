/* The one place that owns the kernel's tile constants.
 *
 * Included by the C dispatch picker and, through glslang's -I path, by the GLSL kernels, so the
 * shape a shader computes and the grid the picker launches cannot drift apart. Only #defines may
 * live here (the file is read by both a C compiler and the GLSL preprocessor). */
#ifndef Q8CONV_TILING_H
#define Q8CONV_TILING_H

/* Widths per output block (4W) and channels per block (4C): fixed by the int8x4 packing. */
#define Q8CONV_BLOCK 4

/* Width blocks per invocation (TILE_M4). */
#define Q8CONV_TILE_M4 1

/* Output-channel blocks per invocation. TILE_N4 = 1 is the main kernel: a 4x4 output block and 16
 * int32 accumulators per invocation, which halves register pressure versus the legacy TILE_N4 = 2
 * kernel (8 output channels, 32 accumulators) and so raises occupancy on register-bound GPUs. */
#define Q8CONV_TILE_N4_MAIN 1
#define Q8CONV_TILE_N4_LEGACY 2

/* Invocations per workgroup that the picker aims for (a multiple of every common subgroup size). */
#define Q8CONV_WORKGROUP_INVOCATIONS 64

/* Split-K for grids too small to fill a GPU (7x7 layers with hundreds of input channels): a grid
 * of fewer invocations than Q8CONV_KSPLIT_BELOW shares each output block's K loop among up to
 * Q8CONV_KSPLIT_MAX invocations of one workgroup, each taking at least Q8CONV_KSPLIT_MIN_STEPS
 * K steps; their int32 partial sums meet in shared memory, so the result is unchanged. */
#define Q8CONV_KSPLIT_BELOW 32768
#define Q8CONV_KSPLIT_MAX 64
#define Q8CONV_KSPLIT_MIN_STEPS 4
/* local x * K_SPLIT * TILE_N4 at most: 256 x 64 bytes of partial sums is 16 KiB, the smallest
 * maxComputeSharedMemorySize Vulkan allows. */
#define Q8CONV_KSPLIT_SLOTS 256
/* The fewest channel blocks a split plan's workgroup row keeps (where the layer has as many): a
 * subgroup's weight loads then stay at least 64 contiguous bytes while the slices take the rest
 * of the workgroup. */
#define Q8CONV_KSPLIT_MIN_LANES 4
/* The invocations of a split plan's workgroup (lx * K_SPLIT * lw, x never below
 * Q8CONV_KSPLIT_MIN_LANES); z fills it only to Q8CONV_WORKGROUP_INVOCATIONS. */
#define Q8CONV_KSPLIT_INVOCATIONS 256
/* When the block kernels load their channel constants before the K loop (EARLY_PARAMS): 0 never,
 * 1 in split-K plans (small grids, where latency and not occupancy bounds the time), 2 always. */
#define Q8CONV_EARLY_PARAMS 1
/* K steps per pass of the block kernels' K loop (every load of a pass in flight at once): 4, 8
 * or 16 (the shader's UNROLL_MAX). Tuning builds may deepen it for grids below
 * Q8CONV_KSPLIT_BELOW invocations (Q8CONV_TUNE_UNROLL); 8 and 16 measured no faster there on the
 * H200 (bench/RESULTS.md, call 7). */
#define Q8CONV_UNROLL_K 4

/* ---- the cooperative-matrix kernel (shaders/q8conv_pw_coopmat.comp) ---- */

/* The matrix product shape it is written for: int8 A (M x K) times int8 B (K x N) into int32
 * (M x N) at subgroup scope. AUTO uses the kernel only where the device lists this shape. */
#define Q8CONV_CM_M 16
#define Q8CONV_CM_N 16
#define Q8CONV_CM_K 32

/* Repacked weights: one row per output channel, rows padded to a multiple of Q8CONV_CM_N, each
 * row's K bytes zero-padded to a multiple of Q8CONV_CM_WEIGHT_K_ALIGN (the largest staged K step
 * of the menu below), so a tile's weight loads need no bounds check along K. */
#define Q8CONV_CM_WEIGHT_K_ALIGN 128

/* AUTO takes the cooperative-matrix kernel over the packed-dot one only for at least this many
 * output elements per run and weights (IC x OC) per op (src/core/dispatch_picker.c, q8conv_matrix_pays). */
#define Q8CONV_CM_MIN_OUTPUTS 32768
#define Q8CONV_CM_MIN_WEIGHTS 2048

/* The picker's menu of workgroup tiles, largest first: pixels (BM) x output channels (BN) per
 * workgroup, pixels x channels per subgroup (SG_M x SG_N, multiples of Q8CONV_CM_M/N), bytes of K
 * staged per step (BK, a multiple of Q8CONV_CM_K dividing Q8CONV_CM_WEIGHT_K_ALIGN) and the
 * shared-memory stages (2: double-buffered; 1: the next step waits in registers). A few fixed
 * entries keep the number of pipelines small. C only (an initializer list). */
#define Q8CONV_CM_TILE_MENU                                                                        \
    {256, 128, 64, 64, 64, 1}, /* 8 subgroups, 16 accumulator matrices each */                   \
    {128, 128, 64, 32, 64, 2}, /* 8 subgroups, 8 each */                                          \
    {64, 64, 32, 32, 128, 1},  /* 4 subgroups, 4 each */                                          \
    {64, 32, 32, 16, 64, 2},   /* 4 subgroups, 2 each */                                          \
    {32, 32, 16, 16, 64, 2}    /* 4 subgroups, 1 each */
#define Q8CONV_CM_TILE_COUNT 5

#endif
