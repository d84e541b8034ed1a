/* Tensors: device buffers in the SEMANTICS.md packing, owned or wrapped, bound in row windows. */
#include <string.h>

#include "internal.h"

static atomic_uint_fast64_t next_tensor_id = 1;

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Rows per binding window: the whole tensor when it fits in maxStorageBufferRange, else the
 * largest row count whose bytes fit and keep every window's start offset aligned. */
static q8conv_status plan_windows(const q8conv_context *ctx, q8conv_tensor *t)
{
    const uint64_t max_range = ctx->props.limits.maxStorageBufferRange;
    const uint64_t align = ctx->props.limits.minStorageBufferOffsetAlignment ? ctx->props.limits.minStorageBufferOffsetAlignment : 1;
    if (t->size <= max_range) {
        t->rows_per_window = t->rows;
        t->window_count = 1;
        return Q8CONV_SUCCESS;
    }
    if (t->row_bytes > max_range)
        return Q8CONV_ERROR_UNSUPPORTED;
    uint64_t rows = max_range / t->row_bytes;
    uint64_t step = align / gcd_u64(t->row_bytes, align);
    rows -= rows % step;
    if (rows == 0)
        return Q8CONV_ERROR_UNSUPPORTED;
    t->rows_per_window = (uint32_t)rows;
    t->window_count = q8conv_div_up(t->rows, t->rows_per_window);
    return Q8CONV_SUCCESS;
}

static q8conv_status write_window_sets(q8conv_context *ctx, q8conv_tensor *t)
{
    t->sets = q8conv_calloc(&ctx->allocator, t->window_count, sizeof *t->sets);
    t->set_pools = q8conv_calloc(&ctx->allocator, t->window_count, sizeof *t->set_pools);
    if (!t->sets || !t->set_pools)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < t->window_count; ++i) {
        q8conv_status st = q8conv_ctx_alloc_set(ctx, ctx->tensor_set_layout, &t->sets[i], &t->set_pools[i]);
        if (st != Q8CONV_SUCCESS)
            return st;
        uint64_t first = (uint64_t)i * t->rows_per_window;
        uint64_t count = t->rows - first < t->rows_per_window ? t->rows - first : t->rows_per_window;
        VkDescriptorBufferInfo bi = {.buffer = t->buffer,
                                     .offset = t->offset + first * t->row_bytes,
                                     .range = count * t->row_bytes};
        VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                  .dstSet = t->sets[i],
                                  .dstBinding = 0,
                                  .descriptorCount = 1,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .pBufferInfo = &bi};
        ctx->vk.vkUpdateDescriptorSets(ctx->device, 1, &w, 0, NULL);
    }
    return Q8CONV_SUCCESS;
}

static q8conv_status tensor_init(q8conv_context *ctx, const q8conv_tensor_desc *desc, q8conv_tensor **out,
                                 q8conv_tensor **made)
{
    *made = NULL;
    if (!ctx || !desc || !out)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = q8conv_validate_tensor_desc(desc);
    if (st != Q8CONV_SUCCESS)
        return st;
    if ((uint64_t)desc->n * desc->h > UINT32_MAX || ctx->compile_only)
        return Q8CONV_ERROR_UNSUPPORTED;
    st = q8conv_ctx_check_lost(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    q8conv_tensor *t = q8conv_calloc(&ctx->allocator, 1, sizeof *t);
    if (!t)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    t->ctx = ctx;
    atomic_init(&t->member.destroyed, false);
    t->desc = *desc;
    t->id = atomic_fetch_add(&next_tensor_id, 1);
    t->size = q8conv_packed_size(desc);
    t->row_bytes = q8conv_packed_row_bytes(desc);
    t->rows = desc->n * desc->h;
    *made = t;
    return plan_windows(ctx, t);
}

q8conv_status q8conv_tensor_create(q8conv_context *ctx, const q8conv_tensor_desc *desc, q8conv_tensor **out)
{
    q8conv_tensor *t;
    q8conv_status st = tensor_init(ctx, desc, out, &t);
    q8conv_buffer b = {0};
    if (st == Q8CONV_SUCCESS) {
        st = q8conv_buffer_create(ctx, t->size,
                                  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  false, &b);
        t->buffer = b.buffer;
        t->memory = b.memory;
    }
    if (st == Q8CONV_SUCCESS)
        st = write_window_sets(ctx, t);
    if (st != Q8CONV_SUCCESS) {
        q8conv_tensor_destroy(t);
        return st;
    }
    *out = t;
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_tensor_wrap_sized(q8conv_context *ctx, const q8conv_tensor_desc *desc, VkBuffer buffer,
                                       VkDeviceSize offset, VkDeviceSize buffer_size, q8conv_tensor **out)
{
    if (!buffer)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_tensor *t;
    q8conv_status st = tensor_init(ctx, desc, out, &t);
    if (st == Q8CONV_SUCCESS) {
        const uint64_t align = ctx->props.limits.minStorageBufferOffsetAlignment;
        /* 16: the shaders read 4W4C tensors as 16-byte blocks. */
        if ((align && offset % align) || offset % 16 || buffer_size < offset || buffer_size - offset < t->size)
            st = Q8CONV_ERROR_INVALID_ARGUMENT;
    }
    if (st == Q8CONV_SUCCESS) {
        t->buffer = buffer;
        t->offset = offset;
        st = write_window_sets(ctx, t);
    }
    if (st != Q8CONV_SUCCESS) {
        if (t)
            t->buffer = VK_NULL_HANDLE; /* never destroy the caller's buffer */
        q8conv_tensor_destroy(t);
        return st;
    }
    *out = t;
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_tensor_wrap(q8conv_context *ctx, const q8conv_tensor_desc *desc, VkBuffer buffer,
                                 VkDeviceSize offset, q8conv_tensor **out)
{
    if (!ctx || !buffer)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    /* Without the creation size, the memory requirement (never smaller than the buffer) is the
     * tightest bound Vulkan can tell. */
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, buffer, &req);
    return q8conv_tensor_wrap_sized(ctx, desc, buffer, offset, req.size, out);
}

void q8conv_tensor_destroy(q8conv_tensor *t)
{
    if (!t)
        return;
    q8conv_context *ctx = t->ctx;
    /* Either array may be missing when creation failed between the two allocations. */
    for (uint32_t i = 0; t->sets && t->set_pools && i < t->window_count; ++i)
        q8conv_ctx_free_set(ctx, t->set_pools[i], t->sets[i]);
    q8conv_free(&ctx->allocator, t->sets);
    q8conv_free(&ctx->allocator, t->set_pools);
    if (t->memory) {
        q8conv_buffer b = {.buffer = t->buffer, .memory = t->memory};
        q8conv_buffer_destroy(ctx, &b);
    }
    q8conv_sequence_member_retire(ctx, &t->member, t);
}

q8conv_status q8conv_tensor_get_desc(const q8conv_tensor *t, q8conv_tensor_desc *desc)
{
    if (!t || !desc)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    *desc = t->desc;
    return Q8CONV_SUCCESS;
}

static bool host_layout_valid(q8conv_host_layout layout)
{
    return (unsigned)layout == Q8CONV_HOST_NCHW || (unsigned)layout == Q8CONV_HOST_NHWC;
}

q8conv_status q8conv_tensor_write(q8conv_tensor *t, const int8_t *src, q8conv_host_layout layout)
{
    if (!t || !src || !host_layout_valid(layout))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    void *packed = q8conv_alloc(&t->ctx->allocator, (size_t)t->size);
    if (!packed)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    q8conv_pack_tensor(&t->desc, src, layout, packed);
    q8conv_status st = q8conv_upload(t->ctx, t->buffer, t->offset, packed, t->size);
    q8conv_free(&t->ctx->allocator, packed);
    return st;
}

q8conv_status q8conv_tensor_read(const q8conv_tensor *t, int8_t *dst, q8conv_host_layout layout)
{
    if (!t || !dst || !host_layout_valid(layout))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    void *packed = q8conv_alloc(&t->ctx->allocator, (size_t)t->size);
    if (!packed)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    q8conv_status st = q8conv_download(t->ctx, t->buffer, t->offset, packed, t->size);
    if (st == Q8CONV_SUCCESS)
        q8conv_unpack_tensor(&t->desc, packed, layout, dst);
    q8conv_free(&t->ctx->allocator, packed);
    return st;
}

q8conv_status q8conv_tensor_read_raw(const q8conv_tensor *t, void *dst, size_t size)
{
    if (!t || !dst || size != t->size)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    return q8conv_download(t->ctx, t->buffer, t->offset, dst, t->size);
}

q8conv_status q8conv_tensor_write_raw(q8conv_tensor *t, const void *src, size_t size)
{
    if (!t || !src || size != t->size)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    return q8conv_upload(t->ctx, t->buffer, t->offset, src, t->size);
}
