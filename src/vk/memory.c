/* Device memory: buffers, and host <-> device copies through staging buffers. */
#include <string.h>

#include "vk.h"

static bool find_memory_type(const q8conv_context *ctx, uint32_t type_bits, VkMemoryPropertyFlags want,
                             uint32_t *index)
{
    const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_props;
    for (uint32_t i = 0; i < mp->memoryTypeCount; ++i)
        if ((type_bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) {
            *index = i;
            return true;
        }
    return false;
}

q8conv_status q8conv_buffer_create(q8conv_context *ctx, VkDeviceSize size, VkBufferUsageFlags usage,
                                   bool host_visible, q8conv_buffer *out)
{
    memset(out, 0, sizeof *out);
    const VkDevice dev = ctx->device;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = ctx->vk.vkCreateBuffer(dev, &bci, NULL, &out->buffer);
    if (r != VK_SUCCESS)
        return q8conv_ctx_result(ctx, r);
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(dev, out->buffer, &req);

    /* Staging wants coherent memory (no flush calls), cached where offered since results are read
     * back by the CPU; tensors want device-local memory but take any type that fits. */
    uint32_t type;
    bool found;
    if (host_visible) {
        found = find_memory_type(ctx, req.memoryTypeBits,
                                 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                     VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                                 &type) ||
                find_memory_type(ctx, req.memoryTypeBits,
                                 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, &type);
    } else {
        found = find_memory_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &type) ||
                find_memory_type(ctx, req.memoryTypeBits, 0, &type);
    }
    if (!found) {
        q8conv_buffer_destroy(ctx, out);
        return Q8CONV_ERROR_UNSUPPORTED;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    r = ctx->vk.vkAllocateMemory(dev, &mai, NULL, &out->memory);
    if (r == VK_SUCCESS)
        r = ctx->vk.vkBindBufferMemory(dev, out->buffer, out->memory, 0);
    if (r == VK_SUCCESS && host_visible)
        r = ctx->vk.vkMapMemory(dev, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped);
    if (r != VK_SUCCESS) {
        q8conv_buffer_destroy(ctx, out);
        return q8conv_ctx_result(ctx, r);
    }
    out->size = size;
    return Q8CONV_SUCCESS;
}

void q8conv_buffer_destroy(q8conv_context *ctx, q8conv_buffer *b)
{
    if (b->buffer)
        ctx->vk.vkDestroyBuffer(ctx->device, b->buffer, NULL);
    if (b->memory)
        ctx->vk.vkFreeMemory(ctx->device, b->memory, NULL); /* unmaps implicitly */
    memset(b, 0, sizeof *b);
}

/* One copy command between a staging buffer and the target. The barriers make the copy safe
 * against earlier and later compute work on the same buffer. */
typedef struct copy_args {
    q8conv_context *ctx;
    VkBuffer src, dst;
    VkDeviceSize src_off, dst_off, size;
} copy_args;

static q8conv_status record_copy(void *arg, VkCommandBuffer cmd)
{
    const copy_args *a = arg;
    q8conv_context *ctx = a->ctx;
    VkMemoryBarrier before = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                                 VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
    VkBufferCopy region = {.srcOffset = a->src_off, .dstOffset = a->dst_off, .size = a->size};
    ctx->vk.vkCmdCopyBuffer(cmd, a->src, a->dst, 1, &region);
    VkMemoryBarrier after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                             .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                             .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                                              VK_ACCESS_SHADER_WRITE_BIT};
    ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &after, 0,
                                 NULL, 0, NULL);
    return Q8CONV_SUCCESS;
}

/* The copy, submitted and waited for. */
static q8conv_status copy_once(q8conv_context *ctx, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                               VkDeviceSize dst_off, VkDeviceSize size)
{
    copy_args a = {.ctx = ctx, .src = src, .dst = dst, .src_off = src_off, .dst_off = dst_off, .size = size};
    return q8conv_ctx_run_commands(ctx, record_copy, &a);
}

/* Staging is capped so that a large tensor does not need a second allocation of its own size. */
#define STAGING_CHUNK ((VkDeviceSize)64 << 20)

/* Moves size bytes between host memory and (buffer, offset), one staging chunk at a time. */
static q8conv_status transfer(q8conv_context *ctx, VkBuffer buffer, VkDeviceSize offset, uint8_t *host,
                              VkDeviceSize size, bool to_device)
{
    q8conv_status st = q8conv_ctx_check_lost(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    q8conv_buffer staging;
    const VkDeviceSize chunk = size < STAGING_CHUNK ? size : STAGING_CHUNK;
    st = q8conv_buffer_create(ctx, chunk, to_device ? VK_BUFFER_USAGE_TRANSFER_SRC_BIT : VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              true, &staging);
    for (VkDeviceSize done = 0; st == Q8CONV_SUCCESS && done < size; done += chunk) {
        const VkDeviceSize n = size - done < chunk ? size - done : chunk;
        if (to_device) {
            memcpy(staging.mapped, host + done, (size_t)n);
            st = copy_once(ctx, staging.buffer, 0, buffer, offset + done, n);
        } else {
            st = copy_once(ctx, buffer, offset + done, staging.buffer, 0, n);
            if (st == Q8CONV_SUCCESS)
                memcpy(host + done, staging.mapped, (size_t)n);
        }
    }
    q8conv_buffer_destroy(ctx, &staging);
    return st;
}

q8conv_status q8conv_upload(q8conv_context *ctx, VkBuffer dst, VkDeviceSize offset, const void *src, VkDeviceSize size)
{
    return transfer(ctx, dst, offset, (uint8_t *)(uintptr_t)src, size, true);
}

q8conv_status q8conv_download(q8conv_context *ctx, VkBuffer src, VkDeviceSize offset, void *dst, VkDeviceSize size)
{
    return transfer(ctx, src, offset, dst, size, false);
}
