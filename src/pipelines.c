/* The pipeline table: descriptor set layouts, the pipeline layout, the shader modules, and the
 * compute pipelines, each created on first use and kept for the context's life. */
#include <string.h>

#include "internal.h"

q8conv_status q8conv_pipelines_create(q8conv_context *ctx)
{
    VkDescriptorSetLayoutBinding op_bindings[2] = {
        {.binding = 0, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
         .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT},
        {.binding = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
         .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT}};
    VkDescriptorSetLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = 2,
                                           .pBindings = op_bindings};
    VkResult r = ctx->vk.vkCreateDescriptorSetLayout(ctx->device, &lci, NULL, &ctx->op_set_layout);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    lci.bindingCount = 1;
    r = ctx->vk.vkCreateDescriptorSetLayout(ctx->device, &lci, NULL, &ctx->tensor_set_layout);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    VkDescriptorSetLayout sets[3] = {ctx->op_set_layout, ctx->tensor_set_layout, ctx->tensor_set_layout};
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = sizeof(q8conv_push)};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 3,
                                       .pSetLayouts = sets,
                                       .pushConstantRangeCount = 1,
                                       .pPushConstantRanges = &pcr};
    r = ctx->vk.vkCreatePipelineLayout(ctx->device, &plci, NULL, &ctx->pipeline_layout);
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
        r = ctx->vk.vkCreateShaderModule(ctx->device, &smci, NULL, &ctx->modules[m]);
        if (r != VK_SUCCESS)
            return q8conv_status_from_vk(r);
    }
    return Q8CONV_SUCCESS;
}

void q8conv_pipelines_destroy(q8conv_context *ctx)
{
    const VkDevice dev = ctx->device;
    for (uint32_t i = 0; i < ctx->pipeline_count; ++i)
        ctx->vk.vkDestroyPipeline(dev, ctx->pipelines[i].pipeline, NULL);
    for (uint32_t m = 0; m < Q8CONV_MODULE_COUNT; ++m)
        if (ctx->modules[m])
            ctx->vk.vkDestroyShaderModule(dev, ctx->modules[m], NULL);
    if (ctx->pipeline_layout)
        ctx->vk.vkDestroyPipelineLayout(dev, ctx->pipeline_layout, NULL);
    if (ctx->op_set_layout)
        ctx->vk.vkDestroyDescriptorSetLayout(dev, ctx->op_set_layout, NULL);
    if (ctx->tensor_set_layout)
        ctx->vk.vkDestroyDescriptorSetLayout(dev, ctx->tensor_set_layout, NULL);
    q8conv_free(&ctx->allocator, ctx->pipelines);
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
