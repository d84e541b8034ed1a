/* The helpers of common.h, shared by the unit, GPU, embedding and stress tests. */
#include "common.h"

#include "clamp.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

/* ---- the seed and random numbers ---- */

int test_failures = 0;
static uint64_t seed_value;
static test_rng process_rng;
static int seeded;

uint64_t test_seed(void)
{
    if (!seeded) {
        const char *s = getenv("Q8CONV_SEED");
        seed_value = s && *s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
        process_rng = test_rng_seeded(seed_value);
        seeded = 1;
    }
    return seed_value;
}

test_rng test_rng_seeded(uint64_t seed)
{
    test_rng r = {seed};
    /* A few rounds first, so that nearby seeds (case indices) give unrelated streams. */
    for (int i = 0; i < 4; ++i)
        test_rng_next(&r);
    return r;
}

/* splitmix64: tiny, full period, and good enough for test data. */
uint64_t test_rng_next(test_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t test_rng_range(test_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(test_rng_next(r) % ((uint64_t)hi - lo + 1));
}

float test_rng_uniform(test_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(test_rng_next(r) >> 40) / 16777216.0);
}

bool test_rng_chance(test_rng *r, unsigned percent)
{
    return test_rng_range(r, 0, 99) < percent;
}

void test_rng_fill(test_rng *r, int8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = test_rng_next(r);
        memcpy(p + i, &v, 8);
    }
    if (i < n) {
        uint64_t v = test_rng_next(r);
        memcpy(p + i, &v, n - i);
    }
}

test_rng *test_process_rng(void)
{
    test_seed();
    return &process_rng;
}

uint64_t test_rand(void)
{
    return test_rng_next(test_process_rng());
}

uint32_t test_range(uint32_t lo, uint32_t hi)
{
    return test_rng_range(test_process_rng(), lo, hi);
}

uint32_t test_below(uint32_t bound)
{
    return (uint32_t)(test_rand() % bound);
}

void test_fill_i8(int8_t *p, size_t n)
{
    test_rng_fill(test_process_rng(), p, n);
}

/* ---- random operators ---- */

/* In the side's range: int8 [-128, 127], uint8 [0, 255] (the same edges, shifted by 128). */
static int32_t pick_zero_point(test_rng *r, bool edges, q8conv_dtype type)
{
    static const int32_t edge_values[] = {-128, -127, -1, 0, 1, 126, 127};
    const int32_t shift = type == Q8CONV_DTYPE_UINT8 ? 128 : 0;
    if (edges && test_rng_chance(r, 40))
        return edge_values[test_rng_range(r, 0, sizeof edge_values / sizeof edge_values[0] - 1)] + shift;
    return (int32_t)test_rng_range(r, 0, 255) - 128 + shift;
}

/* Weight zero points per test_wzp. Each channel's scale shrinks by how much the zero point moves
 * w - z_w away from centred data (std 74, mean `centre`), so the outputs keep spreading over the
 * range instead of saturating. */
static void draw_weight_zero_points(test_op *op, test_rng *r, const test_op_params *p)
{
    const bool u8 = p->weight_type == Q8CONV_DTYPE_UINT8;
    const int32_t lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
    const float centre = u8 ? 127.5f : -0.5f;
    op->weight_zps = malloc(sizeof(int32_t) * p->oc);
    const int32_t tensor_zp = p->edges && test_rng_chance(r, 40) ? (test_rng_chance(r, 50) ? lo : hi)
                                                                 : (int32_t)test_rng_range(r, 0, 255) + lo;
    for (uint32_t o = 0; o < p->oc; ++o) {
        int32_t z = tensor_zp;
        if (p->weight_zp == TEST_WZP_CHANNEL)
            z = (int32_t)test_rng_range(r, 0, 255) + lo;
        else if (p->weight_zp == TEST_WZP_ENDS)
            z = o % 3 == 0 ? lo : o % 3 == 1 ? hi : lo + 1;
        else if (p->weight_zp == TEST_WZP_MID)
            z = lo + 128;
        op->weight_zps[o] = z;
        const float d = centre - (float)z;
        op->scales[o] = op->scales[o] * 74.0f / sqrtf(74.0f * 74.0f + d * d);
    }
    op->desc.weight_zero_points = op->weight_zps;
}

void test_op_random(test_op *op, test_rng *r, const test_op_params *p)
{
    memset(op, 0, sizeof *op);
    const uint32_t ic = p->ic, oc = p->oc;
    const size_t nw = (size_t)ic * oc;
    op->weights = malloc(nw ? nw : 1);
    op->scales = malloc(sizeof(float) * oc);
    const uint32_t weight_kind = p->edges ? test_rng_range(r, 0, 9) : 0;
    test_rng_fill(r, op->weights, nw);
    for (size_t i = 0; i < nw; ++i) {
        if (weight_kind == 8) /* the ends of the range: the largest accumulators */
            op->weights[i] = (op->weights[i] & 1) ? 127 : -128;
        else if (weight_kind == 9 && (op->weights[i] & 7)) /* mostly zero */
            op->weights[i] = 0;
    }
    float sx = test_rng_uniform(r, 0.004f, 0.1f), sw_sum = 0.0f;
    for (uint32_t o = 0; o < oc; ++o) {
        op->scales[o] = test_rng_uniform(r, 0.001f, 0.03f);
        sw_sum += op->scales[o];
    }
    /* Uniform 8-bit data has a standard deviation near 74, an accumulator of IC products one near
     * sqrt(IC) * 74^2. The output scale puts 10 to 80 quantization steps in one such deviation, so
     * both clamps are reached without saturating everything. */
    const float acc_std = sqrtf((float)ic) * 5476.0f;
    const float real_std = sx * (sw_sum / (float)oc) * acc_std;
    float sy = real_std / test_rng_uniform(r, 10.0f, 80.0f);
    if (p->edges) {
        uint32_t k = test_rng_range(r, 0, 9);
        if (k == 0)
            sy *= 1e-3f; /* nearly every output saturates */
        else if (k == 1)
            sy *= 1e3f; /* nearly every output is z_y */
    }
    if (p->bias == Q8CONV_BIAS_FLOAT) {
        float *b = malloc(sizeof(float) * oc);
        for (uint32_t o = 0; o < oc; ++o)
            b[o] = test_rng_uniform(r, -2.0f * real_std, 2.0f * real_std);
        op->bias = b;
    } else if (p->bias == Q8CONV_BIAS_INT32) {
        int32_t *b = malloc(sizeof(int32_t) * oc);
        for (uint32_t o = 0; o < oc; ++o) {
            b[o] = (int32_t)test_rng_uniform(r, -2.0f * acc_std, 2.0f * acc_std);
            if (p->edges && test_rng_chance(r, 10))
                b[o] = test_rng_chance(r, 50) ? (1 << 30) : -(1 << 30);
        }
        op->bias = b;
    }
    op->desc = (q8conv_pw_desc){
        .in_channels = ic,
        .out_channels = oc,
        .input_scale = sx,
        .input_zero_point = pick_zero_point(r, p->edges, p->input_type),
        .output_scale = sy,
        .output_zero_point = pick_zero_point(r, p->edges, p->output_type),
        .input_type = p->input_type,
        .output_type = p->output_type,
        .weights = op->weights,
        .weight_scales = op->scales,
        .bias_mode = p->bias,
        .bias = op->bias,
        .activation = p->activation,
        .input_layout = p->input_layout,
        .output_layout = p->output_layout,
        .kernel = p->kernel,
        .weight_type = p->weight_type,
        .stride_h = p->stride_h,
        .stride_w = p->stride_w,
    };
    if (p->weight_zp != TEST_WZP_NONE)
        draw_weight_zero_points(op, r, p);
}

void test_op_free(test_op *op)
{
    free(op->weight_zps);
    free(op->weights);
    free(op->scales);
    free(op->bias);
    memset(op, 0, sizeof *op);
}

/* ---- poison and clamp bounds ---- */

bool test_poison_tensor(q8conv_tensor *t)
{
    q8conv_tensor_desc d;
    if (q8conv_tensor_get_desc(t, &d) != Q8CONV_SUCCESS)
        return false;
    const size_t raw = (size_t)q8conv_tensor_size_bytes(&d);
    uint8_t *poison = malloc(raw);
    if (!poison)
        return false;
    memset(poison, TEST_POISON, raw);
    const bool ok = q8conv_tensor_write_raw(t, poison, raw) == Q8CONV_SUCCESS;
    free(poison);
    return ok;
}

void test_clamp_bounds(const q8conv_pw_desc *desc, int32_t *lo, int32_t *hi)
{
    float qmin, qmax;
    q8conv_clamp_bounds(desc, &qmin, &qmax);
    *lo = (int32_t)qmin;
    *hi = (int32_t)qmax;
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

/* The raw output written over TEST_POISON: padded channel bytes inside written words are 0, and
 * words wholly in the width padding (4W4C) still hold the poison. */
static bool check_padding(const q8conv_tensor_desc *d, const uint8_t *raw, char *err, size_t err_size)
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
                    if (w >= d->w && b != TEST_POISON) {
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

static const char *dtype_name(q8conv_dtype t)
{
    return t == Q8CONV_DTYPE_INT8 ? "s8" : t == Q8CONV_DTYPE_UINT8 ? "u8" : "?";
}

static void nchw_to_nhwc(const int8_t *src, uint32_t n, uint32_t c, uint32_t h, uint32_t w, int8_t *dst)
{
    const size_t hw = (size_t)h * w;
    for (uint32_t b = 0; b < n; ++b)
        for (uint32_t k = 0; k < c; ++k)
            for (size_t p = 0; p < hw; ++p)
                dst[((size_t)b * hw + p) * c + k] = src[((size_t)b * c + k) * hw + p];
}

uint32_t test_strided_extent(uint32_t in, uint32_t stride)
{
    return stride > 1u ? (in - 1u) / stride + 1u : in;
}

void test_describe_run(const q8conv_pw_desc *desc, uint32_t n, uint32_t h, uint32_t w, char *buf, size_t size)
{
    int len = snprintf(buf, size, "N%u H%u W%u %u->%u bias %d act %d %s->%s %s->%s kernel %s zx %d zy %d: ", n, h,
                       w, desc->in_channels, desc->out_channels, (int)desc->bias_mode, (int)desc->activation,
                       layout_name(desc->input_layout), layout_name(desc->output_layout), dtype_name(desc->input_type),
                       dtype_name(desc->output_type), q8conv_kernel_name(desc->kernel), desc->input_zero_point,
                       desc->output_zero_point);
    /* The newer fields only where set, so that earlier descriptions read as they did. */
    if (len > 2 && (size_t)len < size &&
        (desc->weight_type || desc->weight_zero_points || desc->stride_h > 1 || desc->stride_w > 1))
        snprintf(buf + len - 2, size - (size_t)len + 2, " weights %s zw[0] %d stride %ux%u: ",
                 dtype_name(desc->weight_type), desc->weight_zero_points ? desc->weight_zero_points[0] : 0,
                 desc->stride_h ? desc->stride_h : 1u, desc->stride_w ? desc->stride_w : 1u);
}

bool test_check_run(q8conv_context *ctx, q8conv_pw *op, const q8conv_pw_desc *desc, uint32_t n, uint32_t h,
                    uint32_t w, test_rng *r, char *err, size_t err_size)
{
    return test_check_run_input(ctx, op, desc, n, h, w, NULL, r, err, err_size);
}

bool test_check_run_input(q8conv_context *ctx, q8conv_pw *op, const q8conv_pw_desc *desc, uint32_t n, uint32_t h,
                          uint32_t w, const int8_t *input, test_rng *r, char *err, size_t err_size)
{
    char what[256];
    test_describe_run(desc, n, h, w, what, sizeof what);
    const uint32_t ic = desc->in_channels, oc = desc->out_channels;
    const uint32_t ho = test_strided_extent(h, desc->stride_h), wo = test_strided_extent(w, desc->stride_w);
    const size_t in_n = (size_t)n * ic * h * w, out_n = (size_t)n * oc * ho * wo;
    const q8conv_tensor_desc di = {.n = n, .c = ic, .h = h, .w = w, .layout = desc->input_layout,
                                   .dtype = desc->input_type};
    const q8conv_tensor_desc dout = {.n = n, .c = oc, .h = ho, .w = wo, .layout = desc->output_layout,
                                     .dtype = desc->output_type};
    const size_t raw_size = (size_t)q8conv_tensor_size_bytes(&dout);
    int8_t *x = malloc(in_n), *xh = malloc(in_n), *ref = malloc(out_n), *got = malloc(out_n);
    uint8_t *raw = malloc(raw_size ? raw_size : 1);
    q8conv_tensor *ti = NULL, *to = NULL;
    q8conv_status st;
    bool ok = false;
#define RUN_FAIL(...)                          \
    do {                                       \
        say(err, err_size, what, __VA_ARGS__); \
        goto done;                             \
    } while (0)
    if (!x || !xh || !ref || !got || !raw || raw_size == 0)
        RUN_FAIL("host allocation failed");
    if (input)
        memcpy(x, input, in_n);
    else
        test_rng_fill(r, x, in_n);
    if ((st = q8conv_pw_reference(desc, n, h, w, x, ref)) != Q8CONV_SUCCESS)
        RUN_FAIL("reference: %s", q8conv_status_string(st));
    if ((st = q8conv_tensor_create(ctx, &di, &ti)) != Q8CONV_SUCCESS)
        RUN_FAIL("input tensor_create: %s", q8conv_status_string(st));
    if ((st = q8conv_tensor_create(ctx, &dout, &to)) != Q8CONV_SUCCESS)
        RUN_FAIL("output tensor_create: %s", q8conv_status_string(st));
    /* Both host layouts, so that both conversions meet every shape. */
    const q8conv_host_layout host = test_rng_chance(r, 50) ? Q8CONV_HOST_NHWC : Q8CONV_HOST_NCHW;
    if (host == Q8CONV_HOST_NHWC)
        nchw_to_nhwc(x, n, ic, h, w, xh);
    else
        memcpy(xh, x, in_n);
    if ((st = q8conv_tensor_write(ti, xh, host)) != Q8CONV_SUCCESS)
        RUN_FAIL("tensor_write: %s", q8conv_status_string(st));
    memset(raw, TEST_POISON, raw_size);
    if ((st = q8conv_tensor_write_raw(to, raw, raw_size)) != Q8CONV_SUCCESS)
        RUN_FAIL("tensor_write_raw: %s", q8conv_status_string(st));
    if ((st = q8conv_pw_run(op, ti, to)) != Q8CONV_SUCCESS)
        RUN_FAIL("pw_run: %s", q8conv_status_string(st));
    if ((st = q8conv_tensor_read_raw(to, raw, raw_size)) != Q8CONV_SUCCESS)
        RUN_FAIL("tensor_read_raw: %s", q8conv_status_string(st));
    char pad[160];
    if (!check_padding(&dout, raw, pad, sizeof pad))
        RUN_FAIL("%s", pad);
    if ((st = q8conv_tensor_read(to, got, Q8CONV_HOST_NCHW)) != Q8CONV_SUCCESS)
        RUN_FAIL("tensor_read: %s", q8conv_status_string(st));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < out_n; ++i)
        if (got[i] != ref[i] && bad++ == 0)
            first = i;
    if (bad)
        RUN_FAIL("%zu of %zu bytes differ; first at %zu: gpu 0x%02x ref 0x%02x", bad, out_n, first,
                 (uint8_t)got[first], (uint8_t)ref[first]);
    ok = true;
#undef RUN_FAIL
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

bool test_check_context_works(q8conv_context *ctx, test_rng *r, char *err, size_t err_size)
{
    test_op_params p = {.ic = test_rng_range(r, 1, 40),
                        .oc = test_rng_range(r, 1, 24),
                        .bias = (q8conv_bias_mode)test_rng_range(r, 0, 2),
                        .activation = (q8conv_activation)test_rng_range(r, 0, 2),
                        .input_layout = (q8conv_layout)test_rng_range(r, 0, 1),
                        .output_layout = (q8conv_layout)test_rng_range(r, 0, 1),
                        .input_type = (q8conv_dtype)test_rng_range(r, 0, 1),
                        .output_type = (q8conv_dtype)test_rng_range(r, 0, 1)};
    test_op t;
    test_op_random(&t, r, &p);
    q8conv_pw *op = NULL;
    q8conv_status st = q8conv_pw_create(ctx, &t.desc, &op);
    bool ok = st == Q8CONV_SUCCESS;
    if (!ok)
        say(err, err_size, "", "pw_create: %s", q8conv_status_string(st));
    else
        ok = test_check_run(ctx, op, &t.desc, test_rng_range(r, 1, 2), test_rng_range(r, 1, 7), test_rng_range(r, 1, 13), r,
                              err, err_size);
    q8conv_pw_destroy(op);
    test_op_free(&t);
    return ok;
}

/* ---- checks and reporting ---- */

static void print_message(void *user, q8conv_message_severity severity, const char *message)
{
    (void)user;
    fprintf(stderr, "[validation %s] %s\n", severity == Q8CONV_MESSAGE_ERROR ? "error" : "warning", message);
}

q8conv_context *test_context(uint32_t flags)
{
    return test_context_with((q8conv_context_desc){.flags = flags});
}

q8conv_context *test_context_with(q8conv_context_desc desc)
{
    q8conv_context *ctx = NULL;
    if (!desc.message_callback)
        desc.message_callback = print_message;
    q8conv_status st = q8conv_context_create(&desc, &ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "FAIL: q8conv_context_create: %s\n", q8conv_status_string(st));
        test_failures++;
        return NULL;
    }
    return ctx;
}

q8conv_kernel test_auto_kernel(const q8conv_context_info *info, bool dot_used)
{
    if (info->cooperative_matrix_used)
        return Q8CONV_KERNEL_COOPMAT;
    if (dot_used && info->dot_signed_accelerated)
        return Q8CONV_KERNEL_DOT;
    if (dot_used && info->dot_mixed_accelerated)
        return Q8CONV_KERNEL_DOT_MIXED;
    return Q8CONV_KERNEL_FALLBACK;
}

void test_check_validation(const q8conv_context *ctx)
{
    q8conv_context_info info;
    if (!ctx || q8conv_context_get_info(ctx, &info) != Q8CONV_SUCCESS)
        return;
    CHECK(info.validation_errors == 0 && info.validation_warnings == 0,
          "validation layer reported %u errors, %u warnings", info.validation_errors, info.validation_warnings);
}

int test_finish(const char *name)
{
    if (test_failures)
        fprintf(stderr, "%s: %d check(s) failed (seed %llu)\n", name, test_failures,
                (unsigned long long)test_seed());
    else
        printf("%s: all checks passed (seed %llu)\n", name, (unsigned long long)test_seed());
    return test_failures ? 1 : 0;
}
