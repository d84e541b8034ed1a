/* Descriptor sets: the chain of pools that grows when one is full, and allocating and freeing one
 * set for a tensor window or an op. */
#include <string.h>

#include "vk.h"

static q8conv_status grow_pool_chain(q8conv_context *ctx)
{
    q8conv_pool_chain *c = &ctx->pools;
    if (c->count == c->capacity) {
        uint32_t cap = c->capacity ? c->capacity * 2 : 4;
        VkDescriptorPool *p = q8conv_calloc(&ctx->allocator, cap, sizeof *p);
        if (!p)
            return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
        if (c->count)
            memcpy(p, c->pools, c->count * sizeof *p);
        q8conv_free(&ctx->allocator, c->pools);
        c->pools = p;
        c->capacity = cap;
    }
    /* Each pool serves 64 sets of up to two storage buffers; sets are freed individually when a
     * tensor or op goes away. */
    VkDescriptorPoolSize size = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 128};
    VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT,
                                     .maxSets = 64,
                                     .poolSizeCount = 1,
                                     .pPoolSizes = &size};
    VkResult r = ctx->vk.vkCreateDescriptorPool(ctx->device, &ci, NULL, &c->pools[c->count]);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    c->count++;
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_ctx_alloc_set(q8conv_context *ctx, VkDescriptorSetLayout layout, VkDescriptorSet *set,
                                   VkDescriptorPool *from)
{
    pthread_mutex_lock(&ctx->lock);
    q8conv_status st = Q8CONV_SUCCESS;
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &layout};
    bool done = false;
    /* Newest pool first: older ones are usually full. */
    for (uint32_t i = ctx->pools.count; i-- > 0 && !done;) {
        ai.descriptorPool = ctx->pools.pools[i];
        VkResult r = ctx->vk.vkAllocateDescriptorSets(ctx->device, &ai, set);
        if (r == VK_SUCCESS) {
            *from = ai.descriptorPool;
            done = true;
        } else if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) {
            st = q8conv_status_from_vk(r);
            break;
        }
    }
    if (!done && st == Q8CONV_SUCCESS) {
        st = grow_pool_chain(ctx);
        if (st == Q8CONV_SUCCESS) {
            ai.descriptorPool = ctx->pools.pools[ctx->pools.count - 1];
            VkResult r = ctx->vk.vkAllocateDescriptorSets(ctx->device, &ai, set);
            st = r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
            if (st == Q8CONV_SUCCESS)
                *from = ai.descriptorPool;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

void q8conv_ctx_free_set(q8conv_context *ctx, VkDescriptorPool pool, VkDescriptorSet set)
{
    if (!set)
        return;
    pthread_mutex_lock(&ctx->lock);
    ctx->vk.vkFreeDescriptorSets(ctx->device, pool, 1, &set);
    pthread_mutex_unlock(&ctx->lock);
}

void q8conv_descriptors_destroy(q8conv_context *ctx)
{
    for (uint32_t i = 0; i < ctx->pools.count; ++i)
        ctx->vk.vkDestroyDescriptorPool(ctx->device, ctx->pools.pools[i], NULL);
    q8conv_free(&ctx->allocator, ctx->pools.pools);
}
