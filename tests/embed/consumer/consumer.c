/* The smallest useful libq8conv program: one small convolution of random data on the default
 * device, compared byte for byte with the CPU reference. Built against libq8conv every way a
 * user gets it: from an install prefix (find_package, pkg-config), as a subproject
 * (add_subdirectory) and through FetchContent next to the host's own volk. With
 * CONSUMER_HOST_VOLK the host loads that volk first, and its globals must be exactly as it left
 * them after libq8conv has run: libq8conv compiles a private copy of the host's volk.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CONSUMER_HOST_VOLK
#include <volk.h>
#endif
#include <q8conv.h>

/* Uniform in [lo, hi] (rand(), seeded in main), never 0. */
static int32_t random_nonzero(int32_t lo, int32_t hi)
{
    int32_t v;
    do
        v = lo + rand() % (hi - lo + 1);
    while (v == 0);
    return v;
}

#ifdef CONSUMER_HOST_VOLK
/* The host's volk state: an instance of its own, volk's globals loaded for it. */
typedef struct host_volk {
    VkInstance instance;
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
    PFN_vkGetDeviceProcAddr get_device_proc_addr;
    PFN_vkEnumeratePhysicalDevices enumerate_physical_devices;
} host_volk;

static int host_volk_load(host_volk *h)
{
    const VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1};
    const VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    if (volkInitialize() != VK_SUCCESS || vkCreateInstance(&ci, NULL, &h->instance) != VK_SUCCESS) {
        fprintf(stderr, "consumer: the host's volk could not create an instance\n");
        return 0;
    }
    volkLoadInstance(h->instance);
    h->get_instance_proc_addr = vkGetInstanceProcAddr;
    h->get_device_proc_addr = vkGetDeviceProcAddr;
    h->enumerate_physical_devices = vkEnumeratePhysicalDevices;
    return h->get_device_proc_addr != NULL && h->enumerate_physical_devices != NULL;
}

/* Whether the host's volk globals are as host_volk_load left them, and still work. */
static int host_volk_intact(const host_volk *h)
{
    if (volkGetLoadedInstance() != h->instance || vkGetInstanceProcAddr != h->get_instance_proc_addr ||
        vkGetDeviceProcAddr != h->get_device_proc_addr || vkEnumeratePhysicalDevices != h->enumerate_physical_devices) {
        fprintf(stderr, "consumer: the host's volk globals changed while libq8conv ran\n");
        return 0;
    }
    uint32_t count = 0;
    if (vkEnumeratePhysicalDevices(h->instance, &count, NULL) != VK_SUCCESS || count == 0) {
        fprintf(stderr, "consumer: the host's volk no longer works\n");
        return 0;
    }
    vkDestroyInstance(h->instance, NULL);
    return 1;
}
#endif

int main(void)
{
    /* Q8CONV_SEED replays a run; otherwise the clock seeds it. */
    const char *seed_env = getenv("Q8CONV_SEED");
    const unsigned seed = seed_env && *seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL);
    srand(seed);
#ifdef CONSUMER_HOST_VOLK
    host_volk host;
    if (!host_volk_load(&host))
        return 1;
#endif
    enum { IC = 13, OC = 11, N = 2, H = 3, W = 5 };
    int8_t weights[OC * IC], x[N * IC * H * W], want[N * OC * H * W], got[N * OC * H * W];
    float scales[OC];
    int32_t bias[OC];
    for (int i = 0; i < OC * IC; ++i)
        weights[i] = (int8_t)random_nonzero(-128, 127);
    for (int i = 0; i < N * IC * H * W; ++i)
        x[i] = (int8_t)random_nonzero(-128, 127);
    for (int o = 0; o < OC; ++o) {
        scales[o] = 0.002f + 0.001f * (float)(rand() % 8);
        bias[o] = random_nonzero(-3000, 3000);
    }
    const q8conv_pw_desc desc = {.in_channels = IC, .out_channels = OC,
                                 .input_scale = 0.05f, .input_zero_point = random_nonzero(-20, 20),
                                 .output_scale = 0.5f, .output_zero_point = random_nonzero(-10, 10),
                                 .weights = weights, .weight_scales = scales,
                                 .bias_mode = Q8CONV_BIAS_INT32, .bias = bias,
                                 .activation = (q8conv_activation)(rand() % 3)};
    q8conv_status st = q8conv_pw_reference(&desc, N, H, W, x, want);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "consumer: q8conv_pw_reference: %s\n", q8conv_status_string(st));
        return 1;
    }
    /* A poisoned output, so that a run that writes nothing cannot pass. */
    memset(got, 0x5a, sizeof got);
    q8conv_context *ctx = NULL;
    q8conv_pw *op = NULL;
    q8conv_tensor *in = NULL, *out = NULL;
    st = q8conv_context_create(NULL, &ctx);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pw_create(ctx, &desc, &op);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_create(ctx, &(q8conv_tensor_desc){.n = N, .c = IC, .h = H, .w = W}, &in);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_create(ctx, &(q8conv_tensor_desc){.n = N, .c = OC, .h = H, .w = W}, &out);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_write(in, x, Q8CONV_HOST_NCHW);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pw_run(op, in, out);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_read(out, got, Q8CONV_HOST_NCHW);
    q8conv_tensor_destroy(in);
    q8conv_tensor_destroy(out);
    q8conv_pw_destroy(op);
    q8conv_context_destroy(ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "consumer: %s (seed %u)\n", q8conv_status_string(st), seed);
        return 1;
    }
    if (memcmp(got, want, sizeof got) != 0) {
        fprintf(stderr, "consumer: GPU result differs from q8conv_pw_reference (seed %u; replay with Q8CONV_SEED)\n",
                seed);
        return 1;
    }
#ifdef CONSUMER_HOST_VOLK
    if (!host_volk_intact(&host))
        return 1;
    printf("consumer: the host's volk globals are untouched\n");
#endif
    printf("consumer: libq8conv %d.%d.%d, seed %u, %d output bytes equal the reference\n", Q8CONV_VERSION_MAJOR,
           Q8CONV_VERSION_MINOR, Q8CONV_VERSION_PATCH, seed, (int)sizeof got);
    return 0;
}
