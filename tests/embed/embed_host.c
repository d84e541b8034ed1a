#include "embed_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_VK(expr)                                                                          \
    do {                                                                                       \
        VkResult r_ = (expr);                                                                  \
        if (r_ != VK_SUCCESS) {                                                                \
            fprintf(stderr, "embed host: %s failed (VkResult %d)\n", #expr, (int)r_);          \
            return false;                                                                      \
        }                                                                                      \
    } while (0)

static bool pick_device(embed_host *h)
{
    uint32_t count = 0;
    HOST_VK(vkEnumeratePhysicalDevices(h->instance, &count, NULL));
    const char *env = getenv("Q8CONV_DEVICE");
    uint32_t index = env && *env ? (uint32_t)strtoul(env, NULL, 10) : 0;
    if (index >= count) {
        fprintf(stderr, "embed host: no physical device %u\n", index);
        return false;
    }
    VkPhysicalDevice *devices = calloc(count, sizeof *devices);
    if (!devices)
        return false;
    VkResult r = vkEnumeratePhysicalDevices(h->instance, &count, devices);
    if ((r == VK_SUCCESS || r == VK_INCOMPLETE) && index < count)
        h->physical_device = devices[index];
    free(devices);
    if (!h->physical_device)
        return false;
    vkGetPhysicalDeviceProperties(h->physical_device, &h->props);
    vkGetPhysicalDeviceMemoryProperties(h->physical_device, &h->memory_props);
    uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(h->physical_device, &families, NULL);
    VkQueueFamilyProperties qf[32];
    if (families > 32)
        families = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(h->physical_device, &families, qf);
    h->queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < families && h->queue_family == UINT32_MAX; ++i)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            h->queue_family = i;
    if (h->queue_family == UINT32_MAX) {
        fprintf(stderr, "embed host: no compute queue family\n");
        return false;
    }
    return true;
}

bool embed_host_create(embed_host *h, embed_dot_mode dot)
{
    return embed_host_create_versioned(h, dot, VK_API_VERSION_1_3);
}

bool embed_host_create_versioned(embed_host *h, embed_dot_mode dot, uint32_t api_version)
{
    memset(h, 0, sizeof *h);
    uint32_t loader_version = VK_API_VERSION_1_0;
    HOST_VK(vkEnumerateInstanceVersion(&loader_version));
    if (loader_version < VK_API_VERSION_1_1) {
        fprintf(stderr, "embed host: Vulkan loader older than 1.1\n");
        return false;
    }
    h->api_version = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_MAKE_API_VERSION(0, 1, 1, 0);
    if (api_version < h->api_version)
        h->api_version = api_version;
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "q8conv-embed-test",
                             .apiVersion = h->api_version};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    HOST_VK(vkCreateInstance(&ici, NULL, &h->instance));
    if (!pick_device(h))
        return false;

    const char *extensions[4];
    uint32_t extension_count = 4;
    bool wants_dot = false;
    q8conv_status st = q8conv_device_requirements(vkGetInstanceProcAddr, h->instance, h->physical_device, extensions,
                                                  &extension_count, &wants_dot);
    if (st != Q8CONV_SUCCESS || extension_count > 4) {
        fprintf(stderr, "embed host: q8conv_device_requirements: %s\n", q8conv_status_string(st));
        return false;
    }
    const bool core13 = h->api_version >= VK_API_VERSION_1_3 && h->props.apiVersion >= VK_API_VERSION_1_3;
    if (dot == EMBED_DOT_VULKAN13 && !core13)
        dot = EMBED_DOT_KHR_STRUCT;
    h->dot_enabled = wants_dot && dot != EMBED_DOT_OFF;
    h->dot_features = (VkPhysicalDeviceShaderIntegerDotProductFeatures){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES, .shaderIntegerDotProduct = VK_TRUE};
    h->vulkan13_features = (VkPhysicalDeviceVulkan13Features){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .shaderIntegerDotProduct = VK_TRUE};
    h->features = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    if (h->dot_enabled)
        h->features.pNext = dot == EMBED_DOT_VULKAN13 ? (void *)&h->vulkan13_features : (void *)&h->dot_features;
    if (!h->dot_enabled)
        extension_count = 0; /* the extension only matters for the feature */

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = h->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &h->features,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = extension_count,
                              .ppEnabledExtensionNames = extensions};
    HOST_VK(vkCreateDevice(h->physical_device, &dci, NULL, &h->device));
    vkGetDeviceQueue(h->device, h->queue_family, 0, &h->queue);
    VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = h->queue_family};
    HOST_VK(vkCreateCommandPool(h->device, &cpci, NULL, &h->command_pool));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    HOST_VK(vkCreateFence(h->device, &fci, NULL, &h->fence));
    return true;
}

void embed_host_destroy(embed_host *h)
{
    if (h->device) {
        vkDeviceWaitIdle(h->device);
        vkDestroyFence(h->device, h->fence, NULL);
        vkDestroyCommandPool(h->device, h->command_pool, NULL);
        vkDestroyDevice(h->device, NULL);
    }
    if (h->instance)
        vkDestroyInstance(h->instance, NULL);
    memset(h, 0, sizeof *h);
}

q8conv_external_device embed_host_external(const embed_host *h, bool features)
{
    return (q8conv_external_device){.instance = h->instance,
                                    .physical_device = h->physical_device,
                                    .device = h->device,
                                    .queue = h->queue,
                                    .queue_family_index = h->queue_family,
                                    .api_version = h->api_version,
                                    .get_instance_proc_addr = vkGetInstanceProcAddr,
                                    .enabled_features = features ? &h->features : NULL};
}

q8conv_context *embed_host_context(const embed_host *h, const q8conv_allocator *allocator)
{
    q8conv_external_device ext = embed_host_external(h, true);
    q8conv_context *ctx = NULL;
    q8conv_status st = q8conv_context_create(&(q8conv_context_desc){.external = &ext, .allocator = allocator}, &ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "embed host: q8conv_context_create(external): %s\n", q8conv_status_string(st));
        return NULL;
    }
    return ctx;
}

bool embed_buffer_create(embed_host *h, VkDeviceSize size, embed_buffer *b)
{
    memset(b, 0, sizeof *b);
    b->size = size;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    HOST_VK(vkCreateBuffer(h->device, &bci, NULL, &b->buffer));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(h->device, b->buffer, &req);
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < h->memory_props.memoryTypeCount && type == UINT32_MAX; ++i)
        if ((req.memoryTypeBits & (1u << i)) && (h->memory_props.memoryTypes[i].propertyFlags & want) == want)
            type = i;
    if (type == UINT32_MAX) {
        fprintf(stderr, "embed host: no host-visible coherent memory\n");
        return false;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    HOST_VK(vkAllocateMemory(h->device, &mai, NULL, &b->memory));
    HOST_VK(vkBindBufferMemory(h->device, b->buffer, b->memory, 0));
    HOST_VK(vkMapMemory(h->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped));
    return true;
}

void embed_buffer_destroy(embed_host *h, embed_buffer *b)
{
    if (b->buffer)
        vkDestroyBuffer(h->device, b->buffer, NULL);
    if (b->memory)
        vkFreeMemory(h->device, b->memory, NULL);
    memset(b, 0, sizeof *b);
}

VkCommandBuffer embed_cmd_begin(embed_host *h)
{
    return embed_cmd_begin_in(h, h->command_pool);
}

VkCommandBuffer embed_cmd_begin_in(embed_host *h, VkCommandPool pool)
{
    VkCommandBufferAllocateInfo cbai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                        .commandPool = pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                        .commandBufferCount = 1};
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    if (vkAllocateCommandBuffers(h->device, &cbai, &cmd) != VK_SUCCESS)
        return VK_NULL_HANDLE;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    if (vkBeginCommandBuffer(cmd, &bi) != VK_SUCCESS) {
        vkFreeCommandBuffers(h->device, pool, 1, &cmd);
        return VK_NULL_HANDLE;
    }
    return cmd;
}

VkCommandPool embed_pool_create(embed_host *h)
{
    VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .queueFamilyIndex = h->queue_family};
    VkCommandPool pool = VK_NULL_HANDLE;
    return vkCreateCommandPool(h->device, &cpci, NULL, &pool) == VK_SUCCESS ? pool : VK_NULL_HANDLE;
}

bool embed_submit_wait(embed_host *h, const VkCommandBuffer *cmds, uint32_t count)
{
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = count, .pCommandBuffers = cmds};
    HOST_VK(vkResetFences(h->device, 1, &h->fence));
    HOST_VK(vkQueueSubmit(h->queue, 1, &si, h->fence));
    HOST_VK(vkWaitForFences(h->device, 1, &h->fence, VK_TRUE, UINT64_MAX));
    return true;
}

void embed_barrier_before_record(VkCommandBuffer cmd)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0, NULL, 0, NULL);
}

void embed_barrier_after_record(VkCommandBuffer cmd)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         0, 1, &b, 0, NULL, 0, NULL);
}
