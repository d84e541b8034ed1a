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
#define Q8CONV_KSPLIT_MAX 16
#define Q8CONV_KSPLIT_MIN_STEPS 8
/* local x * K_SPLIT * TILE_N4 at most: 256 x 64 bytes of partial sums is 16 KiB, the smallest
 * maxComputeSharedMemorySize Vulkan allows. */
#define Q8CONV_KSPLIT_SLOTS 256

#endif
