/* The pipeline table: descriptor set layouts, the pipeline layout, the shader modules, and the
 * compute pipelines, each created on first use and kept for the context's life. */
#include <stdlib.h>
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
        /* A module declaring a capability the device lacks (DotProduct, CooperativeMatrixNV) is
         * invalid there. */
        if ((q8conv_kernel_lines[m / 4u].needs & ~ctx->caps) != 0)
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

#ifdef Q8CONV_TUNING
#include <stdio.h>
/* Tuning builds only: the driver's statistics of a new pipeline, to stderr. */
static void tune_print_stats(q8conv_context *ctx, VkPipeline p, const q8conv_pipeline_key *key)
{
    VkPipelineExecutableInfoKHR ei = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, .pipeline = p};
    VkPipelineExecutableStatisticKHR st[32];
    uint32_t n = 32;
    for (uint32_t i = 0; i < n; i++)
        st[i] = (VkPipelineExecutableStatisticKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
    if (ctx->vk.vkGetPipelineExecutableStatisticsKHR(ctx->device, &ei, &n, st) < 0)
        return;
    fprintf(stderr, "pipeline module %u tile %u,%u,%u,%u,%u,%u local %u:", key->module, key->tile[0], key->tile[1],
            key->tile[2], key->tile[3], key->tile[4], key->tile[5], key->local[0]);
    for (uint32_t i = 0; i < n; i++) {
        fprintf(stderr, " [%s=", st[i].name);
        switch (st[i].format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: fprintf(stderr, "%u]", st[i].value.b32); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: fprintf(stderr, "%lld]", (long long)st[i].value.i64); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: fprintf(stderr, "%llu]", (unsigned long long)st[i].value.u64); break;
        default: fprintf(stderr, "%g]", st[i].value.f64); break;
        }
    }
    fprintf(stderr, "\n");
}
#endif

q8conv_status q8conv_ctx_get_pipeline(q8conv_context *ctx, const q8conv_pipeline_key *key, VkPipeline *out)
{
    if (key->module >= Q8CONV_MODULE_COUNT || !ctx->modules[key->module])
        return Q8CONV_ERROR_UNSUPPORTED;
    pthread_mutex_lock(&ctx->lock);
    q8conv_status st = Q8CONV_SUCCESS;
    for (uint32_t i = 0; i < ctx->pipeline_count; ++i) {
        const q8conv_pipeline_entry *e = &ctx->pipelines[i];
        if (memcmp(&e->key, key, sizeof *key) == 0) {
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
    /* constant_id 0-2: local size, 3: BIAS_MODE, 4: K_SPLIT (shaders/q8conv_pw.comp); 5-9: the
     * matrix tile, 10: subgroup size, 11: INPUT_XOR, 12: stages (shaders/q8conv_pw_coopmat.comp).
     * An entry whose id a module does not declare has no effect (Vulkan's rule). */
    const uint32_t spec_values[13] = {key->local[0], key->local[1], key->local[2], key->bias_mode, key->k_split,
                                      key->tile[0],  key->tile[1],  key->tile[2],  key->tile[3],   key->tile[4],
                                      key->subgroup_size, key->input_xor, key->tile[5]};
    VkSpecializationMapEntry entries[13];
    for (uint32_t i = 0; i < 13; ++i)
        entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4u, .size = 4};
    VkSpecializationInfo spec = {.mapEntryCount = 13, .pMapEntries = entries, .dataSize = sizeof spec_values,
                                 .pData = spec_values};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = ctx->modules[key->module],
                  .pName = "main",
                  .pSpecializationInfo = &spec},
        .layout = ctx->pipeline_layout};
#ifdef Q8CONV_TUNING
    if (ctx->tune_stats)
        ci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
#endif
    VkPipeline p = VK_NULL_HANDLE;
    VkResult r = ctx->vk.vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &ci, NULL, &p);
#ifdef Q8CONV_TUNING
    if (r == VK_SUCCESS && ctx->tune_stats && getenv("Q8CONV_TUNE_STATS"))
        tune_print_stats(ctx, p, key);
#endif
    if (r != VK_SUCCESS) {
        st = q8conv_ctx_result(ctx, r);
    } else {
        ctx->pipelines[ctx->pipeline_count++] = (q8conv_pipeline_entry){.key = *key, .pipeline = p};
        *out = p;
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}
