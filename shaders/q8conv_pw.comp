#version 450
/* Pointwise int8 convolution: one invocation computes TILE_M4 x TILE_N4 output blocks of
 * 4 widths x 4 output channels. The arithmetic is SEMANTICS.md's, bit for bit.
 *
 * Compile-time variants (glslangValidator -D...):
 *   LEGACY             0: TILE_N4 = Q8CONV_TILE_N4_MAIN (16 accumulators), 1: Q8CONV_TILE_N4_LEGACY (32)
 *   USE_DOT            1: OpSDotAccSat on packed int8x4; 0: plain integer math (fallback)
 *   MIXED              with USE_DOT: 1 reads the activations as unsigned (OpSUDot, DOT_MIXED)
 *   IN_4W4C / OUT_4W4C 1: Q8CONV_LAYOUT_4W4C, 0: Q8CONV_LAYOUT_4C1W
 * uint8 activations need no variant: INPUT_XOR (below) reads a uint8 input as int8, and the host's
 * clamp bounds make the stored low byte a uint8 output value.
 * The layouts are compile-time so each buffer is declared with its natural element type (16-byte
 * blocks for 4W4C), which lets the GPU issue one 128-bit load per K step. */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_spirv_intrinsics : require
#extension GL_EXT_control_flow_attributes : require
#include "tiling.h"
#include "shader_abi.h"

#if LEGACY
#define TILE_N4 Q8CONV_TILE_N4_LEGACY
#else
#define TILE_N4 Q8CONV_TILE_N4_MAIN
#endif
#if Q8CONV_TILE_M4 != 1
#error "this kernel computes one width block per invocation"
#endif

layout(local_size_x_id = Q8CONV_SPEC_LOCAL_X, local_size_y_id = Q8CONV_SPEC_LOCAL_Y,
       local_size_z_id = Q8CONV_SPEC_LOCAL_Z) in;

/* 0 = no bias, 1 = float bias, 2 = int32 bias (q8conv_bias_mode). A specialization constant so the
 * unused requantization path folds away; it is never tested inside the K loop. */
layout(constant_id = Q8CONV_SPEC_BIAS_MODE) const int BIAS_MODE = 0;
#include "requant.glsl"

/* 1: each invocation runs its block's whole K loop. > 1 (split-K, for grids too small to fill the
 * device): the K_SPLIT invocations of one workgroup column (local y) each take a slice of the K
 * loop for the same output block and add their int32 partial sums in shared memory, which
 * leaves the result exactly as it was. The picker then sets local = {lx, K_SPLIT, lw}: x is the
 * channel blocks, y the slices, z lw width blocks, counted row after row across the piece
 * (src/core/dispatch_picker.c). */
layout(constant_id = Q8CONV_SPEC_K_SPLIT) const uint K_SPLIT = 1u;
/* Sized by K_SPLIT alone (glslang folds gl_WorkGroupSize to its default inside such expressions);
 * the picker keeps lx * K_SPLIT * lw * TILE_N4 <= Q8CONV_KSPLIT_SLOTS. */
const uint PARTIAL_SLOTS = K_SPLIT > 1u ? uint(Q8CONV_KSPLIT_SLOTS) * 4u : 1u;
shared ivec4 partial[PARTIAL_SLOTS];

/* 1: the channel constants are loaded before the K loop, so that their round trip to memory
 * overlaps the K loop's instead of following it: the picker asks for it where the grid is too
 * small to hide latency with other invocations; it costs registers, which mobile GPUs with large
 * grids would rather spend on occupancy. */
layout(constant_id = Q8CONV_SPEC_EARLY_PARAMS) const bool EARLY_PARAMS = false;

/* 0x80808080u reads uint8 input bytes as int8 (x - 128, with the zero point shifted alike on the
 * host, src/core/requant.c), so the int8 dot product serves both types; 0 (int8 input) folds away.
 * The MIXED kernel reads unsigned bytes instead: 0x80808080u for int8 input (x + 128), 0 for uint8
 * (q8conv_input_read_for, src/core/requant.c, owns the choice). */
layout(constant_id = Q8CONV_SPEC_INPUT_XOR) const uint INPUT_XOR = 0u;

/* Stage ablations, for the bench only (tuning builds set it through src/tuning.h; a release build
 * always specializes Q8CONV_SPEC_ABLATE to 0, so every ABLATE branch below folds away). Each level
 * leaves one stage out so that the time it saves can be measured; the output is wrong by design
 * and is never checked:
 *   0 the real kernel
 *   1 no K loop, so no input or weight loads and no products: the accumulators start from values
 *     of the invocation id (so the epilogue cannot be folded into constants), the epilogue and the
 *     stores run as usual; what remains is the dispatch, the addressing, the channel-param loads,
 *     the split-K reduction where there is one, the requantization and the stores
 *   2 no epilogue: the K loop, then the low byte of each raw accumulator is stored, with no
 *     channel-param loads and no requantization
 *   3 no stores: the K loop and the epilogue, then a store only where qmin > qmax, which the host
 *     never sets (q8conv_compute_requant) but the compiler cannot know, so no work is removed
 *   6 the skeleton: the grid, the addressing, one load of the channel constants and the store; no
 *     K loop, no split-K reduction (the other slices return at once), no requantization: what a
 *     layer costs before any of its arithmetic
 * The matrix kernel numbers levels 1-3 alike (and adds 4 and 5); levels a kernel does not know run
 * it as 0. */
layout(constant_id = Q8CONV_SPEC_ABLATE) const uint ABLATE = 0u;

/* ---- strides and weight zero points (SEMANTICS.md "The operator", src/core/requant.c) ----
 * STRIDED 1: output pixel (h, w) reads input pixel (stride_h * h, stride_w * w) (push constants
 * below); 0: stride 1, the addressing of before. WEIGHT_ZP 1: some stored weight zero point z_w'
 * is not 0, and each pixel's input sum xsum = sum_k x' is accumulated beside the K loop so that
 * z_w' * xsum can be subtracted; 0: nothing of it is compiled. Both 0 is the kernel of before. */
layout(constant_id = Q8CONV_SPEC_STRIDED) const bool STRIDED = false;
layout(constant_id = Q8CONV_SPEC_WEIGHT_ZP) const bool WEIGHT_ZP = false;

/* K steps per pass of the K loop, every load of a pass issued before its dot products (4, 8 or
 * 16; at most UNROLL_MAX): one pass is one round trip to memory. A specialization constant
 * (q8conv_dispatch_plan.unroll) so that deeper passes stay measurable; the picker keeps 4 (on the
 * H200, 8 and 16 were no faster on MobileNetV2's small grids: bench/RESULTS.md, call 7). */
layout(constant_id = Q8CONV_SPEC_UNROLL_K) const uint UNROLL_K = 4u;
#define UNROLL_MAX 16u

/* Tuning knob, overridable with -D: whether the dot product is the saturating OpSDotAccSat (1)
 * or OpSDot plus an add (0). */
#ifndef DOT_SAT
#define DOT_SAT 0
#endif
#ifndef MIXED
#define MIXED 0
#endif

#if USE_DOT
/* OpSDot with PackedVectorFormat4x8Bit (SPV_KHR_integer_dot_product), then a plain add: drivers
 * map the pair onto the hardware's dot-and-accumulate (NVIDIA's IDP4A), whereas the saturating
 * OpSDotAccSat has no such instruction and may be emulated. The sum never overflows:
 * |acc| <= 16384 * 128 * 128 = 2^28 for every valid IC. glslang 12 has no
 * GL_EXT_integer_dot_product, so the instruction is emitted directly. */
#if DOT_SAT
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4453)
int sdot_acc_sat(uint a, uint b, int acc, spirv_literal int fmt);
#define DOT4(a, b, acc) sdot_acc_sat((a), (b), (acc), 0)
#else
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_packed(uint a, uint b, spirv_literal int fmt);
#define DOT4(a, b, acc) ((acc) + sdot_packed((a), (b), 0))
#endif
#if MIXED
/* OpSUDot: Vector 1 (the weights) signed, Vector 2 (the activations) unsigned; some GPUs have a
 * native instruction for it only (Adreno 6xx/7xx: ir3's dp4acc). INPUT_XOR then makes the bytes
 * x + 128 for int8 input and leaves uint8 input as it is (src/core/requant.c folds the shift into the
 * per-channel constant). |acc| <= 16384 * 255 * 128 < 2^29 for every valid IC: int32 holds it. */
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4452)
int sudot_packed(uint signed_a, uint unsigned_b, spirv_literal int fmt);
#undef DOT4
#define DOT4(a, b, acc) ((acc) + sudot_packed((b), (a), 0))
#endif
#else
int dot4_plain(uint a, uint b, int acc)
{
    ivec4 va = ivec4(int(a) << 24, int(a) << 16, int(a) << 8, int(a)) >> 24;
    ivec4 vb = ivec4(int(b) << 24, int(b) << 16, int(b) << 8, int(b)) >> 24;
    return acc + va.x * vb.x + va.y * vb.y + va.z * vb.z + va.w * vb.w;
}
#define DOT4(a, b, acc) dot4_plain((a), (b), (acc))
#endif

#if IN_4W4C
layout(std430, set = 1, binding = 0) readonly buffer InputBuf { uvec4 in_blocks[]; };
#else
layout(std430, set = 1, binding = 0) readonly buffer InputBuf { uint in_words[]; };
#endif
#if OUT_4W4C
layout(std430, set = 2, binding = 0) writeonly buffer OutputBuf { uvec4 out_blocks[]; };
#else
layout(std430, set = 2, binding = 0) writeonly buffer OutputBuf { uint out_words[]; };
#endif
/* Block (oc4, ic4) at ic4 * C4_out + oc4 (K-major, so a warp's weight loads coalesce); word c holds
 * output channel 4*oc4+c, bytes = input channels 4*ic4..4*ic4+3. */
layout(std430, set = 0, binding = 0) readonly buffer WeightBuf { uvec4 weight_blocks[]; };
/* Per padded output channel: x = z_x' * wsum (z_x' = z_x + the read's shift, src/core/requant.c), minus
 * the int32 bias in BIAS_INT32 mode; y = eff bits, z = float bias bits, w = z_w' (WEIGHT_ZP). */
layout(std430, set = 0, binding = 1) readonly buffer ChannelBuf { uvec4 channel_params[]; };

/* The block of src/core/shader_abi.h (Q8CONV_PUSH_MEMBERS: base, rows, W, W4, C4_in, C4_out, OC,
 * in_row_offset, out_row_offset, x_tiles, z_y, qmin, qmax, inv_y, and for STRIDED / WEIGHT_ZP pipelines
 * in_W, in_H, out_H, stride_h, stride_w, xsum_tail; W, W4 and rows are the output's). */
layout(push_constant) uniform Push { Q8CONV_PUSH_MEMBERS(Q8CONV_PUSH_GLSL) } pc;


#if IN_4W4C
uvec4 load_input(uint base, uint k) { return in_blocks[base + k] ^ uvec4(INPUT_XOR); }
#else
uvec4 load_input(uint base[4], uint k)
{
    return uvec4(in_words[base[0] + k], in_words[base[1] + k], in_words[base[2] + k], in_words[base[3] + k]) ^
           uvec4(INPUT_XOR);
}
#endif

#if IN_4W4C
/* STRIDED: the four widths of an output block come from four input blocks (word sel[j] of block
 * base[j] + k), so each is a 4-byte load. */
uvec4 load_input_strided(uint base[4], uint sel[4], uint k)
{
    return uvec4(in_blocks[base[0] + k][sel[0]], in_blocks[base[1] + k][sel[1]], in_blocks[base[2] + k][sel[2]],
                 in_blocks[base[3] + k][sel[3]]) ^
           uvec4(INPUT_XOR);
}
#endif

/* WEIGHT_ZP: xsum[j] += the sum of width j's input bytes at K step k, real channels only. */
void input_sum(inout ivec4 xsum, uvec4 x, uint k)
{
    const uint ones = k + 1u == pc.C4_in ? pc.xsum_tail : 0x01010101u;
    [[unroll]] for (int j = 0; j < 4; ++j)
        xsum[j] = DOT4(x[j], ones, xsum[j]);
}

/* 16 packed dot products: acc[j][c] += x word j (width j) . weight word c (channel c). */
void dot_block(inout ivec4 acc[4], uvec4 x, uvec4 wt)
{
    [[unroll]] for (int j = 0; j < 4; ++j) {
        acc[j].x = DOT4(x[j], wt.x, acc[j].x);
        acc[j].y = DOT4(x[j], wt.y, acc[j].y);
        acc[j].z = DOT4(x[j], wt.z, acc[j].z);
        acc[j].w = DOT4(x[j], wt.w, acc[j].w);
    }
}

/* Stores one output block's words (4 widths of 4 channels): words wholly inside the width
 * padding are not written. */
void store_block(uint out_row, uint wb, uint w0, uint oc4, uvec4 words)
{
#if OUT_4W4C
    const uint out_idx = (out_row * pc.W4 + wb) * pc.C4_out + oc4;
    if (w0 + 4u <= pc.W) {
        out_blocks[out_idx] = words;
    } else {
        [[unroll]] for (int j = 0; j < 4; ++j)
            if (w0 + uint(j) < pc.W)
                out_blocks[out_idx][j] = words[j];
    }
#else
    [[unroll]] for (int j = 0; j < 4; ++j)
        if (w0 + uint(j) < pc.W)
            out_words[(out_row * pc.W + w0 + uint(j)) * pc.C4_out + oc4] = words[j];
#endif
}

void main()
{
    uvec3 gid = gl_GlobalInvocationID + pc.base;
    uint slice = 0u;
    if (K_SPLIT > 1u) {
        /* Split plans number the piece's width blocks row after row (pb), so that a workgroup's
         * lw blocks may span rows and share the weights they read through the cache. */
        const uint pb = pc.base.y + gl_WorkGroupID.y * gl_WorkGroupSize.z + gl_LocalInvocationID.z;
        gid = uvec3(pc.base.x + gl_GlobalInvocationID.x, pb % pc.W4, pc.base.z + pb / pc.W4);
        slice = gl_LocalInvocationID.y;
    }
    const bool live = gid.x < pc.x_tiles && gid.y < pc.W4 && gid.z < pc.rows;
    /* With split-K every invocation must reach the barrier below, live or not. */
    if (K_SPLIT == 1u && !live)
        return;
    uint k_begin = 0u, k_end = pc.C4_in;
    if (K_SPLIT > 1u) {
        const uint chunk = (pc.C4_in + K_SPLIT - 1u) / K_SPLIT;
        k_begin = min(slice * chunk, pc.C4_in);
        k_end = live ? min(k_begin + chunk, pc.C4_in) : k_begin;
    }
    const uint w0 = gid.y * 4u;
    uint in_row = gid.z - pc.in_row_offset;
    if (STRIDED) {
        const uint n = gid.z / pc.out_H;
        in_row = n * pc.in_H + pc.stride_h * (gid.z - n * pc.out_H) - pc.in_row_offset;
    }
    const uint out_row = gid.z - pc.out_row_offset;

    uint oc4[TILE_N4];
    uint wcol[TILE_N4];
    [[unroll]] for (int t = 0; t < TILE_N4; ++t) {
        oc4[t] = gid.x * TILE_N4 + t;
        /* A tile past the last channel block re-reads the last block; its results are not stored. */
        wcol[t] = min(oc4[t], pc.C4_out - 1u);
    }

    /* EARLY_PARAMS: the epilogue's channel constants, loaded now (see EARLY_PARAMS above). */
    uvec4 ch_early[TILE_N4][4];
    if (EARLY_PARAMS)
        [[unroll]] for (int t = 0; t < TILE_N4; ++t)
            [[unroll]] for (int c = 0; c < 4; ++c)
                ch_early[t][c] = channel_params[wcol[t] * 4u + uint(c)];

    ivec4 acc[TILE_N4][4];
    [[unroll]] for (int t = 0; t < TILE_N4; ++t)
        [[unroll]] for (int j = 0; j < 4; ++j)
            acc[t][j] = ivec4(0);

#if IN_4W4C
    uint in_idx = (in_row * pc.W4 + gid.y) * pc.C4_in;
    uint s_idx[4], s_sel[4];
    if (STRIDED) {
        const uint in_W4 = (pc.in_W + 3u) / 4u;
        [[unroll]] for (int j = 0; j < 4; ++j) {
            const uint iw = pc.stride_w * min(w0 + uint(j), pc.W - 1u);
            s_idx[j] = (in_row * in_W4 + (iw >> 2)) * pc.C4_in;
            s_sel[j] = iw & 3u;
        }
    }
#define LOAD_X(k) (STRIDED ? load_input_strided(s_idx, s_sel, (k)) : load_input(in_idx, (k)))
#else
    /* Widths past W re-read the last column; their results are masked at the store. */
    uint in_idx[4];
    [[unroll]] for (int j = 0; j < 4; ++j)
        in_idx[j] = (in_row * pc.W + min(w0 + uint(j), pc.W - 1u)) * pc.C4_in;
    if (STRIDED)
        [[unroll]] for (int j = 0; j < 4; ++j)
            in_idx[j] = (in_row * pc.in_W + pc.stride_w * min(w0 + uint(j), pc.W - 1u)) * pc.C4_in;
#define LOAD_X(k) load_input(in_idx, (k))
#endif
    ivec4 xsum = ivec4(0); /* WEIGHT_ZP: per width */

    if (ABLATE == 6u) {
        /* ABLATE 6: the skeleton (see ABLATE above). */
        if (slice != 0u || !live)
            return;
        const uint c0 = wcol[0] * 4u;
        store_block(out_row, gid.y, w0, oc4[0],
                    uvec4(channel_params[c0].x, channel_params[c0 + 1u].y, channel_params[c0 + 2u].z,
                          channel_params[c0 + 3u].x ^ in_row));
        return;
    }
    if (ABLATE == 1u) {
        /* ABLATE 1: no K loop (see ABLATE above). */
        [[unroll]] for (int t = 0; t < TILE_N4; ++t)
            [[unroll]] for (int j = 0; j < 4; ++j)
                acc[t][j] = ivec4(gid.x * 4u + uint(t), gid.y + uint(j), gid.z, k_begin);
        k_end = k_begin;
    }

    /* K steps are taken UNROLL_K at a time with every load issued before the dot products, so a
     * thread keeps several loads in flight: shapes with few pixels and many input channels
     * (7x7x960) have too few threads to hide memory latency any other way. The last pass is a
     * whole pass too (one round trip, not one per step): steps past k_end re-read step k_end - 1
     * and take zero weights and inputs, which add nothing, exactly. */
    for (uint k = k_begin; k < k_end; k += UNROLL_K) {
        uvec4 xs[UNROLL_MAX];
        uvec4 ws[UNROLL_MAX][TILE_N4];
        [[unroll]] for (uint u = 0u; u < UNROLL_K; ++u) {
            const uint kk = min(k + u, k_end - 1u);
            xs[u] = LOAD_X(kk);
            [[unroll]] for (int t = 0; t < TILE_N4; ++t)
                ws[u][t] = weight_blocks[kk * pc.C4_out + wcol[t]];
            if (k + u >= k_end) {
                xs[u] = uvec4(0u);
                [[unroll]] for (int t = 0; t < TILE_N4; ++t)
                    ws[u][t] = uvec4(0u);
            }
        }
        [[unroll]] for (uint u = 0u; u < UNROLL_K; ++u)
            [[unroll]] for (int t = 0; t < TILE_N4; ++t)
                dot_block(acc[t], xs[u], ws[u][t]);
        if (WEIGHT_ZP)
            [[unroll]] for (uint u = 0u; u < UNROLL_K; ++u)
                input_sum(xsum, xs[u], k + u);
    }
    /* WEIGHT_ZP: acc -= z_w'[channel] * xsum[width], here, before split-K adds the slices' sums:
     * the term is linear in the K range, so each slice may subtract its own part. */
    if (WEIGHT_ZP) {
        [[unroll]] for (int t = 0; t < TILE_N4; ++t) {
            const uint c0 = wcol[t] * 4u;
            const ivec4 zw = ivec4(int(channel_params[c0].w), int(channel_params[c0 + 1u].w),
                                   int(channel_params[c0 + 2u].w), int(channel_params[c0 + 3u].w));
            [[unroll]] for (int j = 0; j < 4; ++j)
                acc[t][j] -= zw * xsum[j];
        }
    }

    if (K_SPLIT > 1u) {
        /* Partial sum q (t * 4 + j) of slice s for cell c (a lane of a width block) lives at
         * (s * 4 * TILE_N4 + q) * cells + c: consecutive lanes touch consecutive 16 bytes. */
        const uint cells = gl_WorkGroupSize.x * gl_WorkGroupSize.z;
        const uint cell = gl_LocalInvocationID.z * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
        const uint parts = 4u * uint(TILE_N4);
        [[unroll]] for (int t = 0; t < TILE_N4; ++t)
            [[unroll]] for (int j = 0; j < 4; ++j)
                partial[(slice * parts + uint(t * 4 + j)) * cells + cell] = acc[t][j];
        /* barrier() alone: in a compute shader it is a Workgroup-scope control and memory barrier
         * on workgroup memory (AcquireRelease | WorkgroupMemory). memoryBarrierShared() would add
         * an OpMemoryBarrier at Device scope, which a device that enables vulkanMemoryModel (for
         * the matrix kernel) may only run with vulkanMemoryModelDeviceScope as well
         * (VUID-RuntimeSpirv-vulkanMemoryModel-06265, seen on the H200). Every barrier of every
         * kernel stays at workgroup scope or narrower; tests/spirv_scopes.cmake checks it. */
        barrier();
        /* The slices share the sums: slice s adds partial q = s, s + K_SPLIT, ... of its cell
         * over every slice, in a fixed order (integers: exact whatever the split), into slice 0's
         * place; no two invocations touch the same place. */
        for (uint q = slice; q < parts; q += K_SPLIT) {
            ivec4 sum = partial[q * cells + cell];
            for (uint s = 1u; s < K_SPLIT; ++s)
                sum += partial[(s * parts + q) * cells + cell];
            partial[q * cells + cell] = sum;
        }
        barrier();
        if (slice != 0u || !live)
            return;
        [[unroll]] for (int t = 0; t < TILE_N4; ++t)
            [[unroll]] for (int j = 0; j < 4; ++j)
                acc[t][j] = partial[uint(t * 4 + j) * cells + cell];
    }

    if (ABLATE == 2u) {
        /* ABLATE 2: no epilogue (see ABLATE above). */
        [[unroll]] for (int t = 0; t < TILE_N4; ++t) {
            if (oc4[t] >= pc.C4_out)
                break;
            uvec4 raw;
            [[unroll]] for (int j = 0; j < 4; ++j)
                raw[j] = (uint(acc[t][j].x) & 0xFFu) | ((uint(acc[t][j].y) & 0xFFu) << 8) |
                         ((uint(acc[t][j].z) & 0xFFu) << 16) | (uint(acc[t][j].w) << 24);
            store_block(out_row, gid.y, w0, oc4[t], raw);
        }
        return;
    }

    [[unroll]] for (int t = 0; t < TILE_N4; ++t) {
        if (oc4[t] >= pc.C4_out)
            break;
        const uint c0 = oc4[t] * 4u;
        uvec4 ch[4];
        [[unroll]] for (int c = 0; c < 4; ++c)
            ch[c] = EARLY_PARAMS ? ch_early[t][c] : channel_params[c0 + uint(c)];
        /* Bytes of padded output channels are 0 (SEMANTICS.md). */
        const uint live = min(pc.OC - c0, 4u);
        const uint keep = live >= 4u ? 0xFFFFFFFFu : ((1u << (8u * live)) - 1u);
        uvec4 words;
        [[unroll]] for (int j = 0; j < 4; ++j) {
            const uint word = requant_byte(acc[t][j].x, ch[0], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) |
                              (requant_byte(acc[t][j].y, ch[1], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) << 8) |
                              (requant_byte(acc[t][j].z, ch[2], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) << 16) |
                              (requant_byte(acc[t][j].w, ch[3], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) << 24);
            words[j] = word & keep;
        }
        if (ABLATE == 3u && !(pc.qmin > pc.qmax)) {
            /* ABLATE 3: no stores (see ABLATE above). */
            continue;
        }
        store_block(out_row, gid.y, w0, oc4[t], words);
    }
}
