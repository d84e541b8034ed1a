/* What the driver's compiler made of a pipeline (VK_KHR_pipeline_executable_properties):
 * q8conv_pw_statistics for the pipelines an op's last recording bound, and
 * q8conv_kernel_statistics for any pipeline of the kernel table, compiled without running. */
#include <string.h>

#include "objects.h"

static void copy_name(char dst[64], const char *src, uint32_t ordinal)
{
    size_t n = strnlen(src, 63);
    char suffix[16] = "";
    if (ordinal > 0) {
        /* " #k" for the (k)th pipeline of a recording; k <= Q8CONV_PW_STAT_PIPELINES. */
        suffix[0] = ' ';
        suffix[1] = '#';
        suffix[2] = (char)('1' + ordinal);
        suffix[3] = 0;
        if (n > 63 - 3)
            n = 63 - 3;
    }
    memcpy(dst, src, n);
    memcpy(dst + n, suffix, strlen(suffix) + 1);
}

static double statistic_value(const VkPipelineExecutableStatisticKHR *s)
{
    switch (s->format) {
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: return s->value.b32 ? 1.0 : 0.0;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: return (double)s->value.i64;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: return (double)s->value.u64;
    case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR: return s->value.f64;
    default: return 0.0;
    }
}

static q8conv_status vk_status(q8conv_context *ctx, VkResult r)
{
    /* VK_INCOMPLETE cannot happen (the counts were just asked for) but would be harmless. */
    return r == VK_SUCCESS || r == VK_INCOMPLETE ? Q8CONV_SUCCESS : q8conv_ctx_result(ctx, r);
}

/* The statistics of one executable of pipeline p, appended at out[*n] (out NULL: only counted). */
static q8conv_status read_executable(q8conv_context *ctx, VkPipeline p, uint32_t index, const char *exe_name,
                                     uint32_t ordinal, q8conv_statistic *out, uint32_t *n)
{
    VkPipelineExecutableInfoKHR ei = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR,
                                      .pipeline = p,
                                      .executableIndex = index};
    uint32_t ns = 0;
    q8conv_status st = vk_status(ctx, ctx->vk.vkGetPipelineExecutableStatisticsKHR(ctx->device, &ei, &ns, NULL));
    if (st != Q8CONV_SUCCESS || ns == 0)
        return st;
    if (!out) {
        *n += ns;
        return Q8CONV_SUCCESS;
    }
    VkPipelineExecutableStatisticKHR *s = q8conv_calloc(&ctx->allocator, ns, sizeof *s);
    if (!s)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < ns; ++i)
        s[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR;
    st = vk_status(ctx, ctx->vk.vkGetPipelineExecutableStatisticsKHR(ctx->device, &ei, &ns, s));
    for (uint32_t i = 0; st == Q8CONV_SUCCESS && i < ns; ++i) {
        q8conv_statistic *o = &out[(*n)++];
        copy_name(o->executable, exe_name, ordinal);
        copy_name(o->name, s[i].name, 0);
        o->value = statistic_value(&s[i]);
    }
    q8conv_free(&ctx->allocator, s);
    return st;
}

/* Every statistic of every executable of p, appended at out[*n] (out NULL: only counted). The
 * caller has checked that out has room for all of them. */
static q8conv_status read_pipeline(q8conv_context *ctx, VkPipeline p, uint32_t ordinal, q8conv_statistic *out,
                                   uint32_t *n)
{
    VkPipelineInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, .pipeline = p};
    uint32_t ne = 0;
    q8conv_status st = vk_status(ctx, ctx->vk.vkGetPipelineExecutablePropertiesKHR(ctx->device, &pi, &ne, NULL));
    if (st != Q8CONV_SUCCESS || ne == 0)
        return st;
    VkPipelineExecutablePropertiesKHR *e = q8conv_calloc(&ctx->allocator, ne, sizeof *e);
    if (!e)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < ne; ++i)
        e[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR;
    st = vk_status(ctx, ctx->vk.vkGetPipelineExecutablePropertiesKHR(ctx->device, &pi, &ne, e));
    for (uint32_t i = 0; st == Q8CONV_SUCCESS && i < ne; ++i)
        st = read_executable(ctx, p, i, e[i].name, ordinal, out, n);
    q8conv_free(&ctx->allocator, e);
    return st;
}

/* Count-then-fill over several pipelines: counts first, so that a too small array is refused
 * before anything is written. */
static q8conv_status read_pipelines(q8conv_context *ctx, const VkPipeline *p, uint32_t np, q8conv_statistic *out,
                                    uint32_t capacity, uint32_t *count)
{
    uint32_t total = 0;
    q8conv_status st = Q8CONV_SUCCESS;
    for (uint32_t i = 0; st == Q8CONV_SUCCESS && i < np; ++i)
        st = read_pipeline(ctx, p[i], i, NULL, &total);
    if (st != Q8CONV_SUCCESS)
        return st;
    if (!out) {
        *count = total;
        return Q8CONV_SUCCESS;
    }
    if (capacity < total) {
        *count = total;
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; st == Q8CONV_SUCCESS && i < np; ++i)
        st = read_pipeline(ctx, p[i], i, out, &n);
    if (st == Q8CONV_SUCCESS)
        *count = n;
    return st;
}

q8conv_status q8conv_pipeline_statistics(q8conv_context *ctx, VkPipeline pipeline, q8conv_statistic *out,
                                         uint32_t capacity, uint32_t *count)
{
    return read_pipelines(ctx, &pipeline, 1, out, capacity, count);
}

void q8conv_pw_note_recording(q8conv_pw *op, const q8conv_used_pipelines *used)
{
    pthread_mutex_lock(&op->ctx->lock);
    op->last_recording = *used;
    pthread_mutex_unlock(&op->ctx->lock);
}

Q8CONV_API q8conv_status q8conv_pw_statistics(q8conv_pw *op, q8conv_statistic *out, uint32_t capacity, uint32_t *count)
{
    if (!op || !count)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_context *ctx = op->ctx;
    if (!ctx->pipeline_statistics)
        return Q8CONV_ERROR_UNSUPPORTED;
    /* The op holds these pipelines until it is destroyed, so the copy stays valid. */
    pthread_mutex_lock(&ctx->lock);
    const q8conv_used_pipelines used = op->last_recording;
    pthread_mutex_unlock(&ctx->lock);
    return read_pipelines(ctx, used.pipelines, used.count, out, capacity, count);
}

/* The pipeline key of a kernel-table pipeline, as src/pw.c's resolve_piece would build it. */
static q8conv_status kernel_key(const q8conv_context *ctx, const q8conv_kernel_pipeline *p, q8conv_pipeline_key *key)
{
    if (p->line >= Q8CONV_KERNEL_LINE_COUNT || (unsigned)p->in_layout > Q8CONV_LAYOUT_4C1W ||
        (unsigned)p->out_layout > Q8CONV_LAYOUT_4C1W || (unsigned)p->input_type > Q8CONV_DTYPE_UINT8 ||
        (unsigned)p->bias_mode > Q8CONV_BIAS_INT32)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    const q8conv_kernel_line *line = &q8conv_kernel_lines[p->line];
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    memset(key, 0, sizeof *key);
    key->module = q8conv_module_index(p->line, p->in_layout, p->out_layout);
    key->bias_mode = (uint32_t)p->bias_mode;
    key->input_xor = q8conv_input_read_for(q8conv_line_reads_unsigned(p->line), p->input_type).xor_word;
    if (line->plan == Q8CONV_PLAN_MATRIX) {
        if (p->tile >= Q8CONV_CM_TILE_COUNT)
            return Q8CONV_ERROR_INVALID_ARGUMENT;
        const q8conv_matrix_tile *t = &q8conv_matrix_tiles[p->tile];
        const uint32_t tile[6] = {t->bm, t->bn, t->sg_m, t->sg_n, t->bk, t->stages};
        memcpy(key->tile, tile, sizeof tile);
        key->local[0] = q8conv_matrix_tile_subgroups(t) * ctx->info.subgroup_size;
        key->local[1] = key->local[2] = 1;
        key->k_split = 1;
        key->subgroup_size = ctx->info.subgroup_size;
        if (q8conv_matrix_tile_shared_bytes(t) > lim->maxComputeSharedMemorySize)
            return Q8CONV_ERROR_UNSUPPORTED;
    } else {
        const uint32_t dflt[3] = {Q8CONV_WORKGROUP_INVOCATIONS, 1, 1};
        memcpy(key->local, p->local[0] ? p->local : dflt, sizeof key->local);
        key->k_split = p->k_split ? p->k_split : 1u;
        if (!key->local[1] || !key->local[2] || (key->k_split > 1 && key->local[1] != key->k_split))
            return Q8CONV_ERROR_INVALID_ARGUMENT;
    }
    for (int i = 0; i < 3; ++i)
        if (key->local[i] > lim->maxComputeWorkGroupSize[i])
            return Q8CONV_ERROR_UNSUPPORTED;
    if ((uint64_t)key->local[0] * key->local[1] * key->local[2] > lim->maxComputeWorkGroupInvocations)
        return Q8CONV_ERROR_UNSUPPORTED;
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_kernel_statistics(q8conv_context *ctx, const q8conv_kernel_pipeline *p, q8conv_statistic *out,
                                       uint32_t capacity, uint32_t *count)
{
    if (!ctx || !p || !count)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_pipeline_key key;
    q8conv_status st = kernel_key(ctx, p, &key);
    if (st != Q8CONV_SUCCESS)
        return st;
    if (!ctx->pipeline_statistics)
        return Q8CONV_ERROR_UNSUPPORTED;
    /* Held only for this call: the table destroys it after unless an op holds it too. */
    q8conv_pipeline_holds holds = {0};
    VkPipeline pipeline;
    st = q8conv_ctx_get_pipeline(ctx, &key, &holds, &pipeline);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pipeline_statistics(ctx, pipeline, out, capacity, count);
    q8conv_ctx_release_pipelines(ctx, &holds);
    return st;
}

/* ---- AUTO's rule refined by what the compiler made of the candidates ---- */

/* The spills and subgroups per SIMD the driver reports for one block kernel (4W4C, float bias, the
 * default workgroup), under RADV's names; a driver that uses other names (NVIDIA reports
 * registers and memory sizes only) leaves the figures unknown, which refines nothing. */
static q8conv_compiled_kernel compiled_block_kernel(q8conv_context *ctx, q8conv_kernel kernel)
{
    q8conv_compiled_kernel c = {0};
    uint32_t line, n = 0;
    if (q8conv_kernel_resolve(kernel, ctx->caps, &line) != Q8CONV_SUCCESS)
        return c;
    const q8conv_kernel_pipeline p = {.line = line, .bias_mode = Q8CONV_BIAS_FLOAT};
    q8conv_statistic stats[64];
    if (q8conv_kernel_statistics(ctx, &p, stats, 64, &n) != Q8CONV_SUCCESS)
        return c;
    for (uint32_t i = 0; i < n; i++) {
        if (!strncmp(stats[i].name, "Spilled ", 8)) {
            c.spills += stats[i].value > 0 ? (uint32_t)stats[i].value : 0u;
            c.known = true;
        } else if (!strcmp(stats[i].name, "Subgroups per SIMD")) {
            c.occupancy = stats[i].value > 0 ? (uint32_t)stats[i].value : 0u;
            c.known = true;
        }
    }
    return c;
}

void q8conv_auto_from_statistics(q8conv_context *ctx)
{
    const uint32_t fast = Q8CONV_CAP_DOT_SIGNED_FAST | Q8CONV_CAP_DOT_MIXED_FAST;
    if (!ctx->pipeline_statistics || !(ctx->caps & Q8CONV_CAP_DOT) || !(ctx->caps & fast))
        return;
    /* FALLBACK first: a driver that names none of the figures the rule reads (NVIDIA's) costs one
     * compile per context, not three; and only a candidate still marked accelerated can lose it. */
    const q8conv_compiled_kernel fallback = compiled_block_kernel(ctx, Q8CONV_KERNEL_FALLBACK);
    if (!fallback.known)
        return;
    const q8conv_compiled_kernel none = {0};
    const q8conv_compiled_kernel dot =
        ctx->caps & Q8CONV_CAP_DOT_SIGNED_FAST ? compiled_block_kernel(ctx, Q8CONV_KERNEL_DOT) : none;
    const q8conv_compiled_kernel mixed =
        ctx->caps & Q8CONV_CAP_DOT_MIXED_FAST ? compiled_block_kernel(ctx, Q8CONV_KERNEL_DOT_MIXED) : none;
    ctx->caps = q8conv_auto_refine(ctx->caps, &dot, &mixed, &fallback);
    uint32_t line = 0;
    if (q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, ctx->caps, &line) == Q8CONV_SUCCESS)
        ctx->info.default_kernel = q8conv_kernel_lines[line].kernel;
}
