/* A minimal "host runtime" for the embedding tests: it owns its instance, device, queue, buffers
 * and command buffers through the plain Vulkan loader (linked directly), as a runtime that links
 * libq8conv would. */
#ifndef Q8CONV_EMBED_HOST_H
#define Q8CONV_EMBED_HOST_H

#include <stdbool.h>

#include <vulkan/vulkan.h>

#include "q8conv.h"

/* How the host turns on integer dot product when it creates its device. */
typedef enum embed_dot_mode {
    EMBED_DOT_OFF = 0,      /* not enabled, even where the device has it */
    EMBED_DOT_KHR_STRUCT,   /* VkPhysicalDeviceShaderIntegerDotProductFeatures in the chain */
    EMBED_DOT_VULKAN13      /* VkPhysicalDeviceVulkan13Features::shaderIntegerDotProduct */
} embed_dot_mode;

typedef struct embed_host {
    VkInstance instance;
    uint32_t api_version;
    VkPhysicalDevice physical_device;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memory_props;
    uint32_t queue_family;
    VkDevice device;
    VkQueue queue;
    VkCommandPool command_pool;
    VkFence fence;
    bool dot_enabled;
    /* The chain given to vkCreateDevice (passed on as q8conv_external_device.enabled_features). */
    VkPhysicalDeviceFeatures2 features;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot_features;
    VkPhysicalDeviceVulkan13Features vulkan13_features;
} embed_host;

/* Creates the host's device; the dot product mode is honoured only where q8conv_device_requirements
 * says the device has it (EMBED_DOT_VULKAN13 also needs Vulkan 1.3). Returns false on failure
 * (already reported on stderr). */
bool embed_host_create(embed_host *h, embed_dot_mode dot);
/* The same with the instance's apiVersion capped at `api_version` (a runtime that asks for 1.1). */
bool embed_host_create_versioned(embed_host *h, embed_dot_mode dot, uint32_t api_version);
void embed_host_destroy(embed_host *h);
/* The import description of the host's device; `features` false passes enabled_features = NULL. */
q8conv_external_device embed_host_external(const embed_host *h, bool features);
/* A context on the host's device, or NULL (reported). */
q8conv_context *embed_host_context(const embed_host *h, const q8conv_allocator *allocator);

typedef struct embed_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped;
} embed_buffer;

/* A host-visible, coherent storage + transfer buffer of exactly `size` bytes. */
bool embed_buffer_create(embed_host *h, VkDeviceSize size, embed_buffer *b);
void embed_buffer_destroy(embed_host *h, embed_buffer *b);

/* A primary command buffer from the host's pool, begun for reuse (no ONE_TIME_SUBMIT). */
VkCommandBuffer embed_cmd_begin(embed_host *h);
/* The same from `pool`: one of embed_pool_create's, for a thread of its own (pools are externally
 * synchronized). VK_NULL_HANDLE on failure. */
VkCommandBuffer embed_cmd_begin_in(embed_host *h, VkCommandPool pool);
VkCommandPool embed_pool_create(embed_host *h);
/* Submits the command buffers in one vkQueueSubmit and waits for them. */
bool embed_submit_wait(embed_host *h, const VkCommandBuffer *cmds, uint32_t count);

/* The barriers a caller of q8conv_pw_record owes (the header's contract), as one global memory
 * barrier each: before, earlier transfer/compute/host writes -> the dispatches' reads and writes;
 * after, the dispatches' writes -> later transfer, compute and host access. */
void embed_barrier_before_record(VkCommandBuffer cmd);
void embed_barrier_after_record(VkCommandBuffer cmd);

#endif
