/* Helpers every part of q8conv-bench shares: the clock, medians, the seeded stream of a shape and
 * the operator descriptor built from it (both from the test-support library, tests/common). */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bench_rotation_sets(const bench_options *opt, double set_bytes)
{
    int sets = (int)ceil(opt->rotate_bytes / set_bytes);
    if (sets < 2)
        sets = 2;
    if (sets > BENCH_MAX_SETS)
        sets = BENCH_MAX_SETS;
    if (sets > opt->reps)
        sets = opt->reps;
    return sets;
}

void bench_layer_bytes(const bench_options *opt, const bench_shape *s, uint64_t *in, uint64_t *weights, uint64_t *out)
{
    /* A strided layer reads only the input pixels its output pixels map to: as many as it writes. */
    const q8conv_tensor_desc din = {.n = s->n, .c = s->ic, .h = bench_out_h(s), .w = bench_out_w(s),
                                    .layout = opt->layout, .dtype = opt->dtype};
    const q8conv_tensor_desc dout = {.n = s->n, .c = s->oc, .h = bench_out_h(s), .w = bench_out_w(s),
                                     .layout = opt->layout, .dtype = opt->dtype};
    const uint64_t c4_in = (s->ic + 3u) / 4u, c4_out = (s->oc + 3u) / 4u;
    *in = q8conv_tensor_size_bytes(&din);
    *out = q8conv_tensor_size_bytes(&dout);
    *weights = c4_in * c4_out * 16u + c4_out * 4u * 16u;
}

test_rng bench_shape_rng(const bench_options *opt, const bench_shape *s, uint64_t salt)
{
    /* Distinct shapes (and salts) get unrelated streams: test_rng_seeded mixes nearby seeds. */
    return test_rng_seeded(opt->seed ^ ((uint64_t)s->ic << 40) ^ ((uint64_t)s->oc << 20) ^ ((uint64_t)s->h << 8) ^ s->n ^
                           (salt * 0x9E3779B97F4A7C15ull));
}

int bench_make_desc(const bench_shape *s, bench_op_data *d, test_rng *rng, q8conv_kernel kernel,
                    const bench_options *opt)
{
    const test_op_params p = {.ic = s->ic,
                              .oc = s->oc,
                              .bias = Q8CONV_BIAS_FLOAT,
                              .activation = s->oc > s->ic ? Q8CONV_ACTIVATION_RELU6 : Q8CONV_ACTIVATION_NONE,
                              .input_layout = opt->layout,
                              .output_layout = opt->layout,
                              .input_type = opt->dtype,
                              .output_type = opt->dtype,
                              .kernel = kernel,
                              .weight_type = opt->weights,
                              .weight_zp = opt->weights == Q8CONV_DTYPE_UINT8 ? TEST_WZP_TENSOR : TEST_WZP_NONE,
                              .stride_h = s->stride,
                              .stride_w = s->stride};
    test_op_random(d, rng, &p);
    if (!d->weights || !d->scales || !d->bias || (p.weight_zp && !d->weight_zps)) {
        test_op_free(d);
        return -1;
    }
    /* Fixed zero points away from the ends of the range: the CPU peers (XNNPACK) refuse an output
     * range of one value, which a random one could give with ReLU. */
    const int32_t shift = opt->dtype == Q8CONV_DTYPE_UINT8 ? 128 : 0;
    d->desc.input_zero_point = 3 + shift;
    d->desc.output_zero_point = -5 + shift;
    /* uint8 weights: the same random bytes about a zero point near their middle, so that w - z_w
     * spreads as the int8 weights do and the output scale still fits. */
    for (uint32_t o = 0; d->weight_zps && o < s->oc; ++o)
        d->weight_zps[o] = BENCH_WEIGHT_ZP;
    return 0;
}

q8conv_tensor_desc bench_tensor_desc(const bench_options *opt, const bench_shape *s, int out)
{
    return (q8conv_tensor_desc){.n = s->n, .c = out ? s->oc : s->ic, .h = out ? bench_out_h(s) : s->h,
                                .w = out ? bench_out_w(s) : s->w, .layout = opt->layout, .dtype = opt->dtype};
}
