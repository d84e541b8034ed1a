/* The device: the library's own VkDevice or a caller's, what it can do (integer dot product, the
 * caller's feature chain), its function table, q8conv_device_requirements, the context info, and
 * whether the device has been lost. */
#include <string.h>

#include "internal.h"

/* volk's device-table loader reads its (library-private, hidden) global vkGetDeviceProcAddr; the
 * global is set per call under this lock, so contexts on different loaders never see each other's. */
static pthread_mutex_t volk_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* What every device shares once it is there: the kernel choice, memory types and the info. */
static void finish_device(q8conv_context *ctx, const dot_support *dot)
{
    ctx->use_dot = dot->feature && !(ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK);
    ctx->vki.vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, &ctx->memory_props);
    fill_info(ctx, dot);
}

q8conv_status q8conv_device_create(q8conv_context *ctx)
{
    ctx->vki.vkGetPhysicalDeviceProperties(ctx->physical_device, &ctx->props);
    if (ctx->props.apiVersion < VK_API_VERSION_1_1)
        return Q8CONV_ERROR_NO_DEVICE;
    dot_support dot;
    q8conv_status st = query_dot_support(ctx, ctx->physical_device, ctx->props.apiVersion, &dot);
    if (st == Q8CONV_SUCCESS)
        st = create_device(ctx, &dot);
    if (st == Q8CONV_SUCCESS)
        st = load_device_table(ctx);
    if (st == Q8CONV_SUCCESS)
        finish_device(ctx, &dot);
    return st;
}

q8conv_status q8conv_device_adopt(q8conv_context *ctx, const q8conv_external_device *ext)
{
    dot_support dot;
    q8conv_status st = adopt_external(ctx, ext, &dot);
    if (st == Q8CONV_SUCCESS)
        finish_device(ctx, &dot);
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
