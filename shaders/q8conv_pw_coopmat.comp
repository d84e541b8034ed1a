#version 450
/* Pointwise int8 convolution on cooperative matrices (VK_NV_cooperative_matrix, s8 x s8 -> s32).
 *
 * The convolution is a matrix product: A = input [pixels][K = input channels], B = weights
 * [K][output channels]. A workgroup computes a BM x BN tile of it (BM pixels x BN output
 * channels) with SUBGROUPS subgroups, each owning an SG_M x SG_N part as (SG_M/16) x (SG_N/16)
 * int32 accumulator matrices of Q8CONV_CM_M x Q8CONV_CM_N, fed by Q8CONV_CM_K-deep products.
 *
 * Pixels are counted in the layout's padded width Wp (W for 4C1W, 4*W4 for 4W4C), so in both
 * layouts pixel p's channel word k sits at a fixed formula of (p, k) and a tile may span rows;
 * pixels of the width padding are computed and never stored. Input and weight tiles are staged
 * through shared memory with plain 4- and 16-byte loads (bounds-checked, so no layout needs to
 * be a strided matrix and nothing is read out of range), double-buffered so that the next tile's
 * global loads are in flight while the matrix units work on this one: one barrier per K step.
 *
 * The int32 accumulators are exact (|acc| <= 16384 * 128 * 128 < 2^31). They go back through
 * shared memory, 16 pixels at a time, and are requantized by requant.glsl exactly as the packed
 * dot-product kernel does, so every kernel gives the same bytes.
 *
 * Compile-time variants: IN_4W4C, OUT_4W4C (as in q8conv_pw.comp).
 * Specialization constants (the picker's menu, src/core/dispatch_picker.c): see below. */
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_NV_cooperative_matrix : require
#extension GL_NV_integer_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require
#include "tiling.h"
#include "shader_abi.h"

/* 0: local size x = SUBGROUPS * SUBGROUP_SIZE (set by the host, equal to WG_SIZE below). */
layout(local_size_x_id = Q8CONV_SPEC_LOCAL_X, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = Q8CONV_SPEC_BIAS_MODE) const int BIAS_MODE = 0;
/* Workgroup tile (pixels x output channels), subgroup tile, K bytes staged per step. */
layout(constant_id = Q8CONV_SPEC_TILE_BM) const uint BM = 64u;
layout(constant_id = Q8CONV_SPEC_TILE_BN) const uint BN = 64u;
layout(constant_id = Q8CONV_SPEC_TILE_SG_M) const uint SG_M = 32u;
layout(constant_id = Q8CONV_SPEC_TILE_SG_N) const uint SG_N = 32u;
layout(constant_id = Q8CONV_SPEC_TILE_BK) const uint BK = 32u;
/* The device's subgroup size (the matrices are subgroup-scoped). */
layout(constant_id = Q8CONV_SPEC_SUBGROUP_SIZE) const uint SUBGROUP_SIZE = 32u;
/* 0x80808080u reads uint8 input bytes as int8 (x - 128); 0: int8 input. */
layout(constant_id = Q8CONV_SPEC_INPUT_XOR) const uint INPUT_XOR = 0u;
/* Shared-memory stages of the K loop: 2 (double-buffered, one barrier per step) or 1 (the next
 * step waits in registers; two barriers per step, half the shared memory for a deeper BK). */
layout(constant_id = Q8CONV_SPEC_TILE_STAGES) const uint STAGES = 2u;
/* Stage ablations, for the bench's tuning builds only (release builds always set 0, which folds
 * every branch below away). Ablated runs give wrong bytes by design:
 *   1 no K loop (accumulators start from the workgroup id), 2 no requantization (raw low bytes
 *   stored), 3 no stores (the work is kept by a store no run takes), 4 products only (the first
 *   stage is staged once, then the K loop runs its products and barriers without global loads),
 *   5 loads and staging only (no products). */
layout(constant_id = Q8CONV_SPEC_ABLATE) const uint ABLATE = 0;
/* Strides and weight zero points, as in q8conv_pw.comp (both false: the kernel without them).
 * STRIDED: the A tile's pixel p (output space) reads input pixel (s_h h, s_w w). WEIGHT_ZP: each
 * invocation sums the input bytes it stages, per A unit, beside the K loop; the sums meet per
 * pixel in shared memory after it, and the epilogue subtracts z_w' * sum. */
layout(constant_id = Q8CONV_SPEC_STRIDED) const bool STRIDED = false;
layout(constant_id = Q8CONV_SPEC_WEIGHT_ZP) const bool WEIGHT_ZP = false;

#include "requant.glsl"

const uint TM = SG_M / uint(Q8CONV_CM_M);       /* accumulator matrices per subgroup, down */
const uint TN = SG_N / uint(Q8CONV_CM_N);       /* and across */
const uint SG_ROWS = BM / SG_M;                 /* subgroups along the pixels */
const uint SUBGROUPS = SG_ROWS * (BN / SG_N);
const uint WG_SIZE = SUBGROUPS * SUBGROUP_SIZE;
const uint KW = BK / 4u;                        /* 32-bit words of K per staged row */
/* Row stride of a staged tile in words: 16 bytes of padding spread the rows of one matrix load
 * over all shared-memory banks. */
const uint STRIDE = KW + 4u;
const uint A_WORDS = BM * STRIDE;
const uint B_WORDS = BN * STRIDE;
const uint STAGE_WORDS = STAGES * (A_WORDS + B_WORDS);
/* The epilogue's scratch: one 16 x EPI_N strip of int32 per subgroup, in the same memory (the
 * staged tiles are dead by then). EPI_N = SG_N: a strip is a whole row of the subgroup's
 * accumulator matrices, so there are TM strips (two subgroup barriers each) rather than TM * TN / 2,
 * and each lane requantizes SG_N / 32 4 x 4 blocks per strip, independent of each other, on the
 * same four channels in every strip (their constants are read once, see CH_FIXED). Was: 32 when
 * the subgroup has an even number of matrices
 * across, so each lane of a 32-wide subgroup requantizes one 4 x 4 block per strip. */
const uint EPI_N = SG_N;
/* A strip row's stride in words: 16 bytes of padding. Unpadded, the rows of a 16 x 16 int32
 * matrix (64 or 128 bytes apart) all start in the same bank, and each accumulator store was an
 * 8-way bank conflict; with 4 words more, every bank takes exactly two of a store's words. */
const uint EPI_S = EPI_N + 4u;
/* 4 x 4 blocks per strip and per lane. */
const uint EPI_UNITS = 4u * (EPI_N / 4u);
const uint EPI_PER_LANE = (EPI_UNITS + SUBGROUP_SIZE - 1u) / SUBGROUP_SIZE;
/* A lane's blocks share their channels when the subgroup size is a multiple of the blocks across. */
const bool CH_FIXED = SUBGROUP_SIZE % (EPI_N / 4u) == 0u;
const uint EPI_WORDS = SUBGROUPS * uint(Q8CONV_CM_M) * EPI_S;
/* WEIGHT_ZP: the tile's per-pixel input sums, after the epilogue's strips (every tile of the
 * picker's menu has room for them there within STAGE_WORDS, tests/test_picker.c checks it). */
const uint XSUM_BASE = EPI_WORDS;
const uint EPI_END = WEIGHT_ZP ? EPI_WORDS + BM : EPI_WORDS;
const uint SMEM_WORDS = STAGE_WORDS > EPI_END ? STAGE_WORDS : EPI_END;
/* Staging and epilogue memory in 32-bit words; every matrix load starts on a 16-byte boundary
 * (STRIDE is a multiple of 4 words). 16-byte words measured no faster on the H100. */
shared uint smem[SMEM_WORDS];
/* The workgroup's channel params, loaded once. */
shared uvec4 ch_sh[BN];

/* Global loads per invocation per K step (the picker keeps these whole, or the tile smaller than
 * the workgroup, which the guards below handle). */
#if IN_4W4C
const uint A_UNITS = (BM / 4u) * KW;            /* 16-byte blocks: 4 pixels x 4 channels */
#else
const uint A_UNITS = BM * KW;                   /* 4-byte words: 1 pixel x 4 channels */
#endif
const uint A_LOADS = (A_UNITS + WG_SIZE - 1u) / WG_SIZE;
const uint B_UNITS = BN * (BK / 16u);           /* 16-byte pieces of weight rows */
const uint B_LOADS = (B_UNITS + WG_SIZE - 1u) / WG_SIZE;

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
/* Weights repacked for this kernel (q8conv_pack_weights_coopmat): row n = output channel n, its
 * K bytes padded with zeros to a multiple of Q8CONV_CM_WEIGHT_K_ALIGN; Q8CONV_CM_N-aligned rows. */
layout(std430, set = 0, binding = 0) readonly buffer WeightBuf { uvec4 weight_rows[]; };
layout(std430, set = 0, binding = 1) readonly buffer ChannelBuf { uvec4 channel_params[]; };

/* The block of src/core/shader_abi.h (Q8CONV_PUSH_MEMBERS: base, rows, W, W4, C4_in, C4_out, OC,
 * in_row_offset, out_row_offset, x_tiles, z_y, qmin, qmax, inv_y, and for STRIDED / WEIGHT_ZP pipelines
 * in_W, in_H, out_H, stride_h, stride_w, xsum_tail; W, W4 and rows are the output's). */
layout(push_constant) uniform Push { Q8CONV_PUSH_MEMBERS(Q8CONV_PUSH_GLSL) } pc;

/* The pixel space of the tiles: both sides' pixels are counted in one padded width Wp, 4*W4 when
 * either side is 4W4C (whose blocks then never straddle a tile row), else W. A 4C1W side of a
 * mixed pair maps pixel p to (row p / Wp, width p % Wp) and skips the width padding. */
#define MIXED (IN_4W4C != OUT_4W4C)

/* Requantizes one subgroup's strip of int32 accumulators in shared memory (16 pixels from p_first,
 * EPI_N channels from the tile's channel n_first) and writes its bytes: one 4 x 4 block per lane,
 * pixels 4q..4q+3 of the strip and channels 4c..4c+3. Called by the whole subgroup. */
void store_strip(uint scratch, uint p_first, uint n_first, uint n0, uint p_end, uint Wp, uint out_rows, uint lane,
                 uvec4 ch_lane[4], uint p_tile)
{
    const uint blocks_across = EPI_N / 4u;
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    [[unroll]] for (uint m = 0u; m < EPI_PER_LANE; ++m) {
        const uint u = lane + m * SUBGROUP_SIZE;
        if (u >= EPI_UNITS)
            break;
        const uint q = u / blocks_across, c = u % blocks_across;
        const uint p = p_first + 4u * q;
        const uint nl = n_first + 4u * c; /* channel within the tile */
        const uint c4 = (n0 + nl) >> 2;
        if (p >= p_end || c4 >= pc.C4_out)
            continue;
        /* Bytes of padded output channels are 0 (SEMANTICS.md). */
        const uint live = min(pc.OC - 4u * c4, 4u);
        const uint keep = live >= 4u ? 0xFFFFFFFFu : ((1u << (8u * live)) - 1u);
        uvec4 ch[4];
        [[unroll]] for (uint e = 0u; e < 4u; ++e)
            ch[e] = CH_FIXED ? ch_lane[e] : ch_sh[nl + e];
        uvec4 words;
        [[unroll]] for (uint r = 0u; r < 4u; ++r) {
            const uint o = scratch + (4u * q + r) * EPI_S + 4u * c;
            if (ABLATE == 2u) {
                words[r] = (smem[o] & 0xFFu) | ((smem[o + 1u] & 0xFFu) << 8) | ((smem[o + 2u] & 0xFFu) << 16) |
                           (smem[o + 3u] << 24);
                continue;
            }
            /* WEIGHT_ZP: acc - z_w'[channel] * xsum[pixel] (ch .w is z_w'); otherwise acc itself. */
            const int xs = WEIGHT_ZP ? int(smem[XSUM_BASE + (p - p_tile) + r]) : 0;
#define ZP_ADJ(acc, e) (WEIGHT_ZP ? (acc) - int(ch[e].w) * xs : (acc))
            words[r] = (requant_byte(ZP_ADJ(int(smem[o]), 0), ch[0], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) |
                        (requant_byte(ZP_ADJ(int(smem[o + 1u]), 1), ch[1], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) << 8) |
                        (requant_byte(ZP_ADJ(int(smem[o + 2u]), 2), ch[2], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) << 16) |
                        (requant_byte(ZP_ADJ(int(smem[o + 3u]), 3), ch[3], pc.inv_y, pc.z_y, pc.qmin, pc.qmax) << 24)) &
                       keep;
#undef ZP_ADJ
        }
        if (ABLATE == 3u && pc.x_tiles != 0xFFFFFFFFu)
            continue;
#if OUT_4W4C
        /* p and Wp are multiples of 4: the block's pixels share one row. Words wholly in the width
         * padding are not written. */
        const uint w0 = p % Wp;
        const uint idx = ((out_rows * Wp + p) >> 2) * pc.C4_out + c4;
        if (w0 + 4u <= pc.W) {
            out_blocks[idx] = words;
        } else {
            [[unroll]] for (uint r = 0u; r < 4u; ++r)
                if (w0 + r < pc.W)
                    out_blocks[idx][r] = words[r];
        }
#elif MIXED
        const uint row = p / Wp, w0 = p - row * Wp;
        const uint idx = ((out_rows + row) * pc.W + w0) * pc.C4_out + c4;
        [[unroll]] for (uint r = 0u; r < 4u; ++r)
            if (w0 + r < pc.W)
                out_words[idx + r * pc.C4_out] = words[r];
#else
        [[unroll]] for (uint r = 0u; r < 4u; ++r)
            if (p + r < p_end)
                out_words[(out_rows * Wp + p + r) * pc.C4_out + c4] = words[r];
#endif
    }
    subgroupMemoryBarrierShared();
    subgroupBarrier();
}

/* The sum of a word's four bytes read as int8 (the input as the kernel reads it). */
int byte_sum(uint v)
{
    const int s = int(v);
    return ((s << 24) >> 24) + ((s << 16) >> 24) + ((s << 8) >> 24) + (s >> 24);
}

void main()
{
    const uint tid = gl_LocalInvocationID.x;
    const uint sg = gl_SubgroupID;
    const uint lane = gl_SubgroupInvocationID;
    const uint sg_m = sg % SG_ROWS, sg_n = sg / SG_ROWS;

#if IN_4W4C || OUT_4W4C
    const uint Wp = pc.W4 * 4u;
#else
    const uint Wp = pc.W;
#endif
    /* Pixels of this piece are counted from its first row; the tile's are [p0, p0 + BM). The
     * piece lies inside one binding window of each tensor, so every index below fits in 32 bits. */
    const uint p0 = (gl_WorkGroupID.y + pc.base.y) * BM;
    const uint n0 = (gl_WorkGroupID.x + pc.base.x) * BN;
    const uint p_end = (pc.rows - pc.base.z) * Wp;
    const uint in_rows = pc.base.z - pc.in_row_offset;   /* rows of the input window before the piece */
    const uint out_rows = pc.base.z - pc.out_row_offset;
    const uint c_pad = pc.C4_out * 4u;
    const uint n_rows = (c_pad + uint(Q8CONV_CM_N) - 1u) / uint(Q8CONV_CM_N) * uint(Q8CONV_CM_N);
    const uint row_pieces = (pc.C4_in * 4u + uint(Q8CONV_CM_WEIGHT_K_ALIGN) - 1u) /
                            uint(Q8CONV_CM_WEIGHT_K_ALIGN) * uint(Q8CONV_CM_WEIGHT_K_ALIGN) / 16u;
    const uint k_steps = (pc.C4_in * 4u + BK - 1u) / BK;

    /* Channel params of the tile; channels past the padded count get zeros (never stored). */
    for (uint n = tid; n < BN; n += WG_SIZE)
        ch_sh[n] = n0 + n < c_pad ? channel_params[n0 + n] : uvec4(0u);

    /* Each invocation loads the same A units at every K step: their pixel's first word (or
     * block) index and validity are worked out once. A unit past the tile, a pixel past the
     * piece or in a 4C1W side's width padding loads zeros. */
    uint a_index[A_LOADS];
    bool a_live[A_LOADS];
    [[unroll]] for (uint l = 0u; l < A_LOADS; ++l) {
        const uint u = tid + l * WG_SIZE;
#if IN_4W4C
        const uint p = p0 + 4u * (u / KW);
        a_live[l] = u < A_UNITS && p < p_end;
        a_index[l] = ((in_rows * Wp + p) >> 2) * pc.C4_in;
#elif MIXED
        const uint p = p0 + u / KW;
        const uint row = p / Wp, w = p - row * Wp;
        a_live[l] = u < A_UNITS && p < p_end && w < pc.W;
        a_index[l] = ((in_rows + row) * pc.W + w) * pc.C4_in;
#else
        const uint p = p0 + u / KW;
        a_live[l] = u < A_UNITS && p < p_end;
        a_index[l] = (in_rows * Wp + p) * pc.C4_in;
#endif
    }
    /* STRIDED: a unit's pixels come from other rows and widths of the input. Output row r (of the
     * piece) reads input row n * in_H + s_h * h of the window, for (n, h) = ((base.z + r) / out_H,
     * (base.z + r) % out_H). 4C1W: one word index per unit, as above. 4W4C: the unit's four pixels
     * come from four input blocks, a_sblk[l][j] (word a_ssel[l] >> 2j & 3 of it); widths past W
     * re-read the last one (never stored), as in q8conv_pw.comp. */
#if IN_4W4C
    uint a_sblk[A_LOADS][4];
    uint a_ssel[A_LOADS];
#endif
    if (STRIDED) {
        [[unroll]] for (uint l = 0u; l < A_LOADS; ++l) {
            const uint u = tid + l * WG_SIZE;
#if IN_4W4C
            const uint p = p0 + 4u * (u / KW);
#else
            const uint p = p0 + u / KW;
#endif
            const uint row = p / Wp, w = p - row * Wp;
            const uint r = pc.base.z + row, n = r / pc.out_H;
            const uint in_row = n * pc.in_H + pc.stride_h * (r - n * pc.out_H) - pc.in_row_offset;
#if IN_4W4C
            a_live[l] = u < A_UNITS && p < p_end;
            const uint in_W4 = (pc.in_W + 3u) / 4u;
            a_ssel[l] = 0u;
            [[unroll]] for (uint j = 0u; j < 4u; ++j) {
                const uint iw = pc.stride_w * min(w + j, pc.W - 1u);
                a_sblk[l][j] = a_live[l] ? (in_row * in_W4 + (iw >> 2)) * pc.C4_in : 0u;
                a_ssel[l] |= (iw & 3u) << (2u * j);
            }
#else
            a_live[l] = u < A_UNITS && p < p_end && w < pc.W;
            a_index[l] = a_live[l] ? (in_row * pc.in_W + pc.stride_w * w) * pc.C4_in : 0u;
#endif
        }
    }
#if IN_4W4C
    uvec4 a_regs[A_LOADS];
    ivec4 a_xsum[A_LOADS]; /* WEIGHT_ZP: the unit's four pixels */
    [[unroll]] for (uint l = 0u; l < A_LOADS; ++l)
        a_xsum[l] = ivec4(0);
#else
    uint a_regs[A_LOADS];
    int a_xsum[A_LOADS];
    [[unroll]] for (uint l = 0u; l < A_LOADS; ++l)
        a_xsum[l] = 0;
#endif
    uvec4 b_regs[B_LOADS];

    /* One K step's global loads into registers, issued before the matrix products that hide them. */
#define LOAD_TILE(step)                                                                            \
    {                                                                                              \
        [[unroll]] for (uint l = 0u; l < A_LOADS; ++l) {                                           \
            const uint kw = (step) * KW + (tid + l * WG_SIZE) % KW;                                \
            const bool ok = a_live[l] && kw < pc.C4_in;                                            \
            if (STRIDED) {                                                                         \
                a_regs[l] = A_ZERO;                                                                \
                if (ok)                                                                            \
                    a_regs[l] = A_STRIDED(l, kw);                                                  \
            } else {                                                                               \
                a_regs[l] = ok ? A_ELEMENT(a_index[l] + kw) : A_ZERO;                              \
            }                                                                                      \
            if (WEIGHT_ZP)                                                                         \
                a_xsum[l] += A_BYTE_SUM(a_regs[l] & A_TAIL(kw));                                   \
        }                                                                                          \
        [[unroll]] for (uint l = 0u; l < B_LOADS; ++l) {                                           \
            const uint u = tid + l * WG_SIZE;                                                      \
            const uint n = min(n0 + u / (BK / 16u), n_rows - 1u);                                  \
            b_regs[l] = u < B_UNITS ? weight_rows[n * row_pieces + (step) * (BK / 16u) + u % (BK / 16u)] \
                                    : uvec4(0u);                                                   \
        }                                                                                          \
    }
    /* WEIGHT_ZP: only the real channels of the last K word count (a padded byte may be anything). */
#define A_TAIL(kw) ((kw) + 1u == pc.C4_in ? pc.xsum_tail * 0xFFu : 0xFFFFFFFFu)
#if IN_4W4C
#define A_ELEMENT(i) (in_blocks[i] ^ uvec4(INPUT_XOR))
#define A_ZERO uvec4(0u)
#define A_STRIDED(l, kw)                                                                           \
    (uvec4(in_blocks[a_sblk[l][0] + (kw)][a_ssel[l] & 3u], in_blocks[a_sblk[l][1] + (kw)][(a_ssel[l] >> 2) & 3u], \
           in_blocks[a_sblk[l][2] + (kw)][(a_ssel[l] >> 4) & 3u], in_blocks[a_sblk[l][3] + (kw)][a_ssel[l] >> 6]) ^ \
     uvec4(INPUT_XOR))
#define A_BYTE_SUM(v) ivec4(byte_sum((v).x), byte_sum((v).y), byte_sum((v).z), byte_sum((v).w))
#else
#define A_ELEMENT(i) (in_words[i] ^ INPUT_XOR)
#define A_ZERO 0u
#define A_STRIDED(l, kw) A_ELEMENT(a_index[l] + (kw))
#define A_BYTE_SUM(v) byte_sum(v)
#endif

    /* Registers -> shared stage `buf`: the A tile (BM rows of K words), then the B tile. */
#define A_BASE(buf) ((buf) * (A_WORDS + B_WORDS))
#define B_BASE(buf) ((buf) * (A_WORDS + B_WORDS) + A_WORDS)
#define STORE_TILE(buf)                                                                            \
    {                                                                                              \
        [[unroll]] for (uint l = 0u; l < A_LOADS; ++l) {                                           \
            const uint u = tid + l * WG_SIZE;                                                      \
            A_STORE_ONE(u, l, buf)                                                                 \
        }                                                                                          \
        [[unroll]] for (uint l = 0u; l < B_LOADS; ++l) {                                           \
            const uint u = tid + l * WG_SIZE;                                                      \
            if (u < B_UNITS) {                                                                     \
                const uint o = B_BASE(buf) + (u / (BK / 16u)) * STRIDE + (u % (BK / 16u)) * 4u;    \
                smem[o] = b_regs[l].x;                                                             \
                smem[o + 1u] = b_regs[l].y;                                                        \
                smem[o + 2u] = b_regs[l].z;                                                        \
                smem[o + 3u] = b_regs[l].w;                                                        \
            }                                                                                      \
        }                                                                                          \
    }
#if IN_4W4C
    /* Block word j is pixel 4q + j: the block is transposed into four rows of the tile. */
#define A_STORE_ONE(u, l, buf)                                                                     \
    if ((u) < A_UNITS) {                                                                           \
        const uint o = A_BASE(buf) + 4u * ((u) / KW) * STRIDE + (u) % KW;                          \
        smem[o] = a_regs[l].x;                                                                  \
        smem[o + STRIDE] = a_regs[l].y;                                                         \
        smem[o + 2u * STRIDE] = a_regs[l].z;                                                    \
        smem[o + 3u * STRIDE] = a_regs[l].w;                                                    \
    }
#else
#define A_STORE_ONE(u, l, buf)                                                                     \
    if ((u) < A_UNITS)                                                                             \
        smem[A_BASE(buf) + ((u) / KW) * STRIDE + (u) % KW] = a_regs[l];
#endif

    icoopmatNV<32, gl_ScopeSubgroup, Q8CONV_CM_M, Q8CONV_CM_N> acc[TM][TN];
    [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint j = 0u; j < TN; ++j)
            acc[i][j] = icoopmatNV<32, gl_ScopeSubgroup, Q8CONV_CM_M, Q8CONV_CM_N>(ABLATE == 1u ? int(gl_WorkGroupID.x) : 0);

    /* The K loop: step s computes from its stage while its successor's loads are in flight, then
     * parks them in the other stage (STAGES 2: every subgroup finished reading it before the
     * previous barrier), or in the same one after a barrier (STAGES 1). */
    LOAD_TILE(0u)
    STORE_TILE(0u)
    barrier();
    for (uint s = 0u; s < (ABLATE == 1u ? 0u : k_steps); ++s) {
        const uint buf = STAGES == 2u && ABLATE != 4u ? (s & 1u) : 0u;
        const bool more = s + 1u < k_steps && ABLATE != 4u;
        if (more)
            LOAD_TILE(s + 1u)
        [[unroll]] for (uint kk = 0u; kk < BK / uint(Q8CONV_CM_K); ++kk) {
            icoopmatNV<8, gl_ScopeSubgroup, Q8CONV_CM_M, Q8CONV_CM_K> a[TM];
            icoopmatNV<8, gl_ScopeSubgroup, Q8CONV_CM_K, Q8CONV_CM_N> b[TN];
            [[unroll]] for (uint i = 0u; i < TM; ++i)
                coopMatLoadNV(a[i], smem,
                              (A_BASE(buf) + (sg_m * SG_M + i * uint(Q8CONV_CM_M)) * STRIDE + kk * uint(Q8CONV_CM_K / 4)),
                              STRIDE, false);
            [[unroll]] for (uint j = 0u; j < TN; ++j)
                coopMatLoadNV(b[j], smem,
                              (B_BASE(buf) + (sg_n * SG_N + j * uint(Q8CONV_CM_N)) * STRIDE + kk * uint(Q8CONV_CM_K / 4)),
                              STRIDE, true);
            if (ABLATE != 5u)
                [[unroll]] for (uint i = 0u; i < TM; ++i)
                    [[unroll]] for (uint j = 0u; j < TN; ++j)
                        acc[i][j] = coopMatMulAddNV(a[i], b[j], acc[i][j]);
        }
        /* One stage: every subgroup must be done reading it before it is overwritten. */
        if (STAGES == 1u)
            barrier();
        if (more)
            STORE_TILE(STAGES == 2u ? buf ^ 1u : 0u)
        barrier();
    }

    /* WEIGHT_ZP: the units' input sums meet per pixel of the tile (the staged tiles are dead).
     * Workgroup-scope atomics, relaxed: the barriers order them (the default scope would be
     * QueueFamily, which tests/spirv_scopes.cmake refuses: VUID-RuntimeSpirv-vulkanMemoryModel-06265). */
    if (WEIGHT_ZP) {
        for (uint m = tid; m < BM; m += WG_SIZE)
            smem[XSUM_BASE + m] = 0u;
        barrier();
        [[unroll]] for (uint l = 0u; l < A_LOADS; ++l) {
            const uint u = tid + l * WG_SIZE;
            if (u < A_UNITS) {
#if IN_4W4C
                [[unroll]] for (uint j = 0u; j < 4u; ++j)
                    atomicAdd(smem[XSUM_BASE + 4u * (u / KW) + j], uint(a_xsum[l][j]), gl_ScopeWorkgroup,
                              gl_StorageSemanticsShared, gl_SemanticsRelaxed);
#else
                atomicAdd(smem[XSUM_BASE + u / KW], uint(a_xsum[l]), gl_ScopeWorkgroup, gl_StorageSemanticsShared,
                          gl_SemanticsRelaxed);
#endif
            }
        }
        barrier();
    }

    /* ---- epilogue: accumulators -> a shared strip per subgroup -> requantized bytes ---- */
    const uint scratch = sg * uint(Q8CONV_CM_M) * EPI_S;
    /* The four channels of this lane's blocks (CH_FIXED): the same in every strip. */
    uvec4 ch_lane[4];
    {
        const uint nl = sg_n * SG_N + 4u * (lane % (EPI_N / 4u));
        [[unroll]] for (uint e = 0u; e < 4u; ++e)
            ch_lane[e] = ch_sh[min(nl + e, BN - 1u)];
    }
    /* A strip is one row of the subgroup's matrices. Accumulators are only ever indexed by the loop
     * counters i and j, which are constants once the loops are unrolled: any other index
     * expression (j + 1, a spec-constant step) may leave a run-time index and put the accumulators
     * in local memory (3-5x slower on the H100). */
    [[unroll]] for (uint i = 0u; i < TM; ++i) {
        [[unroll]] for (uint j = 0u; j < TN; ++j)
            coopMatStoreNV(acc[i][j], smem, (scratch + j * uint(Q8CONV_CM_N)), EPI_S, false);
        store_strip(scratch, p0 + sg_m * SG_M + i * uint(Q8CONV_CM_M), sg_n * SG_N, n0, p_end, Wp, out_rows, lane,
                    ch_lane, p0);
    }
}
