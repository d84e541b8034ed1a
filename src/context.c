/* The context: a Vulkan device (the library's own, or a caller's) and what every op shares on it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* volk's device-table loader reads its (library-private, hidden) global vkGetDeviceProcAddr; the
 * global is set per call under this lock, so contexts on different loaders never see each other's. */
static pthread_mutex_t volk_lock = PTHREAD_MUTEX_INITIALIZER;

#define Q8CONV_KNOWN_FLAGS (Q8CONV_CONTEXT_VALIDATION | Q8CONV_CONTEXT_FORCE_FALLBACK)

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

static bool device_has_extension(q8conv_context *ctx, VkPhysicalDevice pd, const char *name, q8conv_status *st)
{
    uint32_t n = 0;
    *st = Q8CONV_SUCCESS;
    if (ctx->vki.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *props = q8conv_calloc(&ctx->allocator, n, sizeof *props);
    if (!props) {
        *st = Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
        return false;
    }
    bool found = false;
    VkResult r = ctx->vki.vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props);
    if (r == VK_SUCCESS || r == VK_INCOMPLETE)
        for (uint32_t i = 0; i < n && !found; ++i)
            found = strcmp(props[i].extensionName, name) == 0;
    q8conv_free(&ctx->allocator, props);
    return found;
}

/* Integer dot product is usable in SPIR-V when the feature is on: core in 1.3, else the KHR
 * extension (which is also what makes SPV_KHR_integer_dot_product legal). */
typedef struct dot_support {
    bool feature;      /* shaderIntegerDotProduct is supported */
    bool needs_ext;    /* it comes from VK_KHR_shader_integer_dot_product */
    bool accelerated;  /* 4x8-bit packed signed (accumulating saturating) is accelerated */
} dot_support;

static q8conv_status query_dot_support(q8conv_context *ctx, VkPhysicalDevice pd, uint32_t device_api, dot_support *out)
{
    memset(out, 0, sizeof *out);
    q8conv_status st;
    bool ext = device_has_extension(ctx, pd, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME, &st);
    if (st != Q8CONV_SUCCESS)
        return st;
    bool core = device_api >= VK_API_VERSION_1_3 && ctx->api_version >= VK_API_VERSION_1_3;
    if (!core && !ext)
        return Q8CONV_SUCCESS;
    VkPhysicalDeviceShaderIntegerDotProductFeatures feat = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &feat};
    ctx->vki.vkGetPhysicalDeviceFeatures2(pd, &f2);
    VkPhysicalDeviceShaderIntegerDotProductProperties prop = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &prop};
    ctx->vki.vkGetPhysicalDeviceProperties2(pd, &p2);
    out->feature = feat.shaderIntegerDotProduct == VK_TRUE;
    out->needs_ext = !core;
    out->accelerated = prop.integerDotProduct4x8BitPackedSignedAccelerated &&
                       prop.integerDotProductAccumulatingSaturating4x8BitPackedSignedAccelerated;
    return Q8CONV_SUCCESS;
}

/* The caller enabled integer dot product if it appears anywhere in its feature chain. */
static bool chain_enables_dot(const VkPhysicalDeviceFeatures2 *chain)
{
    for (const VkBaseInStructure *s = (const VkBaseInStructure *)chain; s; s = s->pNext) {
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES &&
            ((const VkPhysicalDeviceVulkan13Features *)s)->shaderIntegerDotProduct)
            return true;
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES &&
            ((const VkPhysicalDeviceShaderIntegerDotProductFeatures *)s)->shaderIntegerDotProduct)
            return true;
    }
    return false;
}

static q8conv_status pick_queue_family(q8conv_context *ctx, uint32_t *family)
{
    uint32_t n = 0;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &n, NULL);
    if (n == 0)
        return Q8CONV_ERROR_UNSUPPORTED;
    VkQueueFamilyProperties *q = q8conv_calloc(&ctx->allocator, n, sizeof *q);
    if (!q)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &n, q);
    /* A compute queue with timestamps lets the benchmark time it; any compute queue will do. */
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < n; ++i) {
        if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0)
            continue;
        if (best == UINT32_MAX || (q[best].timestampValidBits == 0 && q[i].timestampValidBits != 0))
            best = i;
    }
    q8conv_free(&ctx->allocator, q);
    if (best == UINT32_MAX)
        return Q8CONV_ERROR_UNSUPPORTED;
    *family = best;
    return Q8CONV_SUCCESS;
}

static q8conv_status create_device(q8conv_context *ctx, const dot_support *dot)
{
    uint32_t family;
    q8conv_status st = pick_queue_family(ctx, &family);
    if (st != Q8CONV_SUCCESS)
        return st;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
        .shaderIntegerDotProduct = VK_TRUE};
    const char *ext = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = dot->feature ? &dot_features : NULL,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = dot->feature && dot->needs_ext ? 1u : 0u,
                              .ppEnabledExtensionNames = &ext};
    VkResult r = ctx->vki.vkCreateDevice(ctx->physical_device, &dci, NULL, &ctx->device);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    ctx->queue_family_index = family;
    return Q8CONV_SUCCESS;
}

static q8conv_status load_device_table(q8conv_context *ctx)
{
    pthread_mutex_lock(&volk_lock);
    vkGetDeviceProcAddr = ctx->vki.vkGetDeviceProcAddr;
    volkLoadDeviceTable(&ctx->vk, ctx->device);
    vkGetDeviceProcAddr = NULL;
    pthread_mutex_unlock(&volk_lock);
    if (!ctx->vk.vkGetDeviceQueue || !ctx->vk.vkCreateComputePipelines || !ctx->vk.vkCmdDispatch)
        return Q8CONV_ERROR_VULKAN;
    ctx->vk.vkGetDeviceQueue(ctx->device, ctx->queue_family_index, 0, &ctx->queue);
    return Q8CONV_SUCCESS;
}

static void fill_info(q8conv_context *ctx, const dot_support *dot)
{
    q8conv_context_info *info = &ctx->info;
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    bool has_driver_props = ctx->api_version >= VK_API_VERSION_1_2 && ctx->props.apiVersion >= VK_API_VERSION_1_2;
    if (has_driver_props)
        sub.pNext = &drv;
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
    ctx->vki.vkGetPhysicalDeviceProperties2(ctx->physical_device, &p2);

    memcpy(info->device_name, ctx->props.deviceName, sizeof info->device_name);
    info->device_name[sizeof info->device_name - 1] = 0;
    if (has_driver_props) {
        memcpy(info->driver_name, drv.driverName, sizeof info->driver_name);
        memcpy(info->driver_info, drv.driverInfo, sizeof info->driver_info);
        info->driver_name[sizeof info->driver_name - 1] = 0;
        info->driver_info[sizeof info->driver_info - 1] = 0;
    }
    info->vendor_id = ctx->props.vendorID;
    info->device_id = ctx->props.deviceID;
    info->driver_version = ctx->props.driverVersion;
    info->api_version = ctx->api_version < ctx->props.apiVersion ? ctx->api_version : ctx->props.apiVersion;
    info->integer_dot_product_supported = ctx->use_dot || (dot->feature && (ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK));
    info->integer_dot_product_accelerated = info->integer_dot_product_supported && dot->accelerated;
    info->external_device = !ctx->owns_device;
    info->subgroup_size = sub.subgroupSize;
    memcpy(info->max_compute_workgroup_count, ctx->props.limits.maxComputeWorkGroupCount,
           sizeof info->max_compute_workgroup_count);
    info->max_compute_workgroup_invocations = ctx->props.limits.maxComputeWorkGroupInvocations;
    info->max_storage_buffer_range = ctx->props.limits.maxStorageBufferRange;
    info->min_storage_buffer_offset_alignment = ctx->props.limits.minStorageBufferOffsetAlignment;
    info->timestamp_period_ns = ctx->props.limits.timestampPeriod;
    info->default_kernel = ctx->use_dot ? Q8CONV_KERNEL_DOT : Q8CONV_KERNEL_FALLBACK;
    info->validation_enabled = ctx->messenger != VK_NULL_HANDLE;
}

/* A serialized cache is libq8conv's frame around the driver's bytes: magic, format, payload length
 * and a checksum of the payload. Drivers differ in how well they survive a damaged blob, so only
 * a payload whose length and checksum prove it is exactly what a context wrote reaches one. */
#define CACHE_MAGIC 0x43503851u /* "Q8PC" in little-endian byte order */
#define CACHE_FORMAT 1u
#define CACHE_FRAME_BYTES 24u   /* magic, format (u32 each), payload bytes, FNV-1a 64 (u64 each) */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void cache_frame_write(uint8_t *blob, size_t payload_size)
{
    const uint32_t magic = CACHE_MAGIC, format = CACHE_FORMAT;
    const uint64_t size = payload_size, sum = fnv1a64(blob + CACHE_FRAME_BYTES, payload_size);
    memcpy(blob, &magic, 4);
    memcpy(blob + 4, &format, 4);
    memcpy(blob + 8, &size, 8);
    memcpy(blob + 16, &sum, 8);
}

/* The driver's payload of a blob, or NULL. Beyond the frame, the payload's own header must name
 * this exact device and driver build (Vulkan's VkPipelineCacheHeaderVersionOne); anything else is
 * dropped rather than trusted. */
static const uint8_t *cache_blob_payload(const q8conv_context *ctx, const void *data, size_t size, size_t *payload_size)
{
    if (!data || size < CACHE_FRAME_BYTES + 16 + VK_UUID_SIZE)
        return NULL;
    const uint8_t *frame = data, *b = frame + CACHE_FRAME_BYTES;
    uint32_t magic, format;
    uint64_t n, sum;
    memcpy(&magic, frame, 4);
    memcpy(&format, frame + 4, 4);
    memcpy(&n, frame + 8, 8);
    memcpy(&sum, frame + 16, 8);
    if (magic != CACHE_MAGIC || format != CACHE_FORMAT || n != size - CACHE_FRAME_BYTES || sum != fnv1a64(b, (size_t)n))
        return NULL;
    uint32_t header_size, header_version, vendor, device;
    memcpy(&header_size, b, 4);
    memcpy(&header_version, b + 4, 4);
    memcpy(&vendor, b + 8, 4);
    memcpy(&device, b + 12, 4);
    if (header_size < 16 + VK_UUID_SIZE || header_size > n || header_version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
        vendor != ctx->props.vendorID || device != ctx->props.deviceID ||
        memcmp(b + 16, ctx->props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
        return NULL;
    *payload_size = (size_t)n;
    return b;
}

static q8conv_status create_shared_objects(q8conv_context *ctx, const q8conv_context_desc *desc)
{
    const VkDevice dev = ctx->device;
    VkResult r;
    size_t payload_size = 0;
    const uint8_t *payload =
        desc ? cache_blob_payload(ctx, desc->pipeline_cache_data, desc->pipeline_cache_size, &payload_size) : NULL;
    bool use_blob = payload != NULL;
    VkPipelineCacheCreateInfo pcci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                      .initialDataSize = use_blob ? payload_size : 0,
                                      .pInitialData = payload};
    r = ctx->vk.vkCreatePipelineCache(dev, &pcci, NULL, &ctx->pipeline_cache);
    if (r != VK_SUCCESS && use_blob) {
        /* The driver refused a blob that looked right: start empty instead. */
        pcci.initialDataSize = 0;
        pcci.pInitialData = NULL;
        r = ctx->vk.vkCreatePipelineCache(dev, &pcci, NULL, &ctx->pipeline_cache);
    }
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);

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

static q8conv_status adopt_external(q8conv_context *ctx, const q8conv_external_device *ext, dot_support *dot)
{
    if (!ext->instance || !ext->physical_device || !ext->device || !ext->queue || !ext->get_instance_proc_addr)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (ext->api_version < VK_API_VERSION_1_1)
        return Q8CONV_ERROR_UNSUPPORTED;
    ctx->instance = ext->instance;
    ctx->physical_device = ext->physical_device;
    ctx->device = ext->device;
    ctx->queue_family_index = ext->queue_family_index;
    ctx->api_version = ext->api_version;
    if (!q8conv_instance_load_fns(&ctx->vki, ext->get_instance_proc_addr, ext->instance))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    uint32_t nq = 0;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_device, &nq, NULL);
    if (ext->queue_family_index >= nq)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    ctx->vki.vkGetPhysicalDeviceProperties(ctx->physical_device, &ctx->props);
    q8conv_status st = query_dot_support(ctx, ctx->physical_device, ctx->props.apiVersion, dot);
    if (st != Q8CONV_SUCCESS)
        return st;
    /* Only what the caller turned on may be used: the device was not created by us. */
    if (!chain_enables_dot(ext->enabled_features))
        dot->feature = false;
    st = load_device_table(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    ctx->queue = ext->queue;
    return Q8CONV_SUCCESS;
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

    dot_support dot;
    q8conv_status st;
    if (desc->external) {
        st = adopt_external(ctx, desc->external, &dot);
    } else {
        ctx->owns_device = true;
        st = q8conv_instance_create(ctx);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_instance_pick_physical_device(ctx, desc->device_index);
        if (st == Q8CONV_SUCCESS) {
            ctx->vki.vkGetPhysicalDeviceProperties(ctx->physical_device, &ctx->props);
            if (ctx->props.apiVersion < VK_API_VERSION_1_1)
                st = Q8CONV_ERROR_NO_DEVICE;
        }
        if (st == Q8CONV_SUCCESS)
            st = query_dot_support(ctx, ctx->physical_device, ctx->props.apiVersion, &dot);
        if (st == Q8CONV_SUCCESS)
            st = create_device(ctx, &dot);
        if (st == Q8CONV_SUCCESS)
            st = load_device_table(ctx);
    }
    if (st == Q8CONV_SUCCESS) {
        ctx->use_dot = dot.feature && !(ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK);
        ctx->vki.vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, &ctx->memory_props);
        fill_info(ctx, &dot);
        st = create_shared_objects(ctx, desc);
    }
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
        if (ctx->pipeline_cache)
            ctx->vk.vkDestroyPipelineCache(dev, ctx->pipeline_cache, NULL);
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

q8conv_status q8conv_context_get_pipeline_cache(q8conv_context *ctx, void *data, size_t *size)
{
    if (!ctx || !size)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    /* The lock keeps pipeline creation out, so the driver's size cannot change between calls. */
    pthread_mutex_lock(&ctx->lock);
    size_t payload = 0;
    VkResult r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &payload, NULL);
    q8conv_status st = r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
    size_t needed = CACHE_FRAME_BYTES + payload;
    if (st == Q8CONV_SUCCESS && data) {
        if (*size < needed) {
            st = Q8CONV_ERROR_INVALID_ARGUMENT;
        } else {
            r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &payload,
                                               (uint8_t *)data + CACHE_FRAME_BYTES);
            st = r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
            if (st == Q8CONV_SUCCESS) {
                cache_frame_write(data, payload);
                needed = CACHE_FRAME_BYTES + payload;
            }
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (st == Q8CONV_SUCCESS || (st == Q8CONV_ERROR_INVALID_ARGUMENT && data))
        *size = needed;
    return st;
}

q8conv_status q8conv_device_requirements(PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                                         VkPhysicalDevice physical_device, const char **extensions,
                                         uint32_t *extension_count, bool *wants_integer_dot_product)
{
    if (!gipa || !instance || !physical_device || !extension_count || !wants_integer_dot_product)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_context probe;
    memset(&probe, 0, sizeof probe);
    if (!q8conv_instance_load_fns(&probe.vki, gipa, instance))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    VkPhysicalDeviceProperties props;
    probe.vki.vkGetPhysicalDeviceProperties(physical_device, &props);
    /* The instance's apiVersion is not known here, and a 1.3 device's core feature is usable only
     * under a 1.3 instance; the extension, where offered, is valid under any, so it comes first. */
    probe.api_version = VK_API_VERSION_1_1;
    dot_support dot;
    q8conv_status st = query_dot_support(&probe, physical_device, props.apiVersion, &dot);
    if (st == Q8CONV_SUCCESS && !dot.feature && props.apiVersion >= VK_API_VERSION_1_3) {
        probe.api_version = props.apiVersion;
        st = query_dot_support(&probe, physical_device, props.apiVersion, &dot);
    }
    if (st != Q8CONV_SUCCESS)
        return st;
    uint32_t needed = dot.feature && dot.needs_ext ? 1u : 0u;
    if (extensions && needed && *extension_count >= 1)
        extensions[0] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    *extension_count = needed;
    *wants_integer_dot_product = dot.feature;
    return Q8CONV_SUCCESS;
}

/* ---- shared helpers ---- */

q8conv_status q8conv_ctx_check_lost(const q8conv_context *ctx)
{
    return atomic_load(&((q8conv_context *)ctx)->lost) ? Q8CONV_ERROR_DEVICE_LOST : Q8CONV_SUCCESS;
}

q8conv_status q8conv_ctx_result(q8conv_context *ctx, VkResult r)
{
    if (r == VK_ERROR_DEVICE_LOST)
        atomic_store(&ctx->lost, true);
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
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
