/* The tuning room's implementation (src/tuning.h): the bench's switches, kept in the context's
 * tuning state, and the library's hooks. Compiled only into tuning builds (-DQ8CONV_TUNING=ON),
 * never into a release library. */
#include <stdio.h>
#include <stdlib.h>

#include "tuning.h"
#include "vk.h"

/* ---- the bench's switches ---- */

q8conv_status q8conv_tune_set_ablate(q8conv_context *ctx, uint32_t level)
{
    if (!ctx || level > Q8CONV_TUNE_ABLATE_MAX)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    ctx->tuning.ablate = level;
    return Q8CONV_SUCCESS;
}

static q8conv_matrix_tile tile_of(const uint32_t *f)
{
    return (q8conv_matrix_tile){.bm = f[0], .bn = f[1], .sg_m = f[2], .sg_n = f[3], .bk = f[4], .stages = f[5]};
}

/* Why the device of ctx cannot run a tile (q8conv_matrix_tile_unfit), or NULL. */
static const char *unfit_here(const q8conv_context *ctx, const q8conv_matrix_tile *t)
{
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    return q8conv_matrix_tile_unfit(t, ctx->info.subgroup_size, lim->maxComputeWorkGroupSize,
                                    lim->maxComputeWorkGroupInvocations, lim->maxComputeSharedMemorySize);
}

q8conv_status q8conv_tune_set_matrix_tile(q8conv_context *ctx, const uint32_t *fields, uint32_t count,
                                          const char **why)
{
    const char *unused;
    if (!why)
        why = &unused;
    *why = NULL;
    if (!ctx || (count != 0 && count != Q8CONV_TUNE_TILE_FIELDS) || (count && !fields)) {
        *why = "a tile is BM,BN,SG_M,SG_N,BK,STAGES";
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    }
    if (count == 0) {
        ctx->tuning.tile_forced = false;
        return Q8CONV_SUCCESS;
    }
    const q8conv_matrix_tile t = tile_of(fields);
    if (!(ctx->caps & Q8CONV_CAP_COOPMAT)) {
        *why = "the device has no cooperative matrices the library uses";
        return Q8CONV_ERROR_UNSUPPORTED;
    }
    *why = unfit_here(ctx, &t);
    if (*why) {
        /* The shape rules hold on every device; the limits are this one's. */
        const uint32_t no_limit[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
        return q8conv_matrix_tile_unfit(&t, 1, no_limit, UINT32_MAX, UINT32_MAX) ? Q8CONV_ERROR_INVALID_ARGUMENT
                                                                                  : Q8CONV_ERROR_UNSUPPORTED;
    }
    for (uint32_t i = 0; i < Q8CONV_TUNE_TILE_FIELDS; i++)
        ctx->tuning.tile[i] = fields[i];
    ctx->tuning.tile_forced = true;
    return Q8CONV_SUCCESS;
}

/* ---- the library's hooks ---- */

bool q8conv_tune_matrix_tile(const q8conv_context *ctx, q8conv_matrix_tile *tile)
{
    if (ctx->tuning.tile_forced) {
        *tile = tile_of(ctx->tuning.tile);
        return true;
    }
    const char *v = getenv("Q8CONV_TUNE_CM_TILE");
    q8conv_matrix_tile t;
    if (!v || sscanf(v, "%u,%u,%u,%u,%u,%u", &t.bm, &t.bn, &t.sg_m, &t.sg_n, &t.bk, &t.stages) != 6)
        return false;
    /* A tile the shader or the device cannot run is ignored, as q8conv_tune_set_matrix_tile refuses it. */
    if (unfit_here(ctx, &t))
        return false;
    *tile = t;
    return true;
}

uint32_t q8conv_tune_ablate(const q8conv_context *ctx)
{
    return ctx->tuning.ablate;
}

/* The driver's statistics of a new pipeline, to stderr. */
static void tune_print_stats(q8conv_context *ctx, VkPipeline p, const q8conv_pipeline_key *key)
{
    VkPipelineExecutableInfoKHR ei = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, .pipeline = p};
    VkPipelineExecutableStatisticKHR st[32];
    uint32_t n = 32;
    for (uint32_t i = 0; i < n; i++)
        st[i] = (VkPipelineExecutableStatisticKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
    if (ctx->vk.vkGetPipelineExecutableStatisticsKHR(ctx->device, &ei, &n, st) < 0)
        return;
    fprintf(stderr, "pipeline module %u tile %u,%u,%u,%u,%u,%u local %u ablate %u:", key->module, key->tile[0],
            key->tile[1], key->tile[2], key->tile[3], key->tile[4], key->tile[5], key->local[0], key->ablate);
    for (uint32_t i = 0; i < n; i++) {
        fprintf(stderr, " [%s=", st[i].name);
        switch (st[i].format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: fprintf(stderr, "%u]", st[i].value.b32); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: fprintf(stderr, "%lld]", (long long)st[i].value.i64); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: fprintf(stderr, "%llu]", (unsigned long long)st[i].value.u64); break;
        default: fprintf(stderr, "%g]", st[i].value.f64); break;
        }
    }
    fprintf(stderr, "\n");
}

void q8conv_tune_pipeline_created(q8conv_context *ctx, VkPipeline p, const q8conv_pipeline_key *key)
{
    if (ctx->pipeline_statistics && getenv("Q8CONV_TUNE_STATS"))
        tune_print_stats(ctx, p, key);
}
