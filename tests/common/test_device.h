/* Vulkan for the tests: a device owned by the test (instance, physical device, queue), imported
 * into libq8conv through q8conv_external_device, and small helpers on any device, the test's or a
 * context's: buffers, a command buffer, submission, and the barriers of q8conv_pw_record's
 * contract.
 *
 * Every entry point is loaded through a vkGetInstanceProcAddr: for the test's device, the one the
 * test passes (the embedding tests pass the loader's they link) or else the loader's, opened with
 * dlopen; for a context's device, the one its q8conv_vulkan_handles name (the stress tests'
 * interposers included). Nothing here refers to a vk* symbol, so it links next to the Vulkan
 * loader and next to the library's internal archive, whose volk defines vk* itself. */
#ifndef Q8CONV_TEST_DEVICE_H
#define Q8CONV_TEST_DEVICE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "q8conv.h"

/* ---- the functions of one device ---- */

typedef struct test_vk {
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
    PFN_vkMapMemory MapMemory;
    PFN_vkCreateCommandPool CreateCommandPool;
    PFN_vkDestroyCommandPool DestroyCommandPool;
    PFN_vkAllocateCommandBuffers AllocateCommandBuffers;
    PFN_vkBeginCommandBuffer BeginCommandBuffer;
    PFN_vkEndCommandBuffer EndCommandBuffer;
    PFN_vkCmdPipelineBarrier CmdPipelineBarrier;
    PFN_vkQueueSubmit QueueSubmit;
    PFN_vkQueueWaitIdle QueueWaitIdle;
} test_vk;

/* The functions of a context's device, through q8conv_context_get_vulkan_handles; false if one is
 * missing. (A test_device loads its own.) */
bool test_vk_load_context(test_vk *vk, const q8conv_context *ctx);

typedef enum test_memory {
    TEST_MEMORY_DEVICE = 0, /* device-local where there is such a type, else any */
    TEST_MEMORY_HOST,       /* host-visible and coherent, mapped at `mapped` */
    TEST_MEMORY_NONE        /* no memory bound */
} test_memory;

typedef struct test_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped;
} test_buffer;

/* A buffer usable as a tensor (storage, transfer src and dst) of exactly `size` bytes. On failure
 * nothing is left and *b is zero. */
bool test_vk_buffer(const test_vk *vk, VkDeviceSize size, test_memory memory, test_buffer *b);
void test_vk_buffer_free(const test_vk *vk, test_buffer *b);
/* A command pool of the queue family and one primary command buffer of it, begun (it may be
 * submitted more than once). Destroying the pool frees the command buffer. */
bool test_vk_begin(const test_vk *vk, VkCommandPool *pool, VkCommandBuffer *cmd);
/* Submits ended command buffers in one vkQueueSubmit and waits for the queue to be idle. On a
 * context's queue, no q8conv call may use the queue meanwhile. */
bool test_vk_submit_wait(const test_vk *vk, const VkCommandBuffer *cmds, uint32_t count);

/* The barriers a caller of q8conv_pw_record owes, as one global memory barrier each: before,
 * earlier transfer/compute/host writes -> the dispatches' reads and writes; between two ops, the
 * first one's shader writes -> the second one's reads and writes; after, the dispatches' writes ->
 * later transfer, compute and host access. */
void test_vk_barrier_before_record(const test_vk *vk, VkCommandBuffer cmd);
void test_vk_barrier_between_records(const test_vk *vk, VkCommandBuffer cmd);
void test_vk_barrier_after_record(const test_vk *vk, VkCommandBuffer cmd);

/* ---- a device owned by the test ---- */

/* How the test turns on integer dot product when it creates its device (only where
 * q8conv_device_requirements says the device has it). */
typedef enum test_dot_mode {
    TEST_DOT_KHR_STRUCT = 0, /* VkPhysicalDeviceShaderIntegerDotProductFeatures in the chain */
    TEST_DOT_OFF,            /* not enabled, even where the device has it */
    TEST_DOT_VULKAN13        /* VkPhysicalDeviceVulkan13Features (Vulkan 1.3; else the KHR struct) */
} test_dot_mode;

typedef struct test_device_options {
    PFN_vkGetInstanceProcAddr gipa; /* NULL: the loader's, opened with dlopen */
    test_dot_mode dot;
    uint32_t max_api_version;       /* caps the instance's apiVersion; 0: Vulkan 1.3 */
    /* VK_LAYER_KHRONOS_validation with synchronization validation and a messenger that counts
     * into errors, warnings and hazards. */
    bool validation;
    /* Turn on what the COOPMAT kernel needs where q8conv_device_requirements2 says the device has
     * it (cooperativeMatrix, shaderInt8, vulkanMemoryModel). */
    bool cooperative_matrix;
} test_device_options;

typedef struct test_device {
    void *loader; /* when the loader was opened here */
    PFN_vkGetInstanceProcAddr gipa;
    uint32_t api_version;
    VkPhysicalDeviceProperties props;
    test_vk vk; /* the instance, physical device, device and queue, and their functions */
    bool dot_enabled;
    bool coopmat_enabled;
    /* The chain given to vkCreateDevice (passed on as q8conv_external_device.enabled_features). */
    VkPhysicalDeviceFeatures2 features;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot_features;
    VkPhysicalDeviceVulkan13Features vulkan13_features;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat_features;
    VkPhysicalDeviceShaderFloat16Int8Features int8_features;
    VkPhysicalDeviceVulkanMemoryModelFeatures memory_model_features;
    VkDebugUtilsMessengerEXT messenger;
    atomic_uint errors, warnings, hazards;
    bool quiet; /* do not print validation messages (a test that provokes them on purpose) */
} test_device;

typedef enum test_device_result {
    TEST_DEVICE_OK = 0,
    TEST_DEVICE_NO_LAYER, /* validation asked for and VK_LAYER_KHRONOS_validation is absent */
    TEST_DEVICE_FAILED    /* reported on stderr */
} test_device_result;

/* Instance, physical device 0 (or Q8CONV_DEVICE), its first compute queue family, and a device
 * with the extensions and features q8conv_device_requirements asks for, as `o` (NULL: defaults)
 * says. The struct must not move after creation (the messenger points at it). A failure leaves
 * nothing behind (test_device_destroy may still be called). */
test_device_result test_device_create(test_device *d, const test_device_options *o);
/* Destroys the device, messenger and instance; the message counts stay readable. */
void test_device_destroy(test_device *d);
/* The descriptor for q8conv_context_desc.external: the device's handles, the gipa it was made
 * with, and its feature chain. */
q8conv_external_device test_device_external(const test_device *d);

/* Q8CONV_VALIDATION is set (the tests then validate their own devices too). */
bool test_validation_requested(void);

#endif
