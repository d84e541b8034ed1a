/* A long-lived context must not grow without bound (issue 13): one context creates, runs and
 * destroys a few hundred different ops one after the other (random IC/OC, shapes, layouts, bias
 * modes, activations and kernels; each run checked against the reference), then creates and
 * destroys many tensors; its resident memory must stay under a stated bound, and the pipelines it
 * holds must follow the ops that are alive.
 *
 * Usage: q8conv-test-soak [ops] [bound-MB]   (defaults: 300 ops, 150 MB of RSS in all) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

/* Resident set size of the process in MB (Linux /proc). */
static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static uint32_t live_pipelines(q8conv_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    uint32_t n = ctx->pipeline_count;
    pthread_mutex_unlock(&ctx->lock);
    return n;
}

int main(int argc, char **argv)
{
    const int ops = argc > 1 ? atoi(argv[1]) : 300;
    const double bound_mb = argc > 2 ? atof(argv[2]) : 150.0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    q8conv_context *ctx = test_context(0);
    if (!ctx)
        return test_finish("soak");
    test_rng *r = test_process_rng();
    const double start = rss_mb();
    double peak = start;
    uint32_t peak_pipelines = 0;
    char what[256], err[768];
    for (int i = 0; i < ops; ++i) {
        test_op t;
        const q8conv_kernel kernels[] = {Q8CONV_KERNEL_AUTO, Q8CONV_KERNEL_DOT, Q8CONV_KERNEL_FALLBACK,
                                         Q8CONV_KERNEL_LEGACY, Q8CONV_KERNEL_DOT_MIXED};
        test_op_random(&t, r,
                       &(test_op_params){.ic = test_rng_range(r, 1, 300),
                                         .oc = test_rng_range(r, 1, 300),
                                         .bias = (q8conv_bias_mode)test_rng_range(r, 0, 2),
                                         .activation = (q8conv_activation)test_rng_range(r, 0, 2),
                                         .input_layout = (q8conv_layout)test_rng_range(r, 0, 1),
                                         .output_layout = (q8conv_layout)test_rng_range(r, 0, 1),
                                         .kernel = kernels[test_rng_range(r, 0, sizeof kernels / sizeof kernels[0] - 1)]});
        const uint32_t n = test_rng_range(r, 1, 2), h = test_rng_range(r, 1, 24), w = test_rng_range(r, 1, 24);
        test_describe_run(&t.desc, n, h, w, what, sizeof what);
        q8conv_pw *op = NULL;
        q8conv_status st = q8conv_pw_create(ctx, &t.desc, &op);
        CHECK(st == Q8CONV_SUCCESS, "op %d: %spw_create: %s", i, what, q8conv_status_string(st));
        if (op)
            CHECK(test_check_run(ctx, op, &t.desc, n, h, w, r, err, sizeof err), "op %d: %s", i, err);
        const uint32_t held = live_pipelines(ctx);
        peak_pipelines = held > peak_pipelines ? held : peak_pipelines;
        q8conv_pw_destroy(op);
        test_op_free(&t);
        /* The op is gone and no other op is alive: nothing may keep its pipelines. */
        CHECK(live_pipelines(ctx) == 0, "op %d: %u pipeline(s) held with no op alive", i, live_pipelines(ctx));
        const double now = rss_mb();
        peak = now > peak ? now : peak;
        if ((i + 1) % 50 == 0)
            printf("soak: %d ops, RSS %.0f MB (start %.0f, peak %.0f), pipelines at most %u per op\n", i + 1, now,
                   start, peak, peak_pipelines);
        if (test_failures > 20)
            break;
    }

    /* Tensors and their descriptor sets: waves of a few hundred alive at once, then all gone. */
    enum { WAVE = 300 };
    static q8conv_tensor *tensors[WAVE];
    for (int wave = 0; wave < 10; ++wave) {
        for (int i = 0; i < WAVE; ++i) {
            const q8conv_tensor_desc d = {.n = 1,
                                          .c = test_rng_range(r, 1, 64),
                                          .h = test_rng_range(r, 1, 16),
                                          .w = test_rng_range(r, 1, 16),
                                          .layout = (q8conv_layout)test_rng_range(r, 0, 1)};
            tensors[i] = NULL;
            CHECK_OK(q8conv_tensor_create(ctx, &d, &tensors[i]));
        }
        for (int i = 0; i < WAVE; ++i)
            q8conv_tensor_destroy(tensors[i]);
        const double now = rss_mb();
        peak = now > peak ? now : peak;
    }
    CHECK(test_check_context_works(ctx, r, err, sizeof err), "after the soak: %s", err);
    test_check_validation(ctx);
    const double end = rss_mb();
    printf("soak: %d ops and %d tensors, RSS start %.0f MB, peak %.0f MB, end %.0f MB (bound %.0f MB)\n", ops,
           10 * WAVE, start, peak, end, bound_mb);
    /* AddressSanitizer's shadow memory and quarantine make RSS meaningless (824 MB here for the same
     * ops): a sanitized build checks everything else, the plain build the bound. */
#if defined(__SANITIZE_ADDRESS__)
    printf("soak: built with AddressSanitizer; the RSS bound is checked by the plain build\n");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    printf("soak: built with AddressSanitizer; the RSS bound is checked by the plain build\n");
#else
    CHECK(peak <= bound_mb, "RSS peaked at %.0f MB, over the %.0f MB bound", peak, bound_mb);
#endif
#else
    CHECK(peak <= bound_mb, "RSS peaked at %.0f MB, over the %.0f MB bound", peak, bound_mb);
#endif
    q8conv_context_destroy(ctx);
    return test_finish("soak");
}
