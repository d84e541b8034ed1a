/* q8conv-sweep: randomized cases against the CPU reference, byte for byte (padding included).
 *
 *   q8conv-sweep [--cases N] [--seed S] [--case I] [--verbose]
 *
 * Each case draws its shape, layouts, bias and activation modes, zero points (edges included),
 * scales, element types (int8 or uint8 per side), weight type and zero points, strides and kernel
 * from its own generator, seeded by
 * (S, case index): any failing case replays
 * alone with --seed S --case I. The seed defaults to Q8CONV_SEED, else the clock, and is printed.
 * Kernels: AUTO, DOT, FALLBACK and LEGACY on the default context, and AUTO, FALLBACK and LEGACY
 * (the non-dot legacy shader) on a second context with Q8CONV_CONTEXT_FORCE_FALLBACK. */
#include <string.h>
#include <time.h>

#include "common.h"

typedef struct sweep_case {
    bool fallback_context;
    uint32_t n, h, w;
    test_op_params p;
} sweep_case;

static void draw_case(test_rng *r, bool have_dot, sweep_case *c)
{
    memset(c, 0, sizeof *c);
    c->fallback_context = test_rng_chance(r, 25);
    uint32_t cls = test_rng_range(r, 0, 99);
    if (cls < 78) { /* small: everything varies */
        c->n = test_rng_range(r, 1, 3);
        c->h = test_rng_range(r, 1, 10);
        c->w = test_rng_range(r, 1, 24);
        c->p.ic = test_rng_range(r, 1, 64);
        c->p.oc = test_rng_range(r, 1, 48);
    } else if (cls < 90) { /* wide channels, few pixels */
        c->n = 1;
        c->h = test_rng_range(r, 1, 4);
        c->w = test_rng_range(r, 1, 9);
        c->p.ic = test_rng_range(r, 64, 512);
        c->p.oc = test_rng_range(r, 1, 160);
    } else if (cls < 95) { /* deep: accumulators near their largest */
        c->n = 1;
        c->h = 1;
        c->w = test_rng_range(r, 1, 6);
        c->p.ic = test_rng_range(r, 1024, 16384);
        c->p.oc = test_rng_range(r, 1, 8);
    } else { /* partial blocks everywhere, tall */
        c->n = test_rng_range(r, 1, 2);
        c->h = test_rng_range(r, 1, 40);
        c->w = test_rng_range(r, 1, 9);
        c->p.ic = test_rng_range(r, 1, 5);
        c->p.oc = test_rng_range(r, 1, 5);
    }
    c->p.bias = (q8conv_bias_mode)test_rng_range(r, 0, 2);
    c->p.activation = (q8conv_activation)test_rng_range(r, 0, 2);
    c->p.input_layout = (q8conv_layout)test_rng_range(r, 0, 1);
    c->p.output_layout = (q8conv_layout)test_rng_range(r, 0, 1);
    c->p.edges = test_rng_chance(r, 60);
    static const q8conv_kernel with_dot[] = {Q8CONV_KERNEL_AUTO, Q8CONV_KERNEL_DOT, Q8CONV_KERNEL_FALLBACK,
                                             Q8CONV_KERNEL_LEGACY, Q8CONV_KERNEL_DOT_MIXED};
    static const q8conv_kernel without_dot[] = {Q8CONV_KERNEL_AUTO, Q8CONV_KERNEL_FALLBACK, Q8CONV_KERNEL_LEGACY};
    if (c->fallback_context || !have_dot)
        c->p.kernel = without_dot[test_rng_range(r, 0, 2)];
    else
        c->p.kernel = with_dot[test_rng_range(r, 0, 4)];
    /* Drawn last, so that every earlier draw of a case is what it was before uint8 existed. */
    c->p.input_type = test_rng_chance(r, 40) ? Q8CONV_DTYPE_UINT8 : Q8CONV_DTYPE_INT8;
    c->p.output_type = test_rng_chance(r, 40) ? Q8CONV_DTYPE_UINT8 : Q8CONV_DTYPE_INT8;
    /* Later still, for the same reason: weight type and zero points, strides. */
    c->p.weight_type = test_rng_chance(r, 30) ? Q8CONV_DTYPE_UINT8 : Q8CONV_DTYPE_INT8;
    c->p.weight_zp = test_rng_chance(r, 40) ? (int)test_rng_range(r, TEST_WZP_TENSOR, TEST_WZP_MID) : TEST_WZP_NONE;
    if (test_rng_chance(r, 30)) {
        c->p.stride_h = test_rng_range(r, 1, 4);
        c->p.stride_w = test_rng_range(r, 1, 4);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: q8conv-sweep [--cases N] [--seed S] [--case I] [--verbose]\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned long long cases = 1000, seed = 0, only = 0;
    bool have_seed = false, single = false, verbose = false;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--cases") && i + 1 < argc)
            cases = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
            have_seed = true;
        } else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
            only = strtoull(argv[++i], NULL, 0);
            single = true;
        } else if (!strcmp(argv[i], "--verbose"))
            verbose = true;
        else
            return usage();
    }
    /* One seed for everything printed, test_finish's summary included. */
    if (have_seed) {
        char text[32];
        snprintf(text, sizeof text, "%llu", seed);
        setenv("Q8CONV_SEED", text, 1);
    }
    seed = test_seed();

    q8conv_context *contexts[2] = {test_context(0), test_context(Q8CONV_CONTEXT_FORCE_FALLBACK)};
    if (!contexts[0] || !contexts[1])
        return test_finish("sweep");
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(contexts[0], &info));
    const bool have_dot = info.integer_dot_product_supported;
    printf("sweep: %llu case(s), seed %llu, device %s (%s), validation %s\n", single ? 1ull : cases, seed,
           info.device_name, info.driver_info, info.validation_enabled ? "on" : "off");

    unsigned long long done = 0, failed = 0, per_kernel[2][Q8CONV_KERNEL_COUNT_] = {{0}}, u8_in = 0, u8_out = 0;
    unsigned long long with_wzp = 0, strided = 0;
    const clock_t t0 = clock();
    const time_t w0 = time(NULL);
    for (unsigned long long i = single ? only : 0; i < (single ? only + 1 : cases); ++i) {
        test_rng r = test_rng_seeded(seed * 0x9E3779B97F4A7C15ull + i);
        sweep_case c;
        draw_case(&r, have_dot, &c);
        q8conv_context *ctx = contexts[c.fallback_context];
        test_op t;
        test_op_random(&t, &r, &c.p);
        char err[512];
        bool ok;
        q8conv_pw *op = NULL;
        q8conv_status st = q8conv_pw_create(ctx, &t.desc, &op);
        if (st != Q8CONV_SUCCESS) {
            snprintf(err, sizeof err, "pw_create (IC %u OC %u kernel %s): %s", c.p.ic, c.p.oc,
                     q8conv_kernel_name(c.p.kernel), q8conv_status_string(st));
            ok = false;
        } else {
            ok = test_check_run(ctx, op, &t.desc, c.n, c.h, c.w, &r, err, sizeof err);
        }
        q8conv_pw_destroy(op);
        test_op_free(&t);
        done++;
        per_kernel[c.fallback_context][c.p.kernel]++;
        u8_in += c.p.input_type == Q8CONV_DTYPE_UINT8;
        u8_out += c.p.output_type == Q8CONV_DTYPE_UINT8;
        with_wzp += c.p.weight_zp != TEST_WZP_NONE;
        strided += c.p.stride_h > 1 || c.p.stride_w > 1;
        if (!ok) {
            failed++;
            fprintf(stderr, "FAIL case %llu%s: %s\n  replay: q8conv-sweep --seed %llu --case %llu\n", i,
                    c.fallback_context ? " (fallback context)" : "", err, seed, i);
        } else if (verbose) {
            printf("case %llu: N%u H%u W%u %u->%u %s->%s kernel %s%s: exact\n", i, c.n, c.h, c.w, c.p.ic, c.p.oc,
                   c.p.input_type == Q8CONV_DTYPE_UINT8 ? "u8" : "s8", c.p.output_type == Q8CONV_DTYPE_UINT8 ? "u8" : "s8",
                   q8conv_kernel_name(c.p.kernel), c.fallback_context ? " (fallback context)" : "");
        }
    }
    test_failures += (int)failed;
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
    printf("sweep: %llu case(s), %llu exact, %llu failed; default context: auto %llu dot %llu fallback %llu legacy %llu "
           "dot_mixed %llu; fallback context: auto %llu fallback %llu legacy %llu; uint8 input %llu, uint8 output %llu; "
           "weight zero points %llu, strided %llu; %.0f s wall, %.0f s CPU\n",
           done, done - failed, failed, per_kernel[0][0], per_kernel[0][1], per_kernel[0][2], per_kernel[0][3],
           per_kernel[0][Q8CONV_KERNEL_DOT_MIXED], per_kernel[1][0], per_kernel[1][2], per_kernel[1][3], u8_in, u8_out,
           with_wzp, strided, difftime(time(NULL), w0),
           (double)(clock() - t0) / CLOCKS_PER_SEC);
    q8conv_context_destroy(contexts[0]);
    q8conv_context_destroy(contexts[1]);
    return test_finish("sweep");
}
