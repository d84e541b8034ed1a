/* The context: a Vulkan device (the library's own, or a caller's) and what every op shares on it. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* volk's device-table loader reads its (library-private, hidden) global vkGetDeviceProcAddr; the
 * global is set per call under this lock, so contexts on different loaders never see each other's. */
static pthread_mutex_t volk_lock = PTHREAD_MUTEX_INITIALIZER;

#define Q8CONV_KNOWN_FLAGS (Q8CONV_CONTEXT_VALIDATION | Q8CONV_CONTEXT_FORCE_FALLBACK)
#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

static VkBool32 VKAPI_PTR on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT types,
                                                const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    q8conv_context *ctx = user;
    q8conv_message_severity s = Q8CONV_MESSAGE_INFO;
    if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
        atomic_fetch_add(&ctx->validation_errors, 1u);
        s = Q8CONV_MESSAGE_ERROR;
    } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        atomic_fetch_add(&ctx->validation_warnings, 1u);
        s = Q8CONV_MESSAGE_WARNING;
    }
    if (ctx->message_callback)
        ctx->message_callback(ctx->message_user_data, s, data && data->pMessage ? data->pMessage : "");
    return VK_FALSE;
}

static void load_instance_fns(q8conv_instance_fns *f, PFN_vkGetInstanceProcAddr gipa, VkInstance inst)
{
    memset(f, 0, sizeof *f);
    f->vkGetInstanceProcAddr = gipa;
#define LOAD(name) f->name = (PFN_##name)gipa(inst, #name)
    LOAD(vkDestroyInstance);
    LOAD(vkEnumeratePhysicalDevices);
    LOAD(vkGetPhysicalDeviceProperties);
    LOAD(vkGetPhysicalDeviceProperties2);
    LOAD(vkGetPhysicalDeviceFeatures2);
    LOAD(vkGetPhysicalDeviceMemoryProperties);
    LOAD(vkGetPhysicalDeviceQueueFamilyProperties);
    LOAD(vkEnumerateDeviceExtensionProperties);
    LOAD(vkCreateDevice);
    LOAD(vkGetDeviceProcAddr);
    LOAD(vkCreateDebugUtilsMessengerEXT);
    LOAD(vkDestroyDebugUtilsMessengerEXT);
    LOAD(vkGetPhysicalDeviceCooperativeMatrixPropertiesNV);
#undef LOAD
}

static bool instance_fns_complete(const q8conv_instance_fns *f)
{
    return f->vkEnumeratePhysicalDevices && f->vkGetPhysicalDeviceProperties && f->vkGetPhysicalDeviceProperties2 &&
           f->vkGetPhysicalDeviceFeatures2 && f->vkGetPhysicalDeviceMemoryProperties &&
           f->vkGetPhysicalDeviceQueueFamilyProperties && f->vkEnumerateDeviceExtensionProperties &&
           f->vkCreateDevice && f->vkGetDeviceProcAddr;
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

/* Cooperative matrices (the COOPMAT kernel) are usable where the device offers
 * VK_NV_cooperative_matrix with its cooperativeMatrix feature for compute shaders, lists the
 * s8 x s8 -> s32 Q8CONV_CM_M x Q8CONV_CM_N x Q8CONV_CM_K shape at subgroup scope, and has
 * shaderInt8 and vulkanMemoryModel, which the kernel's SPIR-V declares (Int8, the Vulkan memory
 * model). Those two are core in 1.2 and come from KHR extensions before. */
typedef struct coopmat_support {
    bool usable;
    bool int8_ext, memory_model_ext; /* enable VK_KHR_shader_float16_int8 / VK_KHR_vulkan_memory_model */
    uint32_t shape_count;            /* s8 x s8 -> s32 subgroup shapes listed, for q8conv_context_info */
    uint32_t shapes[Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES][3];
} coopmat_support;

static q8conv_status query_coopmat_support(q8conv_context *ctx, VkPhysicalDevice pd, uint32_t device_api,
                                           coopmat_support *out)
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

static bool layer_present(PFN_vkEnumerateInstanceLayerProperties enum_layers, const q8conv_allocator *a,
                          q8conv_status *st)
{
    uint32_t n = 0;
    *st = Q8CONV_SUCCESS;
    if (!enum_layers || enum_layers(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties *layers = q8conv_calloc(a, n, sizeof *layers);
    if (!layers) {
        *st = Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
        return false;
    }
    bool found = false;
    VkResult r = enum_layers(&n, layers);
    if (r == VK_SUCCESS || r == VK_INCOMPLETE)
        for (uint32_t i = 0; i < n && !found; ++i)
            found = strcmp(layers[i].layerName, VALIDATION_LAYER) == 0;
    q8conv_free(a, layers);
    return found;
}

static q8conv_status create_instance(q8conv_context *ctx)
{
    ctx->loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!ctx->loader)
        ctx->loader = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!ctx->loader)
        return Q8CONV_ERROR_NO_DEVICE;
    PFN_vkGetInstanceProcAddr gipa;
    *(void **)&gipa = dlsym(ctx->loader, "vkGetInstanceProcAddr");
    if (!gipa)
        return Q8CONV_ERROR_NO_DEVICE;
    PFN_vkEnumerateInstanceVersion enum_version =
        (PFN_vkEnumerateInstanceVersion)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(VK_NULL_HANDLE, "vkCreateInstance");
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (!create || !enum_version || enum_version(&loader_version) != VK_SUCCESS ||
        loader_version < VK_API_VERSION_1_1)
        return Q8CONV_ERROR_NO_DEVICE;
    ctx->api_version = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_MAKE_API_VERSION(0, 1, VK_API_VERSION_MINOR(loader_version), 0);

    const char *layers[1] = {VALIDATION_LAYER};
    const char *exts[2] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    bool validation = (ctx->flags & Q8CONV_CONTEXT_VALIDATION) != 0;
    if (validation) {
        q8conv_status st;
        PFN_vkEnumerateInstanceLayerProperties enum_layers =
            (PFN_vkEnumerateInstanceLayerProperties)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceLayerProperties");
        if (!layer_present(enum_layers, &ctx->allocator, &st))
            return st != Q8CONV_SUCCESS ? st : Q8CONV_ERROR_UNSUPPORTED;
    }
    /* Synchronization validation is off by default in the layer; the tests want it. */
    VkValidationFeatureEnableEXT enables[1] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = enables};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "libq8conv",
                             .pEngineName = "libq8conv",
                             .apiVersion = ctx->api_version};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = validation ? &features : NULL,
                                .pApplicationInfo = &app,
                                .enabledLayerCount = validation ? 1u : 0u,
                                .ppEnabledLayerNames = layers,
                                .enabledExtensionCount = validation ? 2u : 0u,
                                .ppEnabledExtensionNames = exts};
    VkResult r = create(&ici, NULL, &ctx->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return Q8CONV_ERROR_NO_DEVICE;
    if (r != VK_SUCCESS)
        return validation && (r == VK_ERROR_EXTENSION_NOT_PRESENT || r == VK_ERROR_LAYER_NOT_PRESENT)
                   ? Q8CONV_ERROR_UNSUPPORTED
                   : q8conv_status_from_vk(r);
    load_instance_fns(&ctx->vki, gipa, ctx->instance);
    if (!instance_fns_complete(&ctx->vki))
        return Q8CONV_ERROR_NO_DEVICE;
    if (validation && ctx->vki.vkCreateDebugUtilsMessengerEXT) {
        VkDebugUtilsMessengerCreateInfoEXT mci = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = on_validation_message,
            .pUserData = ctx};
        r = ctx->vki.vkCreateDebugUtilsMessengerEXT(ctx->instance, &mci, NULL, &ctx->messenger);
        if (r != VK_SUCCESS)
            return q8conv_status_from_vk(r);
    }
    return Q8CONV_SUCCESS;
}

static q8conv_status pick_physical_device(q8conv_context *ctx, uint32_t index)
{
    uint32_t n = 0;
    VkResult r = ctx->vki.vkEnumeratePhysicalDevices(ctx->instance, &n, NULL);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return r == VK_ERROR_INITIALIZATION_FAILED ? Q8CONV_ERROR_NO_DEVICE : q8conv_status_from_vk(r);
    if (index >= n)
        return Q8CONV_ERROR_NO_DEVICE;
    VkPhysicalDevice *devs = q8conv_calloc(&ctx->allocator, n, sizeof *devs);
    if (!devs)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    r = ctx->vki.vkEnumeratePhysicalDevices(ctx->instance, &n, devs);
    if ((r == VK_SUCCESS || r == VK_INCOMPLETE) && index < n)
        ctx->physical_device = devs[index];
    q8conv_free(&ctx->allocator, devs);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return q8conv_status_from_vk(r);
    return ctx->physical_device ? Q8CONV_SUCCESS : Q8CONV_ERROR_NO_DEVICE;
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

static q8conv_status create_device(q8conv_context *ctx, const dot_support *dot, const coopmat_support *cm)
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
    const void *chain = NULL;
    const char *exts[5];
    uint32_t ext_count = 0;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
        .shaderIntegerDotProduct = VK_TRUE};
    if (dot->feature) {
        chain = &dot_features;
        if (dot->needs_ext)
            exts[ext_count++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    }
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cm_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceShaderFloat16Int8Features int8_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .shaderInt8 = VK_TRUE};
    VkPhysicalDeviceVulkanMemoryModelFeatures mm_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES, .vulkanMemoryModel = VK_TRUE};
    if (cm->usable) {
        mm_features.pNext = (void *)chain;
        int8_features.pNext = &mm_features;
        cm_features.pNext = &int8_features;
        chain = &cm_features;
        exts[ext_count++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
        if (cm->int8_ext)
            exts[ext_count++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        if (cm->memory_model_ext)
            exts[ext_count++] = VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME;
    }
#ifdef Q8CONV_TUNING
    /* Tuning builds: the driver's statistics of each pipeline (registers, spills), for
     * Q8CONV_TUNE_STATS. */
    const char *exec_props[6];
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR exec_features = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pipelineExecutableInfo = VK_TRUE};
    q8conv_status est;
    if (device_has_extension(ctx, ctx->physical_device, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME, &est)) {
        exec_features.pNext = (void *)chain;
        chain = &exec_features;
        exts[ext_count++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
        ctx->tune_stats = true;
    }
    (void)exec_props;
#endif
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = chain,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = ext_count,
                              .ppEnabledExtensionNames = exts};
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

static void fill_info(q8conv_context *ctx, const dot_support *dot, const coopmat_support *cm)
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
    uint32_t auto_line = 0;
    info->default_kernel = q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, ctx->caps, &auto_line) == Q8CONV_SUCCESS
                               ? q8conv_kernel_lines[auto_line].kernel
                               : Q8CONV_KERNEL_FALLBACK;
    info->validation_enabled = ctx->messenger != VK_NULL_HANDLE;
    info->cooperative_matrix_supported = cm->usable;
    info->cooperative_matrix_used = (ctx->caps & Q8CONV_CAP_COOPMAT) != 0;
    info->cooperative_matrix_shape_count = cm->shape_count;
    memcpy(info->cooperative_matrix_shapes, cm->shapes, sizeof info->cooperative_matrix_shapes);
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
        /* A module declaring a capability the device lacks (DotProduct, CooperativeMatrixNV) is
         * invalid there. */
        if ((q8conv_kernel_lines[m / 4u].needs & ~ctx->caps) != 0)
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

static q8conv_status adopt_external(q8conv_context *ctx, const q8conv_external_device *ext, dot_support *dot,
                                    coopmat_support *cm)
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
    load_instance_fns(&ctx->vki, ext->get_instance_proc_addr, ext->instance);
    if (!instance_fns_complete(&ctx->vki))
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
    st = query_coopmat_support(ctx, ctx->physical_device, ctx->props.apiVersion, cm);
    if (st != Q8CONV_SUCCESS)
        return st;
    cm->usable = cm->usable && chain_enables_coopmat(ext->enabled_features);
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
    coopmat_support cm;
    q8conv_status st;
    if (desc->external) {
        st = adopt_external(ctx, desc->external, &dot, &cm);
    } else {
        ctx->owns_device = true;
        st = create_instance(ctx);
        if (st == Q8CONV_SUCCESS)
            st = pick_physical_device(ctx, desc->device_index);
        if (st == Q8CONV_SUCCESS) {
            ctx->vki.vkGetPhysicalDeviceProperties(ctx->physical_device, &ctx->props);
            if (ctx->props.apiVersion < VK_API_VERSION_1_1)
                st = Q8CONV_ERROR_NO_DEVICE;
        }
        if (st == Q8CONV_SUCCESS)
            st = query_dot_support(ctx, ctx->physical_device, ctx->props.apiVersion, &dot);
        if (st == Q8CONV_SUCCESS)
            st = query_coopmat_support(ctx, ctx->physical_device, ctx->props.apiVersion, &cm);
        if (st == Q8CONV_SUCCESS)
            st = create_device(ctx, &dot, &cm);
        if (st == Q8CONV_SUCCESS)
            st = load_device_table(ctx);
    }
    if (st == Q8CONV_SUCCESS) {
        ctx->use_dot = dot.feature && !(ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK);
        const bool force_fallback = (ctx->flags & Q8CONV_CONTEXT_FORCE_FALLBACK) != 0;
        ctx->caps = (ctx->use_dot ? Q8CONV_CAP_DOT : 0u) | (cm.usable && !force_fallback ? Q8CONV_CAP_COOPMAT : 0u);
        ctx->vki.vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, &ctx->memory_props);
        fill_info(ctx, &dot, &cm);
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
    if (ctx->owns_device && ctx->instance) {
        if (ctx->messenger && ctx->vki.vkDestroyDebugUtilsMessengerEXT)
            ctx->vki.vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
        if (ctx->vki.vkDestroyInstance)
            ctx->vki.vkDestroyInstance(ctx->instance, NULL);
    }
    if (ctx->loader)
        dlclose(ctx->loader);
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

q8conv_status q8conv_device_requirements2(PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                                          VkPhysicalDevice physical_device, const char **extensions,
                                          uint32_t *extension_count, q8conv_device_features *features)
{
    if (!gipa || !instance || !physical_device || !extension_count || !features)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_context probe;
    memset(&probe, 0, sizeof probe);
    load_instance_fns(&probe.vki, gipa, instance);
    if (!instance_fns_complete(&probe.vki))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    VkPhysicalDeviceProperties props;
    probe.vki.vkGetPhysicalDeviceProperties(physical_device, &props);
    /* The instance's apiVersion is not known here, and a 1.3 device's core feature is usable only
     * under a 1.3 instance; the extension, where offered, is valid under any, so it comes first.
     * The same holds for shaderInt8 and vulkanMemoryModel (core in 1.2). */
    probe.api_version = VK_API_VERSION_1_1;
    dot_support dot;
    coopmat_support cm;
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
