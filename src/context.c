/* The context: a Vulkan device (the library's own, or a caller's) and what every op shares on it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define Q8CONV_KNOWN_FLAGS (Q8CONV_CONTEXT_VALIDATION | Q8CONV_CONTEXT_FORCE_FALLBACK)

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

static q8conv_status create_shared_objects(q8conv_context *ctx)
{
    const VkDevice dev = ctx->device;
    VkResult r;
    VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = ctx->queue_family_index};
    r = ctx->vk.vkCreateCommandPool(dev, &cpci, NULL, &ctx->command_pool);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    VkCommandBufferAllocateInfo cbai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                        .commandPool = ctx->command_pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                        .commandBufferCount = 1};
    r = ctx->vk.vkAllocateCommandBuffers(dev, &cbai, &ctx->command_buffer);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = ctx->vk.vkCreateFence(dev, &fci, NULL, &ctx->fence);
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
}

q8conv_status q8conv_context_create(const q8conv_context_desc *desc, q8conv_context **out)
{
    if (!out)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_context_desc defaults = {0};
    if (!desc) {
        const char *dev = getenv("Q8CONV_DEVICE");
        if (dev && *dev) {
            char *end = NULL;
            unsigned long v = strtoul(dev, &end, 10);
            if (end && *end == 0 && v <= UINT32_MAX)
                defaults.device_index = (uint32_t)v;
        }
        desc = &defaults;
    }
    if ((desc->flags & ~Q8CONV_KNOWN_FLAGS) != 0 || (desc->pipeline_cache_size && !desc->pipeline_cache_data))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (desc->allocator && (!desc->allocator->alloc != !desc->allocator->free))
        return Q8CONV_ERROR_INVALID_ARGUMENT;

    q8conv_allocator allocator = desc->allocator ? *desc->allocator : (q8conv_allocator){0};
    q8conv_context *ctx = q8conv_calloc(&allocator, 1, sizeof *ctx);
    if (!ctx)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    ctx->allocator = allocator;
    ctx->flags = desc->flags;
    if (env_flag("Q8CONV_VALIDATION") && !desc->external)
        ctx->flags |= Q8CONV_CONTEXT_VALIDATION;
    ctx->message_callback = desc->message_callback;
    ctx->message_user_data = desc->message_user_data;
    atomic_init(&ctx->validation_errors, 0u);
    atomic_init(&ctx->validation_warnings, 0u);
    atomic_init(&ctx->lost, false);
    /* Recursive: a run holds the lock around its command buffer and may create a pipeline. */
    pthread_mutexattr_t attr;
    bool lock_ok = pthread_mutexattr_init(&attr) == 0;
    lock_ok = lock_ok && pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) == 0 &&
              pthread_mutex_init(&ctx->lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (!lock_ok) {
        q8conv_free(&allocator, ctx);
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    }

    q8conv_status st;
    if (desc->external) {
        st = q8conv_device_adopt(ctx, desc->external);
    } else {
        ctx->owns_device = true;
        st = q8conv_instance_create(ctx);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_instance_pick_physical_device(ctx, desc->device_index);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_device_create(ctx);
    }
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pipeline_cache_create(ctx, desc);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pipelines_create(ctx);
    if (st == Q8CONV_SUCCESS)
        st = create_shared_objects(ctx);
    if (st != Q8CONV_SUCCESS) {
        q8conv_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return Q8CONV_SUCCESS;
}

void q8conv_context_destroy(q8conv_context *ctx)
{
    if (!ctx)
        return;
    const VkDevice dev = ctx->device;
    if (dev && ctx->vk.vkDestroyPipeline) {
        if (ctx->owns_device)
            ctx->vk.vkDeviceWaitIdle(dev);
        q8conv_descriptors_destroy(ctx);
        q8conv_pipelines_destroy(ctx);
        if (ctx->fence)
            ctx->vk.vkDestroyFence(dev, ctx->fence, NULL);
        if (ctx->command_pool)
            ctx->vk.vkDestroyCommandPool(dev, ctx->command_pool, NULL);
        q8conv_pipeline_cache_destroy(ctx);
        if (ctx->owns_device)
            ctx->vk.vkDestroyDevice(dev, NULL);
    }
    q8conv_instance_destroy(ctx);
    q8conv_allocator allocator = ctx->allocator;
    pthread_mutex_destroy(&ctx->lock);
    q8conv_free(&allocator, ctx);
}

q8conv_status q8conv_context_get_info(const q8conv_context *ctx, q8conv_context_info *info)
{
    if (!ctx || !info)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    *info = ctx->info;
    info->validation_errors = atomic_load(&((q8conv_context *)ctx)->validation_errors);
    info->validation_warnings = atomic_load(&((q8conv_context *)ctx)->validation_warnings);
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_context_get_vulkan_handles(const q8conv_context *ctx, q8conv_vulkan_handles *out)
{
    if (!ctx || !out)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    *out = (q8conv_vulkan_handles){.instance = ctx->instance,
                                   .physical_device = ctx->physical_device,
                                   .device = ctx->device,
                                   .queue = ctx->queue,
                                   .queue_family_index = ctx->queue_family_index,
                                   .api_version = ctx->api_version,
                                   .get_instance_proc_addr = ctx->vki.vkGetInstanceProcAddr};
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_ctx_begin_commands(q8conv_context *ctx, VkCommandBuffer *cmd)
{
    q8conv_status st = q8conv_ctx_check_lost(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    pthread_mutex_lock(&ctx->lock);
    VkResult r = ctx->vk.vkResetCommandBuffer(ctx->command_buffer, 0);
    if (r == VK_SUCCESS) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        r = ctx->vk.vkBeginCommandBuffer(ctx->command_buffer, &bi);
    }
    if (r != VK_SUCCESS) {
        pthread_mutex_unlock(&ctx->lock);
        return q8conv_ctx_result(ctx, r);
    }
    *cmd = ctx->command_buffer;
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_ctx_end_commands(q8conv_context *ctx, q8conv_status recorded)
{
    VkResult r = ctx->vk.vkEndCommandBuffer(ctx->command_buffer);
    q8conv_status st = recorded;
    if (st == Q8CONV_SUCCESS && r != VK_SUCCESS)
        st = q8conv_ctx_result(ctx, r);
    if (st == Q8CONV_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &ctx->command_buffer};
        r = ctx->vk.vkResetFences(ctx->device, 1, &ctx->fence);
        if (r == VK_SUCCESS)
            r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, ctx->fence);
        if (r == VK_SUCCESS)
            r = ctx->vk.vkWaitForFences(ctx->device, 1, &ctx->fence, VK_TRUE, UINT64_MAX);
        if (r != VK_SUCCESS)
            st = q8conv_ctx_result(ctx, r);
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}
