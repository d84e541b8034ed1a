/* Running an op: the checks of a run, its plans (the picker) and pipelines (the pipeline table),
 * its recording, and its submission, one-shot or replayed. Creation is src/pw.c's. */
#include "objects.h"

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
    if (q8conv_tensors_overlap(in, out))
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
                 : q8conv_pick_matrix_plan((uint32_t)pixels, op->c4_out, op->c4_in, ctx->info.subgroup_size, lim->maxComputeWorkGroupCount,
                                    lim->maxComputeWorkGroupSize, lim->maxComputeWorkGroupInvocations,
                                    lim->maxComputeSharedMemorySize, &pp->plan);
        q8conv_matrix_tile tile;
        if (st == Q8CONV_SUCCESS && q8conv_tune_matrix_tile(ctx, &tile))
            st = q8conv_pick_matrix_plan_tile((uint32_t)pixels, op->c4_out, ctx->info.subgroup_size,
                                              lim->maxComputeWorkGroupCount, &tile, &pp->plan);
    } else {
        st = q8conv_pick_dispatch_plan(op->c4_out, w4, rows, op->c4_in, line->tile_n4, lim->maxComputeWorkGroupCount,
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
                                         .early_params = pp->plan.early_params,
                                         .unroll = pp->plan.unroll,
                                         .ablate = q8conv_tune_ablate(ctx)};
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

/* Every plan and pipeline of one run, before anything is recorded (so a refusal records nothing):
 * the rows are cut where either tensor's binding window ends, and each piece is planned by the
 * picker and gets its pipeline from the pipeline table. *pp is the first piece's, which every
 * piece of an unwindowed run shares. */
static q8conv_status resolve_run(q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out, piece_plan *pp)
{
    /* The grid covers the output: its width and rows. */
    const uint32_t w = out->desc.w;
    const uint32_t rows = out->rows;
    *pp = (piece_plan){0};
    q8conv_status st = resolve_piece(op, w, piece_end(op, in, out, 0), pp);
    /* Windowed tensors (rare) may have pieces of other sizes: create their pipelines first. */
    if (in->window_count > 1 || out->window_count > 1) {
        for (uint32_t start = 0; start < rows && st == Q8CONV_SUCCESS;) {
            const uint32_t end = piece_end(op, in, out, start);
            piece_plan other = *pp;
            st = resolve_piece(op, w, end - start, &other);
            start = end;
        }
    }
    return st;
}

/* Records every dispatch of one run resolved by resolve_run: per piece, the pipeline and the
 * descriptor sets, the push constants, and one vkCmdDispatch per dispatch of its plan (split where
 * the device's group-count limit requires). Nothing but vkCmd* calls for an unwindowed run, whose
 * one piece is pp already; a windowed run's other pieces find the pipelines resolve_run made in
 * the op's holds. */
static q8conv_status emit_dispatches(q8conv_pw *op, VkCommandBuffer cmd, const q8conv_tensor *in,
                                     const q8conv_tensor *out, piece_plan pp)
{
    q8conv_context *ctx = op->ctx;
    /* The grid covers the output: its width and rows. */
    const uint32_t w = out->desc.w, w4 = q8conv_div_up(w, 4);
    const uint32_t rows = out->rows;
    q8conv_status st;
    q8conv_push pc = {.W = w,
                      .W4 = w4,
                      .C4_in = op->c4_in,
                      .C4_out = op->c4_out,
                      .OC = op->oc,

                      .z_y = op->rq.z_y,
                      .qmin = op->rq.qmin,
                      .qmax = op->rq.qmax,
                      .inv_y = op->rq.inv_y,
                      .in_W = in->desc.w,
                      .in_H = in->desc.h,
                      .out_H = out->desc.h,
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

/* resolve_run, then emit_dispatches: q8conv_pw_record into a caller's (or a sequence's) buffer. */
static q8conv_status record_dispatches(q8conv_pw *op, VkCommandBuffer cmd, const q8conv_tensor *in,
                                       const q8conv_tensor *out)
{
    piece_plan pp;
    q8conv_status st = resolve_run(op, in, out, &pp);
    return st == Q8CONV_SUCCESS ? emit_dispatches(op, cmd, in, out, pp) : st;
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

/* One run's recording, as the submission room calls it back under the context's lock: its plans
 * and pipelines are resolved already, so it only emits commands. */
typedef struct run_args {
    q8conv_pw *op;
    const q8conv_tensor *input, *output;
    piece_plan pp;
    bool barriers; /* the one-shot path records the run's own prologue and epilogue */
} run_args;

static q8conv_status record_run(void *arg, VkCommandBuffer cmd)
{
    const run_args *a = arg;
    if (a->barriers)
        q8conv_cmd_run_prologue(a->op->ctx, cmd);
    q8conv_status st = emit_dispatches(a->op, cmd, a->input, a->output, a->pp);
    if (a->barriers)
        q8conv_cmd_run_epilogue(a->op->ctx, cmd);
    return st;
}

/* A run in the context's one-shot command buffer, recorded afresh each time. */
static q8conv_status run_once(q8conv_pw *op, const q8conv_tensor *input, q8conv_tensor *output)
{
    run_args a = {.op = op, .input = input, .output = output, .barriers = true};
    q8conv_status st = resolve_run(op, input, output, &a.pp);
    return st == Q8CONV_SUCCESS ? q8conv_ctx_run_commands(op->ctx, record_run, &a) : st;
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
        r->input_id = r->output_id = 0;
        run_args a = {.op = op, .input = input, .output = output, .barriers = false};
        st = resolve_run(op, input, output, &a.pp);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_ctx_record_replay(ctx, &r->cmd, &r->fence, record_run, &a);
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
