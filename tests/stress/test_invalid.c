/* Bad input, systematically: every public function against every class of invalid value.
 *
 * For each case: the documented status; `*out` left alone; nothing written (host buffers and a
 * poisoned "guard" tensor compared byte for byte before and after); and, at the end, both contexts
 * still run a convolution exactly and the validation layer (when on) saw nothing. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "common.h"
#include "test_device.h"

#define IC0 20u
#define OC0 12u
#define SENTINEL ((void *)(uintptr_t)0x5E47)

static test_rng rng;
static q8conv_context *ctx;  /* the default context */
static q8conv_context *ctx2; /* a second one (FORCE_FALLBACK): foreign tensors, and no DOT kernel */
static test_vk vk;

/* An output-shaped tensor holding poison: no failing call may change a byte of it. */
static q8conv_tensor *guard;
static uint8_t *guard_bytes;
static size_t guard_size;

static void check_guard(const char *after)
{
    uint8_t *now = malloc(guard_size);
    bool same = q8conv_tensor_read_raw(guard, now, guard_size) == Q8CONV_SUCCESS &&
                memcmp(now, guard_bytes, guard_size) == 0;
    free(now);
    CHECK(same, "%s: the guard tensor changed", after);
}

static bool all_poison(const void *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (((const uint8_t *)p)[i] != TEST_POISON)
            return false;
    return true;
}

/* ==== operator descriptors: q8conv_pw_validate_desc, q8conv_pw_reference, q8conv_pw_create ==== */

typedef enum field {
    F_NONE,
    F_WEIGHTS_NULL,
    F_SCALES_NULL,
    F_IC,
    F_OC,
    F_SX,
    F_SY,
    F_SW_FIRST,
    F_SW_LAST,
    F_ZX,
    F_ZY,
    F_BIAS_MODE,
    F_BIAS_NULL,
    F_BIAS_FLOAT_LAST, /* switches to float bias, last value = fv */
    F_BIAS_INT_LAST,   /* last int32 bias value = iv */
    F_ACT,
    F_IN_LAYOUT,
    F_OUT_LAYOUT,
    F_KERNEL,
    F_CONTEXT2, /* pw_create on the second context */
    F_IN_TYPE,
    F_OUT_TYPE,
    F_UINT8, /* both sides uint8, their zero points shifted by 128 into [0, 255] (valid) */
    F_WEIGHT_TYPE,
    F_WZP_FIRST, /* weight_zero_points given (all 0 but the first = iv) */
    F_WZP_LAST,  /* weight_zero_points given (all 0 but the last = iv) */
    F_STRIDE_H,
    F_STRIDE_W,
} field;

typedef struct change {
    field f;
    float fv;
    int64_t iv;
} change;

typedef struct desc_case {
    const char *name;
    change c[2];
    q8conv_status valid;  /* q8conv_pw_validate_desc; q8conv_pw_reference maps it to SUCCESS/INVALID */
    q8conv_status create; /* q8conv_pw_create */
} desc_case;

#define INV Q8CONV_ERROR_INVALID_ARGUMENT
#define UNS Q8CONV_ERROR_UNSUPPORTED
#define OK Q8CONV_SUCCESS
#define ONE(f, fv, iv) {{f, fv, iv}, {F_NONE, 0, 0}}
/* Every float class a scale may not take, for a field. */
#define BAD_SCALES(f, label)                                                                                 \
    {label " NaN", ONE(f, NAN, 0), INV, INV}, {label " +inf", ONE(f, INFINITY, 0), INV, INV},                 \
    {label " -inf", ONE(f, -INFINITY, 0), INV, INV}, {label " 0", ONE(f, 0.0f, 0), INV, INV},                  \
    {label " -0", ONE(f, -0.0f, 0), INV, INV}, {label " negative", ONE(f, -0.05f, 0), INV, INV},               \
    {label " denormal", ONE(f, 1e-40f, 0), INV, INV}, {label " smallest denormal", ONE(f, 1.4e-45f, 0), INV, INV}, \
    {label " FLT_MAX (1/s subnormal)", ONE(f, FLT_MAX, 0), INV, INV},                                         \
    {label " 3e38 (1/s subnormal)", ONE(f, 3e38f, 0), INV, INV},                                               \
    {label " 1e38 (1/s subnormal)", ONE(f, 1e38f, 0), INV, INV}

static const desc_case desc_cases[] = {
    {"valid (control)", ONE(F_NONE, 0, 0), OK, OK},
    {"weights NULL", ONE(F_WEIGHTS_NULL, 0, 0), INV, INV},
    {"weight_scales NULL", ONE(F_SCALES_NULL, 0, 0), INV, INV},
    {"in_channels 0", ONE(F_IC, 0, 0), INV, INV},
    {"in_channels 16385 (> 16384)", ONE(F_IC, 0, 16385), INV, INV},
    {"in_channels UINT32_MAX", ONE(F_IC, 0, UINT32_MAX), INV, INV},
    {"out_channels 0", ONE(F_OC, 0, 0), INV, INV},
    {"out_channels 16385", ONE(F_OC, 0, 16385), INV, INV},
    {"out_channels UINT32_MAX", ONE(F_OC, 0, UINT32_MAX), INV, INV},
    BAD_SCALES(F_SX, "input_scale"),
    BAD_SCALES(F_SY, "output_scale"),
    BAD_SCALES(F_SW_FIRST, "weight_scales[0]"),
    BAD_SCALES(F_SW_LAST, "weight_scales[OC-1]"),
    {"input_scale FLT_MIN (valid)", ONE(F_SX, FLT_MIN, 0), OK, UNS}, /* s_x * s_w subnormal */
    /* valid (1/s normal), but (s_x * s_w) / s_y of the INT32 bias mode is subnormal */
    {"output_scale 1e37 (valid, unsupported)", ONE(F_SY, 1e37f, 0), OK, UNS},
    {"output_scale 1e30 (valid)", ONE(F_SY, 1e30f, 0), OK, OK},
    {"s_x * s_w[oc] subnormal (valid, unsupported)", {{F_SX, 1e-20f, 0}, {F_SW_LAST, 1e-20f, 0}}, OK, UNS},
    {"input_zero_point -129", ONE(F_ZX, 0, -129), INV, INV},
    {"input_zero_point 128", ONE(F_ZX, 0, 128), INV, INV},
    {"input_zero_point INT32_MIN", ONE(F_ZX, 0, INT32_MIN), INV, INV},
    {"input_zero_point INT32_MAX", ONE(F_ZX, 0, INT32_MAX), INV, INV},
    {"output_zero_point -129", ONE(F_ZY, 0, -129), INV, INV},
    {"output_zero_point 128", ONE(F_ZY, 0, 128), INV, INV},
    {"output_zero_point INT32_MIN", ONE(F_ZY, 0, INT32_MIN), INV, INV},
    {"output_zero_point INT32_MAX", ONE(F_ZY, 0, INT32_MAX), INV, INV},
    {"zero points -128 / 127 (valid)", {{F_ZX, 0, -128}, {F_ZY, 0, 127}}, OK, OK},
    {"zero points 127 / -128 (valid)", {{F_ZX, 0, 127}, {F_ZY, 0, -128}}, OK, OK},
    {"bias NONE with a pointer", ONE(F_BIAS_MODE, 0, Q8CONV_BIAS_NONE), INV, INV},
    {"bias INT32 without a pointer", ONE(F_BIAS_NULL, 0, 0), INV, INV},
    {"bias FLOAT without a pointer", {{F_BIAS_FLOAT_LAST, 0.5f, 0}, {F_BIAS_NULL, 0, 0}}, INV, INV},
    {"float bias NaN", ONE(F_BIAS_FLOAT_LAST, NAN, 0), INV, INV},
    {"float bias +inf", ONE(F_BIAS_FLOAT_LAST, INFINITY, 0), INV, INV},
    {"float bias -inf", ONE(F_BIAS_FLOAT_LAST, -INFINITY, 0), INV, INV},
    {"float bias subnormal (valid, unsupported)", ONE(F_BIAS_FLOAT_LAST, 1e-40f, 0), OK, UNS},
    {"float bias FLT_MAX (valid)", ONE(F_BIAS_FLOAT_LAST, FLT_MAX, 0), OK, OK},
    {"int32 bias 2^30 + 1", ONE(F_BIAS_INT_LAST, 0, (1 << 30) + 1), INV, INV},
    {"int32 bias -2^30 - 1", ONE(F_BIAS_INT_LAST, 0, -(1 << 30) - 1), INV, INV},
    {"int32 bias INT32_MAX", ONE(F_BIAS_INT_LAST, 0, INT32_MAX), INV, INV},
    {"int32 bias INT32_MIN", ONE(F_BIAS_INT_LAST, 0, INT32_MIN), INV, INV},
    {"int32 bias 2^30 (valid)", ONE(F_BIAS_INT_LAST, 0, 1 << 30), OK, OK},
    {"int32 bias -2^30 (valid)", ONE(F_BIAS_INT_LAST, 0, -(1 << 30)), OK, OK},
    {"bias_mode 3", ONE(F_BIAS_MODE, 0, 3), INV, INV},
    {"bias_mode 0x7fffffff", ONE(F_BIAS_MODE, 0, 0x7fffffff), INV, INV},
    {"bias_mode -1", ONE(F_BIAS_MODE, 0, -1), INV, INV},
    {"activation 3", ONE(F_ACT, 0, 3), INV, INV},
    {"activation 0x80000000", ONE(F_ACT, 0, 0x80000000u), INV, INV},
    {"activation -1", ONE(F_ACT, 0, -1), INV, INV},
    {"input_layout 2", ONE(F_IN_LAYOUT, 0, 2), INV, INV},
    {"input_layout -1", ONE(F_IN_LAYOUT, 0, -1), INV, INV},
    {"output_layout 2", ONE(F_OUT_LAYOUT, 0, 2), INV, INV},
    {"output_layout 0x10000", ONE(F_OUT_LAYOUT, 0, 0x10000), INV, INV},
    {"kernel 6 (COUNT_)", ONE(F_KERNEL, 0, Q8CONV_KERNEL_COUNT_), INV, INV},
    {"kernel 7", ONE(F_KERNEL, 0, Q8CONV_KERNEL_COUNT_ + 1), INV, INV},
    {"kernel DOT_MIXED (valid)", ONE(F_KERNEL, 0, Q8CONV_KERNEL_DOT_MIXED), OK, OK},
    {"kernel -1", ONE(F_KERNEL, 0, -1), INV, INV},
    {"kernel 0x7fffffff", ONE(F_KERNEL, 0, 0x7fffffff), INV, INV},
    {"kernel DOT on a context without dot product", {{F_KERNEL, 0, Q8CONV_KERNEL_DOT}, {F_CONTEXT2, 0, 0}}, OK, UNS},
    {"kernel DOT_MIXED on a context without dot product", {{F_KERNEL, 0, Q8CONV_KERNEL_DOT_MIXED}, {F_CONTEXT2, 0, 0}},
     OK, UNS},
    {"kernel DOT_MIXED, uint8 in and out (valid)", {{F_KERNEL, 0, Q8CONV_KERNEL_DOT_MIXED}, {F_UINT8, 0, 0}}, OK, OK},
    {"input_type 2", ONE(F_IN_TYPE, 0, 2), INV, INV},
    {"input_type -1", ONE(F_IN_TYPE, 0, -1), INV, INV},
    {"output_type 2", ONE(F_OUT_TYPE, 0, 2), INV, INV},
    {"output_type 0x80000000", ONE(F_OUT_TYPE, 0, 0x80000000u), INV, INV},
    {"uint8 in and out (valid)", ONE(F_UINT8, 0, 0), OK, OK},
    {"uint8 input_zero_point -1", {{F_UINT8, 0, 0}, {F_ZX, 0, -1}}, INV, INV},
    {"uint8 input_zero_point 256", {{F_UINT8, 0, 0}, {F_ZX, 0, 256}}, INV, INV},
    {"uint8 input_zero_point -128 (int8's minimum)", {{F_UINT8, 0, 0}, {F_ZX, 0, -128}}, INV, INV},
    {"uint8 input_zero_point INT32_MIN", {{F_UINT8, 0, 0}, {F_ZX, 0, INT32_MIN}}, INV, INV},
    {"uint8 output_zero_point -1", {{F_UINT8, 0, 0}, {F_ZY, 0, -1}}, INV, INV},
    {"uint8 output_zero_point 256", {{F_UINT8, 0, 0}, {F_ZY, 0, 256}}, INV, INV},
    {"uint8 output_zero_point INT32_MAX", {{F_UINT8, 0, 0}, {F_ZY, 0, INT32_MAX}}, INV, INV},
    {"uint8 zero points 0 / 255 (valid)", {{F_UINT8, 0, 0}, {F_ZX, 0, 0}}, OK, OK},
    {"uint8 zero points 255 / x (valid)", {{F_UINT8, 0, 0}, {F_ZX, 0, 255}}, OK, OK},
    {"uint8 output_zero_point 0 (valid)", {{F_UINT8, 0, 0}, {F_ZY, 0, 0}}, OK, OK},
    {"uint8 output_zero_point 255 (valid)", {{F_UINT8, 0, 0}, {F_ZY, 0, 255}}, OK, OK},
    /* one side uint8, the other int8 with a zero point only uint8 allows */
    {"uint8 input, int8 output_zero_point 200", {{F_IN_TYPE, 0, 1}, {F_ZY, 0, 200}}, INV, INV},
    {"uint8 output, int8 input_zero_point 128", {{F_OUT_TYPE, 0, 1}, {F_ZX, 0, 128}}, INV, INV},
    {"uint8 input with z_x 0, int8 output (valid)", {{F_IN_TYPE, 0, 1}, {F_ZX, 0, 0}}, OK, OK},
    {"int8 input, uint8 output with z_y 255 (valid)", {{F_OUT_TYPE, 0, 1}, {F_ZY, 0, 255}}, OK, OK},
    {"kernel LEGACY on a context without dot product", {{F_KERNEL, 0, Q8CONV_KERNEL_LEGACY}, {F_CONTEXT2, 0, 0}},
     OK, OK},
    /* weight type, weight zero points, strides */
    {"weight_type 2", ONE(F_WEIGHT_TYPE, 0, 2), INV, INV},
    {"weight_type -1", ONE(F_WEIGHT_TYPE, 0, -1), INV, INV},
    {"weight_type 0x80000000", ONE(F_WEIGHT_TYPE, 0, 0x80000000u), INV, INV},
    {"uint8 weights (valid; z_w 0)", ONE(F_WEIGHT_TYPE, 0, Q8CONV_DTYPE_UINT8), OK, OK},
    {"int8 weight zero point -129", ONE(F_WZP_FIRST, 0, -129), INV, INV},
    {"int8 weight zero point 128", ONE(F_WZP_LAST, 0, 128), INV, INV},
    {"int8 weight zero point INT32_MIN", ONE(F_WZP_LAST, 0, INT32_MIN), INV, INV},
    {"int8 weight zero point -128 (valid)", ONE(F_WZP_FIRST, 0, -128), OK, OK},
    {"int8 weight zero point 127 (valid)", ONE(F_WZP_LAST, 0, 127), OK, OK},
    {"uint8 weight zero point -1", {{F_WEIGHT_TYPE, 0, Q8CONV_DTYPE_UINT8}, {F_WZP_FIRST, 0, -1}}, INV, INV},
    {"uint8 weight zero point 256", {{F_WEIGHT_TYPE, 0, Q8CONV_DTYPE_UINT8}, {F_WZP_LAST, 0, 256}}, INV, INV},
    {"uint8 weight zero point INT32_MAX", {{F_WEIGHT_TYPE, 0, Q8CONV_DTYPE_UINT8}, {F_WZP_LAST, 0, INT32_MAX}}, INV, INV},
    {"uint8 weight zero point 255 (valid)", {{F_WEIGHT_TYPE, 0, Q8CONV_DTYPE_UINT8}, {F_WZP_LAST, 0, 255}}, OK, OK},
    {"uint8 weight zero point 0 (valid)", {{F_WEIGHT_TYPE, 0, Q8CONV_DTYPE_UINT8}, {F_WZP_FIRST, 0, 0}}, OK, OK},
    {"stride_h UINT32_MAX (valid)", ONE(F_STRIDE_H, 0, UINT32_MAX), OK, OK},
    {"stride_w 3 (valid)", ONE(F_STRIDE_W, 0, 3), OK, OK},
};

typedef struct desc_fixture {
    q8conv_pw_desc d;
    int8_t weights[OC0 * IC0];
    float scales[OC0];
    float fbias[OC0];
    int32_t ibias[OC0];
    int32_t wzps[OC0];
    q8conv_context *target;
} desc_fixture;

/* A valid base (INT32 bias, 4C1W -> 4W4C, AUTO kernel) with one or two fields changed. */
static void make_fixture(desc_fixture *f, const desc_case *c)
{
    test_op_params p = {.ic = IC0, .oc = OC0, .bias = Q8CONV_BIAS_INT32, .activation = Q8CONV_ACTIVATION_RELU,
                        .input_layout = Q8CONV_LAYOUT_4C1W, .output_layout = Q8CONV_LAYOUT_4W4C};
    test_op base;
    test_op_random(&base, &rng, &p);
    memcpy(f->weights, base.weights, sizeof f->weights);
    memcpy(f->scales, base.scales, sizeof f->scales);
    memcpy(f->ibias, base.bias, sizeof f->ibias);
    for (uint32_t o = 0; o < OC0; ++o)
        f->fbias[o] = test_rng_uniform(&rng, -1.0f, 1.0f);
    f->d = base.desc;
    f->d.weights = f->weights;
    f->d.weight_scales = f->scales;
    f->d.bias = f->ibias;
    f->target = ctx;
    test_op_free(&base);
    for (int i = 0; i < 2; ++i) {
        const change *m = &c->c[i];
        switch (m->f) {
        case F_NONE: break;
        case F_WEIGHTS_NULL: f->d.weights = NULL; break;
        case F_SCALES_NULL: f->d.weight_scales = NULL; break;
        case F_IC: f->d.in_channels = (uint32_t)m->iv; break;
        case F_OC: f->d.out_channels = (uint32_t)m->iv; break;
        case F_SX: f->d.input_scale = m->fv; break;
        case F_SY: f->d.output_scale = m->fv; break;
        case F_SW_FIRST: f->scales[0] = m->fv; break;
        case F_SW_LAST: f->scales[OC0 - 1] = m->fv; break;
        case F_ZX: f->d.input_zero_point = (int32_t)m->iv; break;
        case F_ZY: f->d.output_zero_point = (int32_t)m->iv; break;
        case F_BIAS_MODE: f->d.bias_mode = (q8conv_bias_mode)(uint32_t)m->iv; break;
        case F_BIAS_NULL: f->d.bias = NULL; break;
        case F_BIAS_FLOAT_LAST:
            f->d.bias_mode = Q8CONV_BIAS_FLOAT;
            f->d.bias = f->fbias;
            f->fbias[OC0 - 1] = m->fv;
            break;
        case F_BIAS_INT_LAST: f->ibias[OC0 - 1] = (int32_t)m->iv; break;
        case F_ACT: f->d.activation = (q8conv_activation)(uint32_t)m->iv; break;
        case F_IN_LAYOUT: f->d.input_layout = (q8conv_layout)(uint32_t)m->iv; break;
        case F_OUT_LAYOUT: f->d.output_layout = (q8conv_layout)(uint32_t)m->iv; break;
        case F_KERNEL: f->d.kernel = (q8conv_kernel)(uint32_t)m->iv; break;
        case F_CONTEXT2: f->target = ctx2; break;
        case F_IN_TYPE: f->d.input_type = (q8conv_dtype)(uint32_t)m->iv; break;
        case F_OUT_TYPE: f->d.output_type = (q8conv_dtype)(uint32_t)m->iv; break;
        case F_WEIGHT_TYPE: f->d.weight_type = (q8conv_dtype)(uint32_t)m->iv; break;
        case F_WZP_FIRST:
        case F_WZP_LAST:
            memset(f->wzps, 0, sizeof f->wzps);
            f->wzps[m->f == F_WZP_FIRST ? 0 : OC0 - 1] = (int32_t)m->iv;
            f->d.weight_zero_points = f->wzps;
            break;
        case F_STRIDE_H: f->d.stride_h = (uint32_t)m->iv; break;
        case F_STRIDE_W: f->d.stride_w = (uint32_t)m->iv; break;
        case F_UINT8:
            f->d.input_type = Q8CONV_DTYPE_UINT8;
            f->d.output_type = Q8CONV_DTYPE_UINT8;
            f->d.input_zero_point += 128;
            f->d.output_zero_point += 128;
            break;
        }
    }
}

static void test_pw_descs(void)
{
    enum { N = 1, H = 2, W = 3 };
    int8_t x[N * IC0 * H * W], y[N * OC0 * H * W];
    char err[512];
    CHECK(q8conv_pw_validate_desc(NULL) == INV, "validate_desc(NULL)");
    CHECK(q8conv_pw_reference(NULL, 1, 1, 1, x, y) == INV, "reference(NULL desc)");
    for (size_t i = 0; i < sizeof desc_cases / sizeof desc_cases[0]; ++i) {
        const desc_case *c = &desc_cases[i];
        desc_fixture f;
        make_fixture(&f, c);
        q8conv_status st = q8conv_pw_validate_desc(&f.d);
        CHECK(st == c->valid, "validate_desc: %s: %s, expected %s", c->name, q8conv_status_string(st),
              q8conv_status_string(c->valid));

        test_rng_fill(&rng, x, sizeof x);
        memset(y, (int)TEST_POISON, sizeof y);
        st = q8conv_pw_reference(&f.d, N, H, W, x, y);
        q8conv_status expect_ref = c->valid == OK ? OK : INV;
        CHECK(st == expect_ref, "reference: %s: %s", c->name, q8conv_status_string(st));
        if (st != OK)
            CHECK(all_poison(y, sizeof y), "reference: %s: failed but wrote the output", c->name);

        q8conv_pw *op = SENTINEL;
        st = q8conv_pw_create(f.target, &f.d, &op);
        CHECK(st == c->create, "pw_create: %s: %s, expected %s", c->name, q8conv_status_string(st),
              q8conv_status_string(c->create));
        if (st == OK) {
            /* The valid edge cases also run, exactly. */
            CHECK(test_check_run(f.target, op, &f.d, 2, 3, 5, &rng, err, sizeof err), "%s: %s", c->name, err);
            q8conv_pw_destroy(op);
        } else {
            CHECK(op == SENTINEL, "pw_create: %s: failed but wrote *out", c->name);
        }
    }
    /* Reference dimensions and buffers. */
    desc_fixture f;
    make_fixture(&f, &desc_cases[0]);
    static const uint32_t dims[][3] = {{0, 2, 3}, {1, 0, 3}, {1, 2, 0}};
    for (size_t i = 0; i < 3; ++i) {
        memset(y, (int)TEST_POISON, sizeof y);
        CHECK(q8conv_pw_reference(&f.d, dims[i][0], dims[i][1], dims[i][2], x, y) == INV && all_poison(y, sizeof y),
              "reference with dimension %u x %u x %u", dims[i][0], dims[i][1], dims[i][2]);
    }
    CHECK(q8conv_pw_reference(&f.d, N, H, W, NULL, y) == INV && all_poison(y, sizeof y), "reference(input NULL)");
    CHECK(q8conv_pw_reference(&f.d, N, H, W, x, NULL) == INV, "reference(output NULL)");
    q8conv_pw *op = SENTINEL;
    CHECK(q8conv_pw_create(NULL, &f.d, &op) == INV && op == SENTINEL, "pw_create(NULL ctx)");
    CHECK(q8conv_pw_create(ctx, NULL, &op) == INV && op == SENTINEL, "pw_create(NULL desc)");
    CHECK(q8conv_pw_create(ctx, &f.d, NULL) == INV, "pw_create(NULL out)");
    printf("operator descriptors: %zu cases\n", sizeof desc_cases / sizeof desc_cases[0]);
}

/* ==== tensor descriptors: size_bytes, tensor_create, tensor_wrap(_sized) ==== */

typedef struct tensor_case {
    const char *name;
    q8conv_tensor_desc d;
    q8conv_status expect;
    bool size_zero; /* q8conv_tensor_size_bytes returns 0 */
} tensor_case;

static const tensor_case tensor_cases[] = {
    {"n = 0", {0, 4, 4, 4, 0}, INV, true},
    {"c = 0", {1, 0, 4, 4, 0}, INV, true},
    {"h = 0", {1, 4, 0, 4, 0}, INV, true},
    {"w = 0", {1, 4, 4, 0, 0}, INV, true},
    {"layout 2", {1, 4, 4, 4, (q8conv_layout)2}, INV, true},
    {"layout UINT32_MAX", {1, 4, 4, 4, (q8conv_layout)UINT32_MAX}, INV, true},
    {"layout 0x80000000", {1, 4, 4, 4, (q8conv_layout)0x80000000u}, INV, true},
    {"every dimension UINT32_MAX", {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0}, UNS, true},
    {"every dimension UINT32_MAX (4C1W)", {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, Q8CONV_LAYOUT_4C1W}, UNS, true},
    {"2^41 bytes", {1, 1u << 15, 1u << 12, 1u << 14, Q8CONV_LAYOUT_4C1W}, UNS, true},
    /* 64 GiB is a size, but N*H beyond 2^32 rows is more than a tensor may index */
    {"N*H = 2^32 rows", {1u << 16, 1, 1u << 16, 1, 0}, UNS, false},
    {"dtype 2", {1, 4, 4, 4, 0, (q8conv_dtype)2}, INV, true},
    {"dtype UINT32_MAX", {1, 4, 4, 4, Q8CONV_LAYOUT_4C1W, (q8conv_dtype)UINT32_MAX}, INV, true},
};

static void test_tensor_descs(void)
{
    test_buffer buf;
    CHECK(test_vk_buffer(&vk, 4096, TEST_MEMORY_DEVICE, &buf), "a 4 KiB buffer to wrap");
    const VkBuffer buffer = buf.buffer;
    CHECK(q8conv_tensor_size_bytes(NULL) == 0, "tensor_size_bytes(NULL)");
    for (size_t i = 0; i < sizeof tensor_cases / sizeof tensor_cases[0]; ++i) {
        const tensor_case *c = &tensor_cases[i];
        VkDeviceSize size = q8conv_tensor_size_bytes(&c->d);
        CHECK((size == 0) == c->size_zero, "tensor_size_bytes: %s: %llu", c->name, (unsigned long long)size);
        q8conv_tensor *t = SENTINEL;
        q8conv_status st = q8conv_tensor_create(ctx, &c->d, &t);
        CHECK(st == c->expect && t == SENTINEL, "tensor_create: %s: %s", c->name, q8conv_status_string(st));
        st = q8conv_tensor_wrap_sized(ctx, &c->d, buffer, 0, 4096, &t);
        CHECK(st == c->expect && t == SENTINEL, "tensor_wrap_sized: %s: %s", c->name, q8conv_status_string(st));
        st = q8conv_tensor_wrap(ctx, &c->d, buffer, 0, &t);
        CHECK(st == c->expect && t == SENTINEL, "tensor_wrap: %s: %s", c->name, q8conv_status_string(st));
    }
    const q8conv_tensor_desc d = {.n = 1, .c = 8, .h = 4, .w = 8};
    const VkDeviceSize dsize = q8conv_tensor_size_bytes(&d);
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    const VkDeviceSize align = info.min_storage_buffer_offset_alignment > 16 ? info.min_storage_buffer_offset_alignment : 16;
    struct {
        const char *name;
        q8conv_context *c;
        const q8conv_tensor_desc *d;
        VkBuffer b;
        VkDeviceSize offset, size;
        bool out;
    } wraps[] = {
        {"ctx NULL", NULL, &d, buffer, 0, 4096, true},
        {"desc NULL", ctx, NULL, buffer, 0, 4096, true},
        {"buffer VK_NULL_HANDLE", ctx, &d, VK_NULL_HANDLE, 0, 4096, true},
        {"out NULL", ctx, &d, buffer, 0, 4096, false},
        {"offset 8 (not a multiple of 16)", ctx, &d, buffer, 8, 4096, true},
        {"offset 4 (not a multiple of 16)", ctx, &d, buffer, 4, 4096, true},
        {"offset beyond the buffer", ctx, &d, buffer, 4096 + align, 4096, true},
        {"tensor one byte too large", ctx, &d, buffer, 0, dsize - 1, true},
        {"tensor past the end", ctx, &d, buffer, (4096 - dsize) / align * align + align, 4096, true},
        {"offset + size wraps around", ctx, &d, buffer, UINT64_MAX - 15, 4096, true},
        {"buffer_size 0", ctx, &d, buffer, 0, 0, true},
    };
    for (size_t i = 0; i < sizeof wraps / sizeof wraps[0]; ++i) {
        q8conv_tensor *t = SENTINEL;
        q8conv_status st = q8conv_tensor_wrap_sized(wraps[i].c, wraps[i].d, wraps[i].b, wraps[i].offset, wraps[i].size,
                                                    wraps[i].out ? &t : NULL);
        CHECK(st == INV && t == SENTINEL, "tensor_wrap_sized: %s: %s", wraps[i].name, q8conv_status_string(st));
    }
    /* Without a size, the buffer's memory requirement is the bound. */
    const q8conv_tensor_desc big = {.n = 1, .c = 64, .h = 16, .w = 16}; /* 16 KiB */
    q8conv_tensor *t = SENTINEL;
    CHECK(q8conv_tensor_wrap(ctx, &big, buffer, 0, &t) == INV && t == SENTINEL, "tensor_wrap of a too small buffer");
    CHECK(q8conv_tensor_wrap(NULL, &d, buffer, 0, &t) == INV && t == SENTINEL, "tensor_wrap(NULL ctx)");
    CHECK(q8conv_tensor_wrap(ctx, &d, VK_NULL_HANDLE, 0, &t) == INV && t == SENTINEL, "tensor_wrap(no buffer)");
    CHECK(q8conv_tensor_create(NULL, &d, &t) == INV && t == SENTINEL, "tensor_create(NULL ctx)");
    CHECK(q8conv_tensor_create(ctx, NULL, &t) == INV && t == SENTINEL, "tensor_create(NULL desc)");
    CHECK(q8conv_tensor_create(ctx, &d, NULL) == INV, "tensor_create(NULL out)");
    /* Control: the same buffer wraps fine at a legal offset. */
    CHECK(q8conv_tensor_wrap_sized(ctx, &d, buffer, align, 4096, &t) == OK && t != SENTINEL, "a legal wrap");
    if (t != SENTINEL)
        q8conv_tensor_destroy(t);
    test_vk_buffer_free(&vk, &buf);
    printf("tensor descriptors: %zu cases, wrap: %zu cases\n", sizeof tensor_cases / sizeof tensor_cases[0],
           sizeof wraps / sizeof wraps[0]);
}

/* ==== tensor data: write, read, raw, get_desc ==== */

static void test_tensor_data(void)
{
    q8conv_tensor_desc gd;
    CHECK_OK(q8conv_tensor_get_desc(guard, &gd));
    const size_t count = (size_t)gd.n * gd.c * gd.h * gd.w;
    int8_t *host = malloc(count);
    uint8_t *raw = malloc(guard_size + 1);
    test_rng_fill(&rng, host, count);
    static const q8conv_host_layout bad_layouts[] = {(q8conv_host_layout)2, (q8conv_host_layout)UINT32_MAX,
                                                     (q8conv_host_layout)0x80000000u};
    CHECK(q8conv_tensor_write(NULL, host, Q8CONV_HOST_NCHW) == INV, "tensor_write(NULL tensor)");
    CHECK(q8conv_tensor_write(guard, NULL, Q8CONV_HOST_NCHW) == INV, "tensor_write(NULL src)");
    for (size_t i = 0; i < 3; ++i)
        CHECK(q8conv_tensor_write(guard, host, bad_layouts[i]) == INV, "tensor_write(host layout %u)",
              (unsigned)bad_layouts[i]);
    check_guard("tensor_write with bad arguments");

    memset(host, (int)TEST_POISON, count);
    CHECK(q8conv_tensor_read(NULL, host, Q8CONV_HOST_NCHW) == INV, "tensor_read(NULL tensor)");
    CHECK(q8conv_tensor_read(guard, NULL, Q8CONV_HOST_NCHW) == INV, "tensor_read(NULL dst)");
    for (size_t i = 0; i < 3; ++i)
        CHECK(q8conv_tensor_read(guard, host, bad_layouts[i]) == INV, "tensor_read(host layout %u)",
              (unsigned)bad_layouts[i]);
    /* The guard holds poison too, so compare with a pattern it cannot produce. */
    memset(host, 0x11, count);
    CHECK(q8conv_tensor_read(guard, host, bad_layouts[0]) == INV, "tensor_read(host layout 2)");
    bool untouched = true;
    for (size_t i = 0; i < count; ++i)
        untouched = untouched && host[i] == 0x11;
    CHECK(untouched, "tensor_read with a bad host layout wrote the destination");

    static const size_t deltas[] = {1, 16};
    memset(raw, 0x22, guard_size + 1);
    for (size_t i = 0; i < 2; ++i) {
        CHECK(q8conv_tensor_read_raw(guard, raw, guard_size - deltas[i]) == INV, "tensor_read_raw(size - %zu)", deltas[i]);
        CHECK(q8conv_tensor_read_raw(guard, raw, guard_size + deltas[i]) == INV, "tensor_read_raw(size + %zu)", deltas[i]);
        CHECK(q8conv_tensor_write_raw(guard, raw, guard_size - deltas[i]) == INV, "tensor_write_raw(size - %zu)", deltas[i]);
        CHECK(q8conv_tensor_write_raw(guard, raw, guard_size + deltas[i]) == INV, "tensor_write_raw(size + %zu)", deltas[i]);
    }
    CHECK(q8conv_tensor_read_raw(guard, raw, 0) == INV && q8conv_tensor_read_raw(guard, raw, SIZE_MAX) == INV,
          "tensor_read_raw(size 0 / SIZE_MAX)");
    CHECK(q8conv_tensor_write_raw(guard, raw, 0) == INV && q8conv_tensor_write_raw(guard, raw, SIZE_MAX) == INV,
          "tensor_write_raw(size 0 / SIZE_MAX)");
    CHECK(q8conv_tensor_read_raw(NULL, raw, guard_size) == INV && q8conv_tensor_read_raw(guard, NULL, guard_size) == INV,
          "tensor_read_raw(NULLs)");
    CHECK(q8conv_tensor_write_raw(NULL, raw, guard_size) == INV && q8conv_tensor_write_raw(guard, NULL, guard_size) == INV,
          "tensor_write_raw(NULLs)");
    untouched = true;
    for (size_t i = 0; i < guard_size + 1; ++i)
        untouched = untouched && raw[i] == 0x22;
    CHECK(untouched, "tensor_read_raw with a wrong size wrote the destination");
    check_guard("raw reads and writes with wrong sizes");

    q8conv_tensor_desc d;
    memset(&d, 0x33, sizeof d);
    CHECK(q8conv_tensor_get_desc(NULL, &d) == INV && q8conv_tensor_get_desc(guard, NULL) == INV,
          "tensor_get_desc(NULLs)");
    const uint8_t *db = (const uint8_t *)&d;
    untouched = true;
    for (size_t i = 0; i < sizeof d; ++i)
        untouched = untouched && db[i] == 0x33;
    CHECK(untouched, "tensor_get_desc(NULL) wrote the descriptor");
    q8conv_tensor_destroy(NULL);
    free(host);
    free(raw);
    printf("tensor data: NULLs, host layouts, raw sizes\n");
}

/* ==== runs and recordings with wrong tensors ==== */

typedef struct run_case {
    const char *name;
    q8conv_pw *op;
    const q8conv_tensor *in;
    q8conv_tensor *out;
} run_case;

static void test_runs(void)
{
    char err[512];
    /* op: IC0 4C1W -> OC0 4W4C; the guard is its output for N2 H3 W5. */
    desc_fixture f;
    make_fixture(&f, &desc_cases[0]);
    q8conv_pw *op = NULL, *op2 = NULL, *square = NULL, *op_u8 = NULL, *op_s2 = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &f.d, &op));
    /* The same op with stride 2 x 2: its output for the 3 x 5 input is 2 x 3. */
    desc_fixture fs;
    make_fixture(&fs, &(desc_case){"stride 2", {{F_STRIDE_H, 0, 2}, {F_STRIDE_W, 0, 2}}, OK, OK});
    CHECK_OK(q8conv_pw_create(ctx, &fs.d, &op_s2));
    CHECK_OK(q8conv_pw_create(ctx2, &f.d, &op2));
    /* The same op with uint8 on both sides: tensors of the other type are refused in both directions. */
    desc_fixture fu;
    make_fixture(&fu, &(desc_case){"uint8", ONE(F_UINT8, 0, 0), OK, OK});
    CHECK_OK(q8conv_pw_create(ctx, &fu.d, &op_u8));
    test_op sq;
    test_op_params sp = {.ic = 8, .oc = 8, .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4W4C};
    test_op_random(&sq, &rng, &sp);
    CHECK_OK(q8conv_pw_create(ctx, &sq.desc, &square));

    const q8conv_tensor_desc din = {2, IC0, 3, 5, Q8CONV_LAYOUT_4C1W};
    struct {
        const char *name;
        q8conv_context *c;
        q8conv_tensor_desc d;
    } specs[] = {
        {"input", ctx, din},
        {"input, IC + 1", ctx, {2, IC0 + 1, 3, 5, Q8CONV_LAYOUT_4C1W}},
        {"input, IC - 1", ctx, {2, IC0 - 1, 3, 5, Q8CONV_LAYOUT_4C1W}},
        {"input, 4W4C", ctx, {2, IC0, 3, 5, Q8CONV_LAYOUT_4W4C}},
        {"output, OC + 1", ctx, {2, OC0 + 1, 3, 5, Q8CONV_LAYOUT_4W4C}},
        {"output, 4C1W", ctx, {2, OC0, 3, 5, Q8CONV_LAYOUT_4C1W}},
        {"output, N + 1", ctx, {3, OC0, 3, 5, Q8CONV_LAYOUT_4W4C}},
        {"output, H - 1", ctx, {2, OC0, 2, 5, Q8CONV_LAYOUT_4W4C}},
        {"output, W + 1", ctx, {2, OC0, 3, 6, Q8CONV_LAYOUT_4W4C}},
        {"input of the other context", ctx2, din},
        {"output of the other context", ctx2, {2, OC0, 3, 5, Q8CONV_LAYOUT_4W4C}},
        {"square tensor", ctx, {1, 8, 2, 3, Q8CONV_LAYOUT_4W4C}},
        {"input, uint8", ctx, {2, IC0, 3, 5, Q8CONV_LAYOUT_4C1W, Q8CONV_DTYPE_UINT8}},
        {"output, uint8", ctx, {2, OC0, 3, 5, Q8CONV_LAYOUT_4W4C, Q8CONV_DTYPE_UINT8}},
        {"output, the stride-2 size", ctx, {2, OC0, 2, 3, Q8CONV_LAYOUT_4W4C}},
        {"output, stride-2 height, stride-1 width", ctx, {2, OC0, 2, 5, Q8CONV_LAYOUT_4W4C}},
        {"output, stride-2 size with W - 1", ctx, {2, OC0, 2, 2, Q8CONV_LAYOUT_4W4C}},
    };
    enum { IN, IN_IC1, IN_ICM, IN_LAYOUT, OUT_OC1, OUT_LAYOUT, OUT_N, OUT_H, OUT_W, IN_CTX2, OUT_CTX2, SQUARE, IN_U8,
           OUT_U8, OUT_S2, OUT_S2_H, OUT_S2_WM, SPEC_COUNT };
    q8conv_tensor *t[SPEC_COUNT] = {0};
    for (int i = 0; i < SPEC_COUNT; ++i)
        CHECK(q8conv_tensor_create(specs[i].c, &specs[i].d, &t[i]) == OK, "tensor %s", specs[i].name);
    int8_t *x = malloc(2 * IC0 * 3 * 5);
    test_rng_fill(&rng, x, 2 * IC0 * 3 * 5);
    CHECK_OK(q8conv_tensor_write(t[IN], x, Q8CONV_HOST_NCHW));
    CHECK_OK(q8conv_tensor_write(t[IN_CTX2], x, Q8CONV_HOST_NCHW));
    const size_t square_size = (size_t)q8conv_tensor_size_bytes(&specs[SQUARE].d);
    uint8_t *square_bytes = malloc(square_size);
    test_rng_fill(&rng, (int8_t *)square_bytes, square_size);
    CHECK_OK(q8conv_tensor_write_raw(t[SQUARE], square_bytes, square_size));
    /* The uint8 output has the guard's shape and layout: it starts as poison and must stay so. */
    CHECK_OK(q8conv_tensor_write(t[IN_U8], x, Q8CONV_HOST_NCHW));
    CHECK_OK(q8conv_tensor_write_raw(t[OUT_U8], guard_bytes, guard_size));
    /* The stride-2-sized output starts as poison too, and must stay so. */
    const size_t s2_size = (size_t)q8conv_tensor_size_bytes(&specs[OUT_S2].d);
    uint8_t *s2_poison = malloc(s2_size);
    memset(s2_poison, TEST_POISON, s2_size);
    CHECK_OK(q8conv_tensor_write_raw(t[OUT_S2], s2_poison, s2_size));

    /* Wrapped tensors on one buffer: the input at 0, outputs overlapping it or not. */
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    const VkDeviceSize align = info.min_storage_buffer_offset_alignment > 16 ? info.min_storage_buffer_offset_alignment : 16;
    const VkDeviceSize in_size = q8conv_tensor_size_bytes(&din);
    const VkDeviceSize buffer_size = 4 * (in_size + guard_size + align);
    test_buffer buf;
    CHECK(test_vk_buffer(&vk, buffer_size, TEST_MEMORY_DEVICE, &buf), "a buffer for wrapped tensors");
    const VkBuffer buffer = buf.buffer;
    const VkDeviceSize last_in = (in_size - 1) / align * align; /* overlaps the input's last bytes */
    const VkDeviceSize apart = (in_size + align - 1) / align * align;
    q8conv_tensor *w_in = NULL, *w_in_late = NULL, *w_at0 = NULL, *w_last = NULL, *w_apart = NULL;
    const q8conv_tensor_desc dout = {2, OC0, 3, 5, Q8CONV_LAYOUT_4W4C};
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &din, buffer, 0, buffer_size, &w_in));
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &din, buffer, align, buffer_size, &w_in_late));
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &dout, buffer, 0, buffer_size, &w_at0));
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &dout, buffer, last_in, buffer_size, &w_last));
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &dout, buffer, apart, buffer_size, &w_apart));
    if (w_in)
        CHECK_OK(q8conv_tensor_write(w_in, x, Q8CONV_HOST_NCHW));
    uint8_t *wrapped_before = malloc(in_size);
    if (w_in)
        CHECK_OK(q8conv_tensor_read_raw(w_in, wrapped_before, in_size));

    const run_case cases[] = {
        {"op NULL", NULL, t[IN], guard},
        {"input NULL", op, NULL, guard},
        {"output NULL", op, t[IN], NULL},
        {"input IC + 1", op, t[IN_IC1], guard},
        {"input IC - 1", op, t[IN_ICM], guard},
        {"input in the wrong layout", op, t[IN_LAYOUT], guard},
        {"output OC + 1", op, t[IN], t[OUT_OC1]},
        {"output in the wrong layout", op, t[IN], t[OUT_LAYOUT]},
        {"output N differs", op, t[IN], t[OUT_N]},
        {"output H differs", op, t[IN], t[OUT_H]},
        {"output W differs", op, t[IN], t[OUT_W]},
        {"input of another context", op, t[IN_CTX2], guard},
        {"output of another context", op, t[IN], t[OUT_CTX2]},
        {"op of another context", op2, t[IN], guard},
        {"input and output the same tensor", square, t[SQUARE], t[SQUARE]},
        {"wrapped output at the input's offset", op, w_in, w_at0},
        {"wrapped output overlapping the input's last bytes", op, w_in, w_last},
        {"wrapped output overlapping the input's first bytes", op, w_in_late, w_at0},
        {"uint8 input to an int8 op", op, t[IN_U8], guard},
        {"uint8 output of an int8 op", op, t[IN], t[OUT_U8]},
        {"int8 input to a uint8 op", op_u8, t[IN], t[OUT_U8]},
        {"int8 output of a uint8 op", op_u8, t[IN_U8], guard},
        {"stride-2 op, output of the stride-1 size", op_s2, t[IN], guard},
        {"stride-2 op, output with the stride-1 width", op_s2, t[IN], t[OUT_S2_H]},
        {"stride-2 op, output one width short", op_s2, t[IN], t[OUT_S2_WM]},
        {"stride-1 op, output of the stride-2 size", op, t[IN], t[OUT_S2]},
    };
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    CHECK(test_vk_begin(&vk, &pool, &cmd), "a command buffer");
    /* Every case as a sequence step too: refused, and the sequence stays empty. */
    q8conv_sequence *seq = NULL;
    CHECK_OK(q8conv_sequence_create(ctx, &seq));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        const run_case *c = &cases[i];
        q8conv_status st = q8conv_pw_run(c->op, c->in, c->out);
        CHECK(st == INV, "pw_run: %s: %s", c->name, q8conv_status_string(st));
        st = q8conv_pw_record(c->op, cmd, c->in, c->out);
        CHECK(st == INV, "pw_record: %s: %s", c->name, q8conv_status_string(st));
        st = q8conv_sequence_add(seq, c->op, c->in, c->out);
        CHECK(st == INV, "sequence_add: %s: %s", c->name, q8conv_status_string(st));
        check_guard(c->name);
    }
    CHECK(q8conv_sequence_add(NULL, op, t[IN], guard) == INV, "sequence_add(NULL sequence)");
    CHECK_OK(q8conv_sequence_run(seq));
    check_guard("the sequence of refused steps");
    q8conv_sequence_destroy(seq);
    CHECK(q8conv_pw_record(op, VK_NULL_HANDLE, t[IN], guard) == INV, "pw_record(cmd NULL)");
    /* Whatever the failed recordings left in the command buffer would run now. */
    CHECK(vk.EndCommandBuffer(cmd) == VK_SUCCESS && test_vk_submit_wait(&vk, &cmd, 1),
          "submit of the command buffer the failed recordings used");
    check_guard("the command buffer of the failed recordings");
    uint8_t *now = malloc(square_size > in_size ? square_size : in_size);
    CHECK(q8conv_tensor_read_raw(t[SQUARE], now, square_size) == OK && memcmp(now, square_bytes, square_size) == 0,
          "a run on an aliased tensor changed it");
    CHECK(q8conv_tensor_read_raw(t[OUT_U8], now, guard_size) == OK && memcmp(now, guard_bytes, guard_size) == 0,
          "a run with a tensor of the wrong type changed the uint8 output");
    uint8_t *s2_now = malloc(s2_size);
    CHECK(q8conv_tensor_read_raw(t[OUT_S2], s2_now, s2_size) == OK && memcmp(s2_now, s2_poison, s2_size) == 0,
          "a run of a stride-1 op changed an output of the stride-2 size");
    free(s2_now);
    free(s2_poison);
    CHECK(w_in && q8conv_tensor_read_raw(w_in, now, in_size) == OK && memcmp(now, wrapped_before, in_size) == 0,
          "a run on overlapping wrapped tensors changed the buffer");
    /* Control: the same buffer, wrapped where nothing overlaps, runs exactly. */
    if (w_in && w_apart) {
        const size_t out_n = 2 * OC0 * 3 * 5;
        int8_t *ref = malloc(out_n), *got = malloc(out_n);
        CHECK_OK(q8conv_pw_run(op, w_in, w_apart));
        CHECK_OK(q8conv_pw_reference(&f.d, 2, 3, 5, x, ref));
        CHECK_OK(q8conv_tensor_read(w_apart, got, Q8CONV_HOST_NCHW));
        CHECK(memcmp(ref, got, out_n) == 0, "wrapped tensors apart on one buffer: result differs from the reference");
        free(ref);
        free(got);
    }
    CHECK(test_check_run(ctx, op, &f.d, 2, 3, 5, &rng, err, sizeof err), "the op after the failed runs: %s", err);
    CHECK(test_check_run(ctx, op_u8, &fu.d, 2, 3, 5, &rng, err, sizeof err), "the uint8 op after the failed runs: %s",
          err);
    CHECK(test_check_run(ctx, op_s2, &fs.d, 2, 3, 5, &rng, err, sizeof err), "the stride-2 op after the failed runs: %s",
          err);
    CHECK(q8conv_pw_get_kernel(NULL) == Q8CONV_KERNEL_AUTO, "pw_get_kernel(NULL)");
    q8conv_pw_destroy(NULL);
    if (pool)
        vk.DestroyCommandPool(vk.device, pool, NULL);
    q8conv_tensor_destroy(w_in);
    q8conv_tensor_destroy(w_in_late);
    q8conv_tensor_destroy(w_at0);
    q8conv_tensor_destroy(w_last);
    q8conv_tensor_destroy(w_apart);
    test_vk_buffer_free(&vk, &buf);
    for (int i = 0; i < SPEC_COUNT; ++i)
        q8conv_tensor_destroy(t[i]);
    q8conv_pw_destroy(op);
    q8conv_pw_destroy(op2);
    q8conv_pw_destroy(square);
    q8conv_pw_destroy(op_u8);
    q8conv_pw_destroy(op_s2);
    test_op_free(&sq);
    free(x);
    free(square_bytes);
    free(wrapped_before);
    free(now);
    printf("runs and recordings: %zu cases\n", sizeof cases / sizeof cases[0]);
}

/* ==== contexts, info, pipeline cache, device requirements, names ==== */

static void on_message(void *user, q8conv_message_severity severity, const char *message)
{
    (void)user;
    fprintf(stderr, "[validation %s] %s\n", severity == Q8CONV_MESSAGE_ERROR ? "error" : "warning", message);
}

static void *alloc_only(void *user, size_t size, size_t alignment)
{
    (void)user;
    (void)alignment;
    return malloc(size);
}

static void free_only(void *user, void *p)
{
    (void)user;
    free(p);
}

static void test_contexts(void)
{
    q8conv_context *c = SENTINEL;
    struct {
        const char *name;
        q8conv_context_desc d;
        q8conv_status expect;
    } cases[] = {
        {"flags 0x4", {.flags = 0x4}, INV},
        {"flags 0x80000000", {.flags = 0x80000000u}, INV},
        {"flags ~0", {.flags = ~0u}, INV},
        {"pipeline_cache_size without data", {.pipeline_cache_size = 16}, INV},
        {"allocator with alloc only", {.allocator = &(q8conv_allocator){.alloc = alloc_only}}, INV},
        {"allocator with free only", {.allocator = &(q8conv_allocator){.free = free_only}}, INV},
        {"wait_mode 2", {.wait_mode = (q8conv_wait_mode)2}, INV},
        {"wait_mode -1", {.wait_mode = (q8conv_wait_mode)-1}, INV},
        {"wait_poll_us with BLOCK", {.wait_poll_us = 1}, INV},
        {"wait_poll_us one above the bound", {.wait_mode = Q8CONV_WAIT_POLL, .wait_poll_us = Q8CONV_MAX_WAIT_POLL_US + 1}, INV},
        {"wait_poll_us ~0", {.wait_mode = Q8CONV_WAIT_POLL, .wait_poll_us = ~0u}, INV},
        {"device_index 1000", {.device_index = 1000}, Q8CONV_ERROR_NO_DEVICE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        q8conv_status st = q8conv_context_create(&cases[i].d, &c);
        CHECK(st == cases[i].expect && c == SENTINEL, "context_create: %s: %s", cases[i].name, q8conv_status_string(st));
    }
    CHECK(q8conv_context_create(NULL, NULL) == INV, "context_create(NULL, NULL)");
    CHECK(q8conv_context_create(&(q8conv_context_desc){0}, NULL) == INV, "context_create(desc, NULL)");

    /* An external device missing one piece (the library's own device serves as the caller's). */
    q8conv_vulkan_handles h;
    CHECK_OK(q8conv_context_get_vulkan_handles(ctx, &h));
    const q8conv_external_device full = {.instance = h.instance,
                                         .physical_device = h.physical_device,
                                         .device = h.device,
                                         .queue = h.queue,
                                         .queue_family_index = h.queue_family_index,
                                         .api_version = h.api_version,
                                         .get_instance_proc_addr = h.get_instance_proc_addr};
    for (int i = 0; i < 7; ++i) {
        q8conv_external_device e = full;
        q8conv_status expect = INV;
        const char *what = "";
        switch (i) {
        case 0: e.instance = VK_NULL_HANDLE; what = "instance NULL"; break;
        case 1: e.physical_device = VK_NULL_HANDLE; what = "physical_device NULL"; break;
        case 2: e.device = VK_NULL_HANDLE; what = "device NULL"; break;
        case 3: e.queue = VK_NULL_HANDLE; what = "queue NULL"; break;
        case 4: e.get_instance_proc_addr = NULL; what = "get_instance_proc_addr NULL"; break;
        case 5: e.queue_family_index = 1000; what = "queue_family_index out of range"; break;
        default: e.api_version = VK_API_VERSION_1_0; what = "api_version 1.0"; expect = UNS; break;
        }
        q8conv_context_desc d = {.external = &e};
        q8conv_status st = q8conv_context_create(&d, &c);
        CHECK(st == expect && c == SENTINEL, "context_create with an external device, %s: %s", what,
              q8conv_status_string(st));
    }
    { /* control: the complete external device works */
        q8conv_context_desc d = {.external = &full, .message_callback = on_message};
        q8conv_context *ext = NULL;
        char err[512];
        CHECK_OK(q8conv_context_create(&d, &ext));
        if (ext)
            CHECK(test_check_context_works(ext, &rng, err, sizeof err), "external context: %s", err);
        q8conv_context_destroy(ext);
    }

    q8conv_context_info info;
    memset(&info, 0x44, sizeof info);
    const q8conv_context_info before = info;
    CHECK(q8conv_context_get_info(NULL, &info) == INV && q8conv_context_get_info(ctx, NULL) == INV &&
              memcmp(&info, &before, sizeof info) == 0,
          "context_get_info(NULLs)");
    q8conv_vulkan_handles hv;
    memset(&hv, 0x44, sizeof hv);
    const q8conv_vulkan_handles hv_before = hv;
    CHECK(q8conv_context_get_vulkan_handles(NULL, &hv) == INV && q8conv_context_get_vulkan_handles(ctx, NULL) == INV &&
              memcmp(&hv, &hv_before, sizeof hv) == 0,
          "context_get_vulkan_handles(NULLs)");

    size_t size = 0;
    CHECK(q8conv_context_get_pipeline_cache(NULL, NULL, &size) == INV, "get_pipeline_cache(NULL ctx)");
    CHECK(q8conv_context_get_pipeline_cache(ctx, NULL, NULL) == INV, "get_pipeline_cache(NULL size)");
    CHECK_OK(q8conv_context_get_pipeline_cache(ctx, NULL, &size));
    if (size > 0) {
        uint8_t *blob = malloc(size);
        memset(blob, (int)TEST_POISON, size);
        size_t small = size - 1;
        CHECK(q8conv_context_get_pipeline_cache(ctx, blob, &small) == INV && small == size && all_poison(blob, size),
              "get_pipeline_cache with a buffer one byte short: size %zu (needed %zu)", small, size);
        free(blob);
    }

    const char *exts[4];
    uint32_t n = 4;
    bool wants = false;
    PFN_vkGetInstanceProcAddr g = h.get_instance_proc_addr;
    CHECK(q8conv_device_requirements(NULL, h.instance, h.physical_device, exts, &n, &wants) == INV &&
              q8conv_device_requirements(g, VK_NULL_HANDLE, h.physical_device, exts, &n, &wants) == INV &&
              q8conv_device_requirements(g, h.instance, VK_NULL_HANDLE, exts, &n, &wants) == INV &&
              q8conv_device_requirements(g, h.instance, h.physical_device, exts, NULL, &wants) == INV &&
              q8conv_device_requirements(g, h.instance, h.physical_device, exts, &n, NULL) == INV,
          "device_requirements with a NULL");
    CHECK_OK(q8conv_device_requirements(g, h.instance, h.physical_device, NULL, &n, &wants));

    CHECK(!strcmp(q8conv_status_string((q8conv_status)12345), "unknown status") &&
              !strcmp(q8conv_status_string((q8conv_status)-1), "unknown status"),
          "status_string of unknown values");
    CHECK(!strcmp(q8conv_kernel_name((q8conv_kernel)99), "unknown") &&
              !strcmp(q8conv_kernel_name((q8conv_kernel)-1), "unknown") &&
              !strcmp(q8conv_kernel_name(Q8CONV_KERNEL_DOT_MIXED), "dot_mixed") &&
              !strcmp(q8conv_kernel_name(Q8CONV_KERNEL_COUNT_), "unknown"),
          "kernel_name of unknown values");
    q8conv_context_destroy(NULL);
    printf("contexts, info, pipeline cache, device requirements, names\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rng = test_rng_seeded(test_seed());
    ctx = test_context(0);
    ctx2 = test_context(Q8CONV_CONTEXT_FORCE_FALLBACK);
    if (!ctx || !ctx2 || !test_vk_load_context(&vk, ctx)) {
        CHECK(0, "contexts for the test");
        return test_finish("stress_invalid");
    }
    const q8conv_tensor_desc gd = {2, OC0, 3, 5, Q8CONV_LAYOUT_4W4C};
    guard_size = (size_t)q8conv_tensor_size_bytes(&gd);
    guard_bytes = malloc(guard_size);
    memset(guard_bytes, (int)TEST_POISON, guard_size);
    CHECK_OK(q8conv_tensor_create(ctx, &gd, &guard));
    CHECK_OK(q8conv_tensor_write_raw(guard, guard_bytes, guard_size));

    test_pw_descs();
    test_tensor_descs();
    test_tensor_data();
    test_runs();
    test_contexts();
    check_guard("the whole table");

    /* The contexts are still fully usable. */
    char err[512];
    CHECK(test_check_context_works(ctx, &rng, err, sizeof err), "the context after the table: %s", err);
    CHECK(test_check_context_works(ctx2, &rng, err, sizeof err), "the second context after the table: %s", err);
    test_check_validation(ctx);
    test_check_validation(ctx2);
    q8conv_tensor_destroy(guard);
    free(guard_bytes);
    q8conv_context_destroy(ctx);
    q8conv_context_destroy(ctx2);
    return test_finish("stress_invalid");
}
