/* The kernels on production compilers, with no GPU: RADV's null devices (RADV_FORCE_FAMILY) compile
 * every pipeline with AMD's compiler (ACO) and report its statistics, which this test reads through
 * q8conv_kernel_statistics on a compile-only context. Per AMD family (argv[1], for the messages;
 * the environment chooses the device, see tests/compilers/CMakeLists.txt):
 *   1. every kernel line the device can run, in every layout pair (and every matrix tile), compiles
 *      with no spilled registers;
 *   2. each TILE_N4 = 1 block line uses fewer VGPRs than the TILE_N4 = 2 (LEGACY) line that needs
 *      the same capabilities (the same dot / no-dot kind) and reaches at least as many subgroups
 *      per SIMD: the trade the main kernel was made for;
 *   3. AUTO picks what the rule says from the driver's own integerDotProduct properties: the dot
 *      kernel where the signed packed dot product is accelerated, else the mixed-signedness one
 *      where that is, else the fallback.
 * Float bias, int8 input, local size Q8CONV_WORKGROUP_INVOCATIONS (as q8conv-info --kernels).
 * Without the RADV driver the test says so and exits 77 (ctest: skipped). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

#define SKIP 77

static const char *layout_name(q8conv_layout l) { return l == Q8CONV_LAYOUT_4W4C ? "4w4c" : "4c1w"; }

/* A statistic by the driver's name; false if the driver did not report it. */
static bool find_stat(const q8conv_statistic *s, uint32_t n, const char *name, double *value)
{
    for (uint32_t i = 0; i < n; ++i)
        if (strcmp(s[i].name, name) == 0) {
            *value = s[i].value;
            return true;
        }
    return false;
}

typedef struct figures {
    bool ok;
    double vgprs, sgprs, spilled_vgprs, spilled_sgprs, waves, instructions;
} figures;

/* Compiles one pipeline and checks that it has no spills; returns its figures. */
static figures compile(q8conv_context *ctx, uint32_t line, uint32_t layouts, uint32_t tile)
{
    const q8conv_kernel_pipeline p = {.line = line,
                                      .in_layout = (layouts & 2u) ? Q8CONV_LAYOUT_4W4C : Q8CONV_LAYOUT_4C1W,
                                      .out_layout = (layouts & 1u) ? Q8CONV_LAYOUT_4W4C : Q8CONV_LAYOUT_4C1W,
                                      .bias_mode = Q8CONV_BIAS_FLOAT,
                                      .tile = tile};
    q8conv_statistic s[128];
    uint32_t n = 0;
    figures f = {0};
    q8conv_status st = q8conv_kernel_statistics(ctx, &p, s, 128, &n);
    const char *kernel = q8conv_kernel_name(q8conv_kernel_lines[line].kernel);
    CHECK(st == Q8CONV_SUCCESS, "line %u (%s) %s->%s tile %u: %s", line, kernel, layout_name(p.in_layout),
          layout_name(p.out_layout), tile, q8conv_status_string(st));
    if (st != Q8CONV_SUCCESS)
        return f;
    /* Every figure the checks use must be there: a driver that renamed one would otherwise pass. */
    f.ok = find_stat(s, n, "VGPRs", &f.vgprs) && find_stat(s, n, "SGPRs", &f.sgprs) &&
           find_stat(s, n, "Spilled VGPRs", &f.spilled_vgprs) && find_stat(s, n, "Spilled SGPRs", &f.spilled_sgprs) &&
           find_stat(s, n, "Subgroups per SIMD", &f.waves) && find_stat(s, n, "Instructions", &f.instructions);
    CHECK(f.ok, "line %u: the driver reports no VGPRs / SGPRs / Spilled VGPRs / Spilled SGPRs / Subgroups per SIMD / "
                "Instructions (%u statistics)", line, n);
    printf("  line %u %-8s tile_n4 %u %s->%s tile %u: VGPRs %g, SGPRs %g, spilled VGPRs %g, spilled SGPRs %g, "
           "subgroups per SIMD %g, instructions %g\n",
           line, kernel, q8conv_kernel_lines[line].tile_n4, layout_name(p.in_layout), layout_name(p.out_layout), tile,
           f.vgprs, f.sgprs, f.spilled_vgprs, f.spilled_sgprs, f.waves, f.instructions);
    CHECK(!f.ok || (f.spilled_vgprs == 0 && f.spilled_sgprs == 0), "line %u (%s) %s->%s tile %u spills: %g VGPRs, %g SGPRs",
          line, kernel, layout_name(p.in_layout), layout_name(p.out_layout), tile, f.spilled_vgprs, f.spilled_sgprs);
    return f;
}

/* The integer dot product properties the rule reads, straight from the driver. */
static void read_dot_properties(q8conv_context *ctx, bool *signed_acc, bool *mixed_acc)
{
    q8conv_vulkan_handles h;
    CHECK_OK(q8conv_context_get_vulkan_handles(ctx, &h));
    PFN_vkGetPhysicalDeviceProperties2 props2 =
        (PFN_vkGetPhysicalDeviceProperties2)h.get_instance_proc_addr(h.instance, "vkGetPhysicalDeviceProperties2");
    VkPhysicalDeviceShaderIntegerDotProductProperties dp = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &dp};
    props2(h.physical_device, &p2);
    printf("  integerDotProduct...Accelerated: 8Bit unsigned %u signed %u mixed %u; 4x8BitPacked unsigned %u signed %u "
           "mixed %u; AccumulatingSaturating 4x8BitPacked unsigned %u signed %u mixed %u\n",
           dp.integerDotProduct8BitUnsignedAccelerated, dp.integerDotProduct8BitSignedAccelerated,
           dp.integerDotProduct8BitMixedSignednessAccelerated, dp.integerDotProduct4x8BitPackedUnsignedAccelerated,
           dp.integerDotProduct4x8BitPackedSignedAccelerated, dp.integerDotProduct4x8BitPackedMixedSignednessAccelerated,
           dp.integerDotProductAccumulatingSaturating4x8BitPackedUnsignedAccelerated,
           dp.integerDotProductAccumulatingSaturating4x8BitPackedSignedAccelerated,
           dp.integerDotProductAccumulatingSaturating4x8BitPackedMixedSignednessAccelerated);
    *signed_acc = dp.integerDotProduct4x8BitPackedSignedAccelerated == VK_TRUE;
    *mixed_acc = dp.integerDotProduct4x8BitPackedMixedSignednessAccelerated == VK_TRUE;
}

int main(int argc, char **argv)
{
    const char *family = argc > 1 ? argv[1] : "(RADV_FORCE_FAMILY)";
    const char *icd = getenv("VK_DRIVER_FILES");
    if (!icd || access(icd, R_OK) != 0) {
        printf("compilers %s: skipped: no RADV driver manifest (%s); install mesa-vulkan-drivers\n", family,
               icd ? icd : "VK_DRIVER_FILES unset");
        return SKIP;
    }
    q8conv_context *ctx = NULL;
    q8conv_status st = q8conv_context_create_compile_only(0, &ctx);
    CHECK(st == Q8CONV_SUCCESS, "no compile-only context on RADV's null %s device: %s", family, q8conv_status_string(st));
    if (st != Q8CONV_SUCCESS)
        return test_finish("compilers");
    printf("compilers %s: %s (%s %s)\n", family, ctx->info.device_name, ctx->info.driver_name, ctx->info.driver_info);
    CHECK(strstr(ctx->info.device_name, "RADV") != NULL, "device %s is not RADV's", ctx->info.device_name);
    CHECK(ctx->pipeline_statistics, "RADV offers no pipeline statistics");

    /* 1. Every line, layout pair and tile: compiles, no spills. */
    figures fig[Q8CONV_KERNEL_LINE_COUNT][4];
    memset(fig, 0, sizeof fig);
    for (uint32_t l = 0; l < Q8CONV_KERNEL_LINE_COUNT && ctx->pipeline_statistics; ++l) {
        const q8conv_kernel_line *line = &q8conv_kernel_lines[l];
        if ((line->needs & ~ctx->caps) != 0) {
            printf("  line %u %s: not on this device (needs capabilities 0x%x, the device has 0x%x)\n", l,
                   q8conv_kernel_name(line->kernel), line->needs, ctx->caps);
            continue;
        }
        const uint32_t tiles = line->plan == Q8CONV_PLAN_MATRIX ? Q8CONV_CM_TILE_COUNT : 1u;
        for (uint32_t layouts = 0; layouts < 4; ++layouts)
            for (uint32_t t = 0; t < tiles; ++t) {
                figures f = compile(ctx, l, layouts, t);
                if (t == 0)
                    fig[l][layouts] = f;
            }
    }

    /* 2. TILE_N4 = 1 against TILE_N4 = 2 of the same kind. */
    uint32_t pairs = 0;
    for (uint32_t m = 0; m < Q8CONV_KERNEL_LINE_COUNT; ++m) {
        const q8conv_kernel_line *main_line = &q8conv_kernel_lines[m];
        if (main_line->plan != Q8CONV_PLAN_BLOCKS || main_line->tile_n4 != Q8CONV_TILE_N4_MAIN)
            continue;
        for (uint32_t g = 0; g < Q8CONV_KERNEL_LINE_COUNT; ++g) {
            const q8conv_kernel_line *legacy = &q8conv_kernel_lines[g];
            if (legacy->plan != Q8CONV_PLAN_BLOCKS || legacy->tile_n4 != Q8CONV_TILE_N4_LEGACY ||
                legacy->needs != main_line->needs)
                continue;
            for (uint32_t layouts = 0; layouts < 4; ++layouts) {
                const figures *a = &fig[m][layouts], *b = &fig[g][layouts];
                if (!a->ok || !b->ok)
                    continue;
                pairs++;
                printf("  TILE_N4 1 vs 2 (lines %u vs %u, %s, %s->%s): VGPRs %g vs %g, subgroups per SIMD %g vs %g\n", m, g,
                       q8conv_kernel_name(main_line->kernel), (layouts & 2u) ? "4w4c" : "4c1w",
                       (layouts & 1u) ? "4w4c" : "4c1w", a->vgprs, b->vgprs, a->waves, b->waves);
                CHECK(a->vgprs < b->vgprs, "%s: line %u (TILE_N4 1) uses %g VGPRs, line %u (TILE_N4 2) %g", family, m,
                      a->vgprs, g, b->vgprs);
                CHECK(a->waves >= b->waves, "%s: line %u (TILE_N4 1) reaches %g subgroups per SIMD, line %u (TILE_N4 2) %g",
                      family, m, a->waves, g, b->waves);
            }
        }
    }
    CHECK(pairs > 0, "%s: no TILE_N4 1 / TILE_N4 2 pair compiled", family);

    /* 3. AUTO against the rule, from the driver's own properties. */
    bool signed_acc = false, mixed_acc = false;
    read_dot_properties(ctx, &signed_acc, &mixed_acc);
    const char *want = signed_acc ? "dot" : mixed_acc ? "dot_mixed" : "fallback";
    const char *got = q8conv_kernel_name(ctx->info.default_kernel);
    printf("  AUTO picks %s; the rule says %s\n", got, want);
    CHECK(strcmp(got, want) == 0, "%s: AUTO picks %s, the rule says %s", family, got, want);

    test_check_validation(ctx);
    q8conv_context_destroy(ctx);
    return test_finish("compilers");
}
