/* The pointwise convolution operator: create (pack the weights once, upload the constants), destroy.
 * Running and recording an op is src/pw_run.c's. */
#include <string.h>

#include "objects.h"

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
    q8conv_lifetime_retire(ctx, &op->member, op);
}

q8conv_kernel q8conv_pw_get_kernel(const q8conv_pw *op)
{
    return op ? op->kernel : Q8CONV_KERNEL_AUTO;
}
