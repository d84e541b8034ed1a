/* pointwise_chain: libq8conv as a guest inside a host's own Vulkan runtime.
 *
 * The host (this program) owns everything Vulkan: it creates the instance and the device with the
 * plain loader (linked directly, vk* prototypes), allocates its buffers and memory, records its
 * command buffer, places its own barriers and submits on its own queue. libq8conv only records
 * two chained convolutions into that command buffer:
 *
 *     x --conv A--> y --conv B--> z
 *
 * The result is compared byte for byte with q8conv_pw_reference applied twice; the program exits
 * nonzero on any difference. Q8CONV_SEED=S replays the random data, Q8CONV_DEVICE=N picks the
 * physical device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vulkan/vulkan.h>

#include <q8conv.h>

/* ---- random data (xorshift64*, seeded from Q8CONV_SEED or the clock) ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static float rng_uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)((rng_next() >> 40) * (1.0 / 16777216.0));
}

static void rng_fill_i8(int8_t *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        p[i] = (int8_t)(rng_next() >> 56);
}

/* ---- the SEMANTICS.md device layouts, as a host packing them itself would ---- */

/* Byte offset of logical element (n, c, h, w) inside a packed tensor. */
static size_t packed_offset(const q8conv_tensor_desc *d, uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    const size_t c4 = (d->c + 3) / 4;
    if (d->layout == Q8CONV_LAYOUT_4W4C) {
        const size_t w4 = (d->w + 3) / 4;
        const size_t block = (((size_t)n * d->h + h) * w4 + w / 4) * c4 + c / 4;
        return block * 16 + (w % 4) * 4 + c % 4;
    }
    const size_t word = (((size_t)n * d->h + h) * d->w + w) * c4 + c / 4;
    return word * 4 + c % 4;
}

/* NCHW host array -> packed bytes (padding zeroed; its value never matters to the kernel). */
static void pack_nchw(const q8conv_tensor_desc *d, const int8_t *src, uint8_t *dst)
{
    memset(dst, 0, (size_t)q8conv_tensor_size_bytes(d));
    size_t i = 0;
    for (uint32_t n = 0; n < d->n; ++n)
        for (uint32_t c = 0; c < d->c; ++c)
            for (uint32_t h = 0; h < d->h; ++h)
                for (uint32_t w = 0; w < d->w; ++w)
                    dst[packed_offset(d, n, c, h, w)] = (uint8_t)src[i++];
}

static void unpack_nchw(const q8conv_tensor_desc *d, const uint8_t *src, int8_t *dst)
{
    size_t i = 0;
    for (uint32_t n = 0; n < d->n; ++n)
        for (uint32_t c = 0; c < d->c; ++c)
            for (uint32_t h = 0; h < d->h; ++h)
                for (uint32_t w = 0; w < d->w; ++w)
                    dst[i++] = (int8_t)src[packed_offset(d, n, c, h, w)];
}

/* ---- one convolution's parameters ---- */

typedef struct conv_params {
    q8conv_pw_desc desc;
    int8_t *weights;
    float *scales;
    void *bias;
} conv_params;

/* Random weights and an output scale that spreads the results over the int8 range (about 40
 * quantization steps per standard deviation of the accumulator). */
static int conv_params_init(conv_params *p, uint32_t ic, uint32_t oc, float input_scale, int32_t input_zero_point,
                            q8conv_bias_mode bias_mode, q8conv_activation activation, q8conv_layout in_layout,
                            q8conv_layout out_layout)
{
    memset(p, 0, sizeof *p);
    p->weights = malloc((size_t)ic * oc);
    p->scales = malloc(sizeof(float) * oc);
    p->bias = bias_mode == Q8CONV_BIAS_NONE ? NULL : malloc(4u * oc);
    if (!p->weights || !p->scales || (bias_mode != Q8CONV_BIAS_NONE && !p->bias))
        return 0;
    rng_fill_i8(p->weights, (size_t)ic * oc);
    float scale_sum = 0.0f;
    for (uint32_t o = 0; o < oc; ++o) {
        p->scales[o] = rng_uniform(0.001f, 0.02f);
        scale_sum += p->scales[o];
    }
    const float acc_std = sqrtf((float)ic) * 74.0f * 74.0f;
    const float real_std = input_scale * (scale_sum / (float)oc) * acc_std;
    for (uint32_t o = 0; o < oc; ++o) {
        if (bias_mode == Q8CONV_BIAS_FLOAT)
            ((float *)p->bias)[o] = rng_uniform(-real_std, real_std);
        else if (bias_mode == Q8CONV_BIAS_INT32)
            ((int32_t *)p->bias)[o] = (int32_t)rng_uniform(-acc_std, acc_std);
    }
    p->desc = (q8conv_pw_desc){.in_channels = ic,
                               .out_channels = oc,
                               .input_scale = input_scale,
                               .input_zero_point = input_zero_point,
                               .output_scale = real_std / 40.0f,
                               .output_zero_point = (int32_t)(rng_next() % 61) - 30,
                               .weights = p->weights,
                               .weight_scales = p->scales,
                               .bias_mode = bias_mode,
                               .bias = p->bias,
                               .activation = activation,
                               .input_layout = in_layout,
                               .output_layout = out_layout};
    return 1;
}

static void conv_params_free(conv_params *p)
{
    free(p->weights);
    free(p->scales);
    free(p->bias);
}

/* ---- the host's Vulkan objects ---- */

typedef struct host {
    VkInstance instance;
    uint32_t api_version;
    VkPhysicalDevice physical_device;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memory_props;
    uint32_t queue_family;
    VkDevice device;
    VkQueue queue;
    VkCommandPool command_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    VkBuffer io_buffer, scratch_buffer;
    VkDeviceMemory io_memory, scratch_memory;
    VkDeviceSize io_size, scratch_size;
    void *io_mapped;
    /* The feature chain given to vkCreateDevice; libq8conv reads it to learn what is enabled. */
    VkPhysicalDeviceFeatures2 features;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot_features;
} host;

#define VK_OK(expr)                                                                            \
    do {                                                                                       \
        VkResult r_ = (expr);                                                                  \
        if (r_ != VK_SUCCESS) {                                                                \
            fprintf(stderr, "pointwise_chain: %s failed (VkResult %d)\n", #expr, (int)r_);     \
            return 0;                                                                          \
        }                                                                                      \
    } while (0)

static int host_create_device(host *h)
{
    uint32_t loader_version = VK_API_VERSION_1_0;
    VK_OK(vkEnumerateInstanceVersion(&loader_version));
    if (loader_version < VK_API_VERSION_1_1) {
        fprintf(stderr, "pointwise_chain: the Vulkan loader is older than 1.1\n");
        return 0;
    }
    h->api_version = loader_version < VK_API_VERSION_1_3 ? VK_MAKE_API_VERSION(0, 1, 1, 0) : VK_API_VERSION_1_3;
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "pointwise_chain",
                             .apiVersion = h->api_version};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VK_OK(vkCreateInstance(&ici, NULL, &h->instance));

    uint32_t count = 0;
    VK_OK(vkEnumeratePhysicalDevices(h->instance, &count, NULL));
    const char *env = getenv("Q8CONV_DEVICE");
    uint32_t index = env && *env ? (uint32_t)strtoul(env, NULL, 10) : 0;
    if (index >= count) {
        fprintf(stderr, "pointwise_chain: no physical device %u (%u found)\n", index, count);
        return 0;
    }
    VkPhysicalDevice *devices = malloc(sizeof *devices * count);
    if (!devices)
        return 0;
    VkResult r = vkEnumeratePhysicalDevices(h->instance, &count, devices);
    h->physical_device = index < count ? devices[index] : VK_NULL_HANDLE;
    free(devices);
    if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || !h->physical_device)
        return 0;
    vkGetPhysicalDeviceProperties(h->physical_device, &h->props);
    vkGetPhysicalDeviceMemoryProperties(h->physical_device, &h->memory_props);
    if (h->props.apiVersion < VK_API_VERSION_1_1) {
        fprintf(stderr, "pointwise_chain: %s is a Vulkan 1.0 device\n", h->props.deviceName);
        return 0;
    }

    uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(h->physical_device, &families, NULL);
    VkQueueFamilyProperties qf[16];
    if (families > 16)
        families = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(h->physical_device, &families, qf);
    h->queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < families && h->queue_family == UINT32_MAX; ++i)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT)
            h->queue_family = i;
    if (h->queue_family == UINT32_MAX) {
        fprintf(stderr, "pointwise_chain: no compute queue\n");
        return 0;
    }

    /* Ask libq8conv what its fast path needs, and enable exactly that: the library uses the dot
     * product kernel only if the feature is in the chain we pass as enabled_features. */
    const char *extensions[4];
    uint32_t extension_count = 4;
    bool wants_dot = false;
    q8conv_status st = q8conv_device_requirements(vkGetInstanceProcAddr, h->instance, h->physical_device, extensions,
                                                  &extension_count, &wants_dot);
    if (st != Q8CONV_SUCCESS || extension_count > 4) {
        fprintf(stderr, "pointwise_chain: q8conv_device_requirements: %s\n", q8conv_status_string(st));
        return 0;
    }
    h->dot_features = (VkPhysicalDeviceShaderIntegerDotProductFeatures){
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
        .shaderIntegerDotProduct = VK_TRUE};
    h->features = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                              .pNext = wants_dot ? &h->dot_features : NULL};

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
    VK_OK(vkCreateDevice(h->physical_device, &dci, NULL, &h->device));
    vkGetDeviceQueue(h->device, h->queue_family, 0, &h->queue);

    VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .queueFamilyIndex = h->queue_family};
    VK_OK(vkCreateCommandPool(h->device, &cpci, NULL, &h->command_pool));
    VkCommandBufferAllocateInfo cbai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                        .commandPool = h->command_pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                        .commandBufferCount = 1};
    VK_OK(vkAllocateCommandBuffers(h->device, &cbai, &h->cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_OK(vkCreateFence(h->device, &fci, NULL, &h->fence));
    return 1;
}

static uint32_t find_memory_type(const host *h, uint32_t allowed, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < h->memory_props.memoryTypeCount; ++i)
        if ((allowed & (1u << i)) && (h->memory_props.memoryTypes[i].propertyFlags & want) == want)
            return i;
    return UINT32_MAX;
}

/* A buffer with its own memory. The host reads and writes the io buffer through a coherent
 * mapping; the scratch buffer (the intermediate tensor) prefers device-local memory. */
static int host_create_buffer(host *h, VkDeviceSize size, int host_visible, VkBuffer *buffer, VkDeviceMemory *memory,
                              void **mapped)
{
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VK_OK(vkCreateBuffer(h->device, &bci, NULL, buffer));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(h->device, *buffer, &req);
    uint32_t type = host_visible ? find_memory_type(h, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                                                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                                 : find_memory_type(h, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (type == UINT32_MAX && !host_visible)
        type = find_memory_type(h, req.memoryTypeBits, 0);
    if (type == UINT32_MAX) {
        fprintf(stderr, "pointwise_chain: no suitable memory type\n");
        return 0;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    VK_OK(vkAllocateMemory(h->device, &mai, NULL, memory));
    VK_OK(vkBindBufferMemory(h->device, *buffer, *memory, 0));
    if (mapped)
        VK_OK(vkMapMemory(h->device, *memory, 0, VK_WHOLE_SIZE, 0, mapped));
    return 1;
}

static void host_destroy(host *h)
{
    if (h->device) {
        vkDeviceWaitIdle(h->device);
        vkDestroyBuffer(h->device, h->io_buffer, NULL);
        vkDestroyBuffer(h->device, h->scratch_buffer, NULL);
        vkFreeMemory(h->device, h->io_memory, NULL);
        vkFreeMemory(h->device, h->scratch_memory, NULL);
        vkDestroyFence(h->device, h->fence, NULL);
        vkDestroyCommandPool(h->device, h->command_pool, NULL);
        vkDestroyDevice(h->device, NULL);
    }
    if (h->instance)
        vkDestroyInstance(h->instance, NULL);
}

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

/* A barrier on one tensor's byte range: only the host knows which of its buffers a tensor lives in. */
static void tensor_barrier(VkCommandBuffer cmd, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize size,
                           VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkBufferMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
                               .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                               .dstAccessMask = dst_access,
                               .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                               .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                               .buffer = buffer,
                               .offset = offset,
                               .size = size};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, dst_stage, 0, 0, NULL, 1, &b, 0, NULL);
}

#define Q8_OK(expr)                                                                            \
    do {                                                                                       \
        q8conv_status s_ = (expr);                                                             \
        if (s_ != Q8CONV_SUCCESS) {                                                            \
            fprintf(stderr, "pointwise_chain: %s: %s\n", #expr, q8conv_status_string(s_));     \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

int main(void)
{
    const char *seed_env = getenv("Q8CONV_SEED");
    const uint64_t seed = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL);
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    printf("pointwise_chain: seed %llu (rerun with Q8CONV_SEED)\n", (unsigned long long)seed);

    /* Channels and width off the multiples of 4, so both layouts carry padding. */
    const uint32_t N = 2, H = 5, W = 7, C_IN = 19, C_MID = 24, C_OUT = 13;
    int ok = 0;
    host h = {0};
    conv_params a = {0}, b = {0};
    q8conv_context *ctx = NULL;
    q8conv_pw *conv_a = NULL, *conv_b = NULL;
    q8conv_tensor *x = NULL, *y = NULL, *z = NULL;
    int8_t *x_host = NULL, *y_ref = NULL, *z_ref = NULL, *z_got = NULL;

    if (!host_create_device(&h))
        goto done;
    if (!conv_params_init(&a, C_IN, C_MID, 0.02f, -7, Q8CONV_BIAS_INT32, Q8CONV_ACTIVATION_RELU, Q8CONV_LAYOUT_4C1W,
                          Q8CONV_LAYOUT_4W4C) ||
        !conv_params_init(&b, C_MID, C_OUT, a.desc.output_scale, a.desc.output_zero_point, Q8CONV_BIAS_FLOAT,
                          Q8CONV_ACTIVATION_NONE, Q8CONV_LAYOUT_4W4C, Q8CONV_LAYOUT_4C1W))
        goto done;

    /* Import the host's device: libq8conv records with it and never destroys it. */
    q8conv_external_device ext = {.instance = h.instance,
                                  .physical_device = h.physical_device,
                                  .device = h.device,
                                  .queue = h.queue,
                                  .queue_family_index = h.queue_family,
                                  .api_version = h.api_version,
                                  .get_instance_proc_addr = vkGetInstanceProcAddr,
                                  .enabled_features = &h.features};
    Q8_OK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx));
    q8conv_context_info info;
    Q8_OK(q8conv_context_get_info(ctx, &info));
    printf("pointwise_chain: %s, kernel %s\n", info.device_name, q8conv_kernel_name(info.default_kernel));

    Q8_OK(q8conv_pw_create(ctx, &a.desc, &conv_a));
    Q8_OK(q8conv_pw_create(ctx, &b.desc, &conv_b));

    /* The host's memory plan: x and z share one host-visible buffer, y sits at a non-zero offset
     * of a scratch buffer, every tensor at an offset aligned for storage-buffer binding. */
    const q8conv_tensor_desc xd = {.n = N, .c = C_IN, .h = H, .w = W, .layout = Q8CONV_LAYOUT_4C1W};
    const q8conv_tensor_desc yd = {.n = N, .c = C_MID, .h = H, .w = W, .layout = Q8CONV_LAYOUT_4W4C};
    const q8conv_tensor_desc zd = {.n = N, .c = C_OUT, .h = H, .w = W, .layout = Q8CONV_LAYOUT_4C1W};
    VkDeviceSize align = h.props.limits.minStorageBufferOffsetAlignment;
    if (align < 16)
        align = 16; /* libq8conv also wants 16 (its 4W4C blocks) */
    const VkDeviceSize x_off = 0, x_size = q8conv_tensor_size_bytes(&xd);
    const VkDeviceSize z_off = align_up(x_size, align), z_size = q8conv_tensor_size_bytes(&zd);
    const VkDeviceSize y_off = align, y_size = q8conv_tensor_size_bytes(&yd);
    h.io_size = z_off + z_size;
    h.scratch_size = y_off + y_size;
    if (!host_create_buffer(&h, h.io_size, 1, &h.io_buffer, &h.io_memory, &h.io_mapped) ||
        !host_create_buffer(&h, h.scratch_size, 0, &h.scratch_buffer, &h.scratch_memory, NULL))
        goto done;
    Q8_OK(q8conv_tensor_wrap(ctx, &xd, h.io_buffer, x_off, &x));
    Q8_OK(q8conv_tensor_wrap(ctx, &yd, h.scratch_buffer, y_off, &y));
    Q8_OK(q8conv_tensor_wrap_sized(ctx, &zd, h.io_buffer, z_off, h.io_size, &z));

    const size_t x_count = (size_t)N * C_IN * H * W, y_count = (size_t)N * C_MID * H * W,
                 z_count = (size_t)N * C_OUT * H * W;
    x_host = malloc(x_count);
    y_ref = malloc(y_count);
    z_ref = malloc(z_count);
    z_got = malloc(z_count);
    if (!x_host || !y_ref || !z_ref || !z_got)
        goto done;
    rng_fill_i8(x_host, x_count);
    pack_nchw(&xd, x_host, (uint8_t *)h.io_mapped + x_off);
    /* Poison z so that a dispatch that writes nothing cannot pass. */
    memset((uint8_t *)h.io_mapped + z_off, 0x5a, (size_t)z_size);

    /* The host's command buffer. Host writes to coherent memory before vkQueueSubmit are visible
     * to the device without a barrier (the submission's implicit host-write dependency). */
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (vkBeginCommandBuffer(h.cmd, &bi) != VK_SUCCESS)
        goto done;
    Q8_OK(q8conv_pw_record(conv_a, h.cmd, x, y));
    /* Conv A wrote y in the compute stage; conv B reads it there. */
    tensor_barrier(h.cmd, h.scratch_buffer, y_off, y_size, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT);
    Q8_OK(q8conv_pw_record(conv_b, h.cmd, y, z));
    /* The host reads z through its mapping once the fence has signalled. */
    tensor_barrier(h.cmd, h.io_buffer, z_off, z_size, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    if (vkEndCommandBuffer(h.cmd) != VK_SUCCESS)
        goto done;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &h.cmd};
    if (vkQueueSubmit(h.queue, 1, &si, h.fence) != VK_SUCCESS ||
        vkWaitForFences(h.device, 1, &h.fence, VK_TRUE, UINT64_MAX) != VK_SUCCESS) {
        fprintf(stderr, "pointwise_chain: submission failed\n");
        goto done;
    }
    unpack_nchw(&zd, (const uint8_t *)h.io_mapped + z_off, z_got);

    Q8_OK(q8conv_pw_reference(&a.desc, N, H, W, x_host, y_ref));
    Q8_OK(q8conv_pw_reference(&b.desc, N, H, W, y_ref, z_ref));
    size_t mismatches = 0, first = 0;
    for (size_t i = 0; i < z_count; ++i)
        if (z_got[i] != z_ref[i] && mismatches++ == 0)
            first = i;
    if (mismatches) {
        fprintf(stderr, "pointwise_chain: %zu of %zu bytes differ from the reference; first at %zu: got %d, want %d\n",
                mismatches, z_count, first, z_got[first], z_ref[first]);
        goto done;
    }
    printf("pointwise_chain: %zu output bytes equal the CPU reference\n", z_count);
    ok = 1;

done:
    /* libq8conv's objects first (they only reference the host's handles), then the host's own. */
    q8conv_tensor_destroy(x);
    q8conv_tensor_destroy(y);
    q8conv_tensor_destroy(z);
    q8conv_pw_destroy(conv_a);
    q8conv_pw_destroy(conv_b);
    q8conv_context_destroy(ctx);
    host_destroy(&h);
    conv_params_free(&a);
    conv_params_free(&b);
    free(x_host);
    free(y_ref);
    free(z_ref);
    free(z_got);
    if (!ok)
        fprintf(stderr, "pointwise_chain: FAILED (seed %llu)\n", (unsigned long long)seed);
    return ok ? 0 : 1;
}
