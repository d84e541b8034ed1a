/* Pipeline statistics (VK_KHR_pipeline_executable_properties): q8conv_pw_statistics of an op's
 * last recording, q8conv_kernel_statistics on a compile-only context, and what a compile-only
 * context refuses. On the default device: where the driver reports no statistics (lavapipe of
 * Mesa 22.3) the public call must say UNSUPPORTED; where it does (RADV, NVIDIA) the count-then-fill
 * contract is checked on what it reports. Then, on a device of the test's own seen through an
 * interposed vkGetInstanceProcAddr that offers the extension and answers the two queries itself
 * (known statistics of each of the four formats, naming the pipeline asked about): that the
 * library enables it on an imported device only where the caller's chain turns it on, creates its
 * pipelines with CAPTURE_STATISTICS, reports exactly the pipeline the last run or record bound,
 * and that q8conv_kernel_statistics leaves no pipeline behind. Usage: q8conv-test-statistics */
#include <string.h>

#include "common.h"
#include "internal.h"
#include "test_device.h"

static bool well_formed(const q8conv_statistic *s)
{
    return memchr(s->executable, 0, sizeof s->executable) && memchr(s->name, 0, sizeof s->name) && s->name[0] &&
           s->executable[0];
}

/* Count-then-fill on `count` statistics; out is poisoned around each call. */
static void check_fill(q8conv_pw *op, uint32_t count)
{
    q8conv_statistic *s = calloc(count + 1u, sizeof *s);
    q8conv_statistic *poison = calloc(count + 1u, sizeof *s);
    memset(poison, TEST_POISON, (count + 1u) * sizeof *s);
    memcpy(s, poison, (count + 1u) * sizeof *s);
    uint32_t n = 12345;
    if (count > 0) {
        CHECK(q8conv_pw_statistics(op, s, count - 1u, &n) == Q8CONV_ERROR_INVALID_ARGUMENT && n == count,
              "capacity %u of %u: count %u", count - 1u, count, n);
        CHECK(memcmp(s, poison, (count + 1u) * sizeof *s) == 0, "a refused call wrote statistics");
    }
    n = 12345;
    CHECK_OK(q8conv_pw_statistics(op, s, count + 1u, &n));
    CHECK(n == count, "filled %u of %u", n, count);
    CHECK(memcmp(&s[count], &poison[count], sizeof *s) == 0, "wrote past the statistics it reported");
    for (uint32_t i = 0; i < n && i < count; ++i) {
        CHECK(well_formed(&s[i]), "statistic %u: empty or unterminated name", i);
        if (i < 8)
            printf("  %s / %s = %g\n", s[i].executable, s[i].name, s[i].value);
    }
    free(s);
    free(poison);
}

static void op_statistics(void)
{
    q8conv_context *ctx = test_context(0);
    if (!ctx)
        return;
    const bool supported = ctx->pipeline_statistics;
    printf("statistics: %s, pipeline statistics %s\n", ctx->info.device_name, supported ? "reported" : "not reported");
    test_op t;
    test_op_random(&t, test_process_rng(), &(test_op_params){.ic = test_range(1, 70), .oc = test_range(1, 70),
                                                             .bias = Q8CONV_BIAS_FLOAT});
    q8conv_pw *op = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    uint32_t n = 12345;
    CHECK(q8conv_pw_statistics(NULL, NULL, 0, &n) == Q8CONV_ERROR_INVALID_ARGUMENT && n == 12345, "NULL op");
    CHECK(q8conv_pw_statistics(op, NULL, 0, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL count");
    q8conv_status st = q8conv_pw_statistics(op, NULL, 0, &n);
    if (!supported) {
        CHECK(st == Q8CONV_ERROR_UNSUPPORTED && n == 12345, "no statistics on this device: %s", q8conv_status_string(st));
    } else {
        /* Before the first recording there is nothing to report. */
        CHECK(st == Q8CONV_SUCCESS && n == 0, "before any run: %s, %u", q8conv_status_string(st), n);
    }
    char err[768];
    const uint32_t h = test_range(1, 9), w = test_range(1, 40);
    CHECK(op && test_check_run(ctx, op, &t.desc, 1, h, w, test_process_rng(), err, sizeof err), "%s", err);
    st = q8conv_pw_statistics(op, NULL, 0, &n);
    if (supported) {
        CHECK(st == Q8CONV_SUCCESS && n > 0, "after a run: %s, %u statistics", q8conv_status_string(st), n);
        if (st == Q8CONV_SUCCESS)
            check_fill(op, n);
    } else {
        CHECK(st == Q8CONV_ERROR_UNSUPPORTED, "after a run: %s", q8conv_status_string(st));
    }
    q8conv_pw_destroy(op);
    test_op_free(&t);
    test_check_validation(ctx);
    q8conv_context_destroy(ctx);
}

static void compile_only(void)
{
    q8conv_context *ctx = NULL;
    CHECK_OK(q8conv_context_create_compile_only(0, &ctx));
    if (!ctx)
        return;
    CHECK(q8conv_context_create_compile_only(0, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL out");
    /* Nothing that needs memory or the queue. */
    test_op t;
    test_op_random(&t, test_process_rng(), &(test_op_params){.ic = 8, .oc = 8});
    q8conv_pw *op = NULL;
    CHECK(q8conv_pw_create(ctx, &t.desc, &op) == Q8CONV_ERROR_UNSUPPORTED && !op, "pw_create on a compile-only context");
    q8conv_tensor *x = NULL;
    CHECK(q8conv_tensor_create(ctx, &(q8conv_tensor_desc){.n = 1, .c = 8, .h = 2, .w = 2}, &x) ==
                  Q8CONV_ERROR_UNSUPPORTED && !x,
          "tensor_create on a compile-only context");
    q8conv_sequence *seq = NULL;
    CHECK(q8conv_sequence_create(ctx, &seq) == Q8CONV_ERROR_UNSUPPORTED && !seq, "sequence_create on a compile-only context");
    test_op_free(&t);

    /* Every line the device runs, in its default pipeline, then the bad arguments. */
    uint32_t line_dot = 0;
    CHECK_OK(q8conv_kernel_resolve(Q8CONV_KERNEL_AUTO, ctx->caps, &line_dot));
    for (uint32_t l = 0; l < Q8CONV_KERNEL_LINE_COUNT; ++l) {
        const bool runs = (q8conv_kernel_lines[l].needs & ~ctx->caps) == 0;
        uint32_t n = 12345;
        q8conv_status st = q8conv_kernel_statistics(ctx, &(q8conv_kernel_pipeline){.line = l}, NULL, 0, &n);
        if (!runs || !ctx->pipeline_statistics) {
            CHECK(st == Q8CONV_ERROR_UNSUPPORTED && n == 12345, "line %u: %s", l, q8conv_status_string(st));
            continue;
        }
        CHECK(st == Q8CONV_SUCCESS && n > 0, "line %u: %s, %u statistics", l, q8conv_status_string(st), n);
    }
    uint32_t n = 12345;
    const q8conv_kernel_pipeline bad[] = {
        {.line = Q8CONV_KERNEL_LINE_COUNT},
        {.line = line_dot, .in_layout = (q8conv_layout)2},
        {.line = line_dot, .out_layout = (q8conv_layout)-1},
        {.line = line_dot, .input_type = (q8conv_dtype)2},
        {.line = line_dot, .bias_mode = (q8conv_bias_mode)3},
    };
    for (uint32_t i = 0; i < sizeof bad / sizeof bad[0]; ++i)
        CHECK(q8conv_kernel_statistics(ctx, &bad[i], NULL, 0, &n) == Q8CONV_ERROR_INVALID_ARGUMENT && n == 12345,
              "bad pipeline %u accepted", i);
    CHECK(q8conv_kernel_statistics(ctx, NULL, NULL, 0, &n) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL pipeline");
    CHECK(q8conv_kernel_statistics(NULL, &bad[1], NULL, 0, &n) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL context");
    test_check_validation(ctx);
    /* Destroyed without a wait: it never submitted (RADV's null device crashes in a wait). */
    q8conv_context_destroy(ctx);
}

/* ==== a driver that reports statistics, on any device ==== */

static struct {
    PFN_vkGetInstanceProcAddr real_gipa;
    PFN_vkGetDeviceProcAddr real_gdpa;
    PFN_vkEnumerateDeviceExtensionProperties real_enum_ext;
    PFN_vkGetPhysicalDeviceFeatures2 real_features2;
    PFN_vkCreateComputePipelines real_create;
    PFN_vkDestroyPipeline real_destroy;
    long live, created, captured; /* pipelines alive; created; created with CAPTURE_STATISTICS */
    VkPipeline last_created;
} fk;

static VKAPI_ATTR VkResult VKAPI_CALL fake_enum_ext(VkPhysicalDevice pd, const char *layer, uint32_t *n,
                                                    VkExtensionProperties *props)
{
    uint32_t real = 0;
    VkResult r = fk.real_enum_ext(pd, layer, &real, NULL);
    if (r != VK_SUCCESS || layer)
        return layer ? fk.real_enum_ext(pd, layer, n, props) : r;
    if (!props) {
        *n = real + 1;
        return VK_SUCCESS;
    }
    if (*n < real + 1)
        return VK_INCOMPLETE; /* the library always asks with the count it was given */
    r = fk.real_enum_ext(pd, NULL, &real, props);
    memset(&props[real], 0, sizeof props[real]);
    strcpy(props[real].extensionName, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    props[real].specVersion = 1;
    *n = real + 1;
    return r;
}

static VKAPI_ATTR void VKAPI_CALL fake_features2(VkPhysicalDevice pd, VkPhysicalDeviceFeatures2 *f)
{
    fk.real_features2(pd, f);
    for (VkBaseOutStructure *s = (VkBaseOutStructure *)f; s; s = s->pNext)
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR)
            ((VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR *)s)->pipelineExecutableInfo = VK_TRUE;
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_create(VkDevice dev, VkPipelineCache cache, uint32_t n,
                                                  const VkComputePipelineCreateInfo *ci, const VkAllocationCallbacks *a,
                                                  VkPipeline *out)
{
    /* The real device has no such extension: the flag is counted here and not passed on. */
    VkComputePipelineCreateInfo c = ci[0];
    CHECK(n == 1, "%u pipelines in one call", n);
    fk.captured += (c.flags & VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR) != 0;
    c.flags &= ~(VkPipelineCreateFlags)VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
    VkResult r = fk.real_create(dev, cache, 1, &c, a, out);
    if (r == VK_SUCCESS) {
        fk.live++;
        fk.created++;
        fk.last_created = out[0];
    }
    return r;
}

static VKAPI_ATTR void VKAPI_CALL fake_destroy(VkDevice dev, VkPipeline p, const VkAllocationCallbacks *a)
{
    fk.live -= p != VK_NULL_HANDLE;
    fk.real_destroy(dev, p, a);
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_executables(VkDevice dev, const VkPipelineInfoKHR *info, uint32_t *n,
                                                       VkPipelineExecutablePropertiesKHR *props)
{
    (void)dev;
    (void)info;
    if (props && *n >= 1) {
        strcpy(props[0].name, "Fake Compute Shader");
        strcpy(props[0].description, "one executable");
        props[0].stages = VK_SHADER_STAGE_COMPUTE_BIT;
        props[0].subgroupSize = 32;
    }
    *n = 1;
    return VK_SUCCESS;
}

/* Four statistics, one of each format; the last names the pipeline (its handle's low 32 bits). */
#define FAKE_STATS 4
static VKAPI_ATTR VkResult VKAPI_CALL fake_statistics(VkDevice dev, const VkPipelineExecutableInfoKHR *info, uint32_t *n,
                                                      VkPipelineExecutableStatisticKHR *s)
{
    (void)dev;
    CHECK(info->executableIndex == 0, "executable %u asked for", info->executableIndex);
    if (s) {
        CHECK(*n >= FAKE_STATS, "asked with room for %u", *n);
        static const char *names[FAKE_STATS] = {"Spilled VGPRs", "Delta", "Ratio", "Pipeline"};
        for (uint32_t i = 0; i < FAKE_STATS && i < *n; ++i)
            strcpy(s[i].name, names[i]);
        s[0].format = VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR, s[0].value.b32 = VK_TRUE;
        s[1].format = VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR, s[1].value.i64 = -7;
        s[2].format = VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR, s[2].value.f64 = 0.25;
        s[3].format = VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR;
        s[3].value.u64 = (uint64_t)info->pipeline & 0xffffffffu;
    }
    *n = FAKE_STATS;
    return VK_SUCCESS;
}

static PFN_vkVoidFunction VKAPI_PTR fake_gdpa(VkDevice device, const char *name)
{
    if (!strcmp(name, "vkCreateComputePipelines"))
        return (PFN_vkVoidFunction)fake_create;
    if (!strcmp(name, "vkDestroyPipeline"))
        return (PFN_vkVoidFunction)fake_destroy;
    if (!strcmp(name, "vkGetPipelineExecutablePropertiesKHR"))
        return (PFN_vkVoidFunction)fake_executables;
    if (!strcmp(name, "vkGetPipelineExecutableStatisticsKHR"))
        return (PFN_vkVoidFunction)fake_statistics;
    if (!strcmp(name, "vkGetDeviceProcAddr"))
        return (PFN_vkVoidFunction)fake_gdpa;
    return fk.real_gdpa(device, name);
}

static PFN_vkVoidFunction VKAPI_PTR fake_gipa(VkInstance instance, const char *name)
{
    if (!strcmp(name, "vkEnumerateDeviceExtensionProperties"))
        return (PFN_vkVoidFunction)fake_enum_ext;
    if (!strcmp(name, "vkGetPhysicalDeviceFeatures2"))
        return (PFN_vkVoidFunction)fake_features2;
    if (!strcmp(name, "vkGetDeviceProcAddr"))
        return (PFN_vkVoidFunction)fake_gdpa;
    if (!strcmp(name, "vkGetInstanceProcAddr"))
        return (PFN_vkVoidFunction)fake_gipa;
    return fk.real_gipa(instance, name);
}

/* The statistics of `op` name `want` (its last recording's one pipeline). */
static void check_reports(q8conv_pw *op, VkPipeline want, const char *when)
{
    q8conv_statistic s[FAKE_STATS];
    uint32_t n = 0;
    CHECK_OK(q8conv_pw_statistics(op, s, FAKE_STATS, &n));
    CHECK(n == FAKE_STATS, "%s: %u statistics", when, n);
    if (n != FAKE_STATS)
        return;
    CHECK(!strcmp(s[0].executable, "Fake Compute Shader") && !strcmp(s[3].executable, "Fake Compute Shader"),
          "%s: executable '%s'", when, s[0].executable);
    CHECK(!strcmp(s[0].name, "Spilled VGPRs") && s[0].value == 1.0 && !strcmp(s[1].name, "Delta") && s[1].value == -7.0 &&
              !strcmp(s[2].name, "Ratio") && s[2].value == 0.25 && !strcmp(s[3].name, "Pipeline"),
          "%s: statistics converted wrongly", when);
    CHECK(s[3].value == (double)((uint64_t)want & 0xffffffffu), "%s: reports pipeline %g, want %llu", when, s[3].value,
          (unsigned long long)((uint64_t)want & 0xffffffffu));
}

static void interposed(bool caller_enables)
{
    test_device dev;
    if (test_device_create(&dev, &(test_device_options){.validation = test_validation_requested()}) != TEST_DEVICE_OK) {
        CHECK(0, "cannot create the test's own Vulkan device");
        test_device_destroy(&dev);
        return;
    }
    memset(&fk, 0, sizeof fk);
    fk.real_gipa = dev.gipa;
    fk.real_gdpa = (PFN_vkGetDeviceProcAddr)dev.gipa(dev.vk.instance, "vkGetDeviceProcAddr");
    fk.real_enum_ext = (PFN_vkEnumerateDeviceExtensionProperties)dev.gipa(dev.vk.instance,
                                                                          "vkEnumerateDeviceExtensionProperties");
    fk.real_features2 = (PFN_vkGetPhysicalDeviceFeatures2)dev.gipa(dev.vk.instance, "vkGetPhysicalDeviceFeatures2");
    fk.real_create = (PFN_vkCreateComputePipelines)fk.real_gdpa(dev.vk.device, "vkCreateComputePipelines");
    fk.real_destroy = (PFN_vkDestroyPipeline)fk.real_gdpa(dev.vk.device, "vkDestroyPipeline");
    /* What the caller says it enabled: its own chain, plus the statistics feature when it asks. */
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR exe = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
        .pNext = dev.features.pNext,
        .pipelineExecutableInfo = VK_TRUE};
    VkPhysicalDeviceFeatures2 chain = dev.features;
    if (caller_enables)
        chain.pNext = &exe;
    q8conv_external_device ext = test_device_external(&dev);
    ext.get_instance_proc_addr = fake_gipa;
    ext.enabled_features = &chain;
    q8conv_context *ctx = NULL;
    CHECK_OK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx));
    test_op t;
    test_op_random(&t, test_process_rng(), &(test_op_params){.ic = test_range(1, 40), .oc = test_range(1, 40)});
    q8conv_pw *op = NULL;
    if (ctx)
        CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    char err[768];
    uint32_t n = 12345;
    if (op && !caller_enables) {
        CHECK(test_check_run(ctx, op, &t.desc, 1, 2, 5, test_process_rng(), err, sizeof err), "%s", err);
        CHECK(q8conv_pw_statistics(op, NULL, 0, &n) == Q8CONV_ERROR_UNSUPPORTED && n == 12345,
              "statistics on a device whose caller did not enable them");
        CHECK(fk.captured == 0, "%ld pipelines captured statistics the caller did not enable", fk.captured);
    } else if (op) {
        CHECK(q8conv_pw_statistics(op, NULL, 0, &n) == Q8CONV_SUCCESS && n == 0, "before any run: %u", n);
        /* A run binds one pipeline (a small grid: one plan); then a recording of another shape. */
        CHECK(test_check_run(ctx, op, &t.desc, 1, 2, 5, test_process_rng(), err, sizeof err), "%s", err);
        /* The op holds the pipelines it used in the order of first use: the last is its newest. */
        CHECK(op->pipelines.count == 1, "one run, %u pipelines", op->pipelines.count);
        const VkPipeline first = op->pipelines.entries[0]->pipeline;
        check_reports(op, first, "after a run");
        /* A pipeline no op holds (a workgroup of 8: no plan above takes it), compiled and let go. */
        const long live = fk.live;
        q8conv_statistic s[FAKE_STATS];
        uint32_t line = 0;
        CHECK_OK(q8conv_kernel_resolve(Q8CONV_KERNEL_FALLBACK, ctx->caps, &line));
        CHECK_OK(q8conv_kernel_statistics(ctx, &(q8conv_kernel_pipeline){.line = line, .local = {8, 1, 1}}, s,
                                          FAKE_STATS, &n));
        CHECK(n == FAKE_STATS && s[3].value == (double)((uint64_t)fk.last_created & 0xffffffffu) &&
                  fk.last_created != first,
              "kernel statistics of another pipeline");
        CHECK(fk.live == live, "q8conv_kernel_statistics left %ld pipelines behind", fk.live - live);
        check_reports(op, first, "after q8conv_kernel_statistics");
        /* A large shape: another plan, so most likely another pipeline, and the report follows. */
        CHECK(test_check_run(ctx, op, &t.desc, 1, 300, 300, test_process_rng(), err, sizeof err), "%s", err);
        check_reports(op, op->pipelines.entries[op->pipelines.count - 1]->pipeline, "after a run of a large shape");
        CHECK(fk.captured == fk.created && fk.created >= 3, "%ld of %ld pipelines captured statistics", fk.captured,
              fk.created);
    }
    q8conv_pw_destroy(op);
    test_op_free(&t);
    q8conv_context_destroy(ctx);
    CHECK(fk.live == 0, "%ld pipelines left", fk.live);
    test_device_destroy(&dev);
}

int main(void)
{
    op_statistics();
    compile_only();
    interposed(false);
    interposed(true);
    return test_finish("statistics");
}
