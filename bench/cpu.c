/* The CPU peers of one shape, timed with the host's wall clock on the same weights and inputs the
 * GPU variants get:
 *  - "cpu reference": q8conv_pw_reference, single-threaded: the oracle itself, what a runtime
 *    without a GPU would fall back to;
 *  - "xnnpack qc8 1t" / "xnnpack qc8 <N>t": XNNPACK's per-channel int8 convolution (Debian's
 *    libxnnpack-dev), NHWC, single- and multi-threaded, when the bench is built with it
 *    (Q8CONV_BENCH_XNNPACK);
 *  - with --dtype u8, "xnnpack qu8 1t" / "<N>t" instead: XNNPACK's uint8 convolution. It has one
 *    weight scale for all channels and uint8 weights with a zero point, so it runs a twin of the op
 *    that it can express (every channel at the first channel's scale, weights w + 128 with kernel
 *    zero point 128, the same work; with --weights u8 the uint8 weights and their zero point as
 *    they are) and is compared with the reference of that twin. With --weights u8 and int8
 *    activations there is no XNNPACK row (QC8 has no weight zero point).
 * A shape's stride is XNNPACK's subsampling.
 * A row's time is the median of several runs after one warm-up run; the count of runs shrinks
 * with the shape so the quick suite stays short and a huge shape is timed once. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifdef Q8CONV_BENCH_XNNPACK
#include <xnnpack.h>
#endif

/* Wall time one row may spend in timed runs after its warm-up. */
#define CPU_ROW_BUDGET_US 400e3
/* A warm-up run longer than this is the row's only sample. */
#define CPU_SINGLE_RUN_US 3e6
/* Poison for XNNPACK's output (the test-support library's): a run that writes nothing leaves
 * every byte equal to it. */
#define CPU_POISON ((int8_t)TEST_POISON)

typedef int (*cpu_run_fn)(void *arg);

/* Median wall time of fn in us; sets *runs to the number of samples. */
static int time_runs(cpu_run_fn fn, void *arg, const bench_options *opt, double *median_us, int *runs)
{
    double t0 = bench_now_us();
    if (fn(arg) != 0)
        return -1;
    double first = bench_now_us() - t0;
    if (first >= CPU_SINGLE_RUN_US) {
        *median_us = first;
        *runs = 1;
        return 0;
    }
    int n = first > 0 ? (int)(CPU_ROW_BUDGET_US / first) : opt->reps;
    if (n < 1)
        n = 1;
    if (n > opt->reps)
        n = opt->reps;
    double t[BENCH_MAX_REPS];
    for (int i = 0; i < n; ++i) {
        t0 = bench_now_us();
        if (fn(arg) != 0)
            return -1;
        t[i] = bench_now_us() - t0;
    }
    *median_us = bench_median(t, n);
    *runs = n;
    return 0;
}

static void fill_rates(const bench_shape *s, bench_row *row)
{
    const double macs = bench_macs(s);
    const double bytes = bench_min_bytes(s);
    row->gops = 2.0 * macs / row->gpu_us * 1e-3;
    row->gbps = bytes / row->gpu_us * 1e-3;
    row->run_us = NAN;
    row->record_us = NAN;
}

/* ---- the reference ---- */

typedef struct ref_args {
    const q8conv_pw_desc *desc;
    const bench_shape *s;
    const int8_t *x;
    int8_t *y;
} ref_args;

static int run_reference(void *p)
{
    ref_args *a = p;
    return q8conv_pw_reference(a->desc, a->s->n, a->s->h, a->s->w, a->x, a->y) == Q8CONV_SUCCESS ? 0 : -1;
}

/* ---- XNNPACK ---- */

#ifdef Q8CONV_BENCH_XNNPACK
typedef struct xnn_args {
    xnn_operator_t op;
    pthreadpool_t pool;
} xnn_args;

static int run_xnnpack(void *p)
{
    xnn_args *a = p;
    return xnn_run_operator(a->op, a->pool) == xnn_status_success ? 0 : -1;
}

static int xnn_ready(void)
{
    static int state; /* 0 untried, 1 ready, -1 unavailable */
    if (state == 0) {
        enum xnn_status st = xnn_initialize(NULL);
        state = st == xnn_status_success ? 1 : -1;
        if (state < 0)
            fprintf(stderr, "xnn_initialize failed (%d): XNNPACK rows skipped\n", (int)st);
    }
    return state > 0;
}

/* One XNNPACK row: sets up `op` for `pool` (setup chooses its tiling by the pool's thread count),
 * times it, and compares its NHWC output with the reference's NCHW one. */
static int xnn_row(const bench_options *opt, const bench_shape *s, xnn_operator_t op, bool qu8, pthreadpool_t pool,
                   int threads, const int8_t *x_nhwc, int8_t *y_nhwc, const int8_t *ref_nchw, bench_row *row)
{
    memset(row, 0, sizeof *row);
    row->shape = *s;
    row->cpu = 1;
    row->sets = 1;
    snprintf(row->variant, sizeof row->variant, "xnnpack %s %dt", qu8 ? "qu8" : "qc8", threads);
    const size_t pixels = (size_t)s->n * bench_out_h(s) * bench_out_w(s), out_n = pixels * s->oc;
    memset(y_nhwc, CPU_POISON, out_n);
    const enum xnn_status set =
        qu8 ? xnn_setup_convolution2d_nhwc_qu8(op, s->n, s->h, s->w, (const uint8_t *)x_nhwc, (uint8_t *)y_nhwc, pool)
            : xnn_setup_convolution2d_nhwc_qc8(op, s->n, s->h, s->w, x_nhwc, y_nhwc, pool);
    if (set != xnn_status_success) {
        fprintf(stderr, "%s %s: xnn_setup failed (skipped)\n", s->name, row->variant);
        return 0;
    }
    xnn_args a = {.op = op, .pool = pool};
    int runs = 0;
    if (time_runs(run_xnnpack, &a, opt, &row->gpu_us, &runs) != 0) {
        fprintf(stderr, "%s %s: xnn_run_operator failed (skipped)\n", s->name, row->variant);
        return 0;
    }
    fill_rates(s, row);
    size_t poisoned = 0, differ = 0;
    int max_diff = 0;
    const size_t hw = (size_t)bench_out_h(s) * bench_out_w(s);
    for (size_t m = 0; m < pixels; ++m) {
        const size_t img = m / hw, p = m % hw;
        for (uint32_t o = 0; o < s->oc; ++o) {
            const int got = y_nhwc[m * s->oc + o];
            const int want = ref_nchw[(img * s->oc + o) * hw + p];
            poisoned += got == CPU_POISON;
            if (got != want) {
                differ++;
                if (abs(got - want) > max_diff)
                    max_diff = abs(got - want);
            }
        }
    }
    if (poisoned == out_n) {
        fprintf(stderr, "%s %s: XNNPACK left its output untouched (skipped)\n", s->name, row->variant);
        return 0;
    }
    /* Not claimed exact: XNNPACK requantizes with its own fp32 scheme, chosen per microkernel
     * (where it clamps, adds the zero point and rounds), so nothing promises SEMANTICS.md's bytes.
     * Against the int32-bias reference it has matched on x86 for every shape tried so far (QU8:
     * the ctest xnnpack_qu8 checks it there), but a different CPU may pick a microkernel that
     * rounds otherwise: the comparison is reported, never counted as a failure. */
    row->checked = 0;
    row->compared = 1;
    row->max_abs_diff = max_diff;
    row->diff_frac = (double)differ / (double)out_n;
    fprintf(stderr, "  %s: %.0f us (%d run%s), %zu of %zu bytes differ from the int32-bias reference%s\n",
            row->variant, row->gpu_us, runs, runs > 1 ? "s" : "", differ, out_n,
            qu8 ? " of its one-weight-scale twin" : "");
    return 1;
}

/* Both XNNPACK rows of a shape for the int32-bias descriptor q, whose reference output is
 * ref_nchw: QC8 for int8 activations, QU8 for uint8 ones (q then has one weight scale, see
 * xnn_qu8_rows). Returns the number of rows added. */
static int xnn_rows(const bench_options *opt, const bench_shape *s, const q8conv_pw_desc *q, const int8_t *x_nchw,
                    const int8_t *ref_nchw, bench_row *rows)
{
    if (!xnn_ready())
        return 0;
    const bool qu8 = q->input_type == Q8CONV_DTYPE_UINT8;
    if (!qu8 && q->weight_zero_points) {
        fprintf(stderr, "%s: XNNPACK's QC8 convolution has no weight zero point: XNNPACK rows skipped\n", s->name);
        return 0;
    }
    const size_t pixels = (size_t)s->n * s->h * s->w, hw = (size_t)s->h * s->w;
    /* XNNPACK may read up to XNN_EXTRA_BYTES past the end of its input. */
    int8_t *x_nhwc = malloc(pixels * s->ic + XNN_EXTRA_BYTES);
    int8_t *y_nhwc = malloc((size_t)s->n * bench_out_h(s) * bench_out_w(s) * s->oc);
    if (!x_nhwc || !y_nhwc) {
        free(x_nhwc);
        free(y_nhwc);
        return 0;
    }
    for (size_t m = 0; m < pixels; ++m) {
        const size_t img = m / hw, p = m % hw;
        for (uint32_t k = 0; k < s->ic; ++k)
            x_nhwc[m * s->ic + k] = x_nchw[(img * s->ic + k) * hw + p];
    }
    memset(x_nhwc + pixels * s->ic, 0, XNN_EXTRA_BYTES);
    int32_t qmin, qmax;
    test_clamp_bounds(q, &qmin, &qmax);

    /* The stride is XNNPACK's subsampling. */
    const uint32_t sub = s->stride > 1 ? s->stride : 1;
    xnn_operator_t op = NULL;
    enum xnn_status st = xnn_status_out_of_memory;
    if (qu8) {
        /* int8 weights: XNNPACK multiplies by (w + 128) - 128 = w, the same integer products.
         * uint8 weights (--weights u8) go as they are, with their one zero point. It packs the
         * weights at creation and keeps no pointer to them. */
        const bool u8_w = q->weight_type == Q8CONV_DTYPE_UINT8;
        uint8_t *w_u8 = malloc((size_t)s->oc * s->ic);
        for (size_t i = 0; w_u8 && i < (size_t)s->oc * s->ic; ++i)
            w_u8[i] = u8_w ? (uint8_t)q->weights[i] : (uint8_t)(q->weights[i] + 128);
        const uint8_t z_w = u8_w ? (uint8_t)(q->weight_zero_points ? q->weight_zero_points[0] : 0) : 128;
        if (w_u8)
            st = xnn_create_convolution2d_nhwc_qu8(
                0, 0, 0, 0, 1, 1, sub, sub, 1, 1, 1, s->ic, s->oc, s->ic, s->oc, (uint8_t)q->input_zero_point,
                q->input_scale, z_w, q->weight_scales[0], w_u8, (const int32_t *)q->bias, (uint8_t)q->output_zero_point,
                q->output_scale, (uint8_t)qmin, (uint8_t)qmax, 0, &op);
        free(w_u8);
    } else {
        st = xnn_create_convolution2d_nhwc_qc8(
            0, 0, 0, 0, 1, 1, sub, sub, 1, 1, 1, s->ic, s->oc, s->ic, s->oc, (int8_t)q->input_zero_point, q->input_scale,
            q->weight_scales, q->weights, (const int32_t *)q->bias, (int8_t)q->output_zero_point, q->output_scale,
            (int8_t)qmin, (int8_t)qmax, 0, &op);
    }
    int added = 0;
    if (st != xnn_status_success) {
        fprintf(stderr, "%s: xnn_create_convolution2d_nhwc_%s failed (%d): XNNPACK rows skipped\n", s->name,
                qu8 ? "qu8" : "qc8", (int)st);
    } else {
        added += xnn_row(opt, s, op, qu8, NULL, 1, x_nhwc, y_nhwc, ref_nchw, &rows[added]);
        int threads = opt->threads > 0 ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (threads > 1) {
            pthreadpool_t pool = pthreadpool_create((size_t)threads);
            if (pool) {
                added += xnn_row(opt, s, op, qu8, pool, threads, x_nhwc, y_nhwc, ref_nchw, &rows[added]);
                pthreadpool_destroy(pool);
            }
        }
        xnn_delete_operator(op);
    }
    free(x_nhwc);
    free(y_nhwc);
    return added;
}

/* The QU8 rows of a uint8 shape: XNNPACK's QU8 operator has one weight scale, so it runs the twin
 * of `di` (the int32-bias descriptor) with every channel at channel 0's scale and the float bias
 * re-expressed in that scale's units, and is compared with the twin's own reference. */
static int xnn_qu8_rows(const bench_options *opt, const bench_shape *s, const bench_op_data *d,
                        const q8conv_pw_desc *di, const int8_t *x_nchw, bench_row *rows)
{
    const size_t out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
    float *scales = malloc(sizeof(float) * s->oc);
    int32_t *bias = malloc(sizeof(int32_t) * s->oc);
    int8_t *ref = malloc(out_n);
    int added = 0;
    if (scales && bias && ref) {
        for (uint32_t o = 0; o < s->oc; ++o) {
            scales[o] = d->scales[0];
            bias[o] = (int32_t)lrintf(((const float *)d->bias)[o] / (di->input_scale * scales[o]));
        }
        q8conv_pw_desc twin = *di;
        twin.weight_scales = scales;
        twin.bias = bias;
        if (q8conv_pw_reference(&twin, s->n, s->h, s->w, x_nchw, ref) == Q8CONV_SUCCESS)
            added = xnn_rows(opt, s, &twin, x_nchw, ref, rows);
        else
            fprintf(stderr, "%s: reference of the one-scale twin failed: XNNPACK rows skipped\n", s->name);
    }
    free(scales);
    free(bias);
    free(ref);
    return added;
}
#endif

int bench_cpu(const bench_options *opt, const bench_shape *s, bench_row *rows)
{
    test_rng rng = bench_shape_rng(opt, s, 0);
    bench_op_data d;
    if (bench_make_desc(s, &d, &rng, Q8CONV_KERNEL_AUTO, opt) != 0)
        return 0;
    const size_t in_n = (size_t)s->n * s->ic * s->h * s->w, out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
    int8_t *x = malloc(in_n), *y = malloc(out_n);
    int32_t *bias_i32 = malloc(sizeof(int32_t) * s->oc);
    int added = 0;
    if (!x || !y || !bias_i32)
        goto done;
    test_rng_fill(&rng, x, in_n);

    /* The int32-bias twin of the descriptor (the bias in units of s_x * s_w[oc], as XNNPACK, ONNX
     * and TFLite take it): the reference computes the same work in either mode, and this one's
     * output is what XNNPACK's is compared with. */
    for (uint32_t o = 0; o < s->oc; ++o)
        bias_i32[o] = (int32_t)lrintf(((const float *)d.bias)[o] / (d.desc.input_scale * d.scales[o]));
    q8conv_pw_desc di = d.desc;
    di.bias_mode = Q8CONV_BIAS_INT32;
    di.bias = bias_i32;

    bench_row *row = &rows[added];
    memset(row, 0, sizeof *row);
    row->shape = *s;
    row->cpu = 1;
    row->sets = 1;
    snprintf(row->variant, sizeof row->variant, "cpu reference");
    ref_args ra = {.desc = &di, .s = s, .x = x, .y = y};
    int runs = 0;
    if (time_runs(run_reference, &ra, opt, &row->gpu_us, &runs) != 0) {
        fprintf(stderr, "%s: q8conv_pw_reference failed\n", s->name);
        goto done;
    }
    /* It is the oracle: nothing to check it against. */
    row->checked = 0;
    fill_rates(s, row);
    added++;
    fprintf(stderr, "  cpu reference: %.0f us (%d run%s)\n", row->gpu_us, runs, runs > 1 ? "s" : "");

#ifdef Q8CONV_BENCH_XNNPACK
    if (opt->dtype == Q8CONV_DTYPE_UINT8)
        added += xnn_qu8_rows(opt, s, &d, &di, x, &rows[added]);
    else
        added += xnn_rows(opt, s, &di, x, y, &rows[added]);
#endif
done:
    free(x);
    free(y);
    free(bias_i32);
    test_op_free(&d);
    return added;
}
