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
    VkDescriptorSetLayoutBinding op_bindings[2] = {
        {.binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
         .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT},
        {.binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
         .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT}};
    VkDescriptorSetLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = 2,
                                           .pBindings = op_bindings};
    r = ctx->vk.vkCreateDescriptorSetLayout(dev, &lci, NULL, &ctx->op_set_layout);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    lci.bindingCount = 1;
    r = ctx->vk.vkCreateDescriptorSetLayout(dev, &lci, NULL, &ctx->tensor_set_layout);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    VkDescriptorSetLayout sets[3] = {ctx->op_set_layout, ctx->tensor_set_layout, ctx->tensor_set_layout};
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = sizeof(q8conv_push)};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 3,
                                       .pSetLayouts = sets,
                                       .pushConstantRangeCount = 1,
                                       .pPushConstantRanges = &pcr};
    r = ctx->vk.vkCreatePipelineLayout(dev, &plci, NULL, &ctx->pipeline_layout);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);

    for (uint32_t m = 0; m < Q8CONV_MODULE_COUNT; ++m) {
        bool module_uses_dot = (m >> 2) & 1u;
        /* A module declaring the DotProduct capability is invalid on a device without the feature. */
        if (module_uses_dot && !ctx->use_dot)
            continue;
        VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                         .codeSize = q8conv_shader_size[m],
                                         .pCode = q8conv_shader_code[m]};
        r = ctx->vk.vkCreateShaderModule(dev, &smci, NULL, &ctx->modules[m]);
        if (r != VK_SUCCESS)
            return q8conv_status_from_vk(r);
    }

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
        for (uint32_t i = 0; i < ctx->pipeline_count; ++i)
            ctx->vk.vkDestroyPipeline(dev, ctx->pipelines[i].pipeline, NULL);
        for (uint32_t i = 0; i < ctx->pools.count; ++i)
            ctx->vk.vkDestroyDescriptorPool(dev, ctx->pools.pools[i], NULL);
        for (uint32_t m = 0; m < Q8CONV_MODULE_COUNT; ++m)
            if (ctx->modules[m])
                ctx->vk.vkDestroyShaderModule(dev, ctx->modules[m], NULL);
        if (ctx->fence)
            ctx->vk.vkDestroyFence(dev, ctx->fence, NULL);
        if (ctx->command_pool)
            ctx->vk.vkDestroyCommandPool(dev, ctx->command_pool, NULL);
        if (ctx->pipeline_layout)
            ctx->vk.vkDestroyPipelineLayout(dev, ctx->pipeline_layout, NULL);
        if (ctx->op_set_layout)
            ctx->vk.vkDestroyDescriptorSetLayout(dev, ctx->op_set_layout, NULL);
        if (ctx->tensor_set_layout)
            ctx->vk.vkDestroyDescriptorSetLayout(dev, ctx->tensor_set_layout, NULL);
        q8conv_pipeline_cache_destroy(ctx);
        if (ctx->owns_device)
            ctx->vk.vkDestroyDevice(dev, NULL);
    }
    q8conv_instance_destroy(ctx);
    q8conv_allocator allocator = ctx->allocator;
    q8conv_free(&allocator, ctx->pools.pools);
    q8conv_free(&allocator, ctx->pipelines);
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

q8conv_status q8conv_ctx_get_pipeline(q8conv_context *ctx, uint32_t module, uint32_t bias_mode,
                                      const uint32_t local[3], uint32_t k_split, VkPipeline *out)
{
    if (module >= Q8CONV_MODULE_COUNT || !ctx->modules[module])
        return Q8CONV_ERROR_UNSUPPORTED;
    pthread_mutex_lock(&ctx->lock);
    q8conv_status st = Q8CONV_SUCCESS;
    for (uint32_t i = 0; i < ctx->pipeline_count; ++i) {
        const q8conv_pipeline_entry *e = &ctx->pipelines[i];
        if (e->module == module && e->bias_mode == bias_mode && e->local[0] == local[0] && e->local[1] == local[1] &&
            e->local[2] == local[2] && e->k_split == k_split) {
            *out = e->pipeline;
            pthread_mutex_unlock(&ctx->lock);
            return Q8CONV_SUCCESS;
        }
    }
    if (ctx->pipeline_count == ctx->pipeline_capacity) {
        uint32_t cap = ctx->pipeline_capacity ? ctx->pipeline_capacity * 2 : 16;
        q8conv_pipeline_entry *p = q8conv_calloc(&ctx->allocator, cap, sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&ctx->lock);
            return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
        }
        if (ctx->pipeline_count)
            memcpy(p, ctx->pipelines, ctx->pipeline_count * sizeof *p);
        q8conv_free(&ctx->allocator, ctx->pipelines);
        ctx->pipelines = p;
        ctx->pipeline_capacity = cap;
    }
    /* constant_id 0-2: local size, 3: BIAS_MODE, 4: K_SPLIT (shaders/q8conv_pw.comp). */
    const uint32_t spec_values[5] = {local[0], local[1], local[2], bias_mode, k_split};
    VkSpecializationMapEntry entries[5];
    for (uint32_t i = 0; i < 5; ++i)
        entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4u, .size = 4};
    VkSpecializationInfo spec = {.mapEntryCount = 5, .pMapEntries = entries, .dataSize = sizeof spec_values,
                                 .pData = spec_values};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = ctx->modules[module],
                  .pName = "main",
                  .pSpecializationInfo = &spec},
        .layout = ctx->pipeline_layout};
    VkPipeline p = VK_NULL_HANDLE;
    VkResult r = ctx->vk.vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &ci, NULL, &p);
    if (r != VK_SUCCESS) {
        st = q8conv_ctx_result(ctx, r);
    } else {
        ctx->pipelines[ctx->pipeline_count++] = (q8conv_pipeline_entry){
            .module = module, .bias_mode = bias_mode, .local = {local[0], local[1], local[2]}, .k_split = k_split,
            .pipeline = p};
        *out = p;
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
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
