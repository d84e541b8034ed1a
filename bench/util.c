/* Helpers every part of q8conv-bench shares: the clock, medians, the seeded data of a shape and the
 * operator descriptor built from it. */
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

uint64_t bench_shape_seed(const bench_options *opt, const bench_shape *s)
{
    /* splitmix64 of the seed and the shape: distinct shapes get unrelated data, and the xorshift
     * state it seeds is never 0 (a 0 state would only ever produce zeros). */
    uint64_t z = opt->seed ^ ((uint64_t)s->ic << 40) ^ ((uint64_t)s->oc << 20) ^ ((uint64_t)s->h << 8) ^ s->n;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z ? z : 0x5EED;
}

void bench_fill_random(int8_t *p, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; ++i) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        p[i] = (int8_t)(*state >> 24);
    }
}

/* A descriptor like a MobileNetV2 layer after training: per-channel weight scales, float bias,
 * ReLU6 on expansions. Scales are chosen so outputs spread over the int8 range. */
int bench_make_desc(const bench_shape *s, bench_op_data *d, uint64_t *rng, q8conv_kernel kernel,
                    q8conv_layout layout)
{
    d->weight_zps = NULL; /* bench_set_types' */
    d->weights = malloc((size_t)s->ic * s->oc);
    d->scales = malloc(sizeof(float) * s->oc);
    d->bias = malloc(sizeof(float) * s->oc);
    if (!d->weights || !d->scales || !d->bias) {
        bench_free_desc(d);
        return -1;
    }
    bench_fill_random(d->weights, (size_t)s->ic * s->oc, rng);
    const float sx = 0.02f;
    for (uint32_t o = 0; o < s->oc; ++o) {
        d->scales[o] = 0.002f + 0.0001f * (float)(o % 37);
        d->bias[o] = 0.05f * (float)((int)(o % 11) - 5);
    }
    d->desc = (q8conv_pw_desc){.in_channels = s->ic,
                               .out_channels = s->oc,
                               .input_scale = sx,
                               .input_zero_point = 3,
                               .output_scale = sx * 0.004f * sqrtf((float)s->ic) * 5476.0f / 40.0f,
                               .output_zero_point = -5,
                               .weights = d->weights,
                               .weight_scales = d->scales,
                               .bias_mode = Q8CONV_BIAS_FLOAT,
                               .bias = d->bias,
                               .activation = s->oc > s->ic ? Q8CONV_ACTIVATION_RELU6 : Q8CONV_ACTIVATION_NONE,
                               .input_layout = layout,
                               .output_layout = layout,
                               .kernel = kernel,
                               .stride_h = s->stride,
                               .stride_w = s->stride};
    return 0;
}

int bench_set_types(bench_op_data *d, const bench_options *opt)
{
    q8conv_pw_desc *desc = &d->desc;
    if (opt->dtype == Q8CONV_DTYPE_UINT8) {
        desc->input_type = desc->output_type = Q8CONV_DTYPE_UINT8;
        desc->input_zero_point += 128;
        desc->output_zero_point += 128;
    }
    if (opt->weights == Q8CONV_DTYPE_UINT8) {
        /* The same random bytes, read as uint8 about a zero point near their middle: w - z_w
         * spreads as the int8 weights do, so the output scale still fits. */
        d->weight_zps = malloc(sizeof(int32_t) * desc->out_channels);
        if (!d->weight_zps)
            return -1;
        for (uint32_t o = 0; o < desc->out_channels; ++o)
            d->weight_zps[o] = BENCH_WEIGHT_ZP;
        desc->weight_type = Q8CONV_DTYPE_UINT8;
        desc->weight_zero_points = d->weight_zps;
    }
    return 0;
}

void bench_free_desc(bench_op_data *d)
{
    free(d->weights);
    free(d->scales);
    free(d->bias);
    free(d->weight_zps);
    d->weights = NULL;
    d->scales = NULL;
    d->bias = NULL;
    d->weight_zps = NULL;
}

int bench_poison_tensor(q8conv_tensor *t)
{
    q8conv_tensor_desc d;
    if (q8conv_tensor_get_desc(t, &d) != Q8CONV_SUCCESS)
        return -1;
    const size_t raw = (size_t)q8conv_tensor_size_bytes(&d);
    uint8_t *poison = malloc(raw);
    if (!poison)
        return -1;
    memset(poison, 0xA5, raw);
    const int rc = q8conv_tensor_write_raw(t, poison, raw) == Q8CONV_SUCCESS ? 0 : -1;
    free(poison);
    return rc;
}
