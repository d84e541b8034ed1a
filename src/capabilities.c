/* What a device can do for libq8conv's kernels: integer dot product and int8 cooperative
 * matrices, as the physical device offers them and as a caller's feature chain enables them; the
 * features and extensions to turn on when the library creates the device; and
 * q8conv_device_requirements, which tells a caller the same. */
#include <string.h>

#include "internal.h"

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

static q8conv_status query_dot_support(q8conv_context *ctx, VkPhysicalDevice pd, uint32_t device_api, q8conv_dot_support *out)
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
    out->signed_accelerated = prop.integerDotProduct4x8BitPackedSignedAccelerated;
    out->mixed_accelerated = prop.integerDotProduct4x8BitPackedMixedSignednessAccelerated;
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

/* Cooperative matrices (the COOPMAT kernel): see q8conv_coopmat_support. */
static q8conv_status query_coopmat_support(q8conv_context *ctx, VkPhysicalDevice pd, uint32_t device_api,
                                           q8conv_coopmat_support *out)
{
    memset(out, 0, sizeof *out);
    q8conv_status st = Q8CONV_SUCCESS;
    if (!ctx->vki.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV ||
        !device_has_extension(ctx, pd, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME, &st))
        return st;
    const bool core12 = device_api >= VK_API_VERSION_1_2 && ctx->api_version >= VK_API_VERSION_1_2;
    if (!core12) {
        out->int8_ext = device_has_extension(ctx, pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME, &st);
        if (st == Q8CONV_SUCCESS)
            out->memory_model_ext = device_has_extension(ctx, pd, VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME, &st);
        if (st != Q8CONV_SUCCESS)
            return st;
        if (!out->int8_ext || !out->memory_model_ext)
            return Q8CONV_SUCCESS;
    }
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceShaderFloat16Int8Features i8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
                                                    .pNext = &cm};
    VkPhysicalDeviceVulkanMemoryModelFeatures mm = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES,
                                                    .pNext = &i8};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &mm};
    ctx->vki.vkGetPhysicalDeviceFeatures2(pd, &f2);
    VkPhysicalDeviceCooperativeMatrixPropertiesNV cmp = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &cmp};
    ctx->vki.vkGetPhysicalDeviceProperties2(pd, &p2);
    if (!cm.cooperativeMatrix || !i8.shaderInt8 || !mm.vulkanMemoryModel ||
        !(cmp.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT))
        return Q8CONV_SUCCESS;

    uint32_t n = 0;
    VkResult r = ctx->vki.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &n, NULL);
    if (r != VK_SUCCESS || n == 0)
        return r == VK_ERROR_OUT_OF_HOST_MEMORY ? Q8CONV_ERROR_OUT_OF_HOST_MEMORY : Q8CONV_SUCCESS;
    VkCooperativeMatrixPropertiesNV *props = q8conv_calloc(&ctx->allocator, n, sizeof *props);
    if (!props)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < n; i++)
        props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    r = ctx->vki.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &n, props);
    bool has_shape = false;
    for (uint32_t i = 0; (r == VK_SUCCESS || r == VK_INCOMPLETE) && i < n; i++) {
        const VkCooperativeMatrixPropertiesNV *c = &props[i];
        if (c->AType != VK_COMPONENT_TYPE_SINT8_NV || c->BType != VK_COMPONENT_TYPE_SINT8_NV ||
            c->CType != VK_COMPONENT_TYPE_SINT32_NV || c->DType != VK_COMPONENT_TYPE_SINT32_NV ||
            c->scope != VK_SCOPE_SUBGROUP_NV)
            continue;
        has_shape |= c->MSize == Q8CONV_CM_M && c->NSize == Q8CONV_CM_N && c->KSize == Q8CONV_CM_K;
        if (out->shape_count < Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES) {
            out->shapes[out->shape_count][0] = c->MSize;
            out->shapes[out->shape_count][1] = c->NSize;
            out->shapes[out->shape_count][2] = c->KSize;
            out->shape_count++;
        }
    }
    q8conv_free(&ctx->allocator, props);
    out->usable = has_shape;
    return Q8CONV_SUCCESS;
}

/* The caller enabled cooperative matrices if its chain turns on all three features. */
static bool chain_enables_coopmat(const VkPhysicalDeviceFeatures2 *chain)
{
    bool cm = false, i8 = false, mm = false;
    for (const VkBaseInStructure *s = (const VkBaseInStructure *)chain; s; s = s->pNext) {
        switch (s->sType) {
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV:
            cm |= ((const VkPhysicalDeviceCooperativeMatrixFeaturesNV *)s)->cooperativeMatrix == VK_TRUE;
            break;
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES:
            i8 |= ((const VkPhysicalDeviceVulkan12Features *)s)->shaderInt8 == VK_TRUE;
            mm |= ((const VkPhysicalDeviceVulkan12Features *)s)->vulkanMemoryModel == VK_TRUE;
            break;
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES:
            i8 |= ((const VkPhysicalDeviceShaderFloat16Int8Features *)s)->shaderInt8 == VK_TRUE;
            break;
        case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES:
            mm |= ((const VkPhysicalDeviceVulkanMemoryModelFeatures *)s)->vulkanMemoryModel == VK_TRUE;
            break;
        default:
            break;
        }
    }
    return cm && i8 && mm;
}

/* Pipeline statistics (q8conv_pw_statistics, q8conv_kernel_statistics): the extension and its one
 * feature. Optional: without it statistics are UNSUPPORTED and nothing else changes. */
static bool query_executable_properties(q8conv_context *ctx, VkPhysicalDevice pd, q8conv_status *st)
{
    if (!device_has_extension(ctx, pd, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME, st))
        return false;
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR ex = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &ex};
    ctx->vki.vkGetPhysicalDeviceFeatures2(pd, &f2);
    return ex.pipelineExecutableInfo == VK_TRUE;
}

static bool chain_enables_executable_properties(const VkPhysicalDeviceFeatures2 *chain)
{
    for (const VkBaseInStructure *s = (const VkBaseInStructure *)chain; s; s = s->pNext)
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR &&
            ((const VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR *)s)->pipelineExecutableInfo)
            return true;
    return false;
}

q8conv_status q8conv_caps_query(q8conv_context *ctx, VkPhysicalDevice pd, uint32_t device_api, q8conv_device_caps *out)
{
    q8conv_status st = query_dot_support(ctx, pd, device_api, &out->dot);
    if (st == Q8CONV_SUCCESS)
        st = query_coopmat_support(ctx, pd, device_api, &out->coopmat);
    if (st == Q8CONV_SUCCESS)
        out->executable_properties = query_executable_properties(ctx, pd, &st);
    return st;
}

void q8conv_caps_restrict_to_chain(q8conv_device_caps *caps, const VkPhysicalDeviceFeatures2 *chain)
{
    caps->dot.feature = caps->dot.feature && chain_enables_dot(chain);
    caps->coopmat.usable = caps->coopmat.usable && chain_enables_coopmat(chain);
    caps->executable_properties = caps->executable_properties && chain_enables_executable_properties(chain);
}

const void *q8conv_caps_enable(const q8conv_device_caps *caps, q8conv_caps_enabled *e)
{
    memset(e, 0, sizeof *e);
    const void *chain = NULL;
    if (caps->dot.feature) {
        e->dot = (VkPhysicalDeviceShaderIntegerDotProductFeatures){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES, .shaderIntegerDotProduct = VK_TRUE};
        chain = &e->dot;
        if (caps->dot.needs_ext)
            e->extensions[e->extension_count++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    }
    if (caps->coopmat.usable) {
        e->memory_model = (VkPhysicalDeviceVulkanMemoryModelFeatures){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES, .pNext = (void *)chain,
            .vulkanMemoryModel = VK_TRUE};
        e->int8 = (VkPhysicalDeviceShaderFloat16Int8Features){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .pNext = &e->memory_model,
            .shaderInt8 = VK_TRUE};
        e->coopmat = (VkPhysicalDeviceCooperativeMatrixFeaturesNV){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .pNext = &e->int8,
            .cooperativeMatrix = VK_TRUE};
        chain = &e->coopmat;
        e->extensions[e->extension_count++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
        if (caps->coopmat.int8_ext)
            e->extensions[e->extension_count++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        if (caps->coopmat.memory_model_ext)
            e->extensions[e->extension_count++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;
    }
    /* The driver's statistics of each pipeline (registers, spills): q8conv_pw_statistics. */
    if (caps->executable_properties) {
        e->executable = (VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
            .pNext = (void *)chain, .pipelineExecutableInfo = VK_TRUE};
        chain = &e->executable;
        e->extensions[e->extension_count++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
    }
    return chain;
}

q8conv_status q8conv_device_requirements2(PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                                          VkPhysicalDevice physical_device, const char **extensions,
                                          uint32_t *extension_count, q8conv_device_features *features)
{
    if (!gipa || !instance || !physical_device || !extension_count || !features)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_context probe;
    memset(&probe, 0, sizeof probe);
    if (!q8conv_instance_load_fns(&probe.vki, gipa, instance))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    VkPhysicalDeviceProperties props;
    probe.vki.vkGetPhysicalDeviceProperties(physical_device, &props);
    /* The instance's apiVersion is not known here, and a 1.3 device's core feature is usable only
     * under a 1.3 instance; the extension, where offered, is valid under any, so it comes first.
     * The same holds for shaderInt8 and vulkanMemoryModel (core in 1.2). */
    probe.api_version = VK_API_VERSION_1_1;
    q8conv_dot_support dot;
    q8conv_coopmat_support cm;
    q8conv_status st = query_dot_support(&probe, physical_device, props.apiVersion, &dot);
    if (st == Q8CONV_SUCCESS && !dot.feature && props.apiVersion >= VK_API_VERSION_1_3) {
        probe.api_version = props.apiVersion;
        st = query_dot_support(&probe, physical_device, props.apiVersion, &dot);
        probe.api_version = VK_API_VERSION_1_1;
    }
    if (st == Q8CONV_SUCCESS)
        st = query_coopmat_support(&probe, physical_device, props.apiVersion, &cm);
    if (st == Q8CONV_SUCCESS && !cm.usable && props.apiVersion >= VK_API_VERSION_1_2) {
        probe.api_version = props.apiVersion;
        st = query_coopmat_support(&probe, physical_device, props.apiVersion, &cm);
    }
    if (st != Q8CONV_SUCCESS)
        return st;
    const char *needed[4];
    uint32_t n = 0;
    if (dot.feature && dot.needs_ext)
        needed[n++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    if (cm.usable) {
        needed[n++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
        if (cm.int8_ext)
            needed[n++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        if (cm.memory_model_ext)
            needed[n++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;
    }
    if (extensions)
        for (uint32_t i = 0; i < n && i < *extension_count; i++)
            extensions[i] = needed[i];
    *extension_count = n;
    *features = (q8conv_device_features){.integer_dot_product = dot.feature,
                                         .cooperative_matrix = cm.usable,
                                         .shader_int8 = cm.usable,
                                         .vulkan_memory_model = cm.usable};
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_device_requirements(PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                                         VkPhysicalDevice physical_device, const char **extensions,
                                         uint32_t *extension_count, bool *wants_integer_dot_product)
{
    if (!wants_integer_dot_product)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_device_features f;
    q8conv_status st = q8conv_device_requirements2(gipa, instance, physical_device, extensions, extension_count, &f);
    if (st == Q8CONV_SUCCESS)
        *wants_integer_dot_product = f.integer_dot_product;
    return st;
}

/* ---- shared helpers ---- */

