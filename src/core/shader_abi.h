/* The one place that owns the interface between the host and the shaders: the specialization-
 * constant IDs and the push-constant block.
 *
 * Included by the C side (src/vk/pipelines.c fills the constants, src/pw.c the push constants)
 * and, through glslang's -I path, by every kernel in shaders/, so an ID or a field cannot mean
 * one thing to the host and another to a shader. Like tiling.h it holds only what both a C
 * compiler and the GLSL preprocessor read: #defines. */
#ifndef Q8CONV_SHADER_ABI_H
#define Q8CONV_SHADER_ABI_H

/* ---- specialization constants (constant_id) ---- */

/* The workgroup size (local_size_{x,y,z}_id). */
#define Q8CONV_SPEC_LOCAL_X 0
#define Q8CONV_SPEC_LOCAL_Y 1
#define Q8CONV_SPEC_LOCAL_Z 2
/* q8conv_bias_mode: 0 none, 1 float, 2 int32 (requant.glsl). */
#define Q8CONV_SPEC_BIAS_MODE 3
/* Invocations sharing one output block's K loop (the block kernels). */
#define Q8CONV_SPEC_K_SPLIT 4
/* The cooperative-matrix tile (q8conv_matrix_tile): BM, BN, SG_M, SG_N, BK, and its stages. */
#define Q8CONV_SPEC_TILE_BM 5
#define Q8CONV_SPEC_TILE_BN 6
#define Q8CONV_SPEC_TILE_SG_M 7
#define Q8CONV_SPEC_TILE_SG_N 8
#define Q8CONV_SPEC_TILE_BK 9
/* The device's subgroup size (the matrix kernel's matrices are subgroup-scoped). */
#define Q8CONV_SPEC_SUBGROUP_SIZE 10
/* What every loaded input word is XORed with: 0x80808080 reads uint8 input as int8 (every kernel). */
#define Q8CONV_SPEC_INPUT_XOR 11
#define Q8CONV_SPEC_TILE_STAGES 12
/* Stage ablations (the shaders say what each level leaves out): 0, the real kernel, except in a
 * tuning build's bench runs (src/tuning.h, q8conv_tune_set_ablate). */
#define Q8CONV_SPEC_ABLATE 13
/* Strides other than 1 (STRIDED) and stored weight zero points other than 0 (WEIGHT_ZP): booleans;
 * both 0 is the kernel without them. */
#define Q8CONV_SPEC_STRIDED 14
#define Q8CONV_SPEC_WEIGHT_ZP 15
/* The block kernels: 1 loads the channel constants before the K loop (one memory round trip less
 * for grids too small to hide it, 12-16 registers more per invocation), 0 after it. */
#define Q8CONV_SPEC_EARLY_PARAMS 16
/* The block kernels: K steps per pass of the K loop (4, 8 or 16; q8conv_dispatch_plan.unroll). */
#define Q8CONV_SPEC_UNROLL_K 17
/* IDs 0 .. Q8CONV_SPEC_COUNT - 1 are all passed to every pipeline; a module that does not declare
 * one ignores it (Vulkan's rule). */
#define Q8CONV_SPEC_COUNT 18

/* ---- push constants ---- */

/* The block every kernel declares, member by member: M(GLSL type, name, byte offset), in std430
 * order. Names are the shaders'; a kernel that has no use for a member ignores it (the matrix
 * kernel, x_tiles). The host's struct (q8conv_push, below) is made from the same list and checked
 * against these offsets at compile time; each shader declares them with layout(offset), so
 * glslang checks its side too. */
#define Q8CONV_PUSH_MEMBERS(M)                                                                     \
    M(uvec3, base, 0)            /* this dispatch's first (x, y) invocation or tile; z: first row */ \
    M(uint, rows, 12)            /* end row (n*H + h) of the piece */                              \
    M(uint, W, 16)                                                                                 \
    M(uint, W4, 20)                                                                                \
    M(uint, C4_in, 24)                                                                             \
    M(uint, C4_out, 28)                                                                            \
    M(uint, OC, 32)                                                                                \
    M(uint, in_row_offset, 36)   /* row of element 0 of the bound input window */                  \
    M(uint, out_row_offset, 40)  /* row of element 0 of the bound output window */                 \
    M(uint, x_tiles, 44)         /* ceil(C4_out / TILE_N4): the block kernels */                   \
    M(float, z_y, 48)                                                                              \
    M(float, qmin, 52)                                                                             \
    M(float, qmax, 56)                                                                             \
    M(float, inv_y, 60)                                                                            \
    M(uint, in_W, 64)            /* STRIDED / WEIGHT_ZP pipelines only: the input's width, */     \
    M(uint, in_H, 68)            /* height, */                                                     \
    M(uint, out_H, 72)           /* the output's height, */                                        \
    M(uint, stride_h, 76)        /* the strides, */                                                \
    M(uint, stride_w, 80)                                                                          \
    M(uint, xsum_tail, 84)       /* 0x01010101 masked to the real channels of the last K block */
/* Within the 128 bytes of push constants that every Vulkan device allows. */
#define Q8CONV_PUSH_BYTES 88

/* GLSL: `layout(push_constant) uniform Push { Q8CONV_PUSH_MEMBERS(Q8CONV_PUSH_GLSL) } pc;` */
#define Q8CONV_PUSH_GLSL(type, name, offset_) layout(offset = offset_) type name;

/* C: the same block as a struct, and the checks that it is laid out as the shaders see it.
 * (glslang defines VULKAN when it compiles for Vulkan; a C compiler does not.) */
#ifndef VULKAN
#include <stddef.h>
#include <stdint.h>
#define Q8CONV_PUSH_C_uvec3(name) uint32_t name[3];
#define Q8CONV_PUSH_C_uint(name) uint32_t name;
#define Q8CONV_PUSH_C_float(name) float name;
#define Q8CONV_PUSH_C(type, name, offset_) Q8CONV_PUSH_C_##type(name)
typedef struct q8conv_push {
    Q8CONV_PUSH_MEMBERS(Q8CONV_PUSH_C)
} q8conv_push;
#define Q8CONV_PUSH_CHECK(type, name, offset_) \
    _Static_assert(offsetof(q8conv_push, name) == (offset_), "push constant " #name " is not where the shaders read it");
Q8CONV_PUSH_MEMBERS(Q8CONV_PUSH_CHECK)
_Static_assert(sizeof(q8conv_push) == Q8CONV_PUSH_BYTES, "the push-constant block is not Q8CONV_PUSH_BYTES long");
_Static_assert(Q8CONV_PUSH_BYTES <= 128, "push constants beyond the 128 bytes every device has");
#endif

#endif
