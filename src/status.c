/* Static names for the public enums, for logs and test output. */
#include "pure.h"

Q8CONV_API const char *q8conv_status_string(q8conv_status status)
{
    /* A switch on the raw value: an out-of-range status from a caller must reach the default. */
    switch ((int)status) {
    case Q8CONV_SUCCESS: return "Q8CONV_SUCCESS";
    case Q8CONV_ERROR_INVALID_ARGUMENT: return "Q8CONV_ERROR_INVALID_ARGUMENT";
    case Q8CONV_ERROR_UNSUPPORTED: return "Q8CONV_ERROR_UNSUPPORTED";
    case Q8CONV_ERROR_NO_DEVICE: return "Q8CONV_ERROR_NO_DEVICE";
    case Q8CONV_ERROR_OUT_OF_HOST_MEMORY: return "Q8CONV_ERROR_OUT_OF_HOST_MEMORY";
    case Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY: return "Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY";
    case Q8CONV_ERROR_DEVICE_LOST: return "Q8CONV_ERROR_DEVICE_LOST";
    case Q8CONV_ERROR_VULKAN: return "Q8CONV_ERROR_VULKAN";
    default: return "unknown status";
    }
}

Q8CONV_API const char *q8conv_kernel_name(q8conv_kernel kernel)
{
    switch ((int)kernel) {
    case Q8CONV_KERNEL_AUTO: return "auto";
    case Q8CONV_KERNEL_DOT: return "dot";
    case Q8CONV_KERNEL_FALLBACK: return "fallback";
    case Q8CONV_KERNEL_LEGACY: return "legacy";
    case Q8CONV_KERNEL_COOPMAT: return "coopmat";
    case Q8CONV_KERNEL_DOT_MIXED: return "dot_mixed";
    default: return "unknown";
    }
}

/* Vulkan results the library can meet, mapped onto the public statuses. */
q8conv_status q8conv_status_from_vk(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return Q8CONV_SUCCESS;
    case VK_ERROR_OUT_OF_HOST_MEMORY: return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_TOO_MANY_OBJECTS:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL: return Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY;
    case VK_ERROR_DEVICE_LOST: return Q8CONV_ERROR_DEVICE_LOST;
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED: return Q8CONV_ERROR_NO_DEVICE;
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_LAYER_NOT_PRESENT: return Q8CONV_ERROR_UNSUPPORTED;
    default: return Q8CONV_ERROR_VULKAN;
    }
}
