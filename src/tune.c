/* Tuning builds only (CMakeLists.txt compiles this file when Q8CONV_TUNING is on): the switches
 * of src/tune.h, kept in the context and read by the dispatch picker's caller (src/pw.c). */
#include "internal.h"
#include "tune.h"

q8conv_status q8conv_tune_set_ablate(q8conv_context *ctx, uint32_t level)
{
    if (!ctx || level > Q8CONV_TUNE_ABLATE_MAX)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    ctx->tune_ablate = level;
    return Q8CONV_SUCCESS;
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
        ctx->tune_tile_forced = false;
        return Q8CONV_SUCCESS;
    }
    const q8conv_matrix_tile t = {.bm = fields[0], .bn = fields[1], .sg_m = fields[2], .sg_n = fields[3],
                                  .bk = fields[4], .stages = fields[5]};
    if (!(ctx->caps & Q8CONV_CAP_COOPMAT)) {
        *why = "the device has no cooperative matrices the library uses";
        return Q8CONV_ERROR_UNSUPPORTED;
    }
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    *why = q8conv_matrix_tile_unfit(&t, ctx->info.subgroup_size, lim->maxComputeWorkGroupSize,
                                    lim->maxComputeWorkGroupInvocations, lim->maxComputeSharedMemorySize);
    if (*why) {
        /* The shape rules hold on every device; the limits are this one's. */
        const uint32_t no_limit[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
        return q8conv_matrix_tile_unfit(&t, 1, no_limit, UINT32_MAX, UINT32_MAX) ? Q8CONV_ERROR_INVALID_ARGUMENT
                                                                                  : Q8CONV_ERROR_UNSUPPORTED;
    }
    ctx->tune_tile = t;
    ctx->tune_tile_forced = true;
    return Q8CONV_SUCCESS;
}
