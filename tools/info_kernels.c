/* q8conv-info --kernels: what each device's compiler makes of every kernel of src/kernels.def.
 *
 * For every device, every kernel line the device can run, every layout pair and (matrix lines)
 * every tile of the menu, the pipeline is compiled on a compile-only context
 * (q8conv_context_create_compile_only: nothing is allocated, submitted or run, so RADV's null
 * devices serve too) and every statistic the driver reports is printed under the driver's own
 * names (q8conv_kernel_statistics); --json FILE writes the same as JSON. The pipelines are the
 * library's own, with these specialization constants: block lines a workgroup of
 * Q8CONV_WORKGROUP_INVOCATIONS x 1 x 1 and no split-K, matrix lines the tile's subgroups x the
 * device's subgroup size; float bias (BIAS_MODE 1), int8 input (INPUT_XOR 0).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "info.h"
#include "internal.h"


static const char *layout_name(q8conv_layout l) { return l == Q8CONV_LAYOUT_4W4C ? "4w4c" : "4c1w"; }

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

/* One pipeline: its statistics printed, and written as one "kernels" entry. */
static int report_pipeline(q8conv_context *ctx, const q8conv_kernel_pipeline *p, FILE *json, bool *first_entry)
{
    const q8conv_kernel_line *line = &q8conv_kernel_lines[p->line];
    q8conv_statistic stats[256];
    uint32_t n = 0;
    q8conv_status st = q8conv_kernel_statistics(ctx, p, stats, 256, &n);
    char tile[96];
    uint32_t local = Q8CONV_WORKGROUP_INVOCATIONS;
    const q8conv_matrix_tile *t = &q8conv_matrix_tiles[p->tile];
    if (line->plan == Q8CONV_PLAN_MATRIX) {
        local = q8conv_matrix_tile_subgroups(t) * ctx->info.subgroup_size;
        snprintf(tile, sizeof tile, "tile %ux%u sg %ux%u bk %u stages %u", t->bm, t->bn, t->sg_m, t->sg_n, t->bk,
                 t->stages);
    } else {
        snprintf(tile, sizeof tile, "tile_n4 %u", line->tile_n4);
    }
    printf("  %-8s %-20s %s->%s %s, local %u:", q8conv_kernel_name(line->kernel), q8conv_kernel_lines[p->line].defines,
           layout_name(p->in_layout), layout_name(p->out_layout), tile, local);
    if (st != Q8CONV_SUCCESS) {
        printf(" not compiled (%s)\n", q8conv_status_string(st));
        return 1;
    }
    /* Executable names only where a pipeline has several (a compute pipeline usually has one). */
    bool several = false;
    for (uint32_t i = 1; i < n; ++i)
        several |= strcmp(stats[i].executable, stats[0].executable) != 0;
    for (uint32_t i = 0; i < n; ++i)
        printf("%s %s%s%s=%.10g", i ? "," : "", several ? stats[i].executable : "", several ? ": " : "", stats[i].name,
               stats[i].value);
    printf("\n");
    if (!json)
        return 0;
    fprintf(json, "%s\n    {\"kernel\": \"%s\", \"line\": %u, \"defines\": ", *first_entry ? "" : ",",
            q8conv_kernel_name(line->kernel), p->line);
    json_string(json, q8conv_kernel_lines[p->line].defines);
    fprintf(json, ", \"in_layout\": \"%s\", \"out_layout\": \"%s\", ", layout_name(p->in_layout),
            layout_name(p->out_layout));
    if (line->plan == Q8CONV_PLAN_MATRIX)
        fprintf(json, "\"tile\": {\"bm\": %u, \"bn\": %u, \"sg_m\": %u, \"sg_n\": %u, \"bk\": %u, \"stages\": %u}, ", t->bm,
                t->bn, t->sg_m, t->sg_n, t->bk, t->stages);
    else
        fprintf(json, "\"tile\": {\"tile_m4\": %u, \"tile_n4\": %u}, ", Q8CONV_TILE_M4, line->tile_n4);
    fprintf(json, "\"local_size\": [%u, 1, 1], \"subgroup_size\": %u, \"bias\": \"float\", \"statistics\": {", local,
            ctx->info.subgroup_size);
    for (uint32_t i = 0; i < n; ++i) {
        char key[140];
        snprintf(key, sizeof key, "%.63s%s%.63s", several ? stats[i].executable : "", several ? ": " : "", stats[i].name);
        fprintf(json, "%s", i ? ", " : "");
        json_string(json, key);
        fprintf(json, ": ");
        json_number(json, stats[i].value);
    }
    fprintf(json, "}}");
    *first_entry = false;
    return 0;
}

int q8conv_info_kernels(uint32_t device_count, FILE *json)
{
    int failures = 0;
    if (json)
        fprintf(json, "{\"devices\": [");
    for (uint32_t d = 0; d < device_count; ++d) {
        q8conv_context *ctx = NULL;
        q8conv_status st = q8conv_context_create_compile_only(d, &ctx);
        if (st != Q8CONV_SUCCESS) {
            printf("\ndevice %u: no compile-only context (%s)\n", d, q8conv_status_string(st));
            failures++;
            continue;
        }
        const q8conv_context_info *info = &ctx->info;
        printf("\ndevice %u: %s (%s %s), subgroup size %u, AUTO picks %s\n", d, info->device_name, info->driver_name,
               info->driver_info, info->subgroup_size, q8conv_kernel_name(info->default_kernel));
        if (json) {
            fprintf(json, "%s\n  {\"name\": ", d ? "," : "");
            json_string(json, info->device_name);
            fprintf(json, ", \"driver\": ");
            json_string(json, info->driver_name);
            fprintf(json, ", \"driver_info\": ");
            json_string(json, info->driver_info);
            fprintf(json, ", \"auto\": \"%s\", \"kernels\": [", q8conv_kernel_name(info->default_kernel));
        }
        if (!ctx->pipeline_statistics)
            printf("  the driver reports no pipeline statistics (VK_KHR_pipeline_executable_properties)\n");
        bool first = true;
        for (uint32_t l = 0; l < Q8CONV_KERNEL_LINE_COUNT && ctx->pipeline_statistics; ++l) {
            const q8conv_kernel_line *line = &q8conv_kernel_lines[l];
            if ((line->needs & ~ctx->caps) != 0)
                continue;
            const uint32_t tiles = line->plan == Q8CONV_PLAN_MATRIX ? Q8CONV_CM_TILE_COUNT : 1u;
            for (uint32_t layouts = 4; layouts-- > 0;)
                for (uint32_t t = 0; t < tiles; ++t) {
                    /* The module order of src/pure.h: input 4W4C is bit 1, output 4W4C bit 0. */
                    const q8conv_kernel_pipeline p = {
                        .line = l,
                        .in_layout = (layouts & 2u) ? Q8CONV_LAYOUT_4W4C : Q8CONV_LAYOUT_4C1W,
                        .out_layout = (layouts & 1u) ? Q8CONV_LAYOUT_4W4C : Q8CONV_LAYOUT_4C1W,
                        .bias_mode = Q8CONV_BIAS_FLOAT,
                        .tile = t};
                    failures += report_pipeline(ctx, &p, json, &first);
                }
        }
        if (json)
            fprintf(json, "\n  ]}");
        q8conv_context_destroy(ctx);
    }
    if (json)
        fprintf(json, "\n]}\n");
    return failures;
}
