/* The device: the library's own VkDevice or a caller's, with what it can do (src/capabilities.c)
 * turned on or taken from the caller's feature chain, its function table, the context info, and
 * whether the device has been lost. */
#include <string.h>

#include "internal.h"

/* volk's device-table loader reads its (library-private, hidden) global vkGetDeviceProcAddr; the
 * global is set per call under this lock, so contexts on different loaders never see each other's. */
static pthread_mutex_t volk_lock = PTHREAD_MUTEX_INITIALIZER;

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

static q8conv_status create_device(q8conv_context *ctx, const q8conv_device_caps *caps)
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
    /* Everything a kernel of the table can use, where the device has it. */
    q8conv_caps_enabled enabled;
    const void *chain = q8conv_caps_enable(caps, &enabled);
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = chain,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = enabled.extension_count,
                              .ppEnabledExtensionNames = enabled.extensions};
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

static void fill_info(q8conv_context *ctx, const q8conv_device_caps *caps)
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
    info->integer_dot_product_supported = ctx->use_dot || (caps->dot.feature && (ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK));
    info->integer_dot_product_accelerated = info->integer_dot_product_supported && caps->dot.accelerated;
    info->dot_signed_accelerated = info->integer_dot_product_supported && caps->dot.signed_accelerated;
    info->dot_mixed_accelerated = info->integer_dot_product_supported && caps->dot.mixed_accelerated;
    info->external_device = !ctx->owns_device;
    info->subgroup_size = sub.subgroupSize;
    memcpy(info->max_compute_workgroup_count, ctx->props.limits.maxComputeWorkGroupCount,
           sizeof info->max_compute_workgroup_count);
    info->max_compute_workgroup_invocations = ctx->props.limits.maxComputeWorkGroupInvocations;
    info->max_storage_buffer_range = ctx->props.limits.maxStorageBufferRange;
    info->min_storage_buffer_offset_alignment = ctx->props.limits.minStorageBufferOffsetAlignment;
    info->timestamp_period_ns = ctx->props.limits.timestampPeriod;
    uint32_t auto_line = 0;
    info->default_kernel = q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, ctx->caps, &auto_line) == Q8CONV_SUCCESS
                               ? q8conv_kernel_lines[auto_line].kernel
                               : Q8CONV_KERNEL_FALLBACK;
    info->validation_enabled = ctx->messenger != VK_NULL_HANDLE;
    info->cooperative_matrix_supported = caps->coopmat.usable;
    info->cooperative_matrix_used = (ctx->caps & Q8CONV_CAP_COOPMAT) != 0;
    info->cooperative_matrix_shape_count = caps->coopmat.shape_count;
    memcpy(info->cooperative_matrix_shapes, caps->coopmat.shapes, sizeof info->cooperative_matrix_shapes);
}

static q8conv_status adopt_external(q8conv_context *ctx, const q8conv_external_device *ext, q8conv_device_caps *caps)
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
    q8conv_status st = q8conv_caps_query(ctx, ctx->physical_device, ctx->props.apiVersion, caps);
    if (st != Q8CONV_SUCCESS)
        return st;
    /* Only what the caller turned on may be used: the device was not created by us. */
    q8conv_caps_restrict_to_chain(caps, ext->enabled_features);
    st = load_device_table(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    ctx->queue = ext->queue;
    return Q8CONV_SUCCESS;
}

/* What every device shares once it is there: the kernel choice, memory types and the info. */
static void finish_device(q8conv_context *ctx, const q8conv_device_caps *caps)
{
    const bool force_fallback = (ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK) != 0;
    ctx->use_dot = caps->dot.feature && !force_fallback;
    ctx->caps = (ctx->use_dot ? Q8CONV_CAP_DOT : 0u) | (caps->coopmat.usable && !force_fallback ? Q8CONV_CAP_COOPMAT : 0u);
    /* On a caller's device the extension's entry points prove it was enabled too. */
    ctx->pipeline_statistics = caps->executable_properties && ctx->vk.vkGetPipelineExecutablePropertiesKHR &&
                               ctx->vk.vkGetPipelineExecutableStatisticsKHR;
    /* What AUTO's rule reads (q8conv_auto_kernel); a forced DOT or DOT_MIXED needs only the feature. */
    if (ctx->use_dot)
        ctx->caps |= (caps->dot.signed_accelerated ? Q8CONV_CAP_DOT_SIGNED_FAST : 0u) |
                     (caps->dot.mixed_accelerated ? Q8CONV_CAP_DOT_MIXED_FAST : 0u);
    ctx->vki.vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, &ctx->memory_props);
    fill_info(ctx, caps);
}

q8conv_status q8conv_device_create(q8conv_context *ctx)
{
    ctx->vki.vkGetPhysicalDeviceProperties(ctx->physical_device, &ctx->props);
    if (ctx->props.apiVersion < VK_API_VERSION_1_1)
        return Q8CONV_ERROR_NO_DEVICE;
    q8conv_device_caps caps;
    q8conv_status st = q8conv_caps_query(ctx, ctx->physical_device, ctx->props.apiVersion, &caps);
    if (st == Q8CONV_SUCCESS)
        st = create_device(ctx, &caps);
    if (st == Q8CONV_SUCCESS)
        st = load_device_table(ctx);
    if (st == Q8CONV_SUCCESS)
        finish_device(ctx, &caps);
    return st;
}

q8conv_status q8conv_device_adopt(q8conv_context *ctx, const q8conv_external_device *ext)
{
    q8conv_device_caps caps;
    q8conv_status st = adopt_external(ctx, ext, &caps);
    if (st == Q8CONV_SUCCESS)
        finish_device(ctx, &caps);
    return st;
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
