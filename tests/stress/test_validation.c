/* Proves that the validation the other tests rely on is really there: a command buffer with two
 * chained ops (A -> B -> C) and no barrier between them must be reported by synchronization
 * validation, and the same recording with the barrier of q8conv_pw_record's contract must be clean
 * and exact.
 *
 * Three configurations:
 * - a context of the library's own with Q8CONV_CONTEXT_VALIDATION: its messenger must count the
 *   hazard (q8conv_context_info.validation_errors) and forward it to message_callback;
 * - when Q8CONV_VALIDATION=1 is set, a context made as every test makes it (test_context(0)):
 *   the same, which is what makes "no errors" in the other tests mean something;
 * - an external device the test creates itself with the layer and its own messenger.
 * The layer must be installed: without it this test fails (CI installs vulkan-validationlayers). */
#include <stdatomic.h>
#include <string.h>

#include "common.h"
#include "test_device.h"

static test_rng rng;

typedef struct message_counts {
    atomic_uint errors, hazards;
} message_counts;

static void on_message(void *user, q8conv_message_severity severity, const char *message)
{
    message_counts *m = user;
    if (severity == Q8CONV_MESSAGE_ERROR)
        atomic_fetch_add(&m->errors, 1u);
    if (strstr(message, "SYNC-HAZARD"))
        atomic_fetch_add(&m->hazards, 1u);
}

/* Records op1 (A -> B) and op2 (B -> C) into one command buffer of the test's, with or without
 * the compute barrier between them. With the barrier it is submitted and C is compared with the
 * reference of both ops; without, it is never submitted: the hazard is found while recording. */
static void record_chain(q8conv_context *ctx, bool barrier)
{
    const uint32_t c = 12, n = 1, h = 4, w = 9;
    test_op_params p = {.ic = c, .oc = c, .bias = Q8CONV_BIAS_INT32, .input_layout = Q8CONV_LAYOUT_4W4C,
                        .output_layout = Q8CONV_LAYOUT_4W4C};
    test_op d1, d2;
    test_op_random(&d1, &rng, &p);
    test_op_random(&d2, &rng, &p);
    const q8conv_tensor_desc td = {.n = n, .c = c, .h = h, .w = w};
    const size_t count = (size_t)n * c * h * w;
    int8_t *a = malloc(count), *b_ref = malloc(count), *c_ref = malloc(count), *c_got = malloc(count);
    test_rng_fill(&rng, a, count);
    q8conv_pw *op1 = NULL, *op2 = NULL;
    q8conv_tensor *ta = NULL, *tb = NULL, *tc = NULL;
    test_vk vk;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    CHECK_OK(q8conv_pw_create(ctx, &d1.desc, &op1));
    CHECK_OK(q8conv_pw_create(ctx, &d2.desc, &op2));
    CHECK_OK(q8conv_tensor_create(ctx, &td, &ta));
    CHECK_OK(q8conv_tensor_create(ctx, &td, &tb));
    CHECK_OK(q8conv_tensor_create(ctx, &td, &tc));
    CHECK(test_vk_load_context(&vk, ctx) && test_vk_begin(&vk, &pool, &cmd), "a command buffer on the context's device");
    if (op1 && op2 && ta && tb && tc && cmd) {
        CHECK_OK(q8conv_tensor_write(ta, a, Q8CONV_HOST_NCHW));
        CHECK_OK(q8conv_pw_record(op1, cmd, ta, tb));
        if (barrier)
            test_vk_barrier_between_records(&vk, cmd);
        CHECK_OK(q8conv_pw_record(op2, cmd, tb, tc));
        if (barrier) {
            CHECK(vk.EndCommandBuffer(cmd) == VK_SUCCESS && test_vk_submit_wait(&vk, &cmd, 1),
                  "submit of the chained recording");
            CHECK_OK(q8conv_pw_reference(&d1.desc, n, h, w, a, b_ref));
            CHECK_OK(q8conv_pw_reference(&d2.desc, n, h, w, b_ref, c_ref));
            CHECK_OK(q8conv_tensor_read(tc, c_got, Q8CONV_HOST_NCHW));
            CHECK(memcmp(c_ref, c_got, count) == 0, "two recorded ops with a barrier: result differs from the reference");
        } else {
            vk.EndCommandBuffer(cmd);
        }
    }
    if (pool)
        vk.DestroyCommandPool(vk.device, pool, NULL);
    q8conv_tensor_destroy(ta);
    q8conv_tensor_destroy(tb);
    q8conv_tensor_destroy(tc);
    q8conv_pw_destroy(op1);
    q8conv_pw_destroy(op2);
    test_op_free(&d1);
    test_op_free(&d2);
    free(a);
    free(b_ref);
    free(c_ref);
    free(c_got);
}

/* A context whose validation the library set up (flag or environment). */
static void library_context(uint32_t flags, const char *label)
{
    message_counts m;
    atomic_init(&m.errors, 0u);
    atomic_init(&m.hazards, 0u);
    q8conv_context_desc cd = {.flags = flags, .message_callback = on_message, .message_user_data = &m};
    q8conv_context *ctx = NULL;
    q8conv_status st = q8conv_context_create(&cd, &ctx);
    CHECK(st == Q8CONV_SUCCESS, "%s: context with validation: %s (is vulkan-validationlayers installed?)", label,
          q8conv_status_string(st));
    if (!ctx)
        return;
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    CHECK(info.validation_enabled, "%s: validation is not enabled", label);

    record_chain(ctx, true);
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    CHECK(info.validation_errors == 0 && info.validation_warnings == 0 && atomic_load(&m.errors) == 0,
          "%s: the correct recording was reported: %u error(s), %u warning(s)", label, info.validation_errors,
          info.validation_warnings);

    record_chain(ctx, false);
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    CHECK(info.validation_errors > 0, "%s: the missing barrier was not counted in validation_errors", label);
    CHECK(atomic_load(&m.errors) > 0 && atomic_load(&m.hazards) > 0,
          "%s: message_callback did not receive the SYNC-HAZARD error (%u errors, %u hazards)", label,
          atomic_load(&m.errors), atomic_load(&m.hazards));
    printf("%s: correct recording clean; missing barrier -> %u error(s), %u SYNC-HAZARD message(s)\n", label,
           info.validation_errors, atomic_load(&m.hazards));
    q8conv_context_destroy(ctx);
}

/* The test's own instance, layer and messenger; the library is a guest on that device. */
static void external_device(void)
{
    test_device dev;
    test_device_result r = test_device_create(&dev, &(test_device_options){.validation = true});
    CHECK(r == TEST_DEVICE_OK, "external device with validation: %s",
          r == TEST_DEVICE_NO_LAYER ? "VK_LAYER_KHRONOS_validation is not installed" : "creation failed");
    q8conv_context *ctx = NULL;
    if (r == TEST_DEVICE_OK) {
        q8conv_external_device ext = test_device_external(&dev);
        q8conv_context_desc cd = {.external = &ext};
        CHECK_OK(q8conv_context_create(&cd, &ctx));
    }
    if (ctx) {
        record_chain(ctx, true);
        CHECK(atomic_load(&dev.errors) == 0 && atomic_load(&dev.warnings) == 0,
              "external device: the correct recording was reported (%u errors, %u warnings)",
              atomic_load(&dev.errors), atomic_load(&dev.warnings));
        dev.quiet = true;
        record_chain(ctx, false);
        CHECK(atomic_load(&dev.hazards) > 0, "external device: the missing barrier was not reported as a SYNC-HAZARD");
        printf("external device: correct recording clean; missing barrier -> %u error(s), %u SYNC-HAZARD message(s)\n",
               atomic_load(&dev.errors), atomic_load(&dev.hazards));
        dev.quiet = false;
        q8conv_context_destroy(ctx);
    }
    const unsigned errors_before = atomic_load(&dev.errors);
    test_device_destroy(&dev);
    /* Destroying the device reports any object the library left on it. */
    CHECK(atomic_load(&dev.errors) == errors_before, "external device: objects left on the device at destruction");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rng = test_rng_seeded(test_seed());
    library_context(Q8CONV_CONTEXT_VALIDATION, "library context (flag)");
    if (test_validation_requested())
        library_context(0, "library context (Q8CONV_VALIDATION=1)");
    external_device();
    return test_finish("stress_validation");
}
