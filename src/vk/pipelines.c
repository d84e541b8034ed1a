/* The pipeline table: descriptor set layouts, the pipeline layout, the shader modules, and the
 * compute pipelines, each created when an op first needs it and kept while some op holds it. */
#include <stdlib.h>
#include <string.h>

#include "vk.h"

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

    /* The pipeline table starts at its smallest size, so a first run allocates only what is new. */
    ctx->pipeline_slots = q8conv_calloc(&ctx->allocator, 16, sizeof *ctx->pipeline_slots);
    if (!ctx->pipeline_slots)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    ctx->pipeline_capacity = 16;

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

/* A slot whose entry was removed: lookups probe past it, insertions may reuse it. */
static q8conv_pipeline_entry *const Q8CONV_PIPELINE_GONE = (q8conv_pipeline_entry *)&Q8CONV_PIPELINE_GONE;

void q8conv_pipelines_destroy(q8conv_context *ctx)
{
    const VkDevice dev = ctx->device;
    for (uint32_t i = 0; i < ctx->pipeline_capacity; ++i) {
        q8conv_pipeline_entry *e = ctx->pipeline_slots[i];
        if (e && e != Q8CONV_PIPELINE_GONE) {
            ctx->vk.vkDestroyPipeline(dev, e->pipeline, NULL);
            q8conv_free(&ctx->allocator, e);
        }
    }
    q8conv_free(&ctx->allocator, ctx->pipeline_slots);
    for (uint32_t m = 0; m < Q8CONV_MODULE_COUNT; ++m)
        if (ctx->modules[m])
            ctx->vk.vkDestroyShaderModule(dev, ctx->modules[m], NULL);
    if (ctx->pipeline_layout)
        ctx->vk.vkDestroyPipelineLayout(dev, ctx->pipeline_layout, NULL);
    if (ctx->op_set_layout)
        ctx->vk.vkDestroyDescriptorSetLayout(dev, ctx->op_set_layout, NULL);
    if (ctx->tensor_set_layout)
        ctx->vk.vkDestroyDescriptorSetLayout(dev, ctx->tensor_set_layout, NULL);
}

static uint64_t key_hash(const q8conv_pipeline_key *key)
{
    const uint8_t *p = (const uint8_t *)key;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < sizeof *key; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* The slot of key's entry, or NULL when it has none. */
static q8conv_pipeline_entry **find_slot(q8conv_context *ctx, const q8conv_pipeline_key *key, uint64_t hash)
{
    const uint32_t mask = ctx->pipeline_capacity - 1u;
    for (uint32_t i = (uint32_t)hash & mask, n = 0; n < ctx->pipeline_capacity; i = (i + 1u) & mask, ++n) {
        q8conv_pipeline_entry *e = ctx->pipeline_slots[i];
        if (!e)
            return NULL;
        if (e != Q8CONV_PIPELINE_GONE && e->hash == hash && memcmp(&e->key, key, sizeof *key) == 0)
            return &ctx->pipeline_slots[i];
    }
    return NULL;
}

/* Re-inserts the live entries into a table of `capacity` slots (a power of two), dropping the
 * removed ones: a long-lived context's table follows what is alive, not what ever was. */
static q8conv_status rehash(q8conv_context *ctx, uint32_t capacity)
{
    q8conv_pipeline_entry **slots = q8conv_calloc(&ctx->allocator, capacity, sizeof *slots);
    if (!slots)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < ctx->pipeline_capacity; ++i) {
        q8conv_pipeline_entry *e = ctx->pipeline_slots[i];
        if (!e || e == Q8CONV_PIPELINE_GONE)
            continue;
        uint32_t j = (uint32_t)e->hash & (capacity - 1u);
        while (slots[j])
            j = (j + 1u) & (capacity - 1u);
        slots[j] = e;
    }
    q8conv_free(&ctx->allocator, ctx->pipeline_slots);
    ctx->pipeline_slots = slots;
    ctx->pipeline_capacity = capacity;
    ctx->pipeline_used = ctx->pipeline_count;
    return Q8CONV_SUCCESS;
}

/* Room for one more entry with the table at most 3/4 full (live and removed slots). */
static q8conv_status reserve_slot(q8conv_context *ctx)
{
    if ((uint64_t)(ctx->pipeline_used + 1u) * 4u <= (uint64_t)ctx->pipeline_capacity * 3u)
        return Q8CONV_SUCCESS;
    uint32_t capacity = 16;
    while ((uint64_t)(ctx->pipeline_count + 1u) * 2u > capacity)
        capacity *= 2u;
    return rehash(ctx, capacity);
}

/* Room in an op's holds for one more. */
static q8conv_status reserve_hold(q8conv_context *ctx, q8conv_pipeline_holds *holds)
{
    if (holds->count < holds->capacity)
        return Q8CONV_SUCCESS;
    uint32_t capacity = holds->capacity ? holds->capacity * 2u : 4u;
    q8conv_pipeline_entry **e = q8conv_calloc(&ctx->allocator, capacity, sizeof *e);
    if (!e)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    if (holds->count)
        memcpy(e, holds->entries, holds->count * sizeof *e);
    q8conv_free(&ctx->allocator, holds->entries);
    holds->entries = e;
    holds->capacity = capacity;
    return Q8CONV_SUCCESS;
}

static q8conv_status create_pipeline(q8conv_context *ctx, const q8conv_pipeline_key *key, VkPipeline *out);

/* Puts a new entry into a table with room for it (reserve_slot); returns its slot. */
static q8conv_pipeline_entry **insert_entry(q8conv_context *ctx, q8conv_pipeline_entry *e)
{
    uint32_t j = (uint32_t)e->hash & (ctx->pipeline_capacity - 1u);
    while (ctx->pipeline_slots[j] && ctx->pipeline_slots[j] != Q8CONV_PIPELINE_GONE)
        j = (j + 1u) & (ctx->pipeline_capacity - 1u);
    if (!ctx->pipeline_slots[j])
        ctx->pipeline_used++;
    ctx->pipeline_slots[j] = e;
    ctx->pipeline_count++;
    return &ctx->pipeline_slots[j];
}

/* Takes an entry out of the table and destroys its pipeline. */
static void remove_entry(q8conv_context *ctx, q8conv_pipeline_entry **slot)
{
    q8conv_pipeline_entry *e = *slot;
    *slot = Q8CONV_PIPELINE_GONE;
    ctx->pipeline_count--;
    ctx->vk.vkDestroyPipeline(ctx->device, e->pipeline, NULL);
    q8conv_free(&ctx->allocator, e);
}

q8conv_status q8conv_ctx_get_pipeline(q8conv_context *ctx, const q8conv_pipeline_key *key, q8conv_pipeline_holds *holds,
                                      VkPipeline *out)
{
    if (key->module >= Q8CONV_MODULE_COUNT || !ctx->modules[key->module])
        return Q8CONV_ERROR_UNSUPPORTED;
    const uint64_t hash = key_hash(key);
    pthread_mutex_lock(&ctx->lock);
    q8conv_pipeline_entry **slot = find_slot(ctx, key, hash);
    q8conv_pipeline_entry *e = slot ? *slot : NULL;
    /* An op holds a few pipelines (one per shape family it has run): the scan is short. */
    for (uint32_t i = 0; e && i < holds->count; ++i)
        if (holds->entries[i] == e) {
            *out = e->pipeline;
            pthread_mutex_unlock(&ctx->lock);
            return Q8CONV_SUCCESS;
        }
    q8conv_status st = Q8CONV_SUCCESS;
    bool fresh = false;
    if (!e) {
        st = reserve_slot(ctx);
        e = st == Q8CONV_SUCCESS ? q8conv_calloc(&ctx->allocator, 1, sizeof *e) : NULL;
        if (st == Q8CONV_SUCCESS && !e)
            st = Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
        if (st == Q8CONV_SUCCESS) {
            st = create_pipeline(ctx, key, &e->pipeline);
            if (st != Q8CONV_SUCCESS) {
                q8conv_free(&ctx->allocator, e);
                e = NULL;
            }
        }
        if (st == Q8CONV_SUCCESS) {
            e->key = *key;
            e->hash = hash;
            slot = insert_entry(ctx, e);
            fresh = true;
        }
    }
    if (st == Q8CONV_SUCCESS)
        st = reserve_hold(ctx, holds);
    if (st == Q8CONV_SUCCESS) {
        e->holders++;
        holds->entries[holds->count++] = e;
        *out = e->pipeline;
    } else if (fresh) {
        /* A failed call leaves the table as it was. */
        remove_entry(ctx, slot);
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

void q8conv_ctx_release_pipelines(q8conv_context *ctx, q8conv_pipeline_holds *holds)
{
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t i = 0; i < holds->count; ++i) {
        q8conv_pipeline_entry *e = holds->entries[i];
        if (--e->holders == 0)
            remove_entry(ctx, find_slot(ctx, &e->key, e->hash));
    }
    /* A table far larger than what is alive shrinks; if that allocation fails it stays as is. */
    if (ctx->pipeline_capacity > 16u && (uint64_t)ctx->pipeline_count * 8u < ctx->pipeline_capacity) {
        uint32_t capacity = 16;
        while ((uint64_t)ctx->pipeline_count * 2u > capacity)
            capacity *= 2u;
        (void)rehash(ctx, capacity);
    }
    pthread_mutex_unlock(&ctx->lock);
    q8conv_free(&ctx->allocator, holds->entries);
    *holds = (q8conv_pipeline_holds){0};
}

/* Compiles the pipeline of a key (under the lock; the pipeline cache makes a repeat cheap). */
static q8conv_status create_pipeline(q8conv_context *ctx, const q8conv_pipeline_key *key, VkPipeline *out)
{
    /* Every ID of shader_abi.h, whichever kernel the module is: an entry whose ID a module does
     * not declare has no effect (Vulkan's rule). Fields a kernel does not use are 0 in the key. */
    uint32_t spec_values[Q8CONV_SPEC_COUNT] = {0};
    spec_values[Q8CONV_SPEC_LOCAL_X] = key->local[0];
    spec_values[Q8CONV_SPEC_LOCAL_Y] = key->local[1];
    spec_values[Q8CONV_SPEC_LOCAL_Z] = key->local[2];
    spec_values[Q8CONV_SPEC_BIAS_MODE] = key->bias_mode;
    spec_values[Q8CONV_SPEC_K_SPLIT] = key->k_split;
    spec_values[Q8CONV_SPEC_TILE_BM] = key->tile[0];
    spec_values[Q8CONV_SPEC_TILE_BN] = key->tile[1];
    spec_values[Q8CONV_SPEC_TILE_SG_M] = key->tile[2];
    spec_values[Q8CONV_SPEC_TILE_SG_N] = key->tile[3];
    spec_values[Q8CONV_SPEC_TILE_BK] = key->tile[4];
    spec_values[Q8CONV_SPEC_TILE_STAGES] = key->tile[5];
    spec_values[Q8CONV_SPEC_SUBGROUP_SIZE] = key->subgroup_size;
    spec_values[Q8CONV_SPEC_INPUT_XOR] = key->input_xor;
    spec_values[Q8CONV_SPEC_ABLATE] = key->ablate;
    spec_values[Q8CONV_SPEC_EARLY_PARAMS] = key->early_params;
    spec_values[Q8CONV_SPEC_UNROLL_K] = key->unroll ? key->unroll : Q8CONV_UNROLL_K;
    spec_values[Q8CONV_SPEC_STRIDED] = key->strided;
    spec_values[Q8CONV_SPEC_WEIGHT_ZP] = key->weight_zp;
    VkSpecializationMapEntry entries[Q8CONV_SPEC_COUNT];
    for (uint32_t i = 0; i < Q8CONV_SPEC_COUNT; ++i)
        entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4u, .size = 4};
    VkSpecializationInfo spec = {.mapEntryCount = Q8CONV_SPEC_COUNT, .pMapEntries = entries, .dataSize = sizeof spec_values,
                                 .pData = spec_values};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = ctx->modules[key->module],
                  .pName = "main",
                  .pSpecializationInfo = &spec},
        .layout = ctx->pipeline_layout};
    /* The driver keeps its statistics for q8conv_pw_statistics (no internal representations: those
     * cost compile time and memory, statistics next to nothing). */
    if (ctx->pipeline_statistics)
        ci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
    VkResult r = ctx->vk.vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &ci, NULL, out);
    if (r == VK_SUCCESS)
        q8conv_tune_pipeline_created(ctx, *out, key);
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_ctx_result(ctx, r);
}
