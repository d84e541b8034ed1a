/* Dispatch picker: how many invocations a run needs, in what workgroup shape, and how to split
 * the grid into several vkCmdDispatch calls when it exceeds maxComputeWorkGroupCount.
 *
 * Each dispatch passes its base (first global invocation id) to the shader, which bound-checks
 * gid + base against the global extents, so a chunk may overhang the grid's end. */
#include <string.h>

#include "pure.h"
#include "tuning.h"

/* ceil(a / b) without the a + b - 1 overflow of q8conv_div_up (a may be close to 2^32). */
static uint32_t div_up_safe(uint32_t a, uint32_t b)
{
    return a / b + (a % b != 0u);
}

/* The largest power of two <= v, for v >= 1. */
static uint32_t floor_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p <= v / 2u)
        p *= 2u;
    return p;
}

/* The smallest power of two >= v, saturated at 2^31 (larger than any workgroup). */
static uint32_t ceil_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < 0x80000000u)
        p *= 2u;
    return p;
}

void q8conv_pick_global_wg_size(uint32_t c4_out, uint32_t w4, uint32_t rows, uint32_t tile_n4, uint32_t global[3])
{
    global[0] = div_up_safe(c4_out, tile_n4 ? tile_n4 : 1u);
    global[1] = div_up_safe(w4, Q8CONV_TILE_M4);
    global[2] = rows;
}

void q8conv_pick_local_wg_size(const uint32_t global[3], const uint32_t max_local[3], uint32_t max_invocations,
                        uint32_t local[3])
{
    const uint32_t aim = q8conv_tune_u32(Q8CONV_TUNE_WG_INVOCATIONS, Q8CONV_WORKGROUP_INVOCATIONS);
    uint32_t budget = max_invocations < aim ? max_invocations : aim;
    /* A power-of-two budget stays one after each division by a power of two. */
    budget = floor_pow2(budget ? budget : 1u);
    for (int i = 0; i < 3; i++) {
        /* x first: consecutive invocations then share an input block and read consecutive
         * weight blocks. A dimension never gets more lanes than it has work (rounded up). */
        uint32_t cap = ceil_pow2(global[i] ? global[i] : 1u);
        uint32_t limit = floor_pow2(max_local[i] ? max_local[i] : 1u);
        if (cap > limit)
            cap = limit;
        if (cap > budget)
            cap = budget;
        local[i] = cap;
        budget /= cap;
    }
}

/* How one dimension is cut: `chunks` dispatches of at most `per_chunk` groups each. */
typedef struct dim_split {
    uint32_t groups, per_chunk, chunks;
} dim_split;

static dim_split split_dim(uint32_t global, uint32_t local, uint32_t max_count)
{
    dim_split s;
    s.groups = div_up_safe(global, local);
    s.per_chunk = max_count;
    s.chunks = div_up_safe(s.groups, max_count);
    return s;
}

/* The dispatch for chunk index `k` of each dimension. base = first group * unit (the invocations
 * of global extent one workgroup covers) cannot overflow: it is below global, which fits in uint32. */
static q8conv_dispatch make_dispatch(const dim_split split[3], const uint32_t local[3], const uint32_t k[3])
{
    q8conv_dispatch d;
    for (int i = 0; i < 3; i++) {
        uint32_t first = k[i] * split[i].per_chunk;
        uint32_t left = split[i].groups - first;
        d.groups[i] = left < split[i].per_chunk ? left : split[i].per_chunk;
        d.base[i] = first * local[i];
    }
    return d;
}

static bool inputs_are_valid(uint32_t c4_out, uint32_t w4, uint32_t rows, uint32_t tile_n4,
                             const uint32_t max_count[3], const uint32_t max_local[3], uint32_t max_invocations,
                             const q8conv_dispatch_plan *plan)
{
    if (plan == NULL || max_count == NULL || max_local == NULL)
        return false;
    if (c4_out == 0 || w4 == 0 || rows == 0 || tile_n4 == 0 || max_invocations == 0)
        return false;
    for (int i = 0; i < 3; i++)
        if (max_count[i] == 0 || max_local[i] == 0)
            return false;
    return true;
}

static q8conv_status split_plan(q8conv_dispatch_plan *p_in, const uint32_t unit[3], const uint32_t max_count[3],
                                q8conv_dispatch_plan *plan);

q8conv_status q8conv_pick_dispatch_plan(uint32_t c4_out, uint32_t w4, uint32_t rows, uint32_t c4_in, uint32_t tile_n4,
                                   const uint32_t max_count[3], const uint32_t max_local[3],
                                   uint32_t max_invocations, q8conv_dispatch_plan *plan)
{
    if (!inputs_are_valid(c4_out, w4, rows, tile_n4, max_count, max_local, max_invocations, plan) || c4_in == 0)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_dispatch_plan p;
    memset(&p, 0, sizeof(p));
    q8conv_pick_global_wg_size(c4_out, w4, rows, tile_n4, p.global);
    q8conv_pick_local_wg_size(p.global, max_local, max_invocations, p.local);
    /* The slices may narrow x down to Q8CONV_KSPLIT_MIN_LANES channel blocks (below). */
    const uint32_t lx_min = p.local[0] < Q8CONV_KSPLIT_MIN_LANES ? p.local[0] : Q8CONV_KSPLIT_MIN_LANES;
    uint32_t ks = q8conv_pick_k_split(p.global, c4_in, lx_min, max_local[1], max_invocations);
    if (ks > Q8CONV_KSPLIT_SLOTS / tile_n4) /* one lane's partial sums must fit */
        ks = floor_pow2(Q8CONV_KSPLIT_SLOTS / tile_n4);
    /* Q8CONV_TUNE_EARLY (tuning builds): 0 never loads the channel constants early, 1 with
     * split-K only, 2 always. */
    const uint32_t early = q8conv_tune_u32(Q8CONV_TUNE_EARLY_PARAMS, Q8CONV_EARLY_PARAMS + 1u) - 1u;
    /* Grids below the split-K bound are latency-bound: a tuning build may give their K loop deeper
     * passes (Q8CONV_TUNE_UNROLL); a release keeps Q8CONV_UNROLL_K everywhere. */
    const uint64_t invocations = (uint64_t)p.global[0] * p.global[1] * p.global[2];
    p.unroll = Q8CONV_UNROLL_K;
    if (invocations < q8conv_tune_u32(Q8CONV_TUNE_KSPLIT_BELOW, Q8CONV_KSPLIT_BELOW)) {
        const uint32_t u = q8conv_tune_u32(Q8CONV_TUNE_UNROLL_SMALL, Q8CONV_UNROLL_K);
        p.unroll = u >= 16u ? 16u : u >= 8u ? 8u : 4u;
    }
    if (ks <= 1) {
        p.k_split = 1;
        p.early_params = early == 2u;
        return split_plan(&p, p.local, max_count, plan);
    }
    /* The slices of one output block are the workgroup's y, its z up to lw width blocks, numbered
     * row after row through the piece (global = {x, W4 * rows, 1}: a split grid is small, so the
     * product fits), so that a 7x7 layer's workgroup may hold blocks of several rows that read
     * the same weights. x narrows so the partial sums fit in the shared memory every device has
     * and the workgroup in Q8CONV_KSPLIT_INVOCATIONS; z takes what x leaves. */
    p.global[1] *= p.global[2];
    p.global[2] = 1;
    /* A slice's share of the workgroup: at most `budget` invocations (lx * lw). */
    uint32_t budget = q8conv_tune_u32(Q8CONV_TUNE_KSPLIT_INVOCATIONS, Q8CONV_KSPLIT_INVOCATIONS);
    if (budget > max_invocations)
        budget = max_invocations;
    budget /= ks;
    if (budget > Q8CONV_KSPLIT_SLOTS / (ks * tile_n4))
        budget = Q8CONV_KSPLIT_SLOTS / (ks * tile_n4);
    budget = floor_pow2(budget ? budget : 1u);
    /* x takes what it can first (call 6 also timed x and z sharing it evenly: slower). */
    if (p.local[0] > budget)
        p.local[0] = budget;
    /* z fills the workgroup only up to Q8CONV_WORKGROUP_INVOCATIONS: on the H200 (bench/RESULTS.md,
     * calls 6 and 8) workgroups of several width blocks ran MobileNetV2's 28x28 and 14x14
     * projections 0.2-0.3 us slower than more, smaller workgroups. */
    const uint32_t aim = q8conv_tune_u32(Q8CONV_TUNE_WG_INVOCATIONS, Q8CONV_WORKGROUP_INVOCATIONS);
    uint32_t lw = budget / p.local[0];
    const uint32_t lw_caps[3] = {ceil_pow2(p.global[1]), floor_pow2(max_local[2] ? max_local[2] : 1u),
                                 floor_pow2(aim / (p.local[0] * ks) ? aim / (p.local[0] * ks) : 1u)};
    for (int i = 0; i < 3; i++)
        if (lw > lw_caps[i])
            lw = lw_caps[i];
    p.k_split = ks;
    p.local[1] = ks;
    p.local[2] = lw ? lw : 1u;
    p.early_params = early != 0u;
    const uint32_t unit[3] = {p.local[0], p.local[2], 1};
    return split_plan(&p, unit, max_count, plan);
}

uint32_t q8conv_pick_k_split(const uint32_t global[3], uint32_t c4_in, uint32_t local_x, uint32_t max_local_y,
                      uint32_t max_invocations)
{
    const uint32_t below = q8conv_tune_u32(Q8CONV_TUNE_KSPLIT_BELOW, Q8CONV_KSPLIT_BELOW);
    const uint64_t total = (uint64_t)global[0] * global[1] * global[2];
    if (total >= below || local_x == 0)
        return 1;
    uint32_t ks = floor_pow2((uint32_t)(below / (total ? total : 1)));
    const uint32_t by_steps = c4_in / q8conv_tune_u32(Q8CONV_TUNE_KSPLIT_MIN_STEPS, Q8CONV_KSPLIT_MIN_STEPS);
    const uint32_t by_size = max_invocations / local_x;
    const uint32_t caps[4] = {q8conv_tune_u32(Q8CONV_TUNE_KSPLIT_MAX, Q8CONV_KSPLIT_MAX), by_steps, max_local_y, by_size < Q8CONV_KSPLIT_SLOTS ? by_size : Q8CONV_KSPLIT_SLOTS};
    for (int i = 0; i < 4; i++)
        if (ks > caps[i])
            ks = caps[i] ? floor_pow2(caps[i]) : 1u;
    return ks ? ks : 1u;
}

/* Cuts the grid of p into dispatches of at most max_count groups per dimension; one workgroup
 * covers unit[i] invocations of global extent i. */
static q8conv_status split_plan(q8conv_dispatch_plan *p_in, const uint32_t unit[3], const uint32_t max_count[3],
                                q8conv_dispatch_plan *plan)
{
    q8conv_dispatch_plan p = *p_in;
    dim_split split[3];
    uint64_t total = 1;
    for (int i = 0; i < 3; i++) {
        split[i] = split_dim(p.global[i], unit[i], max_count[i]);
        total *= split[i].chunks; /* each factor < 2^32 and the running product <= 64 before it */
        if (total > Q8CONV_MAX_DISPATCHES)
            return Q8CONV_ERROR_UNSUPPORTED;
    }
    uint32_t k[3];
    for (k[2] = 0; k[2] < split[2].chunks; k[2]++)
        for (k[1] = 0; k[1] < split[1].chunks; k[1]++)
            for (k[0] = 0; k[0] < split[0].chunks; k[0]++)
                p.dispatches[p.count++] = make_dispatch(split, unit, k);
    *plan = p;
    return Q8CONV_SUCCESS;
}

/* ---- the cooperative-matrix kernel ---- */

const q8conv_matrix_tile q8conv_matrix_tiles[Q8CONV_CM_TILE_COUNT] = {Q8CONV_CM_TILE_MENU};

uint32_t q8conv_matrix_tile_subgroups(const q8conv_matrix_tile *t)
{
    return (t->bm / t->sg_m) * (t->bn / t->sg_n);
}

/* The shader's shared memory: the larger of the A and B stages (rows of BK bytes plus 16 bytes of
 * padding, once or twice) and the epilogue's int32 strips (16 rows of SG_N + 4 words per subgroup), then one uvec4
 * of channel params per tile channel. */
uint32_t q8conv_matrix_tile_shared_bytes(const q8conv_matrix_tile *t)
{
    const uint32_t stride = t->bk / 4u + 4u;
    const uint32_t stage = t->stages * (t->bm + t->bn) * stride;
    const uint32_t epi_n = t->sg_n + 4u; /* EPI_S: a row of 16 x SG_N int32 and 16 bytes of padding */
    /* The strips, then (WEIGHT_ZP pipelines) the tile's BM per-pixel input sums. */
    const uint32_t epi = q8conv_matrix_tile_subgroups(t) * Q8CONV_CM_M * epi_n + t->bm;
    return 4u * (stage > epi ? stage : epi) + 16u * t->bn;
}

const char *q8conv_matrix_tile_unfit(const q8conv_matrix_tile *t, uint32_t subgroup_size, const uint32_t max_local[3],
                                     uint32_t max_invocations, uint32_t max_shared_bytes)
{
    if (t->sg_m == 0 || t->sg_n == 0 || t->sg_m % Q8CONV_CM_M || t->sg_n % Q8CONV_CM_N)
        return "SG_M and SG_N must be multiples of the 16x16 matrix";
    if (t->bm == 0 || t->bn == 0 || t->bm % t->sg_m || t->bn % t->sg_n)
        return "BM and BN must be multiples of SG_M and SG_N";
    /* The repacked weights are zero-padded along K to Q8CONV_CM_WEIGHT_K_ALIGN bytes only. */
    if (t->bk == 0 || t->bk % Q8CONV_CM_K || Q8CONV_CM_WEIGHT_K_ALIGN % t->bk)
        return "BK must be a multiple of 32 that divides 128";
    if (t->stages != 1 && t->stages != 2)
        return "STAGES must be 1 or 2";
    /* Bounds the products below (a workgroup of 2^16 matrices is far past any device). */
    if (t->bm / t->sg_m > 256u || t->bn / t->sg_n > 256u || t->bm > 65536u || t->bn > 65536u || t->bk > 65536u)
        return "tile too large";
    const uint64_t invocations = (uint64_t)q8conv_matrix_tile_subgroups(t) * subgroup_size;
    if (invocations > max_local[0] || invocations > max_invocations)
        return "more invocations per workgroup than the device allows";
    if (q8conv_matrix_tile_shared_bytes(t) > max_shared_bytes)
        return "more shared memory than the device allows";
    return NULL;
}

/* From the chained times of every MobileNetV2 layer and the extra shapes on the H100
 * (bench/RESULTS.md): the matrix kernel wins once a run has about 2^15 outputs (pixels x
 * channels) to spread over its tiles, unless IC x OC is so small (IC 16 to 48 with few output
 * channels) that its tiles are mostly padding along K or N; below that the packed-dot kernel,
 * which splits K, is ahead. */
bool q8conv_matrix_pays(uint64_t pixels, uint32_t ic, uint32_t oc)
{
    return pixels * oc >= Q8CONV_CM_MIN_OUTPUTS && (uint64_t)ic * oc >= Q8CONV_CM_MIN_WEIGHTS;
}

/* Workgroups that keep a large GPU busy: the largest tile that still yields this many is taken
 * (bigger tiles reuse each loaded byte more), else the tile with the most workgroups. Tiles more
 * than 32 channels wider than the layer's (padded) channels are passed over: their matrix units
 * would mostly multiply padding. From sweeps of every tile, first on the H100, then on the H200
 * (bench/RESULTS.md, 2026-12-03): with 256 workgroups 1x128x128 128->128 took 64x64 tiles (8.7 us)
 * over 128x128 (7.6) and 32x14x14 384->64 took 32x32 (7.6) over 64x64 (6.7); aiming at 96 (about
 * 0.75 of a wave on 132 multiprocessors) they take the faster tile (7.3 and 6.7 us chained in the
 * next run). But for a short K the larger tiles stage mostly padding (the 64x64 tile steps K by
 * 128 bytes): MobileNetV2's b3_expand (K = 24) went from 4.14 us on 32x32 to 4.50 on 64x64. So the
 * lower target applies from K >= 128 on; shorter layers keep 256 and the tiles they had. */
#define MATRIX_TARGET_GROUPS 96u
#define MATRIX_TARGET_GROUPS_SHORT_K 256u
#define MATRIX_LONG_K 128u

q8conv_status q8conv_pick_matrix_plan(uint32_t pixels, uint32_t c4_out, uint32_t c4_in, uint32_t subgroup_size,
                                      const uint32_t max_count[3], const uint32_t max_local[3], uint32_t max_invocations,
                                      uint32_t max_shared_bytes, q8conv_dispatch_plan *plan)
{
    if (!plan || !max_count || !max_local || pixels == 0 || c4_out == 0 || subgroup_size == 0)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < 3; i++)
        if (max_count[i] == 0)
            return Q8CONV_ERROR_INVALID_ARGUMENT;
    const uint32_t channels = c4_out > 0x3FFFFFFFu ? 0xFFFFFFFFu : c4_out * 4u;
    const uint64_t widest = ((uint64_t)channels + 31u) / 32u * 32u;
    uint32_t narrowest = UINT32_MAX;
    for (int i = 0; i < Q8CONV_CM_TILE_COUNT; i++)
        narrowest = q8conv_matrix_tiles[i].bn < narrowest ? q8conv_matrix_tiles[i].bn : narrowest;
    const uint64_t target = (uint64_t)c4_in * 4u >= MATRIX_LONG_K ? MATRIX_TARGET_GROUPS : MATRIX_TARGET_GROUPS_SHORT_K;
    int best = -1;
    uint64_t best_groups = 0;
    for (int i = 0; i < Q8CONV_CM_TILE_COUNT; i++) {
        const q8conv_matrix_tile *t = &q8conv_matrix_tiles[i];
        if (q8conv_matrix_tile_unfit(t, subgroup_size, max_local, max_invocations, max_shared_bytes) ||
            (t->bn > widest && t->bn > narrowest))
            continue;
        const uint64_t groups = (uint64_t)div_up_safe(pixels, t->bm) * div_up_safe(channels, t->bn);
        if (best < 0 || (best_groups < target && groups > best_groups)) {
            best = i;
            best_groups = groups;
        }
    }
    if (best < 0)
        return Q8CONV_ERROR_UNSUPPORTED;
    return q8conv_pick_matrix_plan_tile(pixels, c4_out, subgroup_size, max_count, &q8conv_matrix_tiles[best], plan);
}

q8conv_status q8conv_pick_matrix_plan_tile(uint32_t pixels, uint32_t c4_out, uint32_t subgroup_size,
                                    const uint32_t max_count[3], const q8conv_matrix_tile *tile,
                                    q8conv_dispatch_plan *plan)
{
    if (!plan || !max_count || !tile || pixels == 0 || c4_out == 0 || subgroup_size == 0 || tile->bm == 0 ||
        tile->bn == 0 || tile->sg_m == 0 || tile->sg_n == 0)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < 3; i++)
        if (max_count[i] == 0)
            return Q8CONV_ERROR_INVALID_ARGUMENT;
    const uint32_t channels = c4_out > 0x3FFFFFFFu ? 0xFFFFFFFFu : c4_out * 4u;
    q8conv_dispatch_plan p;
    memset(&p, 0, sizeof(p));
    p.tile = *tile;
    p.global[0] = div_up_safe(channels, p.tile.bn);
    p.global[1] = div_up_safe(pixels, p.tile.bm);
    p.global[2] = 1;
    p.local[0] = q8conv_matrix_tile_subgroups(&p.tile) * subgroup_size;
    p.local[1] = 1;
    p.local[2] = 1;
    p.k_split = 1;
    const uint32_t unit[3] = {1, 1, 1};
    return split_plan(&p, unit, max_count, plan);
}
