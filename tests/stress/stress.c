#include "stress.h"

#include <dlfcn.h>
#include <string.h>

/* ---- Vulkan on a context's device ---- */

bool stress_vk_load(stress_vk *vk, const q8conv_context *ctx)
{
    memset(vk, 0, sizeof *vk);
    q8conv_vulkan_handles h;
    if (q8conv_context_get_vulkan_handles(ctx, &h) != Q8CONV_SUCCESS || !h.get_instance_proc_addr)
        return false;
    vk->instance = h.instance;
    vk->physical_device = h.physical_device;
    vk->device = h.device;
    vk->queue = h.queue;
    vk->queue_family_index = h.queue_family_index;
    PFN_vkGetPhysicalDeviceMemoryProperties memory_props =
        (PFN_vkGetPhysicalDeviceMemoryProperties)h.get_instance_proc_addr(h.instance, "vkGetPhysicalDeviceMemoryProperties");
    vk->gdpa = (PFN_vkGetDeviceProcAddr)h.get_instance_proc_addr(h.instance, "vkGetDeviceProcAddr");
    if (!memory_props || !vk->gdpa)
        return false;
    memory_props(h.physical_device, &vk->memory);
#define LOAD(name) vk->name = (PFN_vk##name)vk->gdpa(h.device, "vk" #name)
    LOAD(CreateBuffer);
    LOAD(DestroyBuffer);
    LOAD(GetBufferMemoryRequirements);
    LOAD(AllocateMemory);
    LOAD(FreeMemory);
    LOAD(BindBufferMemory);
    LOAD(CreateCommandPool);
    LOAD(DestroyCommandPool);
    LOAD(AllocateCommandBuffers);
    LOAD(BeginCommandBuffer);
    LOAD(EndCommandBuffer);
    LOAD(CmdPipelineBarrier);
    LOAD(QueueSubmit);
    LOAD(QueueWaitIdle);
#undef LOAD
    return vk->CreateBuffer && vk->DestroyBuffer && vk->GetBufferMemoryRequirements && vk->AllocateMemory &&
           vk->FreeMemory && vk->BindBufferMemory && vk->CreateCommandPool && vk->DestroyCommandPool &&
           vk->AllocateCommandBuffers && vk->BeginCommandBuffer && vk->EndCommandBuffer && vk->CmdPipelineBarrier &&
           vk->QueueSubmit && vk->QueueWaitIdle;
}

bool stress_vk_buffer(const stress_vk *vk, VkDeviceSize size, bool bind, VkBuffer *buffer, VkDeviceMemory *memory)
{
    *buffer = VK_NULL_HANDLE;
    *memory = VK_NULL_HANDLE;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    if (vk->CreateBuffer(vk->device, &bci, NULL, buffer) != VK_SUCCESS)
        return false;
    if (!bind)
        return true;
    VkMemoryRequirements req;
    vk->GetBufferMemoryRequirements(vk->device, *buffer, &req);
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < vk->memory.memoryTypeCount && type == UINT32_MAX; ++i)
        if ((req.memoryTypeBits & (1u << i)) &&
            (vk->memory.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            type = i;
    for (uint32_t i = 0; i < vk->memory.memoryTypeCount && type == UINT32_MAX; ++i)
        if (req.memoryTypeBits & (1u << i))
            type = i;
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    if (type == UINT32_MAX || vk->AllocateMemory(vk->device, &mai, NULL, memory) != VK_SUCCESS ||
        vk->BindBufferMemory(vk->device, *buffer, *memory, 0) != VK_SUCCESS) {
        stress_vk_buffer_free(vk, *buffer, *memory);
        *buffer = VK_NULL_HANDLE;
        *memory = VK_NULL_HANDLE;
        return false;
    }
    return true;
}

void stress_vk_buffer_free(const stress_vk *vk, VkBuffer buffer, VkDeviceMemory memory)
{
    if (buffer)
        vk->DestroyBuffer(vk->device, buffer, NULL);
    if (memory)
        vk->FreeMemory(vk->device, memory, NULL);
}

bool stress_vk_begin(const stress_vk *vk, VkCommandPool *pool, VkCommandBuffer *cmd)
{
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .queueFamilyIndex = vk->queue_family_index};
    *pool = VK_NULL_HANDLE;
    if (vk->CreateCommandPool(vk->device, &pci, NULL, pool) != VK_SUCCESS)
        return false;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = *pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    return vk->AllocateCommandBuffers(vk->device, &ai, cmd) == VK_SUCCESS &&
           vk->BeginCommandBuffer(*cmd, &bi) == VK_SUCCESS;
}

void stress_vk_compute_barrier(const stress_vk *vk, VkCommandBuffer cmd)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vk->CmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0,
                           NULL, 0, NULL);
}

bool stress_vk_submit_wait(const stress_vk *vk, VkCommandBuffer cmd)
{
    if (vk->EndCommandBuffer(cmd) != VK_SUCCESS)
        return false;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    return vk->QueueSubmit(vk->queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS && vk->QueueWaitIdle(vk->queue) == VK_SUCCESS;
}

/* ---- a device owned by the test ---- */

bool stress_validation_requested(void)
{
    const char *v = getenv("Q8CONV_VALIDATION");
    return v && v[0] && strcmp(v, "0") != 0;
}

static VkBool32 VKAPI_PTR on_device_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                            VkDebugUtilsMessageTypeFlagsEXT types,
                                            const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    stress_device *d = user;
    const char *id = data && data->pMessageIdName ? data->pMessageIdName : "";
    const char *msg = data && data->pMessage ? data->pMessage : "";
    const bool error = (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) != 0;
    if (error)
        atomic_fetch_add(&d->errors, 1u);
    else
        atomic_fetch_add(&d->warnings, 1u);
    if (strstr(id, "SYNC-HAZARD") || strstr(msg, "SYNC-HAZARD"))
        atomic_fetch_add(&d->hazards, 1u);
    if (!d->quiet)
        fprintf(stderr, "[test-device validation %s] %s\n", error ? "error" : "warning", msg);
    return VK_FALSE;
}

static bool layer_available(PFN_vkGetInstanceProcAddr gipa, const char *name)
{
    PFN_vkEnumerateInstanceLayerProperties enum_layers =
        (PFN_vkEnumerateInstanceLayerProperties)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceLayerProperties");
    uint32_t n = 0;
    if (!enum_layers || enum_layers(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties *layers = calloc(n, sizeof *layers);
    bool found = false;
    if (layers && enum_layers(&n, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; ++i)
            found = strcmp(layers[i].layerName, name) == 0;
    free(layers);
    return found;
}

static uint32_t device_index_from_env(void)
{
    const char *s = getenv("Q8CONV_DEVICE");
    return s && *s ? (uint32_t)strtoul(s, NULL, 10) : 0u;
}

stress_device_result stress_device_create(stress_device *d, bool validation)
{
    memset(d, 0, sizeof *d);
    atomic_init(&d->errors, 0u);
    atomic_init(&d->warnings, 0u);
    atomic_init(&d->hazards, 0u);
    d->loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!d->loader)
        return STRESS_DEVICE_FAILED;
    *(void **)&d->gipa = dlsym(d->loader, "vkGetInstanceProcAddr");
    if (!d->gipa)
        return STRESS_DEVICE_FAILED;
    PFN_vkGetInstanceProcAddr gipa = d->gipa;
    PFN_vkEnumerateInstanceVersion enum_version =
        (PFN_vkEnumerateInstanceVersion)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
    PFN_vkCreateInstance create_instance = (PFN_vkCreateInstance)gipa(VK_NULL_HANDLE, "vkCreateInstance");
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (!enum_version || !create_instance || enum_version(&loader_version) != VK_SUCCESS ||
        loader_version < VK_API_VERSION_1_1)
        return STRESS_DEVICE_FAILED;
    d->api_version = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_1;
    if (validation && !layer_available(gipa, "VK_LAYER_KHRONOS_validation"))
        return STRESS_DEVICE_NO_LAYER;
    d->validation = validation;

    const char *layer = "VK_LAYER_KHRONOS_validation";
    const char *exts[2] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_device_message,
        .pUserData = d};
    /* Synchronization validation is off by default; the barrier tests depend on it. */
    VkValidationFeatureEnableEXT enables[1] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .pNext = &mci,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = enables};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "q8conv-stress",
                             .apiVersion = d->api_version};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = validation ? &features : NULL,
                                .pApplicationInfo = &app,
                                .enabledLayerCount = validation ? 1u : 0u,
                                .ppEnabledLayerNames = &layer,
                                .enabledExtensionCount = validation ? 2u : 0u,
                                .ppEnabledExtensionNames = exts};
    if (create_instance(&ici, NULL, &d->instance) != VK_SUCCESS)
        return STRESS_DEVICE_FAILED;
    if (validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
            (PFN_vkCreateDebugUtilsMessengerEXT)gipa(d->instance, "vkCreateDebugUtilsMessengerEXT");
        if (!create_messenger || create_messenger(d->instance, &mci, NULL, &d->messenger) != VK_SUCCESS)
            return STRESS_DEVICE_FAILED;
    }

    PFN_vkEnumeratePhysicalDevices enum_devices =
        (PFN_vkEnumeratePhysicalDevices)gipa(d->instance, "vkEnumeratePhysicalDevices");
    PFN_vkGetPhysicalDeviceQueueFamilyProperties queue_props =
        (PFN_vkGetPhysicalDeviceQueueFamilyProperties)gipa(d->instance, "vkGetPhysicalDeviceQueueFamilyProperties");
    PFN_vkCreateDevice create_device = (PFN_vkCreateDevice)gipa(d->instance, "vkCreateDevice");
    PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)gipa(d->instance, "vkGetDeviceProcAddr");
    if (!enum_devices || !queue_props || !create_device || !gdpa)
        return STRESS_DEVICE_FAILED;
    VkPhysicalDevice devices[16];
    uint32_t count = 16;
    VkResult r = enum_devices(d->instance, &count, devices);
    const uint32_t index = device_index_from_env();
    if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || index >= count)
        return STRESS_DEVICE_FAILED;
    d->physical_device = devices[index];

    VkQueueFamilyProperties families[16];
    uint32_t nf = 16;
    queue_props(d->physical_device, &nf, families);
    d->queue_family_index = UINT32_MAX;
    for (uint32_t i = 0; i < nf && d->queue_family_index == UINT32_MAX; ++i)
        if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            d->queue_family_index = i;
    if (d->queue_family_index == UINT32_MAX)
        return STRESS_DEVICE_FAILED;

    /* What the library's fast path needs, as its own API reports it. */
    const char *dev_exts[1] = {NULL};
    uint32_t ext_count = 1;
    bool wants_dot = false;
    if (q8conv_device_requirements(gipa, d->instance, d->physical_device, dev_exts, &ext_count, &wants_dot) !=
        Q8CONV_SUCCESS)
        return STRESS_DEVICE_FAILED;
    d->dot_features = (VkPhysicalDeviceShaderIntegerDotProductFeatures){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
        .shaderIntegerDotProduct = wants_dot ? VK_TRUE : VK_FALSE};
    d->features = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                              .pNext = wants_dot ? &d->dot_features : NULL};
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = d->queue_family_index,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &d->features,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = ext_count,
                              .ppEnabledExtensionNames = dev_exts};
    if (create_device(d->physical_device, &dci, NULL, &d->device) != VK_SUCCESS)
        return STRESS_DEVICE_FAILED;
    PFN_vkGetDeviceQueue get_queue = (PFN_vkGetDeviceQueue)gdpa(d->device, "vkGetDeviceQueue");
    if (!get_queue)
        return STRESS_DEVICE_FAILED;
    get_queue(d->device, d->queue_family_index, 0, &d->queue);
    return STRESS_DEVICE_OK;
}

void stress_device_destroy(stress_device *d)
{
    if (d->device) {
        PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)d->gipa(d->instance, "vkGetDeviceProcAddr");
        PFN_vkDeviceWaitIdle wait_idle = (PFN_vkDeviceWaitIdle)gdpa(d->device, "vkDeviceWaitIdle");
        PFN_vkDestroyDevice destroy_device = (PFN_vkDestroyDevice)gdpa(d->device, "vkDestroyDevice");
        wait_idle(d->device);
        destroy_device(d->device, NULL);
    }
    if (d->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
            (PFN_vkDestroyDebugUtilsMessengerEXT)d->gipa(d->instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy_messenger(d->instance, d->messenger, NULL);
    }
    if (d->instance) {
        PFN_vkDestroyInstance destroy_instance = (PFN_vkDestroyInstance)d->gipa(d->instance, "vkDestroyInstance");
        destroy_instance(d->instance, NULL);
    }
    if (d->loader)
        dlclose(d->loader);
    d->device = VK_NULL_HANDLE;
    d->messenger = VK_NULL_HANDLE;
    d->instance = VK_NULL_HANDLE;
    d->loader = NULL;
}

q8conv_external_device stress_device_external(const stress_device *d, PFN_vkGetInstanceProcAddr gipa)
{
    return (q8conv_external_device){.instance = d->instance,
                                    .physical_device = d->physical_device,
                                    .device = d->device,
                                    .queue = d->queue,
                                    .queue_family_index = d->queue_family_index,
                                    .api_version = d->api_version,
                                    .get_instance_proc_addr = gipa ? gipa : d->gipa,
                                    .enabled_features = &d->features};
}
