/* The pointwise convolution operator: create (pack once), run, record, destroy. */
#include <string.h>

#include "internal.h"

static uint64_t align_up(uint64_t v, uint64_t a) { return a ? (v + a - 1) / a * a : v; }

static uint64_t weight_bytes_of(const q8conv_pw *op, uint32_t line)
{
    return q8conv_kernel_lines[line].plan == Q8CONV_PLAN_MATRIX ? q8conv_coopmat_weight_bytes(op->oc, op->ic)
                                                                : (uint64_t)op->c4_out * op->c4_in * 16u;
}

/* Packs each variant's weights and computes its per-channel constants (which depend on how its
 * kernel reads the input: q8conv_input_read) into one buffer, and gives each variant a descriptor
 * set of its weights and its constants. */
static q8conv_status upload_params(q8conv_pw *op, const q8conv_pw_desc *desc)
{
    q8conv_context *ctx = op->ctx;
    const uint64_t align = ctx->props.limits.minStorageBufferOffsetAlignment > 16
                               ? ctx->props.limits.minStorageBufferOffsetAlignment
                               : 16;
    const uint64_t channel_bytes = (uint64_t)op->c4_out * 4u * sizeof(q8conv_channel_params);
    uint64_t offsets[2], sizes[2], channel_offsets[2], total = 0;
    for (uint32_t v = 0; v < op->variant_count; ++v) {
        sizes[v] = weight_bytes_of(op, op->variants[v].line);
        if (sizes[v] > ctx->props.limits.maxStorageBufferRange)
            return Q8CONV_ERROR_UNSUPPORTED;
        offsets[v] = total;
        channel_offsets[v] = align_up(total + sizes[v], align);
        total = align_up(channel_offsets[v] + channel_bytes, align);
    }
    uint8_t *host = q8conv_alloc(&ctx->allocator, (size_t)total);
    if (!host)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    memset(host, 0, (size_t)total);
    const uint8_t weight_xor = q8conv_weight_xor(desc->weight_type);
    q8conv_status st = Q8CONV_SUCCESS;
    for (uint32_t v = 0; v < op->variant_count && st == Q8CONV_SUCCESS; ++v) {
        if (q8conv_kernel_lines[op->variants[v].line].plan == Q8CONV_PLAN_MATRIX)
            q8conv_pack_weights_coopmat(desc->out_channels, desc->in_channels, desc->weights, weight_xor,
                                        host + offsets[v]);
        else
            q8conv_pack_weights(desc->out_channels, desc->in_channels, desc->weights, weight_xor, host + offsets[v]);
        /* The clamp and output constants do not depend on the shift: every variant's are the same. */
        st = q8conv_compute_requant(desc, op->variants[v].input.shift,
                                    (q8conv_channel_params *)(void *)(host + channel_offsets[v]), &op->rq);
    }
    if (st != Q8CONV_SUCCESS) {
        q8conv_free(&ctx->allocator, host);
        return st;
    }

    st = q8conv_buffer_create(ctx, total, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, false,
                              &op->params);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_upload(ctx, op->params.buffer, 0, host, total);
    q8conv_free(&ctx->allocator, host);
    for (uint32_t v = 0; v < op->variant_count && st == Q8CONV_SUCCESS; ++v) {
        struct q8conv_pw_variant *var = &op->variants[v];
        st = q8conv_ctx_alloc_set(ctx, ctx->op_set_layout, &var->set, &var->set_pool);
        if (st != Q8CONV_SUCCESS)
            break;
        VkDescriptorBufferInfo bi[2] = {{.buffer = op->params.buffer, .offset = offsets[v], .range = sizes[v]},
                                        {.buffer = op->params.buffer, .offset = channel_offsets[v], .range = channel_bytes}};
        VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                  .dstSet = var->set,
                                  .dstBinding = 0,
                                  .descriptorCount = 2,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .pBufferInfo = bi};
        ctx->vk.vkUpdateDescriptorSets(ctx->device, 1, &w, 0, NULL);
    }
    return st;
}

q8conv_status q8conv_pw_create(q8conv_context *ctx, const q8conv_pw_desc *desc, q8conv_pw **out)
{
    if (!ctx || !desc || !out)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = q8conv_validate_pw_desc(desc);
    if (st == Q8CONV_SUCCESS && ctx->compile_only)
        st = Q8CONV_ERROR_UNSUPPORTED;
    if (st != Q8CONV_SUCCESS)
        return st;
    const bool weight_zp = q8conv_desc_has_weight_zero_point(desc);
    uint32_t line, alt_line = UINT32_MAX;
    st = q8conv_kernel_resolve(desc->kernel, ctx->caps, &line);
    /* AUTO with the matrix kernel keeps the best block kernel beside it for shapes where the matrix
     * units do not pay. */
    if (st == Q8CONV_SUCCESS && desc->kernel == Q8CONV_KERNEL_AUTO &&
        q8conv_kernel_lines[line].plan == Q8CONV_PLAN_MATRIX)
        st = q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, ctx->caps & ~Q8CONV_CAP_COOPMAT, &alt_line);
    if (st != Q8CONV_SUCCESS)
        return st;
    st = q8conv_ctx_check_lost(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;

    q8conv_pw *op = q8conv_calloc(&ctx->allocator, 1, sizeof *op);
    if (!op)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    op->ctx = ctx;
    atomic_init(&op->replay.busy, false);
    atomic_init(&op->member.destroyed, false);
    op->ic = desc->in_channels;
    op->oc = desc->out_channels;
    op->c4_in = q8conv_div_up(desc->in_channels, 4);
    op->c4_out = q8conv_div_up(desc->out_channels, 4);
    op->input_layout = desc->input_layout;
    op->output_layout = desc->output_layout;
    op->input_type = desc->input_type;
    op->output_type = desc->output_type;
    op->stride_h = q8conv_stride_of(desc->stride_h);
    op->stride_w = q8conv_stride_of(desc->stride_w);
    op->weight_zp = weight_zp;
    /* The input sum runs over whole channel blocks; the last one's padded bytes (any value, in a
     * wrapped tensor) must not count. */
    op->xsum_tail = desc->in_channels % 4u == 0u ? 0x01010101u : 0x01010101u >> (8u * (4u - desc->in_channels % 4u));
    op->bias_mode = desc->bias_mode;
    op->kernel = q8conv_kernel_lines[line].kernel;
    op->variants[0].line = line;
    op->variants[1].line = alt_line;
    op->variant_count = alt_line == UINT32_MAX ? 1u : 2u;
    for (uint32_t v = 0; v < op->variant_count; ++v) {
        op->variants[v].module = q8conv_module_index(op->variants[v].line, desc->input_layout, desc->output_layout);
        op->variants[v].input = q8conv_input_read_for(q8conv_line_reads_unsigned(op->variants[v].line), desc->input_type);
    }

    st = upload_params(op, desc);
    if (st != Q8CONV_SUCCESS) {
        q8conv_pw_destroy(op);
        return st;
    }
    *out = op;
    return Q8CONV_SUCCESS;
}

void q8conv_pw_destroy(q8conv_pw *op)
{
    if (!op)
        return;
    q8conv_context *ctx = op->ctx;
    q8conv_ctx_destroy_replay(ctx, op->replay.cmd, op->replay.fence);
    q8conv_ctx_release_pipelines(ctx, &op->pipelines);
    for (uint32_t v = 0; v < op->variant_count; ++v)
        q8conv_ctx_free_set(ctx, op->variants[v].set_pool, op->variants[v].set);
    q8conv_buffer_destroy(ctx, &op->params);
    q8conv_sequence_member_retire(ctx, &op->member, op);
}

q8conv_kernel q8conv_pw_get_kernel(const q8conv_pw *op)
{
    return op ? op->kernel : Q8CONV_KERNEL_AUTO;
}

static bool tensors_overlap(const q8conv_tensor *a, const q8conv_tensor *b)
{
    if (a == b || a->id == b->id)
        return true;
    return a->buffer == b->buffer && a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

static q8conv_status check_tensors(const q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out)
{
    if (!op || !in || !out || in->ctx != op->ctx || out->ctx != op->ctx)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    const q8conv_tensor_desc *i = &in->desc, *o = &out->desc;
    if (i->c != op->ic || i->layout != op->input_layout || o->c != op->oc || o->layout != op->output_layout ||
        o->n != i->n || o->h != q8conv_strided_extent(i->h, op->stride_h) ||
        o->w != q8conv_strided_extent(i->w, op->stride_w))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    /* Same bytes, other numbers: a uint8 tensor read as int8 (or the reverse) would compute garbage. */
    if (i->dtype != op->input_type || o->dtype != op->output_type)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (tensors_overlap(in, out))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    return q8conv_ctx_check_lost(op->ctx);
}

/* The plan and pipeline for one piece of rows; a run's pieces mostly share one row count. */
typedef struct piece_plan {
    uint32_t rows;
    uint32_t variant; /* of op->variants */
    q8conv_dispatch_plan plan;
    VkPipeline pipeline;
} piece_plan;

/* The padded width the cooperative-matrix kernel counts pixels in (shaders/q8conv_pw_coopmat.comp). */
static uint32_t matrix_row_pixels(const q8conv_pw *op, uint32_t w, uint32_t w4)
{
    return op->input_layout == Q8CONV_LAYOUT_4W4C || op->output_layout == Q8CONV_LAYOUT_4W4C ? w4 * 4u : w;
}

#ifdef Q8CONV_TUNING
#include <stdio.h>
#include <stdlib.h>
/* Tuning builds only (-DQ8CONV_TUNING=ON, never the default): the tile q8conv_tune_set_matrix_tile
 * forced, else Q8CONV_TUNE_CM_TILE="BM,BN,SG_M,SG_N,BK,STAGES" from the environment (when the
 * device can run it), replaces the picker's, so that tiles can be timed without a rebuild. NULL:
 * the picker's choice stands. */
static const q8conv_matrix_tile *tune_matrix_tile(const q8conv_context *ctx, q8conv_matrix_tile *env_tile)
{
    if (ctx->tune_tile_forced)
        return &ctx->tune_tile;
    const char *v = getenv("Q8CONV_TUNE_CM_TILE");
    q8conv_matrix_tile *t = env_tile;
    if (!v || sscanf(v, "%u,%u,%u,%u,%u,%u", &t->bm, &t->bn, &t->sg_m, &t->sg_n, &t->bk, &t->stages) != 6)
        return NULL;
    /* A tile the shader or the device cannot run is ignored, as q8conv_tune_set_matrix_tile refuses it. */
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    return q8conv_matrix_tile_unfit(t, ctx->info.subgroup_size, lim->maxComputeWorkGroupSize,
                                    lim->maxComputeWorkGroupInvocations, lim->maxComputeSharedMemorySize)
               ? NULL
               : t;
}
#endif

static q8conv_status resolve_piece(q8conv_pw *op, uint32_t w, uint32_t rows, piece_plan *pp)
{
    if (pp->pipeline && pp->rows == rows)
        return Q8CONV_SUCCESS;
    const q8conv_context *ctx = op->ctx;
    const VkPhysicalDeviceLimits *lim = &ctx->props.limits;
    const uint32_t w4 = q8conv_div_up(w, 4);
    /* A piece lies in one binding window, so its pixels fit in 32 bits. */
    const uint64_t pixels = (uint64_t)rows * matrix_row_pixels(op, w, w4);
    pp->variant = op->variant_count > 1 && !q8conv_matrix_pays(pixels, op->ic, op->oc) ? 1u : 0u;
    const struct q8conv_pw_variant *var = &op->variants[pp->variant];
    const q8conv_kernel_line *line = &q8conv_kernel_lines[var->line];
    q8conv_status st;
    if (line->plan == Q8CONV_PLAN_MATRIX) {
        st = pixels > UINT32_MAX
                 ? Q8CONV_ERROR_UNSUPPORTED
                 : pick_matrix_plan((uint32_t)pixels, op->c4_out, ctx->info.subgroup_size, lim->maxComputeWorkGroupCount,
                                    lim->maxComputeWorkGroupSize, lim->maxComputeWorkGroupInvocations,
                                    lim->maxComputeSharedMemorySize, &pp->plan);
#ifdef Q8CONV_TUNING
        q8conv_matrix_tile env_tile;
        const q8conv_matrix_tile *forced = tune_matrix_tile(ctx, &env_tile);
        if (st == Q8CONV_SUCCESS && forced)
            st = pick_matrix_plan_tile((uint32_t)pixels, op->c4_out, ctx->info.subgroup_size,
                                       lim->maxComputeWorkGroupCount, forced, &pp->plan);
#endif
    } else {
        st = pick_dispatch_plan_k(op->c4_out, w4, rows, op->c4_in, line->tile_n4, lim->maxComputeWorkGroupCount,
                                  lim->maxComputeWorkGroupSize, lim->maxComputeWorkGroupInvocations, &pp->plan);
    }
    pp->pipeline = VK_NULL_HANDLE;
    if (st == Q8CONV_SUCCESS) {
        const q8conv_pipeline_key key = {.module = var->module,
                                         .bias_mode = (uint32_t)op->bias_mode,
                                         .local = {pp->plan.local[0], pp->plan.local[1], pp->plan.local[2]},
                                         .k_split = pp->plan.k_split,
                                         .tile = {pp->plan.tile.bm, pp->plan.tile.bn, pp->plan.tile.sg_m,
                                                  pp->plan.tile.sg_n, pp->plan.tile.bk, pp->plan.tile.stages},
                                         .subgroup_size = line->plan == Q8CONV_PLAN_MATRIX ? ctx->info.subgroup_size : 0u,
                                         .input_xor = var->input.xor_word,
                                         .strided = op->stride_h != 1u || op->stride_w != 1u,
                                         .weight_zp = op->weight_zp,
#ifdef Q8CONV_TUNING
                                         .ablate = ctx->tune_ablate
#endif
        };
        st = q8conv_ctx_get_pipeline(op->ctx, &key, &op->pipelines, &pp->pipeline);
    }
    pp->rows = rows;
    return st;
}

/* The input row that output row `out_row` reads (the identity without a stride). */
static uint32_t input_row_of(const q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out, uint32_t out_row)
{
    return (uint32_t)q8conv_input_row(out_row, in->desc.h, out->desc.h, op->stride_h);
}

/* The piece of output rows starting at `start`: it ends where the output's binding window ends,
 * or at the first output row whose input row lies past the input window of start's input row. */
static uint32_t piece_end(const q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out, uint32_t start)
{
    uint64_t end = out->rows;
    const uint64_t in_window_end =
        (uint64_t)(input_row_of(op, in, out, start) / in->rows_per_window + 1) * in->rows_per_window;
    const uint64_t in_end = q8conv_first_output_row_from(in_window_end, in->desc.h, out->desc.h, op->stride_h);
    const uint64_t out_end = (uint64_t)(start / out->rows_per_window + 1) * out->rows_per_window;
    if (in_end < end)
        end = in_end;
    if (out_end < end)
        end = out_end;
    return (uint32_t)end;
}

/* Records every dispatch of one run: the rows are cut where either tensor's binding window ends,
 * and each piece is split further where the device's group-count limit requires. Every plan and
 * pipeline is resolved before the first command is recorded, so a refusal records nothing. */
static q8conv_status record_dispatches(q8conv_pw *op, VkCommandBuffer cmd, const q8conv_tensor *in,
                                       const q8conv_tensor *out)
{
    q8conv_context *ctx = op->ctx;
    /* The grid covers the output: its width and rows. */
    const uint32_t w = out->desc.w, w4 = q8conv_div_up(w, 4);
    const uint32_t rows = out->rows;
    piece_plan pp = {0};
    q8conv_status st = resolve_piece(op, w, piece_end(op, in, out, 0), &pp);
    /* Windowed tensors (rare) may have pieces of other sizes: create their pipelines first. */
    if (in->window_count > 1 || out->window_count > 1) {
        for (uint32_t start = 0; start < rows && st == Q8CONV_SUCCESS;) {
            const uint32_t end = piece_end(op, in, out, start);
            piece_plan other = pp;
            st = resolve_piece(op, w, end - start, &other);
            start = end;
        }
    }
    if (st != Q8CONV_SUCCESS)
        return st;

    q8conv_push pc = {.w = w,
                      .w4 = w4,
                      .c4_in = op->c4_in,
                      .c4_out = op->c4_out,
                      .oc = op->oc,

                      .z_y = op->rq.z_y,
                      .qmin = op->rq.qmin,
                      .qmax = op->rq.qmax,
                      .inv_y = op->rq.inv_y,
                      .in_w = in->desc.w,
                      .in_h = in->desc.h,
                      .out_h = out->desc.h,
                      .stride_h = op->stride_h,
                      .stride_w = op->stride_w,
                      .xsum_tail = op->xsum_tail};
    VkPipeline bound = VK_NULL_HANDLE;
    q8conv_used_pipelines used = {0};
    for (uint32_t start = 0; start < rows;) {
        const uint32_t end = piece_end(op, in, out, start);
        const uint32_t wi = input_row_of(op, in, out, start) / in->rows_per_window, wo = start / out->rows_per_window;
        /* Cached above: neither the plan nor the pipeline lookup can fail here. */
        st = resolve_piece(op, w, end - start, &pp);
        if (st != Q8CONV_SUCCESS)
            return st;
        if (pp.pipeline != bound) {
            const struct q8conv_pw_variant *var = &op->variants[pp.variant];
            ctx->vk.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pp.pipeline);
            ctx->vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx->pipeline_layout, 0, 1, &var->set, 0,
                                            NULL);
            pc.x_tiles = q8conv_div_up(op->c4_out, q8conv_kernel_lines[var->line].tile_n4);
            bound = pp.pipeline;
            q8conv_used_pipelines_add(&used, bound);
        }
        VkDescriptorSet sets[2] = {in->sets[wi], out->sets[wo]};
        ctx->vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx->pipeline_layout, 1, 2, sets, 0, NULL);
        pc.rows = end;
        pc.in_row_offset = wi * in->rows_per_window;
        pc.out_row_offset = wo * out->rows_per_window;
        for (uint32_t d = 0; d < pp.plan.count; ++d) {
            const q8conv_dispatch *dp = &pp.plan.dispatches[d];
            pc.base[0] = dp->base[0];
            pc.base[1] = dp->base[1];
            pc.base[2] = dp->base[2] + start;
            ctx->vk.vkCmdPushConstants(cmd, ctx->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
            ctx->vk.vkCmdDispatch(cmd, dp->groups[0], dp->groups[1], dp->groups[2]);
        }
        start = end;
    }
    q8conv_pw_note_recording(op, &used);
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_pw_record(q8conv_pw *op, VkCommandBuffer cmd, const q8conv_tensor *input, q8conv_tensor *output)
{
    if (!cmd)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = check_tensors(op, input, output);
    if (st != Q8CONV_SUCCESS)
        return st;
    return record_dispatches(op, cmd, input, output);
}

q8conv_status q8conv_pw_check_step(const q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out)
{
    return check_tensors(op, in, out);
}

bool q8conv_tensors_overlap(const q8conv_tensor *a, const q8conv_tensor *b)
{
    return tensors_overlap(a, b);
}

/* A run in the context's one-shot command buffer, recorded afresh each time. */
static q8conv_status run_once(q8conv_pw *op, const q8conv_tensor *input, q8conv_tensor *output)
{
    q8conv_context *ctx = op->ctx;
    VkCommandBuffer cmd;
    q8conv_status st = q8conv_ctx_begin_commands(ctx, &cmd);
    if (st != Q8CONV_SUCCESS)
        return st;
    q8conv_cmd_run_prologue(ctx, cmd);
    st = record_dispatches(op, cmd, input, output);
    q8conv_cmd_run_epilogue(ctx, cmd);
    return q8conv_ctx_end_commands(ctx, st);
}

/* A run in the op's own command buffer, recorded only when the tensors differ from the last
 * run's; ids, not pointers, so that a tensor made at a freed one's address is not mistaken for it.
 * The caller holds op->replay.busy. */
static q8conv_status run_replayed(q8conv_pw *op, const q8conv_tensor *input, q8conv_tensor *output)
{
    q8conv_context *ctx = op->ctx;
    q8conv_pw_replay *r = &op->replay;
    q8conv_status st = Q8CONV_SUCCESS;
    if (r->input_id != input->id || r->output_id != output->id) {
        if (!r->cmd)
            st = q8conv_ctx_create_replay(ctx, &r->cmd, &r->fence);
        if (st != Q8CONV_SUCCESS)
            return st;
        r->input_id = r->output_id = 0;
        pthread_mutex_lock(&ctx->lock);
        st = q8conv_replay_begin(ctx, r->cmd);
        if (st == Q8CONV_SUCCESS) {
            st = record_dispatches(op, r->cmd, input, output);
            st = q8conv_replay_end(ctx, r->cmd, st);
        }
        pthread_mutex_unlock(&ctx->lock);
        if (st != Q8CONV_SUCCESS)
            return st;
        r->input_id = input->id;
        r->output_id = output->id;
        r->recordings++;
    }
    return q8conv_ctx_submit_wait(ctx, r->cmd, r->fence);
}

q8conv_status q8conv_pw_run(q8conv_pw *op, const q8conv_tensor *input, q8conv_tensor *output)
{
    q8conv_status st = check_tensors(op, input, output);
    if (st != Q8CONV_SUCCESS)
        return st;
    if (atomic_exchange(&op->replay.busy, true))
        return run_once(op, input, output);
    st = run_replayed(op, input, output);
    atomic_store(&op->replay.busy, false);
    return st;
}
