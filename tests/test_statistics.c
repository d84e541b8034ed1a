/* Pipeline statistics (VK_KHR_pipeline_executable_properties): q8conv_pw_statistics of an op's
 * last recording, q8conv_kernel_statistics on a compile-only context, and what a compile-only
 * context refuses. On a device whose driver reports no statistics (lavapipe of Mesa 22.3) the
 * public call must say UNSUPPORTED; where it does (RADV, NVIDIA) every statistic is checked for
 * the count-then-fill contract. Usage: q8conv-test-statistics */
#include <string.h>

#include "common.h"
#include "internal.h"

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

int main(void)
{
    op_statistics();
    compile_only();
    return test_finish("statistics");
}
