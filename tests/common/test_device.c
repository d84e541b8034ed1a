/* The test's own Vulkan device and the Vulkan helpers of test_device.h. */
#include "test_device.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the functions of one device ---- */

/* Loads the functions of `device` through gipa; false if one is missing. */
static bool test_vk_load(test_vk *vk, PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                         VkPhysicalDevice physical_device, VkDevice device, VkQueue queue, uint32_t queue_family_index)
{
    memset(vk, 0, sizeof *vk);
    vk->instance = instance;
    vk->physical_device = physical_device;
    vk->device = device;
    vk->queue = queue;
    vk->queue_family_index = queue_family_index;
    PFN_vkGetPhysicalDeviceMemoryProperties memory_props =
        (PFN_vkGetPhysicalDeviceMemoryProperties)gipa(instance, "vkGetPhysicalDeviceMemoryProperties");
    vk->gdpa = (PFN_vkGetDeviceProcAddr)gipa(instance, "vkGetDeviceProcAddr");
    if (!memory_props || !vk->gdpa)
        return false;
    memory_props(physical_device, &vk->memory);
#define LOAD(name) vk->name = (PFN_vk##name)vk->gdpa(device, "vk" #name)
    LOAD(CreateBuffer);
    LOAD(DestroyBuffer);
    LOAD(GetBufferMemoryRequirements);
    LOAD(AllocateMemory);
    LOAD(FreeMemory);
    LOAD(BindBufferMemory);
    LOAD(MapMemory);
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
           vk->FreeMemory && vk->BindBufferMemory && vk->MapMemory && vk->CreateCommandPool && vk->DestroyCommandPool &&
           vk->AllocateCommandBuffers && vk->BeginCommandBuffer && vk->EndCommandBuffer && vk->CmdPipelineBarrier &&
           vk->QueueSubmit && vk->QueueWaitIdle;
}

bool test_vk_load_context(test_vk *vk, const q8conv_context *ctx)
{
    memset(vk, 0, sizeof *vk);
    q8conv_vulkan_handles h;
    if (q8conv_context_get_vulkan_handles(ctx, &h) != Q8CONV_SUCCESS || !h.get_instance_proc_addr)
        return false;
    return test_vk_load(vk, h.get_instance_proc_addr, h.instance, h.physical_device, h.device, h.queue,
                        h.queue_family_index);
}

static uint32_t find_memory_type(const test_vk *vk, uint32_t type_bits, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < vk->memory.memoryTypeCount; ++i)
        if ((type_bits & (1u << i)) && (vk->memory.memoryTypes[i].propertyFlags & want) == want)
            return i;
    return UINT32_MAX;
}

bool test_vk_buffer(const test_vk *vk, VkDeviceSize size, test_memory memory, test_buffer *b)
{
    memset(b, 0, sizeof *b);
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    if (vk->CreateBuffer(vk->device, &bci, NULL, &b->buffer) != VK_SUCCESS) {
        b->buffer = VK_NULL_HANDLE;
        return false;
    }
    b->size = size;
    if (memory == TEST_MEMORY_NONE)
        return true;
    VkMemoryRequirements req;
    vk->GetBufferMemoryRequirements(vk->device, b->buffer, &req);
    uint32_t type;
    if (memory == TEST_MEMORY_HOST) {
        type = find_memory_type(vk, req.memoryTypeBits,
                                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    } else {
        type = find_memory_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type == UINT32_MAX)
            type = find_memory_type(vk, req.memoryTypeBits, 0);
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    bool ok = type != UINT32_MAX && vk->AllocateMemory(vk->device, &mai, NULL, &b->memory) == VK_SUCCESS &&
              vk->BindBufferMemory(vk->device, b->buffer, b->memory, 0) == VK_SUCCESS &&
              (memory != TEST_MEMORY_HOST ||
               vk->MapMemory(vk->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped) == VK_SUCCESS);
    if (!ok)
        test_vk_buffer_free(vk, b);
    return ok;
}

void test_vk_buffer_free(const test_vk *vk, test_buffer *b)
{
    if (b->buffer)
        vk->DestroyBuffer(vk->device, b->buffer, NULL);
    if (b->memory)
        vk->FreeMemory(vk->device, b->memory, NULL); /* unmaps implicitly */
    memset(b, 0, sizeof *b);
}

bool test_vk_begin(const test_vk *vk, VkCommandPool *pool, VkCommandBuffer *cmd)
{
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .queueFamilyIndex = vk->queue_family_index};
    *pool = VK_NULL_HANDLE;
    *cmd = VK_NULL_HANDLE;
    if (vk->CreateCommandPool(vk->device, &pci, NULL, pool) != VK_SUCCESS) {
        *pool = VK_NULL_HANDLE;
        return false;
    }
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = *pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    if (vk->AllocateCommandBuffers(vk->device, &ai, cmd) != VK_SUCCESS) {
        *cmd = VK_NULL_HANDLE;
        return false;
    }
    return vk->BeginCommandBuffer(*cmd, &bi) == VK_SUCCESS;
}

bool test_vk_submit_wait(const test_vk *vk, const VkCommandBuffer *cmds, uint32_t count)
{
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = count, .pCommandBuffers = cmds};
    return vk->QueueSubmit(vk->queue, 1, &si, VK_NULL_HANDLE) == VK_SUCCESS && vk->QueueWaitIdle(vk->queue) == VK_SUCCESS;
}

void test_vk_barrier_before_record(const test_vk *vk, VkCommandBuffer cmd)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vk->CmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0, NULL, 0, NULL);
}

void test_vk_barrier_between_records(const test_vk *vk, VkCommandBuffer cmd)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vk->CmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0,
                           NULL, 0, NULL);
}

void test_vk_barrier_after_record(const test_vk *vk, VkCommandBuffer cmd)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                          VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT};
    vk->CmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                           VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                           0, 1, &b, 0, NULL, 0, NULL);
}

/* ---- a device owned by the test ---- */

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

bool test_validation_requested(void)
{
    const char *v = getenv("Q8CONV_VALIDATION");
    return v && v[0] && strcmp(v, "0") != 0;
}

static VkBool32 VKAPI_PTR on_device_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                            VkDebugUtilsMessageTypeFlagsEXT types,
                                            const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    test_device *d = user;
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

static bool layer_available(PFN_vkGetInstanceProcAddr gipa)
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
            found = strcmp(layers[i].layerName, VALIDATION_LAYER) == 0;
    free(layers);
    return found;
}

/* Reports a failed step of test_device_create; false, for `return failed(...)`. */
static bool failed(const char *what, VkResult r)
{
    fprintf(stderr, "test device: %s failed (VkResult %d)\n", what, (int)r);
    return false;
}

/* The instance (and messenger) with the loader's version capped at 1.3 and at o->max_api_version. */
static test_device_result create_instance(test_device *d, const test_device_options *o)
{
    PFN_vkGetInstanceProcAddr gipa = d->gipa;
    PFN_vkEnumerateInstanceVersion enum_version =
        (PFN_vkEnumerateInstanceVersion)gipa(VK_NULL_HANDLE, "vkEnumerateInstanceVersion");
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(VK_NULL_HANDLE, "vkCreateInstance");
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (!enum_version || !create || enum_version(&loader_version) != VK_SUCCESS ||
        loader_version < VK_API_VERSION_1_1) {
        fprintf(stderr, "test device: no Vulkan 1.1 loader\n");
        return TEST_DEVICE_FAILED;
    }
    d->api_version = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_1;
    if (o->max_api_version && o->max_api_version < d->api_version)
        d->api_version = o->max_api_version;
    if (o->validation && !layer_available(gipa))
        return TEST_DEVICE_NO_LAYER;

    const char *layer = VALIDATION_LAYER;
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
                             .pApplicationName = "q8conv-test",
                             .apiVersion = d->api_version};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = o->validation ? &features : NULL,
                                .pApplicationInfo = &app,
                                .enabledLayerCount = o->validation ? 1u : 0u,
                                .ppEnabledLayerNames = &layer,
                                .enabledExtensionCount = o->validation ? 2u : 0u,
                                .ppEnabledExtensionNames = exts};
    VkResult r = create(&ici, NULL, &d->vk.instance);
    if (r != VK_SUCCESS) {
        d->vk.instance = VK_NULL_HANDLE;
        failed("vkCreateInstance", r);
        return TEST_DEVICE_FAILED;
    }
    if (o->validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
            (PFN_vkCreateDebugUtilsMessengerEXT)gipa(d->vk.instance, "vkCreateDebugUtilsMessengerEXT");
        r = create_messenger ? create_messenger(d->vk.instance, &mci, NULL, &d->messenger) : VK_ERROR_EXTENSION_NOT_PRESENT;
        if (r != VK_SUCCESS) {
            d->messenger = VK_NULL_HANDLE;
            failed("vkCreateDebugUtilsMessengerEXT", r);
            return TEST_DEVICE_FAILED;
        }
    }
    return TEST_DEVICE_OK;
}

/* Physical device 0 or Q8CONV_DEVICE, its properties and its first compute queue family. */
static bool pick_device(test_device *d, uint32_t *family)
{
    PFN_vkEnumeratePhysicalDevices enum_devices =
        (PFN_vkEnumeratePhysicalDevices)d->gipa(d->vk.instance, "vkEnumeratePhysicalDevices");
    PFN_vkGetPhysicalDeviceProperties get_props =
        (PFN_vkGetPhysicalDeviceProperties)d->gipa(d->vk.instance, "vkGetPhysicalDeviceProperties");
    PFN_vkGetPhysicalDeviceQueueFamilyProperties queue_props =
        (PFN_vkGetPhysicalDeviceQueueFamilyProperties)d->gipa(d->vk.instance, "vkGetPhysicalDeviceQueueFamilyProperties");
    if (!enum_devices || !get_props || !queue_props)
        return failed("loading the instance functions", VK_ERROR_INITIALIZATION_FAILED);
    uint32_t count = 0;
    VkResult r = enum_devices(d->vk.instance, &count, NULL);
    if (r != VK_SUCCESS)
        return failed("vkEnumeratePhysicalDevices", r);
    const char *env = getenv("Q8CONV_DEVICE");
    const uint32_t index = env && *env ? (uint32_t)strtoul(env, NULL, 10) : 0u;
    if (index >= count) {
        fprintf(stderr, "test device: no physical device %u\n", index);
        return false;
    }
    VkPhysicalDevice *devices = calloc(count, sizeof *devices);
    if (!devices)
        return false;
    r = enum_devices(d->vk.instance, &count, devices);
    if ((r == VK_SUCCESS || r == VK_INCOMPLETE) && index < count)
        d->vk.physical_device = devices[index];
    free(devices);
    if (!d->vk.physical_device)
        return failed("vkEnumeratePhysicalDevices", r);
    get_props(d->vk.physical_device, &d->props);

    VkQueueFamilyProperties families[32];
    uint32_t nf = 0;
    queue_props(d->vk.physical_device, &nf, NULL);
    if (nf > 32)
        nf = 32;
    queue_props(d->vk.physical_device, &nf, families);
    *family = UINT32_MAX;
    for (uint32_t i = 0; i < nf && *family == UINT32_MAX; ++i)
        if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            *family = i;
    if (*family == UINT32_MAX) {
        fprintf(stderr, "test device: no compute queue family\n");
        return false;
    }
    return true;
}

/* The device with what q8conv_device_requirements2 asks for, integer dot product as `dot` says and
 * cooperative matrices if `coopmat`. */
static bool create_device(test_device *d, test_dot_mode dot, bool coopmat, uint32_t family)
{
    const char *extensions[4];
    uint32_t extension_count = 4;
    q8conv_device_features wants;
    q8conv_status st = q8conv_device_requirements2(d->gipa, d->vk.instance, d->vk.physical_device, extensions,
                                                   &extension_count, &wants);
    if (st != Q8CONV_SUCCESS || extension_count > 4) {
        fprintf(stderr, "test device: q8conv_device_requirements2: %s\n", q8conv_status_string(st));
        return false;
    }
    const bool core13 = d->api_version >= VK_API_VERSION_1_3 && d->props.apiVersion >= VK_API_VERSION_1_3;
    if (dot == TEST_DOT_VULKAN13 && !core13)
        dot = TEST_DOT_KHR_STRUCT;
    d->dot_enabled = wants.integer_dot_product && dot != TEST_DOT_OFF;
    d->coopmat_enabled = coopmat && wants.cooperative_matrix && wants.shader_int8 && wants.vulkan_memory_model;
    d->dot_features = (VkPhysicalDeviceShaderIntegerDotProductFeatures){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES, .shaderIntegerDotProduct = VK_TRUE};
    d->vulkan13_features = (VkPhysicalDeviceVulkan13Features){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES, .shaderIntegerDotProduct = VK_TRUE};
    d->features = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    if (d->dot_enabled)
        d->features.pNext = dot == TEST_DOT_VULKAN13 ? (void *)&d->vulkan13_features : (void *)&d->dot_features;
    if (d->coopmat_enabled) {
        d->memory_model_features = (VkPhysicalDeviceVulkanMemoryModelFeatures){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES, .pNext = d->features.pNext,
            .vulkanMemoryModel = VK_TRUE};
        d->int8_features = (VkPhysicalDeviceShaderFloat16Int8Features){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .pNext = &d->memory_model_features,
            .shaderInt8 = VK_TRUE};
        d->coopmat_features = (VkPhysicalDeviceCooperativeMatrixFeaturesNV){
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV, .pNext = &d->int8_features,
            .cooperativeMatrix = VK_TRUE};
        d->features.pNext = &d->coopmat_features;
    }
    if (!d->dot_enabled && !d->coopmat_enabled)
        extension_count = 0; /* the extensions only matter for the features */

    PFN_vkCreateDevice create = (PFN_vkCreateDevice)d->gipa(d->vk.instance, "vkCreateDevice");
    PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)d->gipa(d->vk.instance, "vkGetDeviceProcAddr");
    if (!create || !gdpa)
        return failed("loading vkCreateDevice", VK_ERROR_INITIALIZATION_FAILED);
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &d->features,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = extension_count,
                              .ppEnabledExtensionNames = extensions};
    VkDevice device = VK_NULL_HANDLE;
    VkResult r = create(d->vk.physical_device, &dci, NULL, &device);
    if (r != VK_SUCCESS)
        return failed("vkCreateDevice", r);
    PFN_vkGetDeviceQueue get_queue = (PFN_vkGetDeviceQueue)gdpa(device, "vkGetDeviceQueue");
    VkQueue queue = VK_NULL_HANDLE;
    if (get_queue)
        get_queue(device, family, 0, &queue);
    /* The table holds the device from here on, so that destroy finds it even if loading fails. */
    const bool loaded = test_vk_load(&d->vk, d->gipa, d->vk.instance, d->vk.physical_device, device, queue, family);
    if (!get_queue || !loaded)
        return failed("loading the device functions", VK_ERROR_INITIALIZATION_FAILED);
    return true;
}

test_device_result test_device_create(test_device *d, const test_device_options *o)
{
    const test_device_options defaults = {0};
    if (!o)
        o = &defaults;
    memset(d, 0, sizeof *d);
    atomic_init(&d->errors, 0u);
    atomic_init(&d->warnings, 0u);
    atomic_init(&d->hazards, 0u);
    d->gipa = o->gipa;
    if (!d->gipa) {
        d->loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
        if (d->loader)
            *(void **)&d->gipa = dlsym(d->loader, "vkGetInstanceProcAddr");
        if (!d->gipa) {
            fprintf(stderr, "test device: cannot load libvulkan.so.1\n");
            test_device_destroy(d);
            return TEST_DEVICE_FAILED;
        }
    }
    test_device_result result = create_instance(d, o);
    uint32_t family = UINT32_MAX;
    if (result == TEST_DEVICE_OK && !(pick_device(d, &family) && create_device(d, o->dot, o->cooperative_matrix, family)))
        result = TEST_DEVICE_FAILED;
    if (result != TEST_DEVICE_OK)
        test_device_destroy(d);
    return result;
}

void test_device_destroy(test_device *d)
{
    if (d->vk.device) {
        PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)d->gipa(d->vk.instance, "vkGetDeviceProcAddr");
        PFN_vkDeviceWaitIdle wait_idle = (PFN_vkDeviceWaitIdle)gdpa(d->vk.device, "vkDeviceWaitIdle");
        PFN_vkDestroyDevice destroy_device = (PFN_vkDestroyDevice)gdpa(d->vk.device, "vkDestroyDevice");
        wait_idle(d->vk.device);
        destroy_device(d->vk.device, NULL);
    }
    if (d->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
            (PFN_vkDestroyDebugUtilsMessengerEXT)d->gipa(d->vk.instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy_messenger(d->vk.instance, d->messenger, NULL);
    }
    if (d->vk.instance) {
        PFN_vkDestroyInstance destroy_instance = (PFN_vkDestroyInstance)d->gipa(d->vk.instance, "vkDestroyInstance");
        destroy_instance(d->vk.instance, NULL);
    }
    if (d->loader)
        dlclose(d->loader);
    memset(&d->vk, 0, sizeof d->vk);
    d->messenger = VK_NULL_HANDLE;
    d->loader = NULL;
}

q8conv_external_device test_device_external(const test_device *d)
{
    return (q8conv_external_device){.instance = d->vk.instance,
                                    .physical_device = d->vk.physical_device,
                                    .device = d->vk.device,
                                    .queue = d->vk.queue,
                                    .queue_family_index = d->vk.queue_family_index,
                                    .api_version = d->api_version,
                                    .get_instance_proc_addr = d->gipa,
                                    .enabled_features = &d->features};
}
