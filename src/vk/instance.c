/* The Vulkan instance: the loader, the validation layer and its messenger, the instance-level
 * entry points, and the choice of physical device. */
#include <dlfcn.h>
#include <string.h>

#include "vk.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

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

bool q8conv_instance_load_fns(q8conv_instance_fns *f, PFN_vkGetInstanceProcAddr gipa, VkInstance inst)
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
    return f->vkEnumeratePhysicalDevices && f->vkGetPhysicalDeviceProperties && f->vkGetPhysicalDeviceProperties2 &&
           f->vkGetPhysicalDeviceFeatures2 && f->vkGetPhysicalDeviceMemoryProperties &&
           f->vkGetPhysicalDeviceQueueFamilyProperties && f->vkEnumerateDeviceExtensionProperties &&
           f->vkCreateDevice && f->vkGetDeviceProcAddr;
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

q8conv_status q8conv_instance_create(q8conv_context *ctx)
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
    if (!q8conv_instance_load_fns(&ctx->vki, gipa, ctx->instance))
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

q8conv_status q8conv_instance_pick_physical_device(q8conv_context *ctx, uint32_t index)
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

void q8conv_instance_destroy(q8conv_context *ctx)
{
    if (ctx->owns_device && ctx->instance) {
        if (ctx->messenger && ctx->vki.vkDestroyDebugUtilsMessengerEXT)
            ctx->vki.vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
        if (ctx->vki.vkDestroyInstance)
            ctx->vki.vkDestroyInstance(ctx->instance, NULL);
    }
    if (ctx->loader)
        dlclose(ctx->loader);
}
