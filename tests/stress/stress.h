/* Helpers of the robustness tests (tests/stress): direct Vulkan access to a context's device, and a
 * Vulkan device owned by the test for the external-device tests. The random streams, operators
 * and the reference-checked run are tests/common's. */
#ifndef Q8CONV_STRESS_H
#define Q8CONV_STRESS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common.h"

/* ---- Vulkan on a context's device (through q8conv_context_get_vulkan_handles) ---- */

typedef struct stress_vk {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family_index;
    VkPhysicalDeviceMemoryProperties memory;
    PFN_vkGetDeviceProcAddr gdpa;
    PFN_vkCreateBuffer CreateBuffer;
    PFN_vkDestroyBuffer DestroyBuffer;
    PFN_vkGetBufferMemoryRequirements GetBufferMemoryRequirements;
    PFN_vkAllocateMemory AllocateMemory;
    PFN_vkFreeMemory FreeMemory;
    PFN_vkBindBufferMemory BindBufferMemory;
    PFN_vkCreateCommandPool CreateCommandPool;
    PFN_vkDestroyCommandPool DestroyCommandPool;
    PFN_vkAllocateCommandBuffers AllocateCommandBuffers;
    PFN_vkBeginCommandBuffer BeginCommandBuffer;
    PFN_vkEndCommandBuffer EndCommandBuffer;
    PFN_vkCmdPipelineBarrier CmdPipelineBarrier;
    PFN_vkQueueSubmit QueueSubmit;
    PFN_vkQueueWaitIdle QueueWaitIdle;
} stress_vk;

bool stress_vk_load(stress_vk *vk, const q8conv_context *ctx);
/* A buffer usable as a tensor (storage, transfer src/dst), with device memory bound when `bind`. */
bool stress_vk_buffer(const stress_vk *vk, VkDeviceSize size, bool bind, VkBuffer *buffer, VkDeviceMemory *memory);
void stress_vk_buffer_free(const stress_vk *vk, VkBuffer buffer, VkDeviceMemory memory);
/* A command pool of the queue family and one primary command buffer of it, begun. */
bool stress_vk_begin(const stress_vk *vk, VkCommandPool *pool, VkCommandBuffer *cmd);
/* The barrier the q8conv_pw_record contract asks for between a write by one op and a later read
 * (or write) by another. */
void stress_vk_compute_barrier(const stress_vk *vk, VkCommandBuffer cmd);
/* Ends cmd, submits it on the context's queue and waits. The caller must not race with q8conv
 * calls that use the queue. */
bool stress_vk_submit_wait(const stress_vk *vk, VkCommandBuffer cmd);

/* ---- a Vulkan device owned by the test, for q8conv_context_desc.external ---- */

typedef struct stress_device {
    void *loader;
    PFN_vkGetInstanceProcAddr gipa;
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family_index;
    uint32_t api_version;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot_features;
    VkPhysicalDeviceFeatures2 features;
    bool validation;
    VkDebugUtilsMessengerEXT messenger;
    atomic_uint errors, warnings, hazards;
    bool quiet; /* do not print messages (a test that provokes them on purpose) */
} stress_device;

typedef enum stress_device_result {
    STRESS_DEVICE_OK = 0,
    STRESS_DEVICE_NO_LAYER, /* validation asked for and VK_LAYER_KHRONOS_validation is absent */
    STRESS_DEVICE_FAILED
} stress_device_result;

/* Instance (with the validation layer, synchronization validation and a counting messenger when
 * `validation`), physical device 0 (or Q8CONV_DEVICE), a compute queue, and integer dot product
 * enabled as q8conv_device_requirements asks. The struct must not move after creation (the
 * messenger points at it). */
stress_device_result stress_device_create(stress_device *d, bool validation);
void stress_device_destroy(stress_device *d);
/* The descriptor for q8conv_context_desc.external; `gipa` NULL means the loader's. */
q8conv_external_device stress_device_external(const stress_device *d, PFN_vkGetInstanceProcAddr gipa);

/* Q8CONV_VALIDATION is set (the tests then validate their own devices too). */
bool stress_validation_requested(void);

#endif
