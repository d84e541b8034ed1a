/* The context: creates its rooms in order (instance or adopted device, device, pipeline cache,
 * pipelines, submission), destroys them, and answers get_info and get_vulkan_handles. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define Q8CONV_KNOWN_FLAGS (Q8CONV_CONTEXT_VALIDATION | Q8CONV_CONTEXT_FORCE_FALLBACK)

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

static q8conv_status create_context(const q8conv_context_desc *desc, bool compile_only, q8conv_context **out);

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
    if ((unsigned)desc->wait_mode > Q8CONV_WAIT_POLL || desc->wait_poll_us > Q8CONV_MAX_WAIT_POLL_US ||
        (desc->wait_mode == Q8CONV_WAIT_BLOCK && desc->wait_poll_us != 0))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    return create_context(desc, false, out);
}

q8conv_status q8conv_context_create_compile_only(uint32_t device_index, q8conv_context **out)
{
    if (!out)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    return create_context(&(q8conv_context_desc){.device_index = device_index}, true, out);
}

static q8conv_status create_context(const q8conv_context_desc *desc, bool compile_only, q8conv_context **out)
{
    q8conv_allocator allocator = desc->allocator ? *desc->allocator : (q8conv_allocator){0};
    q8conv_context *ctx = q8conv_calloc(&allocator, 1, sizeof *ctx);
    if (!ctx)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    ctx->allocator = allocator;
    ctx->flags = desc->flags;
    ctx->compile_only = compile_only;
    ctx->wait_mode = desc->wait_mode;
    ctx->wait_poll_ns = (uint64_t)(desc->wait_poll_us ? desc->wait_poll_us : 1000u) * 1000u;
    if (env_flag("Q8CONV_VALIDATION") && !desc->external)
        ctx->flags |= Q8CONV_CONTEXT_VALIDATION;
    ctx->message_callback = desc->message_callback;
    ctx->message_user_data = desc->message_user_data;
    atomic_init(&ctx->validation_errors, 0u);
    atomic_init(&ctx->validation_warnings, 0u);
    atomic_init(&ctx->lost, false);
    atomic_init(&ctx->submitted, false);
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
    /* A compile-only context compiles afresh (no cache: its statistics are the compiler's own
     * work) and has no command pool, fence or queue use: RADV's null device, for one, cannot
     * create a fence (its winsys has no sync objects) and crashes when asked to wait. */
    if (st == Q8CONV_SUCCESS && !compile_only)
        st = q8conv_pipeline_cache_create(ctx, desc);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pipelines_create(ctx);
    if (st == Q8CONV_SUCCESS)
        q8conv_auto_from_statistics(ctx);
    if (st == Q8CONV_SUCCESS && !compile_only)
        st = q8conv_submit_create(ctx);
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
        /* Only work the context submitted can be pending. A context that never submitted
         * (one that failed half-way through creation, or a compile-only one) does not ask the
         * device to wait: a device that cannot run, such as RADV's null device, crashes there. */
        if (ctx->owns_device && atomic_load(&ctx->submitted))
            ctx->vk.vkDeviceWaitIdle(dev);
        q8conv_submit_destroy(ctx);
        q8conv_descriptors_destroy(ctx);
        q8conv_pipelines_destroy(ctx);
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
