/* The tuning room's implementation (src/tuning.h): compiled only into tuning builds
 * (-DQ8CONV_TUNING=ON), never into a release library. */
#include <stdio.h>
#include <stdlib.h>

#include "tuning.h"
#include "vk.h"

uint32_t q8conv_tune_u32(q8conv_tune_knob knob, uint32_t fallback)
{
    const bool wg = knob == Q8CONV_TUNE_WG_INVOCATIONS;
    const int index = wg ? 0 : (int)knob - (int)Q8CONV_TUNE_KSPLIT_BELOW;
    const char *v = getenv(wg ? "Q8CONV_TUNE_WG" : "Q8CONV_TUNE_KSPLIT");
    unsigned a[3];
    int n = v ? sscanf(v, "%u,%u,%u", &a[0], &a[1], &a[2]) : 0;
    return index < n && a[index] ? a[index] : fallback;
}

bool q8conv_tune_matrix_tile(q8conv_matrix_tile *tile)
{
    const char *v = getenv("Q8CONV_TUNE_CM_TILE");
    q8conv_matrix_tile t;
    if (!v || sscanf(v, "%u,%u,%u,%u,%u,%u", &t.bm, &t.bn, &t.sg_m, &t.sg_n, &t.bk, &t.stages) != 6)
        return false;
    *tile = t;
    return true;
}

q8conv_status q8conv_tune_query_device(q8conv_context *ctx, VkPhysicalDevice pd)
{
    q8conv_status st;
    ctx->tuning.executable_properties =
        q8conv_device_has_extension(ctx, pd, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME, &st);
    return st;
}

/* The driver's statistics of each pipeline (registers, spills), for Q8CONV_TUNE_STATS. */
const void *q8conv_tune_enable(q8conv_context *ctx, const void *chain, const char **extensions, uint32_t *count)
{
    if (!ctx->tuning.executable_properties)
        return chain;
    ctx->tuning.feature = (VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pNext = (void *)chain, .pipelineExecutableInfo = VK_TRUE};
    extensions[(*count)++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
    ctx->tuning.stats = true;
    return &ctx->tuning.feature;
}

VkPipelineCreateFlags q8conv_tune_pipeline_flags(const q8conv_context *ctx)
{
    return ctx->tuning.stats ? VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR : 0;
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
    fprintf(stderr, "pipeline module %u tile %u,%u,%u,%u,%u,%u local %u:", key->module, key->tile[0], key->tile[1],
            key->tile[2], key->tile[3], key->tile[4], key->tile[5], key->local[0]);
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
    if (ctx->tuning.stats && getenv("Q8CONV_TUNE_STATS"))
        tune_print_stats(ctx, p, key);
}
