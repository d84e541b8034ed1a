#include "stress.h"

#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---- random numbers ---- */

stress_rng stress_rng_seeded(uint64_t seed)
{
    stress_rng r = {seed};
    /* A few rounds first, so that nearby seeds (case indices) give unrelated streams. */
    for (int i = 0; i < 4; ++i)
        stress_next(&r);
    return r;
}

/* splitmix64: tiny, full period, and good enough for test data. */
uint64_t stress_next(stress_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t stress_range(stress_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(stress_next(r) % ((uint64_t)hi - lo + 1));
}

float stress_uniform(stress_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(stress_next(r) >> 40) / 16777216.0);
}

bool stress_chance(stress_rng *r, unsigned percent)
{
    return stress_range(r, 0, 99) < percent;
}

void stress_fill(stress_rng *r, int8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = stress_next(r);
        memcpy(p + i, &v, 8);
    }
    if (i < n) {
        uint64_t v = stress_next(r);
        memcpy(p + i, &v, n - i);
    }
}

/* ---- random operators ---- */

static int32_t pick_zero_point(stress_rng *r, bool edges)
{
    static const int32_t edge_values[] = {-128, -127, -1, 0, 1, 126, 127};
    if (edges && stress_chance(r, 40))
        return edge_values[stress_range(r, 0, sizeof edge_values / sizeof edge_values[0] - 1)];
    return (int32_t)stress_range(r, 0, 255) - 128;
}

void stress_op_random(stress_op *op, stress_rng *r, const stress_op_params *p)
{
    memset(op, 0, sizeof *op);
    const uint32_t ic = p->ic, oc = p->oc;
    const size_t nw = (size_t)ic * oc;
    op->weights = malloc(nw ? nw : 1);
    op->scales = malloc(sizeof(float) * oc);
    const uint32_t weight_kind = p->edges ? stress_range(r, 0, 9) : 0;
    stress_fill(r, op->weights, nw);
    for (size_t i = 0; i < nw; ++i) {
        if (weight_kind == 8) /* the ends of the range: the largest accumulators */
            op->weights[i] = (op->weights[i] & 1) ? 127 : -128;
        else if (weight_kind == 9 && (op->weights[i] & 7)) /* mostly zero */
            op->weights[i] = 0;
    }
    float sx = stress_uniform(r, 0.004f, 0.1f), sw_sum = 0.0f;
    for (uint32_t o = 0; o < oc; ++o) {
        op->scales[o] = stress_uniform(r, 0.001f, 0.03f);
        sw_sum += op->scales[o];
    }
    /* Uniform int8 data has a standard deviation near 74, an accumulator of IC products one near
     * sqrt(IC) * 74^2. The output scale puts 10 to 80 quantization steps in one such deviation, so
     * both clamps are reached without saturating everything. */
    const float acc_std = sqrtf((float)ic) * 5476.0f;
    const float real_std = sx * (sw_sum / (float)oc) * acc_std;
    float sy = real_std / stress_uniform(r, 10.0f, 80.0f);
    if (p->edges) {
        uint32_t k = stress_range(r, 0, 9);
        if (k == 0)
            sy *= 1e-3f; /* nearly every output saturates */
        else if (k == 1)
            sy *= 1e3f; /* nearly every output is z_y */
    }
    if (p->bias == Q8CONV_BIAS_FLOAT) {
        float *b = malloc(sizeof(float) * oc);
        for (uint32_t o = 0; o < oc; ++o)
            b[o] = stress_uniform(r, -2.0f * real_std, 2.0f * real_std);
        op->bias = b;
    } else if (p->bias == Q8CONV_BIAS_INT32) {
        int32_t *b = malloc(sizeof(int32_t) * oc);
        for (uint32_t o = 0; o < oc; ++o) {
            b[o] = (int32_t)stress_uniform(r, -2.0f * acc_std, 2.0f * acc_std);
            if (p->edges && stress_chance(r, 10))
                b[o] = stress_chance(r, 50) ? (1 << 30) : -(1 << 30);
        }
        op->bias = b;
    }
    op->desc = (q8conv_pw_desc){
        .in_channels = ic,
        .out_channels = oc,
        .input_scale = sx,
        .input_zero_point = pick_zero_point(r, p->edges),
        .output_scale = sy,
        .output_zero_point = pick_zero_point(r, p->edges),
        .weights = op->weights,
        .weight_scales = op->scales,
        .bias_mode = p->bias,
        .bias = op->bias,
        .activation = p->activation,
        .input_layout = p->input_layout,
        .output_layout = p->output_layout,
        .kernel = p->kernel,
    };
}

void stress_op_free(stress_op *op)
{
    free(op->weights);
    free(op->scales);
    free(op->bias);
    memset(op, 0, sizeof *op);
}

/* ---- a checked run ---- */

static void say(char *err, size_t err_size, const char *prefix, const char *fmt, ...)
{
    size_t used = (size_t)snprintf(err, err_size, "%s", prefix);
    if (used >= err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, err_size - used, fmt, ap);
    va_end(ap);
}

bool stress_check_padding(const q8conv_tensor_desc *d, const uint8_t *raw, char *err, size_t err_size)
{
    const uint32_t c4 = (d->c + 3) / 4, w4 = (d->w + 3) / 4;
    const bool blocked = d->layout == Q8CONV_LAYOUT_4W4C;
    const uint32_t widths = blocked ? w4 * 4 : d->w;
    for (uint64_t row = 0; row < (uint64_t)d->n * d->h; ++row)
        for (uint32_t w = 0; w < widths; ++w)
            for (uint32_t cb = 0; cb < c4; ++cb) {
                size_t word = blocked ? ((size_t)(row * w4 + w / 4) * c4 + cb) * 4 + w % 4
                                      : (size_t)(row * d->w + w) * c4 + cb;
                for (uint32_t i = 0; i < 4; ++i) {
                    uint8_t b = raw[word * 4 + i];
                    uint32_t c = cb * 4 + i;
                    if (w >= d->w && b != STRESS_POISON) {
                        say(err, err_size, "", "width-padding byte written (row %llu w %u c %u = 0x%02x)",
                            (unsigned long long)row, w, c, b);
                        return false;
                    }
                    if (w < d->w && c >= d->c && b != 0) {
                        say(err, err_size, "", "padded channel byte not 0 (row %llu w %u c %u = 0x%02x)",
                            (unsigned long long)row, w, c, b);
                        return false;
                    }
                }
            }
    return true;
}

static const char *layout_name(q8conv_layout l)
{
    return l == Q8CONV_LAYOUT_4W4C ? "4W4C" : l == Q8CONV_LAYOUT_4C1W ? "4C1W" : "?";
}

static void nchw_to_nhwc(const int8_t *src, uint32_t n, uint32_t c, uint32_t h, uint32_t w, int8_t *dst)
{
    const size_t hw = (size_t)h * w;
    for (uint32_t b = 0; b < n; ++b)
        for (uint32_t k = 0; k < c; ++k)
            for (size_t p = 0; p < hw; ++p)
                dst[((size_t)b * hw + p) * c + k] = src[((size_t)b * c + k) * hw + p];
}

bool stress_check_run(q8conv_context *ctx, q8conv_pw *op, const q8conv_pw_desc *desc, uint32_t n, uint32_t h,
                      uint32_t w, stress_rng *r, char *err, size_t err_size)
{
    char what[256];
    snprintf(what, sizeof what, "N%u H%u W%u %u->%u bias %d act %d %s->%s kernel %s zx %d zy %d: ", n, h, w,
             desc->in_channels, desc->out_channels, (int)desc->bias_mode, (int)desc->activation,
             layout_name(desc->input_layout), layout_name(desc->output_layout), q8conv_kernel_name(desc->kernel),
             desc->input_zero_point, desc->output_zero_point);
    const uint32_t ic = desc->in_channels, oc = desc->out_channels;
    const size_t in_n = (size_t)n * ic * h * w, out_n = (size_t)n * oc * h * w;
    const q8conv_tensor_desc di = {.n = n, .c = ic, .h = h, .w = w, .layout = desc->input_layout};
    const q8conv_tensor_desc dout = {.n = n, .c = oc, .h = h, .w = w, .layout = desc->output_layout};
    const size_t raw_size = (size_t)q8conv_tensor_size_bytes(&dout);
    int8_t *x = malloc(in_n), *xh = malloc(in_n), *ref = malloc(out_n), *got = malloc(out_n);
    uint8_t *raw = malloc(raw_size ? raw_size : 1);
    q8conv_tensor *ti = NULL, *to = NULL;
    q8conv_status st;
    bool ok = false;
#define STRESS_FAIL(...)                               \
    do {                                               \
        say(err, err_size, what, __VA_ARGS__);         \
        goto done;                                     \
    } while (0)
    if (!x || !xh || !ref || !got || !raw || raw_size == 0)
        STRESS_FAIL("host allocation failed");
    stress_fill(r, x, in_n);
    if ((st = q8conv_pw_reference(desc, n, h, w, x, ref)) != Q8CONV_SUCCESS)
        STRESS_FAIL("reference: %s", q8conv_status_string(st));
    if ((st = q8conv_tensor_create(ctx, &di, &ti)) != Q8CONV_SUCCESS)
        STRESS_FAIL("input tensor_create: %s", q8conv_status_string(st));
    if ((st = q8conv_tensor_create(ctx, &dout, &to)) != Q8CONV_SUCCESS)
        STRESS_FAIL("output tensor_create: %s", q8conv_status_string(st));
    /* Both host layouts, so that both conversions meet every shape. */
    const q8conv_host_layout host = stress_chance(r, 50) ? Q8CONV_HOST_NHWC : Q8CONV_HOST_NCHW;
    if (host == Q8CONV_HOST_NHWC)
        nchw_to_nhwc(x, n, ic, h, w, xh);
    else
        memcpy(xh, x, in_n);
    if ((st = q8conv_tensor_write(ti, xh, host)) != Q8CONV_SUCCESS)
        STRESS_FAIL("tensor_write: %s", q8conv_status_string(st));
    memset(raw, STRESS_POISON, raw_size);
    if ((st = q8conv_tensor_write_raw(to, raw, raw_size)) != Q8CONV_SUCCESS)
        STRESS_FAIL("tensor_write_raw: %s", q8conv_status_string(st));
    if ((st = q8conv_pw_run(op, ti, to)) != Q8CONV_SUCCESS)
        STRESS_FAIL("pw_run: %s", q8conv_status_string(st));
    if ((st = q8conv_tensor_read_raw(to, raw, raw_size)) != Q8CONV_SUCCESS)
        STRESS_FAIL("tensor_read_raw: %s", q8conv_status_string(st));
    char pad[160];
    if (!stress_check_padding(&dout, raw, pad, sizeof pad))
        STRESS_FAIL("%s", pad);
    if ((st = q8conv_tensor_read(to, got, Q8CONV_HOST_NCHW)) != Q8CONV_SUCCESS)
        STRESS_FAIL("tensor_read: %s", q8conv_status_string(st));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < out_n; ++i)
        if (got[i] != ref[i] && bad++ == 0)
            first = i;
    if (bad)
        STRESS_FAIL("%zu of %zu bytes differ; first at %zu: gpu %d ref %d", bad, out_n, first, got[first], ref[first]);
    ok = true;
#undef STRESS_FAIL
done:
    q8conv_tensor_destroy(ti);
    q8conv_tensor_destroy(to);
    free(x);
    free(xh);
    free(ref);
    free(got);
    free(raw);
    return ok;
}

bool stress_check_context_works(q8conv_context *ctx, stress_rng *r, char *err, size_t err_size)
{
    stress_op_params p = {.ic = stress_range(r, 1, 40),
                          .oc = stress_range(r, 1, 24),
                          .bias = (q8conv_bias_mode)stress_range(r, 0, 2),
                          .activation = (q8conv_activation)stress_range(r, 0, 2),
                          .input_layout = (q8conv_layout)stress_range(r, 0, 1),
                          .output_layout = (q8conv_layout)stress_range(r, 0, 1)};
    stress_op t;
    stress_op_random(&t, r, &p);
    q8conv_pw *op = NULL;
    q8conv_status st = q8conv_pw_create(ctx, &t.desc, &op);
    bool ok = st == Q8CONV_SUCCESS;
    if (!ok)
        say(err, err_size, "", "pw_create: %s", q8conv_status_string(st));
    else
        ok = stress_check_run(ctx, op, &t.desc, stress_range(r, 1, 2), stress_range(r, 1, 7), stress_range(r, 1, 13), r,
                              err, err_size);
    q8conv_pw_destroy(op);
    stress_op_free(&t);
    return ok;
}

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
