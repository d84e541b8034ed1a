/* Dispatch picker tests: grid extents per kernel, workgroup shape rules, and splitting of grids
 * that exceed maxComputeWorkGroupCount (every invocation of the grid covered exactly once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "pure.h"

static const uint32_t big_count[3] = {65535, 65535, 65535};
static const uint32_t big_local[3] = {1024, 1024, 64};

static int is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

static uint32_t smallest_pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static uint32_t largest_pow2_at_most(uint32_t v)
{
    uint32_t p = 1;
    while ((uint64_t)p * 2 <= v)
        p <<= 1;
    return p;
}

/* The main kernel covers 4 output channels per invocation, the legacy one 8: x halves. */
static void test_global_extents(void)
{
    for (uint32_t c4 = 1; c4 <= 300; c4++) {
        uint32_t g1[3], g2[3];
        q8conv_pick_global_wg_size(c4, 7, 9, 1, g1);
        q8conv_pick_global_wg_size(c4, 7, 9, 2, g2);
        CHECK(g1[0] == c4, "c4=%u x=%u", c4, g1[0]);
        if (c4 % 2 == 0)
            CHECK(g1[0] == 2 * g2[0], "c4=%u: %u vs %u", c4, g1[0], g2[0]);
        else
            CHECK(g2[0] == (c4 + 1) / 2 && g1[0] == 2 * g2[0] - 1, "c4=%u: %u vs %u", c4, g1[0], g2[0]);
        CHECK(g1[1] == 7 && g1[2] == 9 && g2[1] == 7 && g2[2] == 9, "c4=%u y/z", c4);
    }
    /* Tiny shapes: OC = 3 -> C4 = 1, W = 2 -> W4 = 1, one invocation per row. */
    uint32_t g[3];
    q8conv_pick_global_wg_size(q8conv_div_up(3, 4), q8conv_div_up(2, 4), 5, 1, g);
    CHECK(g[0] == 1 && g[1] == 1 && g[2] == 5, "tiny: %u %u %u", g[0], g[1], g[2]);
    q8conv_pick_global_wg_size(1, 1, 1, 2, g);
    CHECK(g[0] == 1 && g[1] == 1 && g[2] == 1, "tiny legacy: %u %u %u", g[0], g[1], g[2]);
    /* Extremes must not wrap (a + b - 1 would). */
    q8conv_pick_global_wg_size(0xFFFFFFFFu, 0xFFFFFFFFu, 1, 2, g);
    CHECK(g[0] == 0x80000000u && g[1] == 0xFFFFFFFFu, "extreme: %u %u", g[0], g[1]);
}

static void check_local(const uint32_t global[3], const uint32_t max_local[3], uint32_t max_inv)
{
    uint32_t local[3];
    q8conv_pick_local_wg_size(global, max_local, max_inv, local);
    uint32_t budget = largest_pow2_at_most(max_inv < 64 ? max_inv : 64);
    uint64_t total = (uint64_t)local[0] * local[1] * local[2];
    CHECK(total <= budget, "total %llu > %u", (unsigned long long)total, budget);
    for (int i = 0; i < 3; i++) {
        CHECK(is_pow2(local[i]), "local[%d]=%u", i, local[i]);
        CHECK(local[i] <= max_local[i], "local[%d]=%u > %u", i, local[i], max_local[i]);
        CHECK(local[i] <= smallest_pow2_at_least(global[i]), "local[%d]=%u global %u", i, local[i], global[i]);
    }
    /* x is filled first, as far as its own limits allow. */
    uint32_t want_x = smallest_pow2_at_least(global[0]);
    if (want_x > largest_pow2_at_most(max_local[0]))
        want_x = largest_pow2_at_most(max_local[0]);
    if (want_x > budget)
        want_x = budget;
    CHECK(local[0] == want_x, "x=%u want %u (global %u)", local[0], want_x, global[0]);
}

static void test_local_size(void)
{
    uint32_t l[3];
    const uint32_t g1[3] = {100, 1, 1};
    q8conv_pick_local_wg_size(g1, big_local, 1024, l);
    CHECK(l[0] == 64 && l[1] == 1 && l[2] == 1, "%u %u %u", l[0], l[1], l[2]);
    const uint32_t g2[3] = {1, 14, 3136};
    q8conv_pick_local_wg_size(g2, big_local, 1024, l);
    CHECK(l[0] == 1 && l[1] == 16 && l[2] == 4, "%u %u %u", l[0], l[1], l[2]);
    const uint32_t g3[3] = {2, 3, 1000};
    q8conv_pick_local_wg_size(g3, big_local, 1024, l);
    CHECK(l[0] == 2 && l[1] == 4 && l[2] == 8, "%u %u %u", l[0], l[1], l[2]);
    const uint32_t g4[3] = {100, 100, 100};
    const uint32_t small_local[3] = {8, 3, 64};
    q8conv_pick_local_wg_size(g4, small_local, 48, l);
    CHECK(l[0] == 8 && l[1] == 2 && l[2] == 2, "%u %u %u", l[0], l[1], l[2]);
    for (int t = 0; t < 20000; t++) {
        uint32_t g[3] = {1 + test_below(300), 1 + test_below(40), 1 + test_below(5000)};
        uint32_t ml[3] = {1 + test_below(1100), 1 + test_below(1100), 1 + test_below(70)};
        check_local(g, ml, 1 + test_below(1100));
    }
}

/* Every dispatch respects the count limit and starts on a whole workgroup. */
static void check_dispatch_shapes(const q8conv_dispatch_plan *p, const uint32_t max_count[3])
{
    for (uint32_t d = 0; d < p->count; d++)
        for (int i = 0; i < 3; i++) {
            const q8conv_dispatch *q = &p->dispatches[d];
            CHECK(q->groups[i] >= 1 && q->groups[i] <= max_count[i], "dispatch %u dim %d groups %u", d, i,
                  q->groups[i]);
            CHECK(q->base[i] % p->local[i] == 0, "dispatch %u dim %d base %u", d, i, q->base[i]);
            CHECK(q->base[i] < p->global[i], "dispatch %u dim %d starts past the grid", d, i);
        }
}

/* Counts how often each global invocation is run; every one must run exactly once. */
static void check_coverage_full(const q8conv_dispatch_plan *p)
{
    uint64_t gx = p->global[0], gy = p->global[1], gz = p->global[2];
    unsigned char *hits = calloc(gx * gy * gz, 1);
    if (hits == NULL) {
        CHECK(0, "out of memory");
        return;
    }
    for (uint32_t d = 0; d < p->count; d++) {
        const q8conv_dispatch *q = &p->dispatches[d];
        for (uint64_t z = 0; z < (uint64_t)q->groups[2] * p->local[2]; z++)
            for (uint64_t y = 0; y < (uint64_t)q->groups[1] * p->local[1]; y++)
                for (uint64_t x = 0; x < (uint64_t)q->groups[0] * p->local[0]; x++) {
                    uint64_t X = x + q->base[0], Y = y + q->base[1], Z = z + q->base[2];
                    if (X < gx && Y < gy && Z < gz) /* what the shader's bound check keeps */
                        hits[(Z * gy + Y) * gx + X]++;
                }
    }
    uint64_t bad = 0;
    for (uint64_t i = 0; i < gx * gy * gz; i++)
        bad += hits[i] != 1;
    CHECK(bad == 0, "%llu of %llu invocations not covered exactly once", (unsigned long long)bad,
          (unsigned long long)(gx * gy * gz));
    free(hits);
}

/* For grids too big to enumerate: the distinct per-dimension ranges must tile [0, global) in order,
 * and the dispatch list must be their full cartesian product. */
static void check_coverage_per_dim(const q8conv_dispatch_plan *p)
{
    uint32_t ranges[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        uint64_t next = 0; /* first invocation not yet covered in dim i */
        for (uint32_t d = 0; d < p->count; d++) {
            const q8conv_dispatch *q = &p->dispatches[d];
            if (q->base[i] == next) {
                next += (uint64_t)q->groups[i] * p->local[i];
                ranges[i]++;
            } else {
                CHECK(q->base[i] < next, "dim %d: gap before base %u", i, q->base[i]);
            }
        }
        CHECK(next >= p->global[i] && next < (uint64_t)p->global[i] + p->local[i],
              "dim %d: ranges end at %llu, global %u", i, (unsigned long long)next, p->global[i]);
    }
    CHECK((uint64_t)ranges[0] * ranges[1] * ranges[2] == p->count, "count %u vs %u*%u*%u", p->count, ranges[0],
          ranges[1], ranges[2]);
}

static void test_split_large_rows(void)
{
    q8conv_dispatch_plan p;
    q8conv_status s = q8conv_pick_dispatch_plan(16, 14, 200000, 1, 1, big_count, big_local, 1024, &p);
    CHECK(s == Q8CONV_SUCCESS, "status %d", (int)s);
    if (s != Q8CONV_SUCCESS)
        return;
    CHECK(p.global[0] == 16 && p.global[1] == 14 && p.global[2] == 200000, "global");
    CHECK(p.count >= 2, "200000 rows with local z %u should need several dispatches, got %u", p.local[2], p.count);
    check_dispatch_shapes(&p, big_count);
    check_coverage_per_dim(&p);

    /* A z extent of one workgroup per row forces many chunks. */
    const uint32_t z_local[3] = {1, 1, 1};
    s = q8conv_pick_dispatch_plan(1, 1, 200000, 1, 1, big_count, z_local, 1024, &p);
    CHECK(s == Q8CONV_SUCCESS && p.count == 4, "status %d count %u", (int)s, p.count);
    if (s == Q8CONV_SUCCESS) {
        check_dispatch_shapes(&p, big_count);
        check_coverage_full(&p);
    }
}

static void test_split_tiny_limits(void)
{
    const uint32_t tiny_count[3] = {3, 2, 5};
    const uint32_t local_limit[3] = {4, 4, 4};
    q8conv_dispatch_plan p;
    q8conv_status s = q8conv_pick_dispatch_plan(10, 7, 30, 1, 1, tiny_count, local_limit, 16, &p);
    CHECK(s == Q8CONV_SUCCESS, "status %d", (int)s);
    if (s == Q8CONV_SUCCESS) {
        CHECK(p.count > 1, "count %u", p.count);
        check_dispatch_shapes(&p, tiny_count);
        check_coverage_full(&p);
        check_coverage_per_dim(&p);
    }
    /* Random shapes and limits: every accepted plan covers its grid exactly once. */
    int accepted = 0;
    for (int t = 0; t < 3000; t++) {
        uint32_t mc[3] = {1 + test_below(6), 1 + test_below(6), 1 + test_below(6)};
        uint32_t ml[3] = {1 + test_below(9), 1 + test_below(9), 1 + test_below(9)};
        uint32_t c4 = 1 + test_below(40), w4 = 1 + test_below(20), rows = 1 + test_below(60), tile = 1 + test_below(2);
        s = q8conv_pick_dispatch_plan(c4, w4, rows, 1, tile, mc, ml, 1 + test_below(80), &p);
        CHECK(s == Q8CONV_SUCCESS || s == Q8CONV_ERROR_UNSUPPORTED, "status %d", (int)s);
        if (s != Q8CONV_SUCCESS)
            continue;
        accepted++;
        CHECK(p.count >= 1 && p.count <= Q8CONV_MAX_DISPATCHES, "count %u", p.count);
        check_dispatch_shapes(&p, mc);
        check_coverage_full(&p);
    }
    CHECK(accepted > 300, "only %d random plans accepted", accepted);
}

static void test_refusals(void)
{
    const uint32_t one[3] = {1, 1, 1};
    q8conv_dispatch_plan p;
    memset(&p, TEST_POISON, sizeof(p));
    /* 65 groups in x, one per dispatch: one dispatch too many. */
    q8conv_status s = q8conv_pick_dispatch_plan(65, 1, 1, 1, 1, one, one, 64, &p);
    CHECK(s == Q8CONV_ERROR_UNSUPPORTED, "65 dispatches: status %d", (int)s);
    s = q8conv_pick_dispatch_plan(64, 1, 1, 1, 1, one, one, 64, &p);
    CHECK(s == Q8CONV_SUCCESS && p.count == 64, "64 dispatches: status %d count %u", (int)s, p.count);
    /* The product over dimensions counts: 5 * 4 * 4 = 80. */
    s = q8conv_pick_dispatch_plan(5, 4, 4, 1, 1, one, one, 64, &p);
    CHECK(s == Q8CONV_ERROR_UNSUPPORTED, "80 dispatches: status %d", (int)s);

    q8conv_dispatch_plan before;
    memset(&p, TEST_POISON, sizeof(p));
    memcpy(&before, &p, sizeof(p));
    CHECK(q8conv_pick_dispatch_plan(0, 1, 1, 1, 1, big_count, big_local, 64, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "c4 0");
    CHECK(q8conv_pick_dispatch_plan(1, 0, 1, 1, 1, big_count, big_local, 64, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "w4 0");
    CHECK(q8conv_pick_dispatch_plan(1, 1, 0, 1, 1, big_count, big_local, 64, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "rows 0");
    CHECK(q8conv_pick_dispatch_plan(1, 1, 1, 1, 0, big_count, big_local, 64, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "tile 0");
    const uint32_t zero_count[3] = {65535, 0, 65535};
    CHECK(q8conv_pick_dispatch_plan(1, 1, 1, 1, 1, zero_count, big_local, 64, &p) == Q8CONV_ERROR_INVALID_ARGUMENT,
          "max_count 0");
    CHECK(q8conv_pick_dispatch_plan(1, 1, 1, 1, 1, big_count, big_local, 0, &p) == Q8CONV_ERROR_INVALID_ARGUMENT,
          "max_invocations 0");
    CHECK(q8conv_pick_dispatch_plan(1, 1, 1, 1, 1, big_count, big_local, 64, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT,
          "plan NULL");
    CHECK(memcmp(&p, &before, sizeof(p)) == 0, "a refused plan was written");
}

/* Split-K plans: chosen only for small grids, within the shared-memory and size budgets, and
 * every output block of the grid is covered by exactly one workgroup column. */
static void test_split_k(void)
{
    q8conv_dispatch_plan p, q;
    /* A big grid never splits, and then the plan is pick_dispatch_plan's. */
    CHECK(q8conv_pick_dispatch_plan(64, 16, 512, 128, 1, big_count, big_local, 1024, &p) == Q8CONV_SUCCESS, "big");
    CHECK(q8conv_pick_dispatch_plan(64, 16, 512, 1, 1, big_count, big_local, 1024, &q) == Q8CONV_SUCCESS, "big ref");
    CHECK(p.k_split == 1 && memcmp(p.local, q.local, sizeof p.local) == 0 && p.count == q.count, "big grid split");
    /* MobileNetV2's 7x7x960 -> 160 layer: 560 invocations. */
    CHECK(q8conv_pick_dispatch_plan(40, 2, 7, 240, 1, big_count, big_local, 1024, &p) == Q8CONV_SUCCESS, "7x7");
    CHECK(p.k_split > 1, "7x7x960 not split (k_split %u)", p.k_split);
    /* Workgroups the H200 ran fastest (bench/RESULTS.md, calls 4-9): the 7x7 layer's slices narrow x
     * so its 40 channel blocks make several workgroups, and MobileNetV2's 56x56x96 -> 24 projection
     * fills a workgroup of 64 with width blocks (the one-block plans ran 16 invocations). */
    CHECK(p.local[0] <= 8, "7x7x960: local x %u", p.local[0]);
    CHECK(q8conv_pick_dispatch_plan(6, 14, 56, 24, 1, big_count, big_local, 1024, &p) == Q8CONV_SUCCESS &&
              p.k_split > 1 && p.local[0] * p.local[1] * p.local[2] == Q8CONV_WORKGROUP_INVOCATIONS,
          "56x56x96: local %u %u %u", p.local[0], p.local[1], p.local[2]);
    /* Too few K steps to share: no split. */
    CHECK(q8conv_pick_dispatch_plan(40, 2, 7, Q8CONV_KSPLIT_MIN_STEPS * 2 - 1, 1, big_count, big_local, 1024, &p) ==
              Q8CONV_SUCCESS && p.k_split == 1, "short K split (k_split %u)", p.k_split);
    for (int t = 0; t < 5000; t++) {
        uint32_t c4 = 1 + test_below(64), w4 = 1 + test_below(8), rows = 1 + test_below(16), c4_in = 1 + test_below(4096), tile = 1 + test_below(2);
        uint32_t mc[3] = {1 + test_below(8), 1 + test_below(8), 1 + test_below(8)};
        uint32_t inv = 64u << test_below(5);
        q8conv_status st = q8conv_pick_dispatch_plan(c4, w4, rows, c4_in, tile, mc, big_local, inv, &p);
        if (st == Q8CONV_ERROR_UNSUPPORTED)
            continue;
        CHECK(st == Q8CONV_SUCCESS, "status %d", (int)st);
        if (st != Q8CONV_SUCCESS || p.k_split == 1)
            continue;
        const uint32_t ks = p.k_split;
        CHECK(is_pow2(ks) && ks <= Q8CONV_KSPLIT_MAX && c4_in / ks >= Q8CONV_KSPLIT_MIN_STEPS, "k_split %u c4_in %u", ks,
              c4_in);
        const uint32_t lw = p.local[2];
        CHECK(p.local[1] == ks && is_pow2(lw) && p.local[0] * ks * lw * tile <= Q8CONV_KSPLIT_SLOTS &&
                  p.local[0] * ks * lw <= inv && p.local[0] * ks * lw <= Q8CONV_KSPLIT_INVOCATIONS && (lw == 1 || p.local[0] * ks * lw <= Q8CONV_WORKGROUP_INVOCATIONS),
              "local %u %u %u ks %u", p.local[0], p.local[1], p.local[2], ks);
        CHECK((uint64_t)p.global[0] * p.global[1] * p.global[2] < Q8CONV_KSPLIT_BELOW, "large grid split");
        /* Coverage: workgroup (gx, gy, gz) of a dispatch covers x in [base.x + gx*lx, +lx), y in
         * [base.y + gy*lw, +lw), z = base.z + gz. */
        size_t n = (size_t)p.global[0] * p.global[1] * p.global[2];
        unsigned char *seen = calloc(n, 1);
        for (uint32_t d = 0; d < p.count; d++)
            for (uint32_t gz = 0; gz < p.dispatches[d].groups[2]; gz++)
                for (uint32_t gy = 0; gy < p.dispatches[d].groups[1]; gy++)
                    for (uint32_t gx = 0; gx < p.dispatches[d].groups[0]; gx++)
                        for (uint32_t lz = 0; lz < lw; lz++)
                            for (uint32_t lane = 0; lane < p.local[0]; lane++) {
                                uint32_t x = p.dispatches[d].base[0] + gx * p.local[0] + lane;
                                uint32_t y = p.dispatches[d].base[1] + gy * lw + lz, z = p.dispatches[d].base[2] + gz;
                                if (x < p.global[0] && y < p.global[1] && z < p.global[2])
                                    seen[((size_t)z * p.global[1] + y) * p.global[0] + x]++;
                            }
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += seen[i] != 1;
        CHECK(bad == 0, "split-K plan covers %zu of %zu blocks wrongly", bad, n);
        free(seen);
    }
}

/* AUTO's rule for every combination of what a device can say: cooperative matrices, the dot
 * product usable, its signed and its mixed-signedness forms accelerated (the *_FAST bits count
 * only beside Q8CONV_CAP_DOT). */
static void test_auto_rule(void)
{
    for (uint32_t caps = 0; caps < 16; caps++) {
        const bool coopmat = caps & Q8CONV_CAP_COOPMAT, dot = caps & Q8CONV_CAP_DOT;
        const bool fast_signed = dot && (caps & Q8CONV_CAP_DOT_SIGNED_FAST);
        const bool fast_mixed = dot && (caps & Q8CONV_CAP_DOT_MIXED_FAST);
        const q8conv_kernel block = fast_signed  ? Q8CONV_KERNEL_DOT
                                    : fast_mixed ? Q8CONV_KERNEL_DOT_MIXED
                                                 : Q8CONV_KERNEL_FALLBACK;
        CHECK(q8conv_auto_block_kernel(caps) == block, "caps 0x%x: block kernel %s, want %s", caps,
              q8conv_kernel_name(q8conv_auto_block_kernel(caps)), q8conv_kernel_name(block));
        const q8conv_kernel want = coopmat ? Q8CONV_KERNEL_COOPMAT : block;
        CHECK(q8conv_auto_kernel(caps) == want, "caps 0x%x: AUTO %s, want %s", caps,
              q8conv_kernel_name(q8conv_auto_kernel(caps)), q8conv_kernel_name(want));
        /* resolve(AUTO) runs the rule's kernel, on a line the device can run; without the matrix
         * bit (what an AUTO op keeps beside COOPMAT) it gives the block kernel. */
        uint32_t line = 0xDEAD, alt = 0xDEAD;
        CHECK(q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, caps, &line) == Q8CONV_SUCCESS &&
                  line < Q8CONV_KERNEL_LINE_COUNT && q8conv_kernel_lines[line].kernel == want &&
                  (q8conv_kernel_lines[line].needs & ~caps) == 0,
              "caps 0x%x: resolve(AUTO) line %u", caps, line);
        CHECK(q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, caps & ~Q8CONV_CAP_COOPMAT, &alt) == Q8CONV_SUCCESS &&
                  alt < Q8CONV_KERNEL_LINE_COUNT && q8conv_kernel_lines[alt].kernel == block,
              "caps 0x%x: resolve(AUTO) without matrices line %u", caps, alt);
    }
    /* The issue-16 devices, as their drivers report them: an emulated dot product (GFX9, Mali)
     * gets FALLBACK; Adreno 6xx/7xx (only the mixed form native) DOT_MIXED; NVIDIA, GFX10.3+ DOT. */
    CHECK(q8conv_auto_kernel(Q8CONV_CAP_DOT) == Q8CONV_KERNEL_FALLBACK, "emulated");
    CHECK(q8conv_auto_kernel(Q8CONV_CAP_DOT | Q8CONV_CAP_DOT_MIXED_FAST) == Q8CONV_KERNEL_DOT_MIXED, "mixed only");
    CHECK(q8conv_auto_kernel(Q8CONV_CAP_DOT | Q8CONV_CAP_DOT_SIGNED_FAST | Q8CONV_CAP_DOT_MIXED_FAST) ==
              Q8CONV_KERNEL_DOT,
          "both");
    /* Compiler evidence refines the rule: issue 16's figures (2026-12-02). GFX9: DOT 64 VGPRs / 4
     * waves against FALLBACK's 48 / 5 -> not DOT even if a driver called it accelerated; Mali-G610:
     * DOT spills 2 where FALLBACK spills none; GFX10.3: DOT 40 / 24 against 48 / 20 -> DOT stays;
     * Adreno 740: DOT_MIXED 13 regs / 14 waves against 19 / 10 -> stays. Unknown figures (NVIDIA
     * reports no occupancy; a driver without the extension nothing) change nothing. */
    const uint32_t both = Q8CONV_CAP_DOT | Q8CONV_CAP_DOT_SIGNED_FAST | Q8CONV_CAP_DOT_MIXED_FAST;
    const q8conv_compiled_kernel gfx9_dot = {true, 0, 4}, gfx9_fallback = {true, 0, 5};
    const q8conv_compiled_kernel mali_dot = {true, 2, 0}, mali_fallback = {true, 0, 0};
    const q8conv_compiled_kernel gfx103_dot = {true, 0, 24}, gfx103_fallback = {true, 0, 20};
    const q8conv_compiled_kernel a740_mixed = {true, 0, 14}, a740_fallback = {true, 0, 10};
    const q8conv_compiled_kernel unknown = {false, 99, 1}, nv = {true, 0, 0};
    CHECK(q8conv_auto_refine(both, &gfx9_dot, NULL, &gfx9_fallback) == (both & ~Q8CONV_CAP_DOT_SIGNED_FAST),
          "GFX9 figures drop DOT");
    CHECK(q8conv_auto_kernel(q8conv_auto_refine(both, &gfx9_dot, &gfx9_dot, &gfx9_fallback)) == Q8CONV_KERNEL_FALLBACK,
          "GFX9 figures for both -> FALLBACK");
    CHECK(q8conv_auto_refine(both, &mali_dot, NULL, &mali_fallback) == (both & ~Q8CONV_CAP_DOT_SIGNED_FAST),
          "Mali spills drop DOT");
    CHECK(q8conv_auto_refine(both, &gfx103_dot, NULL, &gfx103_fallback) == both, "GFX10.3 keeps DOT");
    CHECK(q8conv_auto_refine(Q8CONV_CAP_DOT | Q8CONV_CAP_DOT_MIXED_FAST, NULL, &a740_mixed, &a740_fallback) ==
              (Q8CONV_CAP_DOT | Q8CONV_CAP_DOT_MIXED_FAST),
          "Adreno keeps DOT_MIXED");
    CHECK(q8conv_auto_refine(both, &unknown, &unknown, &gfx9_fallback) == both &&
              q8conv_auto_refine(both, &gfx9_dot, &gfx9_dot, &unknown) == both && q8conv_auto_refine(both, &nv, &nv, &nv) == both &&
              q8conv_auto_refine(both, NULL, NULL, NULL) == both,
          "unknown figures change nothing");
    CHECK(q8conv_auto_refine(Q8CONV_CAP_DOT, &gfx103_fallback, &gfx103_fallback, &gfx9_dot) == Q8CONV_CAP_DOT,
          "a refinement never sets a bit");
    /* Only the DOT_MIXED lines read unsigned activations. */
    for (uint32_t i = 0; i < Q8CONV_KERNEL_LINE_COUNT; i++)
        CHECK(q8conv_line_reads_unsigned(i) == (q8conv_kernel_lines[i].kernel == Q8CONV_KERNEL_DOT_MIXED),
              "line %u (%s, \"%s\") reads unsigned: %d", i, q8conv_kernel_name(q8conv_kernel_lines[i].kernel),
              q8conv_kernel_lines[i].defines, q8conv_line_reads_unsigned(i));
}

/* The kernel table: a forced kernel the device cannot run is refused; LEGACY follows the context's
 * dot product. */
static void test_kernel_table(void)
{
    const uint32_t all = Q8CONV_CAP_DOT | Q8CONV_CAP_COOPMAT | Q8CONV_CAP_DOT_SIGNED_FAST | Q8CONV_CAP_DOT_MIXED_FAST;
    const struct {
        q8conv_kernel asked;
        uint32_t caps;
        q8conv_status want;
        q8conv_kernel kernel;
        uint32_t needs;
    } cases[] = {
        {Q8CONV_KERNEL_AUTO, all, Q8CONV_SUCCESS, Q8CONV_KERNEL_COOPMAT, Q8CONV_CAP_COOPMAT},
        {Q8CONV_KERNEL_AUTO, Q8CONV_CAP_DOT | Q8CONV_CAP_DOT_SIGNED_FAST, Q8CONV_SUCCESS, Q8CONV_KERNEL_DOT, Q8CONV_CAP_DOT},
        {Q8CONV_KERNEL_AUTO, Q8CONV_CAP_DOT, Q8CONV_SUCCESS, Q8CONV_KERNEL_FALLBACK, 0},
        {Q8CONV_KERNEL_DOT_MIXED, Q8CONV_CAP_DOT, Q8CONV_SUCCESS, Q8CONV_KERNEL_DOT_MIXED, Q8CONV_CAP_DOT},
        {Q8CONV_KERNEL_DOT_MIXED, Q8CONV_CAP_COOPMAT | Q8CONV_CAP_DOT_MIXED_FAST, Q8CONV_ERROR_UNSUPPORTED,
         Q8CONV_KERNEL_AUTO, 0},
        {Q8CONV_KERNEL_AUTO, 0, Q8CONV_SUCCESS, Q8CONV_KERNEL_FALLBACK, 0},
        {Q8CONV_KERNEL_AUTO, Q8CONV_CAP_COOPMAT, Q8CONV_SUCCESS, Q8CONV_KERNEL_COOPMAT, Q8CONV_CAP_COOPMAT},
        {Q8CONV_KERNEL_COOPMAT, Q8CONV_CAP_DOT, Q8CONV_ERROR_UNSUPPORTED, Q8CONV_KERNEL_AUTO, 0},
        {Q8CONV_KERNEL_COOPMAT, all, Q8CONV_SUCCESS, Q8CONV_KERNEL_COOPMAT, Q8CONV_CAP_COOPMAT},
        {Q8CONV_KERNEL_DOT, 0, Q8CONV_ERROR_UNSUPPORTED, Q8CONV_KERNEL_AUTO, 0},
        {Q8CONV_KERNEL_DOT, all, Q8CONV_SUCCESS, Q8CONV_KERNEL_DOT, Q8CONV_CAP_DOT},
        {Q8CONV_KERNEL_FALLBACK, all, Q8CONV_SUCCESS, Q8CONV_KERNEL_FALLBACK, 0},
        {Q8CONV_KERNEL_LEGACY, all, Q8CONV_SUCCESS, Q8CONV_KERNEL_LEGACY, Q8CONV_CAP_DOT},
        {Q8CONV_KERNEL_LEGACY, 0, Q8CONV_SUCCESS, Q8CONV_KERNEL_LEGACY, 0},
        {Q8CONV_KERNEL_COUNT_, all, Q8CONV_ERROR_INVALID_ARGUMENT, Q8CONV_KERNEL_AUTO, 0},
        {(q8conv_kernel)-1, all, Q8CONV_ERROR_INVALID_ARGUMENT, Q8CONV_KERNEL_AUTO, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t line = 0xDEAD;
        q8conv_status st = q8conv_kernel_resolve(cases[i].asked, cases[i].caps, &line);
        CHECK(st == cases[i].want, "case %zu: status %s", i, q8conv_status_string(st));
        if (st != Q8CONV_SUCCESS) {
            CHECK(line == 0xDEAD, "case %zu: line written on failure", i);
            continue;
        }
        CHECK(line < Q8CONV_KERNEL_LINE_COUNT, "case %zu: line %u", i, line);
        if (line >= Q8CONV_KERNEL_LINE_COUNT)
            continue;
        const q8conv_kernel_line *l = &q8conv_kernel_lines[line];
        CHECK(l->kernel == cases[i].kernel && l->needs == cases[i].needs, "case %zu: %s needs %u", i,
              q8conv_kernel_name(l->kernel), l->needs);
        CHECK((l->needs & ~cases[i].caps) == 0, "case %zu: a line the device cannot run", i);
    }
    /* Every line's tile and plan are consistent with tiling.h: the legacy kernel (LEGACY=1)
     * computes 8 output channels per invocation, every other block kernel 4. */
    for (uint32_t i = 0; i < Q8CONV_KERNEL_LINE_COUNT; i++) {
        const q8conv_kernel_line *l = &q8conv_kernel_lines[i];
        const uint32_t want = l->kernel == Q8CONV_KERNEL_LEGACY ? Q8CONV_TILE_N4_LEGACY : Q8CONV_TILE_N4_MAIN;
        CHECK(l->tile_n4 == want || l->plan == Q8CONV_PLAN_MATRIX, "line %u tile %u", i, l->tile_n4);
        CHECK(q8conv_module_index(i, Q8CONV_LAYOUT_4W4C, Q8CONV_LAYOUT_4W4C) < Q8CONV_MODULE_COUNT, "module index");
    }
}

/* Cooperative-matrix plans: every tile of the menu is a whole number of subgroup tiles and
 * matrices and fits the smallest shared memory it may meet; the chosen tile respects the device's
 * limits; and the grid covers every pixel and channel tile exactly once, split where needed. */
static void test_matrix_plan(void)
{
    for (int i = 0; i < Q8CONV_CM_TILE_COUNT; i++) {
        const q8conv_matrix_tile *t = &q8conv_matrix_tiles[i];
        CHECK(t->bm % t->sg_m == 0 && t->bn % t->sg_n == 0 && t->sg_m % Q8CONV_CM_M == 0 && t->sg_n % Q8CONV_CM_N == 0 &&
                  t->bk % Q8CONV_CM_K == 0 && Q8CONV_CM_WEIGHT_K_ALIGN % t->bk == 0 && t->bm % 16 == 0 && (t->stages == 1 || t->stages == 2),
              "tile %d: %u %u %u %u %u", i, t->bm, t->bn, t->sg_m, t->sg_n, t->bk);
        CHECK(q8conv_matrix_tile_shared_bytes(t) <= 48u * 1024u, "tile %d uses %u bytes of shared memory", i,
              q8conv_matrix_tile_shared_bytes(t));
    }
    /* Every menu tile passes the check a forced tile (tuning builds) must pass; each broken rule is
     * named, and the device's limits are its own. */
    for (int i = 0; i < Q8CONV_CM_TILE_COUNT; i++)
        CHECK(q8conv_matrix_tile_unfit(&q8conv_matrix_tiles[i], 32, big_local, 1024, 49152) == NULL, "menu tile %d", i);
    const q8conv_matrix_tile ok = {128, 128, 64, 32, 64, 2};
    const struct {
        q8conv_matrix_tile t;
        uint32_t max_invocations, max_shared;
        const char *what;
    } unfit[] = {
        {{128, 128, 24, 32, 64, 2}, 1024, 49152, "SG_M not a multiple of 16"},
        {{128, 120, 64, 40, 64, 2}, 1024, 49152, "SG_N not a multiple of 16"},
        {{96, 128, 64, 32, 64, 2}, 1024, 49152, "BM not a multiple of SG_M"},
        {{128, 128, 64, 32, 48, 2}, 1024, 49152, "BK not a multiple of 32"},
        {{128, 128, 64, 32, 256, 2}, 1024, 49152, "BK beyond the weights' K padding"},
        {{128, 128, 64, 32, 64, 3}, 1024, 49152, "3 stages"},
        {{128, 128, 64, 32, 64, 0}, 1024, 49152, "0 stages"},
        {{128, 128, 16, 16, 64, 2}, 1024, 49152, "64 subgroups of 32"},
        {{128, 128, 64, 32, 64, 2}, 128, 49152, "8 subgroups in 128 invocations"},
        {{128, 128, 64, 32, 64, 2}, 1024, 16384, "shared memory"},
        {{0, 128, 64, 32, 64, 2}, 1024, 49152, "BM 0"},
    };
    CHECK(q8conv_matrix_tile_unfit(&ok, 32, big_local, 1024, 49152) == NULL, "a good tile refused");
    for (size_t i = 0; i < sizeof unfit / sizeof unfit[0]; i++)
        CHECK(q8conv_matrix_tile_unfit(&unfit[i].t, 32, big_local, unfit[i].max_invocations, unfit[i].max_shared) != NULL,
              "%s accepted", unfit[i].what);
    q8conv_dispatch_plan p;
    /* A given tile gets the grid the picker would give it, and nothing else. */
    CHECK(q8conv_pick_matrix_plan_tile(1000, 50, 32, big_count, &ok, &p) == Q8CONV_SUCCESS && p.tile.bm == 128 &&
              p.tile.bk == 64 && p.global[0] == 2 && p.global[1] == 8 && p.local[0] == 8 * 32 && p.k_split == 1,
          "forced tile: grid %u %u local %u", p.global[0], p.global[1], p.local[0]);
    CHECK(q8conv_pick_matrix_plan_tile(1000, 50, 32, big_count, NULL, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "no tile");
    /* The workgroup target follows K (H200 sweeps, dispatch_picker.c): 3136 pixels x 144 channels
     * keep the 32x32 tile with K = 24 (MobileNetV2's b3_expand) and take 64x64 with K = 128. */
    CHECK(q8conv_pick_matrix_plan(3136, 36, 6, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS &&
              p.tile.bm == 32 && p.tile.bn == 32,
          "short K: tile %ux%u", p.tile.bm, p.tile.bn);
    CHECK(q8conv_pick_matrix_plan(3136, 36, 32, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS &&
              p.tile.bm == 64 && p.tile.bn == 64,
          "long K: tile %ux%u", p.tile.bm, p.tile.bn);
    /* 1x128x128 128->128 and 32x14x14 384->64: the tiles the sweep found fastest. */
    CHECK(q8conv_pick_matrix_plan(16384, 32, 32, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS &&
              p.tile.bm == 128 && p.tile.bn == 128,
          "1x128x128 128->128: tile %ux%u", p.tile.bm, p.tile.bn);
    CHECK(q8conv_pick_matrix_plan(6272, 16, 96, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS &&
              p.tile.bm == 64 && p.tile.bn == 64,
          "32x14x14 384->64: tile %ux%u", p.tile.bm, p.tile.bn);
    /* A big layer takes the largest tile; a small one a tile that gives more workgroups. */
    CHECK(q8conv_pick_matrix_plan(32768, 128, 128, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS, "big");
    CHECK(p.tile.bm == q8conv_matrix_tiles[0].bm && p.tile.bn == q8conv_matrix_tiles[0].bn, "big layer tile %ux%u",
          p.tile.bm, p.tile.bn);
    CHECK(p.local[0] == q8conv_matrix_tile_subgroups(&p.tile) * 32 && p.local[1] == 1 && p.local[2] == 1, "local");
    /* A thin layer (24 channels) takes a 32-channel-wide tile, not one of 128 mostly padding. */
    CHECK(q8conv_pick_matrix_plan(100352, 6, 128, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS && p.tile.bn == 32,
          "thin layer: tile %ux%u", p.tile.bm, p.tile.bn);
    CHECK(q8conv_pick_matrix_plan(49, 40, 128, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_SUCCESS, "7x7");
    CHECK((uint64_t)p.global[0] * p.global[1] > 1, "7x7x160 in one workgroup");
    /* Limits: a workgroup of 8 subgroups does not fit 128 invocations; nothing fits 32. */
    CHECK(q8conv_pick_matrix_plan(32768, 128, 128, 32, big_count, big_local, 128, 49152, &p) == Q8CONV_SUCCESS &&
              p.local[0] <= 128, "invocation limit: local %u", p.local[0]);
    CHECK(q8conv_pick_matrix_plan(32768, 128, 128, 32, big_count, big_local, 1024, 16384, &p) == Q8CONV_SUCCESS &&
              q8conv_matrix_tile_shared_bytes(&p.tile) <= 16384, "shared limit (Vulkan's minimum)");
    memset(&p, TEST_POISON, sizeof p);
    q8conv_dispatch_plan before = p;
    CHECK(q8conv_pick_matrix_plan(32768, 128, 128, 32, big_count, big_local, 32, 49152, &p) == Q8CONV_ERROR_UNSUPPORTED,
          "no tile fits 32 invocations");
    CHECK(q8conv_pick_matrix_plan(0, 128, 128, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "0 pixels");
    CHECK(q8conv_pick_matrix_plan(1, 0, 128, 32, big_count, big_local, 1024, 49152, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "0 channels");
    CHECK(q8conv_pick_matrix_plan(1, 1, 1, 0, big_count, big_local, 1024, 49152, &p) == Q8CONV_ERROR_INVALID_ARGUMENT, "subgroup 0");
    CHECK(memcmp(&p, &before, sizeof p) == 0, "a refused plan was written");
    /* Random shapes and group-count limits: the workgroups cover the tile grid exactly once. */
    for (int t = 0; t < 3000; t++) {
        uint32_t pixels = 1 + test_below(test_below(2) ? 100 : 200000), c4 = 1 + test_below(300);
        uint32_t mc[3] = {1 + test_below(8), 1 + test_below(4000), 1 + test_below(3)};
        q8conv_status st = q8conv_pick_matrix_plan(pixels, c4, 128, 32, mc, big_local, 1024, 49152, &p);
        if (st == Q8CONV_ERROR_UNSUPPORTED)
            continue;
        CHECK(st == Q8CONV_SUCCESS, "status %d", (int)st);
        if (st != Q8CONV_SUCCESS)
            continue;
        CHECK(p.global[0] == (c4 * 4 + p.tile.bn - 1) / p.tile.bn && p.global[1] == (pixels + p.tile.bm - 1) / p.tile.bm &&
                  p.global[2] == 1,
              "grid %u %u %u for %u pixels, %u channels, tile %ux%u", p.global[0], p.global[1], p.global[2], pixels,
              c4 * 4, p.tile.bm, p.tile.bn);
        size_t n = (size_t)p.global[0] * p.global[1];
        unsigned char *seen = calloc(n, 1);
        for (uint32_t d = 0; d < p.count; d++) {
            const q8conv_dispatch *q = &p.dispatches[d];
            CHECK(q->groups[0] <= mc[0] && q->groups[1] <= mc[1] && q->groups[2] == 1, "dispatch %u groups", d);
            for (uint32_t y = 0; y < q->groups[1]; y++)
                for (uint32_t x = 0; x < q->groups[0]; x++)
                    if (q->base[0] + x < p.global[0] && q->base[1] + y < p.global[1])
                        seen[(size_t)(q->base[1] + y) * p.global[0] + q->base[0] + x]++;
        }
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += seen[i] != 1;
        CHECK(bad == 0, "matrix plan covers %zu of %zu tiles wrongly", bad, n);
        free(seen);
    }
}

/* AUTO's choice between the matrix and the dot kernel: the thresholds of tiling.h, both ways. */
static void test_matrix_pays(void)
{
    CHECK(q8conv_matrix_pays(32768, 512, 512), "big layer");
    CHECK(q8conv_matrix_pays(Q8CONV_CM_MIN_OUTPUTS / 64, Q8CONV_CM_MIN_WEIGHTS / 64, 64), "the thresholds themselves");
    CHECK(!q8conv_matrix_pays(Q8CONV_CM_MIN_OUTPUTS / 64 - 1, 512, 64), "one pixel short");
    CHECK(!q8conv_matrix_pays(32768, Q8CONV_CM_MIN_WEIGHTS / 64 - 1, 64), "weights short");
    CHECK(!q8conv_matrix_pays(49, 960, 160), "7x7x960 -> 160");
    CHECK(!q8conv_matrix_pays(12544, 16, 96), "112x112x16 -> 96");
    CHECK(q8conv_matrix_pays(3136, 24, 144), "56x56x24 -> 144");
    CHECK(q8conv_matrix_pays(0xFFFFFFFFull, 16384, 16384), "no overflow");
}

/* The row map of a strided op (pw.c cuts its pieces with it): output row r of image n reads input
 * row n * h + s * (r % ho), and the first output row at or past any input row, against brute force. */
static void test_strided_rows(void)
{
    for (int t = 0; t < 300; ++t) {
        const uint32_t h = 1 + test_below(40), s = 1 + test_below(6), n = 1 + test_below(3);
        const uint32_t ho = (h - 1) / s + 1;
        for (uint64_t r = 0; r < (uint64_t)n * ho; ++r)
            CHECK(q8conv_input_row(r, h, ho, s) == r / ho * h + s * (r % ho), "h %u s %u: row %llu", h, s,
                  (unsigned long long)r);
        for (uint64_t in = 0; in <= (uint64_t)n * h; ++in) {
            uint64_t want = 0;
            while (want < (uint64_t)n * ho && q8conv_input_row(want, h, ho, s) < in)
                ++want;
            const uint64_t got = q8conv_first_output_row_from(in, h, ho, s);
            CHECK(got == want, "h %u ho %u s %u n %u: first output row from input row %llu is %llu, want %llu", h, ho,
                  s, n, (unsigned long long)in, (unsigned long long)got, (unsigned long long)want);
        }
        if (test_failures > 10)
            return;
    }
}

/* The cooperative-matrix kernel keeps its WEIGHT_ZP pipelines' per-pixel input sums (BM words)
 * after the epilogue's strips (shaders/q8conv_pw_coopmat.comp), and q8conv_matrix_tile_shared_bytes
 * counts them for every pipeline. Against the count without them, no tile of the menu changes
 * sides of the shared-memory limits devices have. */
static void test_matrix_tiles_hold_input_sums(void)
{
    static const uint32_t limits[] = {16384, 32768, 49152, 65536, 101376, 232448};
    for (int i = 0; i < Q8CONV_CM_TILE_COUNT; ++i) {
        const q8conv_matrix_tile *t = &q8conv_matrix_tiles[i];
        const uint32_t stride = t->bk / 4u + 4u, stage = t->stages * (t->bm + t->bn) * stride;
        const uint32_t epi = q8conv_matrix_tile_subgroups(t) * Q8CONV_CM_M * (t->sg_n + 4u);
        const uint32_t with = 4u * (stage > epi + t->bm ? stage : epi + t->bm) + 16u * t->bn;
        const uint32_t without = 4u * (stage > epi ? stage : epi) + 16u * t->bn;
        CHECK(q8conv_matrix_tile_shared_bytes(t) == with, "tile %u x %u: shared bytes %u, want %u", t->bm, t->bn,
              q8conv_matrix_tile_shared_bytes(t), with);
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; ++l)
            CHECK((with <= limits[l]) == (without <= limits[l]), "tile %u x %u: %u bytes with the input sums, %u "
                  "without, on either side of %u", t->bm, t->bn, with, without, limits[l]);
    }
}

int main(void)
{
    test_seed();
    test_strided_rows();
    test_matrix_tiles_hold_input_sums();
    test_global_extents();
    test_local_size();
    test_split_large_rows();
    test_split_tiny_limits();
    test_refusals();
    test_split_k();
    test_kernel_table();
    test_auto_rule();
    test_matrix_plan();
    test_matrix_pays();
    return test_finish("test_picker");
}
