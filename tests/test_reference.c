/* CPU reference tests: hand-computed cases (int8 and uint8 sides), the clamp and rounding rules of
 * SEMANTICS.md, refusal of invalid descriptors without writing, agreement with a naive
 * implementation written here, and agreement of requant.c's folded constants (what the shader
 * uses, with its uint8 input shift) with the literal formula. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "pure.h"

static int32_t rnd_range(int32_t lo, int32_t hi) { return lo + (int32_t)(test_rand() % (uint64_t)((int64_t)hi - lo + 1)); }
static float rnd_unit(void) { return (float)(test_rand() >> 40) / (float)(1u << 24); }
/* A log-uniform positive float in [2^lo, 2^hi). */
static float rnd_scale(int lo, int hi) { return ldexpf(1.0f + rnd_unit(), lo + (int)test_below((uint32_t)(hi - lo))); }

/* One output channel, one input channel: w[0][0] = wv, scales s_w = ws. */
typedef struct tiny_op {
    int8_t weight;
    float weight_scale;
    float bias_f;
    int32_t bias_i;
    q8conv_pw_desc d;
} tiny_op;

static void tiny_init(tiny_op *t, int8_t wv, float s_x, int32_t z_x, float s_w, float s_y, int32_t z_y)
{
    memset(t, 0, sizeof(*t));
    t->weight = wv;
    t->weight_scale = s_w;
    t->d.in_channels = 1;
    t->d.out_channels = 1;
    t->d.input_scale = s_x;
    t->d.input_zero_point = z_x;
    t->d.output_scale = s_y;
    t->d.output_zero_point = z_y;
    t->d.weights = &t->weight;
    t->d.weight_scales = &t->weight_scale;
}

/* Runs the reference on a 1x1xW row of inputs and compares with expected outputs. */
static void expect_row(const char *what, const q8conv_pw_desc *d, const int8_t *x, const int8_t *want, uint32_t w)
{
    int8_t out[16];
    memset(out, 0x55, sizeof(out));
    q8conv_status s = q8conv_pw_reference(d, 1, 1, w, x, out);
    CHECK(s == Q8CONV_SUCCESS, "%s: status %d", what, (int)s);
    for (uint32_t i = 0; i < w; i++)
        CHECK(out[i] == want[i], "%s: x=%d gives %d, want %d", what, x[i], out[i], want[i]);
}

static void test_hand_cases(void)
{
    tiny_op t;
    /* x = 10, z_x = 2, w = 3: acc = 30, wsum = 3, adj = 30 - 6 = 24. eff = 0.5 * 0.25 = 0.125,
     * v = 3.0, v * (1 / 0.125) = 24, + z_y (-5) = 19. */
    tiny_init(&t, 3, 0.5f, 2, 0.25f, 0.125f, -5);
    const int8_t x1[] = {10};
    expect_row("no bias", &t.d, x1, (const int8_t[]){19}, 1);
    /* Float bias 1.5: v = 3.0 + 1.5 = 4.5, * 8 = 36, - 5 = 31. */
    t.bias_f = 1.5f;
    t.d.bias_mode = Q8CONV_BIAS_FLOAT;
    t.d.bias = &t.bias_f;
    expect_row("float bias", &t.d, x1, (const int8_t[]){31}, 1);
    /* The same bias in int32 units of s_x * s_w = 0.125 is 12: eff = 0.125 / 0.125 = 1,
     * v = (24 + 12) * 1 = 36, - 5 = 31: both modes agree when everything is exact. */
    t.bias_i = 12;
    t.d.bias_mode = Q8CONV_BIAS_INT32;
    t.d.bias = &t.bias_i;
    expect_row("int32 bias", &t.d, x1, (const int8_t[]){31}, 1);
    /* Saturation without activation: x = 127: adj = 381 - 6 = 375, * 0.125 * 8 = 375 -> 127;
     * x = -128: adj = -384 - 6 = -390 -> -395 -> -128. */
    t.d.bias_mode = Q8CONV_BIAS_NONE;
    t.d.bias = NULL;
    expect_row("saturation", &t.d, (const int8_t[]){127, -128}, (const int8_t[]){127, -128}, 2);
}

/* Ties round to even: s_x = 1, s_w = 0.5, s_y = 1, w = 1, z = 0, so y = roundEven(x / 2). */
static void test_round_half_even(void)
{
    tiny_op t;
    tiny_init(&t, 1, 1.0f, 0, 0.5f, 1.0f, 0);
    const int8_t x[] = {5, 7, -5, 3, -3, 1, -1, 4};
    const int8_t want[] = {2, 4, -2, 2, -2, 0, 0, 2}; /* 2.5 2 | 3.5 4 | -2.5 -2 | 1.5 2 | -1.5 -2 | .5 0 */
    expect_row("float ties", &t.d, x, want, 8);
    /* INT32 mode rounds v itself: eff = 0.5 / 1, bias 0 given explicitly. */
    int32_t zero = 0;
    t.d.bias_mode = Q8CONV_BIAS_INT32;
    t.d.bias = &zero;
    expect_row("int32 ties", &t.d, x, want, 8);
}

static void test_relu(void)
{
    tiny_op t;
    /* Identity scales: y = x + z_y before clamping. */
    tiny_init(&t, 1, 1.0f, 0, 1.0f, 1.0f, 10);
    t.d.activation = Q8CONV_ACTIVATION_RELU;
    /* ReLU's lower clamp is z_y = 10 (real zero), not -128. */
    expect_row("relu z_y=10", &t.d, (const int8_t[]){-50, 5, 0, 120}, (const int8_t[]){10, 15, 10, 127}, 4);
    t.d.output_zero_point = -100;
    expect_row("relu z_y=-100", &t.d, (const int8_t[]){-50, 5}, (const int8_t[]){-100, -95}, 2);
    t.d.activation = Q8CONV_ACTIVATION_NONE;
    expect_row("none z_y=-100", &t.d, (const int8_t[]){-50, 5}, (const int8_t[]){-128, -95}, 2);
    t.d.output_zero_point = -128;
    t.d.activation = Q8CONV_ACTIVATION_RELU;
    expect_row("relu z_y=-128", &t.d, (const int8_t[]){-50, 5}, (const int8_t[]){-128, -123}, 2);
}

/* Runs the reference on a 1x1xW row given as bytes (each side in its type) and compares bytes,
 * printing them as values of the side's type. */
static int byte_value(q8conv_dtype t, uint8_t b) { return t == Q8CONV_DTYPE_UINT8 ? (int)b : (int)(int8_t)b; }

static void expect_bytes(const char *what, const q8conv_pw_desc *d, const uint8_t *x, const uint8_t *want, uint32_t w)
{
    uint8_t out[16];
    memset(out, 0x55, sizeof(out));
    q8conv_status s = q8conv_pw_reference(d, 1, 1, w, (const int8_t *)x, (int8_t *)out);
    CHECK(s == Q8CONV_SUCCESS, "%s: status %d", what, (int)s);
    for (uint32_t i = 0; i < w; i++)
        CHECK(out[i] == want[i], "%s: x=%d gives %d, want %d", what, byte_value(d->input_type, x[i]),
              byte_value(d->output_type, out[i]), byte_value(d->output_type, want[i]));
}

/* The byte of an int8 value, for expected rows of an int8 side next to a uint8 one. */
#define S8(v) ((uint8_t)(int8_t)(v))

static void test_uint8_hand_cases(void)
{
    tiny_op t;
    /* u8 -> u8, z_x 100, w 2, s_x 0.5, s_w 0.25, s_y 0.25, z_y 10: adj = 2(x - 100), eff = 0.125,
     * adj * 0.125 * 4 = x - 100, y = x - 90, clamped to [0, 255]. */
    tiny_init(&t, 2, 0.5f, 100, 0.25f, 0.25f, 10);
    t.d.input_type = Q8CONV_DTYPE_UINT8;
    t.d.output_type = Q8CONV_DTYPE_UINT8;
    expect_bytes("u8->u8", &t.d, (const uint8_t[]){0, 90, 100, 200, 255, 95}, (const uint8_t[]){0, 0, 10, 110, 165, 5}, 6);
    /* The same in INT32 mode with bias 20 (units of s_x * s_w = 0.125): eff = 0.125 / 0.25 = 0.5,
     * y = roundEven((2(x - 100) + 20) * 0.5) + 10 = x - 80. */
    int32_t bias = 20;
    t.d.bias_mode = Q8CONV_BIAS_INT32;
    t.d.bias = &bias;
    expect_bytes("u8->u8 int32 bias", &t.d, (const uint8_t[]){0, 80, 100, 255}, (const uint8_t[]){0, 0, 20, 175}, 4);

    /* u8 -> s8 with z_x = 128 and unit scales is the plain conversion y = x - 128. */
    tiny_init(&t, 1, 1.0f, 128, 1.0f, 1.0f, 0);
    t.d.input_type = Q8CONV_DTYPE_UINT8;
    expect_bytes("u8->s8", &t.d, (const uint8_t[]){0, 255, 128, 130, 1},
                 (const uint8_t[]){S8(-128), S8(127), S8(0), S8(2), S8(-127)}, 5);
    /* s8 -> u8 with z_y = 128: y = x + 128. */
    tiny_init(&t, 1, 1.0f, 0, 1.0f, 1.0f, 128);
    t.d.output_type = Q8CONV_DTYPE_UINT8;
    expect_bytes("s8->u8", &t.d, (const uint8_t[]){S8(-128), S8(127), S8(0), S8(-1)}, (const uint8_t[]){0, 255, 128, 127}, 4);

    /* The uint8 reading is not the int8 one: y = roundEven(x / 2) with z = 0 maps the byte 0xC8 to
     * 100 (0x64) as uint8 (200 / 2), to -28 (0xE4) as int8 (-56 / 2). Same descriptor, same bytes. */
    tiny_init(&t, 1, 1.0f, 0, 0.5f, 1.0f, 0);
    const uint8_t x_c8[] = {0xC8, 0x07, 0xFF};
    t.d.input_type = Q8CONV_DTYPE_UINT8;
    t.d.output_type = Q8CONV_DTYPE_UINT8;
    expect_bytes("u8 read as 0..255", &t.d, x_c8, (const uint8_t[]){0x64, 4, 128}, 3);
    t.d.input_type = Q8CONV_DTYPE_INT8;
    t.d.output_type = Q8CONV_DTYPE_INT8;
    expect_bytes("the same bytes as s8", &t.d, x_c8, (const uint8_t[]){0xE4, 4, 0}, 3);

    /* A uint8 output reaches 255 where an int8 one stops at 127: s8 -> u8, y = x + 10. */
    tiny_init(&t, 1, 1.0f, 0, 1.0f, 1.0f, 10);
    t.d.output_type = Q8CONV_DTYPE_UINT8;
    expect_bytes("u8 out, no activation", &t.d, (const uint8_t[]){S8(-50), S8(5), S8(120)}, (const uint8_t[]){0, 15, 130}, 3);
    /* ReLU's lower clamp is z_y = 10 (real zero), not 0. */
    t.d.activation = Q8CONV_ACTIVATION_RELU;
    expect_bytes("u8 out, relu", &t.d, (const uint8_t[]){S8(-50), S8(-10), S8(5), S8(120)}, (const uint8_t[]){10, 10, 15, 130}, 4);
    /* ReLU6 with s_y 0.5: y = 2x + z_y, bounds [z_y, min(255, 12 + z_y)]. */
    tiny_init(&t, 1, 1.0f, 0, 1.0f, 0.5f, 3);
    t.d.output_type = Q8CONV_DTYPE_UINT8;
    t.d.activation = Q8CONV_ACTIVATION_RELU6;
    expect_bytes("u8 out, relu6", &t.d, (const uint8_t[]){S8(100), S8(4), S8(-10), S8(6)}, (const uint8_t[]){15, 11, 3, 15}, 4);
    /* z_y 250: 12 + 250 = 262 is capped at 255, not 127. */
    t.d.output_zero_point = 250;
    expect_bytes("u8 out, relu6 capped", &t.d, (const uint8_t[]){S8(1), S8(2), S8(100), S8(-10)},
                 (const uint8_t[]){252, 254, 255, 250}, 4);
}

static void test_relu6(void)
{
    tiny_op t;
    /* s_y = 0.5: 6 / s_y = 12, upper = 12 + z_y = 15, lower = z_y = 3. y = 2x + 3 before clamping. */
    tiny_init(&t, 1, 1.0f, 0, 1.0f, 0.5f, 3);
    t.d.activation = Q8CONV_ACTIVATION_RELU6;
    expect_row("relu6 s_y=0.5", &t.d, (const int8_t[]){100, 4, -10, 6}, (const int8_t[]){15, 11, 3, 15}, 4);
    /* The upper bound never exceeds 127: z_y = 120, 6 / 0.25 = 24 -> min(127, 144). */
    t.d.output_scale = 0.25f;
    t.d.output_zero_point = 120;
    expect_row("relu6 capped", &t.d, (const int8_t[]){100, 1}, (const int8_t[]){127, 124}, 2);
    /* A tiny s_y makes 6 / s_y about 6e30: the bound must stay 127, not overflow an integer. */
    t.d.output_scale = 1e-30f;
    t.d.output_zero_point = 0;
    t.d.input_scale = 1e-30f;
    expect_row("relu6 huge bound", &t.d, (const int8_t[]){100, -3}, (const int8_t[]){100, 0}, 2);
    /* A tie in the bound itself: s_y = 4/3 gives 1 / s_y = 0.75 and 6 * 0.75 = 4.5, which rounds
     * to even 4 (half-away rounding would give 5). With s_x = s_y and z = 0, y = x. */
    float s_y = 4.0f / 3.0f;
    float inv = 1.0f / s_y;
    CHECK(inv == 0.75f && 6.0f * inv == 4.5f, "test premise: 1/s_y = %.9g", (double)inv);
    tiny_init(&t, 1, s_y, 0, 1.0f, s_y, 0);
    t.d.activation = Q8CONV_ACTIVATION_RELU6;
    expect_row("relu6 bound tie", &t.d, (const int8_t[]){3, 4, 5, 100, -2}, (const int8_t[]){3, 4, 4, 4, 0}, 5);
}

/* Builds a descriptor that is valid, for the refusal tests to break one field at a time. */
typedef struct valid_op {
    int8_t weights[6];
    float scales[2];
    float bias_f[2];
    int32_t bias_i[2];
    q8conv_pw_desc d;
} valid_op;

static void valid_init(valid_op *v)
{
    memset(v, 0, sizeof(*v));
    for (int i = 0; i < 6; i++)
        v->weights[i] = (int8_t)(i * 7 - 20);
    v->scales[0] = 0.01f;
    v->scales[1] = 0.02f;
    v->d = (q8conv_pw_desc){.in_channels = 3, .out_channels = 2, .input_scale = 0.05f, .input_zero_point = 3,
                            .output_scale = 0.1f, .output_zero_point = -7, .weights = v->weights,
                            .weight_scales = v->scales};
}

/* The op must be refused as INVALID_ARGUMENT by both entry points, with the output untouched. */
static void expect_refused(const char *what, const q8conv_pw_desc *d)
{
    int8_t input[3 * 4], out[2 * 4], poison[2 * 4];
    memset(input, 1, sizeof(input));
    memset(out, 0x5A, sizeof(out));
    memcpy(poison, out, sizeof(out));
    q8conv_status s = q8conv_pw_reference(d, 1, 2, 2, input, out);
    CHECK(s == Q8CONV_ERROR_INVALID_ARGUMENT, "%s: reference status %d", what, (int)s);
    CHECK(memcmp(out, poison, sizeof(out)) == 0, "%s: output written", what);
    s = q8conv_pw_validate_desc(d);
    CHECK(s == Q8CONV_ERROR_INVALID_ARGUMENT, "%s: validate status %d", what, (int)s);
}

static void test_scale_refusals(valid_op *v, float *field, const char *name)
{
    const float bad[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, -1.0f, 1e-40f /* subnormal */,
                         3.0e38f /* reciprocal subnormal */};
    float keep = *field;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "%s = %g", name, (double)bad[i]);
        *field = bad[i];
        expect_refused(what, &v->d);
    }
    *field = keep;
}

static void test_refusals(void)
{
    valid_op v;
    valid_init(&v);
    int8_t input[12], out[8];
    memset(input, 1, sizeof(input));
    CHECK(q8conv_pw_reference(&v.d, 1, 2, 2, input, out) == Q8CONV_SUCCESS, "the base descriptor is valid");
    CHECK(q8conv_scale_is_valid(0.1f) && !q8conv_scale_is_valid(1e-40f) && !q8conv_scale_is_valid(3.0e38f),
          "scale_is_valid");

    expect_refused("NULL desc", NULL);
    valid_op b = v;
    b.d.weights = NULL;
    expect_refused("weights NULL", &b.d);
    b = v;
    b.d.weight_scales = NULL;
    expect_refused("weight_scales NULL", &b.d);
    b = v;
    b.d.in_channels = 0;
    expect_refused("IC 0", &b.d);
    b.d.in_channels = 16385;
    expect_refused("IC 16385", &b.d);
    b = v;
    b.d.out_channels = 0;
    expect_refused("OC 0", &b.d);

    test_scale_refusals(&v, &v.d.input_scale, "s_x");
    test_scale_refusals(&v, &v.d.output_scale, "s_y");
    test_scale_refusals(&v, &v.scales[1], "s_w[1]");

    b = v;
    b.d.input_zero_point = 128;
    expect_refused("z_x 128", &b.d);
    b.d.input_zero_point = -129;
    expect_refused("z_x -129", &b.d);
    b = v;
    b.d.output_zero_point = 128;
    expect_refused("z_y 128", &b.d);
    b.d.output_zero_point = -129;
    expect_refused("z_y -129", &b.d);

    /* A uint8 side's zero points are [0, 255]; the other side keeps its own range; a type is one
     * of the two. */
    static const struct {
        const char *what;
        unsigned in_type, out_type;
        int32_t z_x, z_y;
        bool valid;
    } typed[] = {
        {"u8 z_x -1", 1, 0, -1, -7, false},
        {"u8 z_x 256", 1, 0, 256, -7, false},
        {"u8 z_x 255 with s8 z_y 128", 1, 0, 255, 128, false},
        {"u8 z_x 255, s8 z_y 127", 1, 0, 255, 127, true},
        {"u8 z_y -7 (valid for int8)", 0, 1, 3, -7, false},
        {"u8 z_y 256", 0, 1, 3, 256, false},
        {"u8 z_y 0", 0, 1, 3, 0, true},
        {"u8 z_x 0, u8 z_y 255", 1, 1, 0, 255, true},
        {"input_type 2", 2, 0, 3, -7, false},
        {"output_type -1", 0, (unsigned)-1, 3, -7, false},
    };
    for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
        b = v;
        b.d.input_type = (q8conv_dtype)typed[i].in_type;
        b.d.output_type = (q8conv_dtype)typed[i].out_type;
        b.d.input_zero_point = typed[i].z_x;
        b.d.output_zero_point = typed[i].z_y;
        if (typed[i].valid)
            CHECK(q8conv_pw_validate_desc(&b.d) == Q8CONV_SUCCESS, "%s is valid", typed[i].what);
        else
            expect_refused(typed[i].what, &b.d);
    }

    b = v;
    b.d.bias = b.bias_f;
    expect_refused("bias pointer with BIAS_NONE", &b.d);
    b.d.bias = NULL;
    b.d.bias_mode = Q8CONV_BIAS_FLOAT;
    expect_refused("FLOAT without bias", &b.d);
    b.d.bias_mode = Q8CONV_BIAS_INT32;
    expect_refused("INT32 without bias", &b.d);
    b.d.bias = b.bias_i;
    b.bias_i[1] = (1 << 30) + 1;
    expect_refused("int32 bias 2^30 + 1", &b.d);
    b.bias_i[1] = -(1 << 30) - 1;
    expect_refused("int32 bias -2^30 - 1", &b.d);
    b.bias_i[1] = 1 << 30;
    b.bias_i[0] = -(1 << 30);
    CHECK(q8conv_pw_validate_desc(&b.d) == Q8CONV_SUCCESS, "int32 bias +-2^30 is valid");
    b.d.bias_mode = Q8CONV_BIAS_FLOAT;
    b.d.bias = b.bias_f;
    b.bias_f[1] = INFINITY;
    expect_refused("float bias inf", &b.d);
    b.bias_f[1] = NAN;
    expect_refused("float bias NaN", &b.d);

    b = v;
    b.d.bias_mode = (q8conv_bias_mode)3;
    expect_refused("bias_mode 3", &b.d);
    b.d.bias_mode = (q8conv_bias_mode)-1;
    expect_refused("bias_mode -1", &b.d);
    b = v;
    b.d.activation = (q8conv_activation)3;
    expect_refused("activation 3", &b.d);
    b.d.activation = (q8conv_activation)-1;
    expect_refused("activation -1", &b.d);
    b = v;
    b.d.input_layout = (q8conv_layout)2;
    expect_refused("input_layout 2", &b.d);
    b = v;
    b.d.output_layout = (q8conv_layout)-7;
    expect_refused("output_layout -7", &b.d);
    b = v;
    b.d.kernel = Q8CONV_KERNEL_COUNT_;
    expect_refused("kernel COUNT_", &b.d);

    /* Shape arguments of the reference itself. */
    int8_t poison[8];
    memset(out, 0x5A, sizeof(out));
    memcpy(poison, out, sizeof(out));
    CHECK(q8conv_pw_reference(&v.d, 0, 2, 2, input, out) == Q8CONV_ERROR_INVALID_ARGUMENT, "n 0");
    CHECK(q8conv_pw_reference(&v.d, 1, 0, 2, input, out) == Q8CONV_ERROR_INVALID_ARGUMENT, "h 0");
    CHECK(q8conv_pw_reference(&v.d, 1, 2, 0, input, out) == Q8CONV_ERROR_INVALID_ARGUMENT, "w 0");
    CHECK(q8conv_pw_reference(&v.d, 1, 2, 2, NULL, out) == Q8CONV_ERROR_INVALID_ARGUMENT, "input NULL");
    CHECK(q8conv_pw_reference(&v.d, 1, 2, 2, input, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "output NULL");
    CHECK(memcmp(out, poison, sizeof(out)) == 0, "output written on a shape refusal");
}

/* A random valid descriptor with its arrays; scales chosen so outputs span the int8 range. */
typedef struct rand_op {
    int8_t *w;
    float *s_w;
    float *bias_f;
    int32_t *bias_i;
    int32_t *z_w;
    q8conv_pw_desc d;
} rand_op;

/* A zero point in a type's range. */
static int32_t rnd_zero_point(q8conv_dtype t)
{
    return t == Q8CONV_DTYPE_UINT8 ? rnd_range(0, 255) : rnd_range(-128, 127);
}

static void rand_op_make(rand_op *r, uint32_t ic, uint32_t oc)
{
    r->w = malloc((size_t)ic * oc);
    r->s_w = malloc(sizeof(float) * oc);
    r->bias_f = malloc(sizeof(float) * oc);
    r->bias_i = malloc(sizeof(int32_t) * oc);
    for (size_t i = 0; i < (size_t)ic * oc; i++)
        r->w[i] = (int8_t)test_below(256);
    float s_x = rnd_scale(-10, 2);
    float typical_w = rnd_scale(-10, 0);
    for (uint32_t o = 0; o < oc; o++) {
        r->s_w[o] = typical_w * (0.5f + rnd_unit());
        r->bias_f[o] = (rnd_unit() - 0.5f) * 200.0f * s_x * typical_w;
        r->bias_i[o] = test_below(8) == 0 ? rnd_range(-(1 << 30), 1 << 30) : rnd_range(-20000, 20000);
    }
    /* The typical |adj| is about 128 * 73 * sqrt(ic); aim the output scale around it. */
    float spread = s_x * typical_w * 9000.0f * sqrtf((float)ic) / 128.0f;
    const q8conv_dtype tin = (q8conv_dtype)test_below(2), tout = (q8conv_dtype)test_below(2);
    r->d = (q8conv_pw_desc){
        .in_channels = ic, .out_channels = oc,
        .input_scale = s_x, .input_zero_point = rnd_zero_point(tin),
        .output_scale = spread * ldexpf(1.0f, rnd_range(-4, 3)) * (0.5f + rnd_unit()),
        .output_zero_point = rnd_zero_point(tout),
        .input_type = tin, .output_type = tout,
        .weights = r->w, .weight_scales = r->s_w,
        .bias_mode = (q8conv_bias_mode)test_below(3), .activation = (q8conv_activation)test_below(3),
    };
    if (r->d.bias_mode == Q8CONV_BIAS_FLOAT)
        r->d.bias = r->bias_f;
    else if (r->d.bias_mode == Q8CONV_BIAS_INT32)
        r->d.bias = r->bias_i;
    /* Drawn last, so that the draws above are what they were before these fields: weight type and
     * zero points (none, per tensor, per channel; the ends of the range among them), strides. */
    r->z_w = malloc(sizeof(int32_t) * oc);
    r->d.weight_type = (q8conv_dtype)test_below(2);
    const uint32_t zw_kind = test_below(3);
    const int32_t z_tensor = test_below(4) == 0 ? (test_below(2) ? 127 : -128) : rnd_range(-128, 127);
    const int32_t z_shift = r->d.weight_type == Q8CONV_DTYPE_UINT8 ? 128 : 0;
    for (uint32_t o = 0; o < oc; o++)
        r->z_w[o] = (zw_kind == 1 ? z_tensor : rnd_range(-128, 127)) + z_shift;
    if (zw_kind)
        r->d.weight_zero_points = r->z_w;
    if (test_below(3) == 0) {
        r->d.stride_h = test_below(5);
        r->d.stride_w = test_below(5);
    }
}

static void rand_op_free(rand_op *r)
{
    free(r->w);
    free(r->s_w);
    free(r->bias_f);
    free(r->bias_i);
    free(r->z_w);
}

/* Weight k of channel oc as the weight type reads it, minus its zero point: w - z_w. */
static int32_t weight_value(const q8conv_pw_desc *d, uint32_t oc, uint32_t k)
{
    const int8_t byte = d->weights[(size_t)oc * d->in_channels + k];
    const int32_t w = d->weight_type == Q8CONV_DTYPE_UINT8 ? (int32_t)(uint8_t)byte : (int32_t)byte;
    return w - (d->weight_zero_points ? d->weight_zero_points[oc] : 0);
}

/* SEMANTICS.md restated independently of reference.c, for any accumulator value (acc = sum x *
 * (w - z_w) with x and w read in their types); returns the output byte. */
static uint8_t literal(const q8conv_pw_desc *d, uint32_t oc, int32_t acc)
{
    int32_t wsum = 0;
    for (uint32_t k = 0; k < d->in_channels; k++)
        wsum += weight_value(d, oc, k);
    int32_t adj = acc - d->input_zero_point * wsum;
    float r;
    if (d->bias_mode == Q8CONV_BIAS_INT32) {
        float eff = d->input_scale * d->weight_scales[oc];
        eff = eff / d->output_scale;
        float v = (float)(adj + ((const int32_t *)d->bias)[oc]);
        v = v * eff;
        r = nearbyintf(v);
    } else {
        float eff = d->input_scale * d->weight_scales[oc];
        float inv_y = 1.0f / d->output_scale;
        float v = (float)adj;
        v = v * eff;
        if (d->bias_mode == Q8CONV_BIAS_FLOAT)
            v = v + ((const float *)d->bias)[oc];
        v = v * inv_y;
        r = nearbyintf(v);
    }
    float z_y = (float)d->output_zero_point;
    const bool u8 = d->output_type == Q8CONV_DTYPE_UINT8;
    const float bottom = u8 ? 0.0f : -128.0f, top = u8 ? 255.0f : 127.0f;
    float lo = bottom, hi = top;
    if (d->activation != Q8CONV_ACTIVATION_NONE)
        lo = fmaxf(z_y, bottom);
    if (d->activation == Q8CONV_ACTIVATION_RELU6) {
        float inv = 1.0f / d->output_scale;
        float six = 6.0f * inv;
        float b = nearbyintf(six);
        b = b + z_y;
        hi = fminf(top, b);
    }
    float y = r + z_y;
    y = fminf(fmaxf(y, lo), hi);
    return u8 ? (uint8_t)y : (uint8_t)(int8_t)y;
}

/* What the shader computes from requant.c's constants; acc is what it accumulates (for a uint8
 * input, of x - 128). Returns the low byte it stores. */
static uint8_t shader(const q8conv_pw_desc *d, const q8conv_channel_params *ch, const q8conv_requant *rq,
                      int32_t acc)
{
    float v = (float)(acc - ch->offset);
    v = v * ch->eff;
    v = v + ch->bias;
    float r;
    if (d->bias_mode == Q8CONV_BIAS_INT32) {
        r = nearbyintf(v);
    } else {
        float s = v * rq->inv_y;
        r = nearbyintf(s);
    }
    float y = r + rq->z_y;
    y = fminf(fmaxf(y, rq->qmin), rq->qmax);
    return (uint8_t)((uint32_t)(int32_t)y & 0xFFu);
}

/* An input byte as the input type reads it. */
static int32_t input_value(const q8conv_pw_desc *d, int8_t byte)
{
    return d->input_type == Q8CONV_DTYPE_UINT8 ? (int32_t)(uint8_t)byte : (int32_t)byte;
}

/* Reference on real data against a naive triple loop (covers transposition, chunking, IC tails,
 * strides: output pixel (i, j) reads input pixel (s_h * i, s_w * j)). */
static void check_reference_vs_literal(const rand_op *r, uint32_t n, uint32_t h, uint32_t w)
{
    const q8conv_pw_desc *d = &r->d;
    uint32_t ic = d->in_channels, oc = d->out_channels;
    const uint32_t s_h = d->stride_h > 1 ? d->stride_h : 1, s_w = d->stride_w > 1 ? d->stride_w : 1;
    const uint32_t ho = (h - 1) / s_h + 1, wo = (w - 1) / s_w + 1;
    size_t hw = (size_t)h * w, out_hw = (size_t)ho * wo, in_size = n * ic * hw, out_size = n * oc * out_hw;
    int8_t *x = malloc(in_size), *y = malloc(out_size);
    for (size_t i = 0; i < in_size; i++)
        x[i] = (int8_t)test_below(256);
    q8conv_status s = q8conv_pw_reference(d, n, h, w, x, y);
    CHECK(s == Q8CONV_SUCCESS, "random op: status %d", (int)s);
    size_t bad = 0;
    for (size_t b = 0; b < n; b++)
        for (uint32_t o = 0; o < oc; o++)
            for (size_t m = 0; m < out_hw; m++) {
                const size_t src = (m / wo) * s_h * w + (m % wo) * s_w;
                int32_t acc = 0;
                for (uint32_t k = 0; k < ic; k++)
                    acc += input_value(d, x[(b * ic + k) * hw + src]) * weight_value(d, o, k);
                bad += (uint8_t)y[(b * oc + o) * out_hw + m] != literal(d, o, acc);
            }
    CHECK(bad == 0,
          "reference vs literal: %zu of %zu differ (ic %u oc %u n %u h %u w %u stride %ux%u mode %d act %d types "
          "%d->%d weights %d zw %s)",
          bad, out_size, ic, oc, n, h, w, s_h, s_w, (int)d->bias_mode, (int)d->activation, (int)d->input_type,
          (int)d->output_type, (int)d->weight_type, d->weight_zero_points ? "given" : "NULL");
    free(x);
    free(y);
}

/* requant.c's folded constants, run through the shader's formula, against the literal formula for
 * accumulators across (and at the ends of) the reachable range, for a kernel that reads the input
 * as signed bytes (every kernel but DOT_MIXED) or as unsigned ones (DOT_MIXED). */
static void check_requant_vs_literal(const rand_op *r, bool reads_unsigned)
{
    const q8conv_pw_desc *d = &r->d;
    uint32_t oc = d->out_channels, padded = (oc + 3) / 4 * 4;
    q8conv_channel_params ch[24];
    q8conv_requant rq;
    memset(ch, 0x77, sizeof(ch));
    /* The kernel accumulates x + shift (the XOR of 0x80 into every byte, or none). */
    const q8conv_input_read in = q8conv_input_read_for(reads_unsigned, d->input_type);
    q8conv_status s = q8conv_compute_requant(d, in.shift, ch, &rq);
    if (s != Q8CONV_SUCCESS) {
        CHECK(s == Q8CONV_ERROR_UNSUPPORTED, "requant status %d", (int)s);
        return;
    }
    for (uint32_t o = oc; o < padded; o++)
        CHECK(ch[o].offset == 0 && ch[o].eff == 0.0f && ch[o].bias == 0.0f && ch[o].weight_zp == 0,
              "padded channel %u not zero", o);
    /* The constants themselves, bit for bit: a one-ulp change of eff rarely shows in rounded
     * outputs, but it would break exactness on some input. */
    for (uint32_t o = 0; o < oc; o++) {
        float eff = d->input_scale * d->weight_scales[o];
        if (d->bias_mode == Q8CONV_BIAS_INT32)
            eff = eff / d->output_scale;
        float bias = d->bias_mode == Q8CONV_BIAS_FLOAT ? ((const float *)d->bias)[o] : 0.0f;
        CHECK(memcmp(&ch[o].eff, &eff, sizeof(eff)) == 0 && memcmp(&ch[o].bias, &bias, sizeof(bias)) == 0,
              "channel %u: eff %.9g want %.9g, bias %.9g want %.9g", o, (double)ch[o].eff, (double)eff,
              (double)ch[o].bias, (double)bias);
    }
    float inv_y = 1.0f / d->output_scale;
    CHECK(rq.inv_y == inv_y && rq.z_y == (float)d->output_zero_point, "rq inv_y %.9g z_y %g", (double)rq.inv_y,
          (double)rq.z_y);
    /* What reaches the requantization is sum (x + shift) (w - z_w) = acc + shift * wsum. */
    int32_t max_acc = (int32_t)d->in_channels * 255 * 255;
    size_t bad = 0;
    for (uint32_t o = 0; o < oc; o++) {
        int32_t wsum = 0;
        for (uint32_t k = 0; k < d->in_channels; k++)
            wsum += weight_value(d, o, k);
        for (int t = 0; t < 2000; t++) {
            int32_t acc = t == 0 ? max_acc : t == 1 ? -max_acc : t < 1000 ? rnd_range(-4000, 4000)
                                                                          : rnd_range(-max_acc, max_acc);
            bad += shader(d, &ch[o], &rq, acc + in.shift * wsum) != literal(d, o, acc);
        }
    }
    /* The kernel's own split of it, on input vectors (the ends of the range among them): the
     * products of x' = x + shift and the stored weights w' (uint8 weights packed as w - 128), minus
     * the channel's weight_zp times sum x'. */
    int32_t *xv = malloc(sizeof(int32_t) * d->in_channels);
    for (uint32_t o = 0; o < oc; o++) {
        for (int t = 0; t < 40; t++) {
            const int32_t lo = d->input_type == Q8CONV_DTYPE_UINT8 ? 0 : -128, hi = lo + 255;
            int32_t acc = 0, kernel = 0, xsum = 0;
            for (uint32_t k = 0; k < d->in_channels; k++) {
                xv[k] = t == 0 ? lo : t == 1 ? hi : rnd_range(lo, hi);
                const int8_t stored = (int8_t)((uint8_t)d->weights[(size_t)o * d->in_channels + k] ^
                                               q8conv_weight_xor(d->weight_type));
                acc += xv[k] * weight_value(d, o, k);
                kernel += (xv[k] + in.shift) * stored;
                xsum += xv[k] + in.shift;
            }
            kernel -= ch[o].weight_zp * xsum;
            bad += shader(d, &ch[o], &rq, kernel) != literal(d, o, acc);
        }
    }
    free(xv);
    CHECK(bad == 0, "requant constants vs literal: %zu differ (mode %d act %d types %d->%d, input read as %s)", bad,
          (int)d->bias_mode, (int)d->activation, (int)d->input_type, (int)d->output_type,
          reads_unsigned ? "unsigned" : "signed");
}

static void test_random_ops(void)
{
    for (int t = 0; t < 300; t++) {
        rand_op r;
        uint32_t ic = 1 + test_below(t % 10 == 0 ? 300 : 40), oc = 1 + test_below(20);
        rand_op_make(&r, ic, oc);
        CHECK(q8conv_pw_validate_desc(&r.d) == Q8CONV_SUCCESS, "random desc invalid");
        check_requant_vs_literal(&r, false);
        check_requant_vs_literal(&r, true);
        check_reference_vs_literal(&r, 1 + test_below(2), 1 + test_below(9), 1 + test_below(30));
        rand_op_free(&r);
        if (test_failures > 20)
            return;
    }
}

static void test_requant_constants(void)
{
    /* Folded INT32 offset: z_x * wsum - bias. weights {-20, -13, -6} -> wsum -39; z_x 3 -> -117. */
    valid_op v;
    valid_init(&v);
    v.bias_i[0] = 1000;
    v.d.bias_mode = Q8CONV_BIAS_INT32;
    v.d.bias = v.bias_i;
    q8conv_channel_params ch[4];
    q8conv_requant rq;
    CHECK(q8conv_compute_requant(&v.d, 0, ch, &rq) == Q8CONV_SUCCESS, "status");
    CHECK(ch[0].offset == -117 - 1000, "offset %d", ch[0].offset);
    /* weights {1, 8, 15}: wsum 24 -> 72 - 0. */
    CHECK(ch[1].offset == 72, "offset %d", ch[1].offset);
    float p = 0.05f * 0.01f;
    CHECK(ch[0].eff == p / 0.1f && ch[0].bias == 0.0f, "eff");
    CHECK(rq.inv_y == 1.0f / 0.1f && rq.z_y == -7.0f && rq.qmin == -128.0f && rq.qmax == 127.0f, "rq");

    /* A uint8 input's zero point is shifted like its bytes: (131 - 128) * wsum is the int8 case
     * above with z_x 3. A uint8 output clamps to [0, 255]; with ReLU6, to [z_y, 6 / s_y + z_y]. */
    v.d.input_type = Q8CONV_DTYPE_UINT8;
    v.d.input_zero_point = 131;
    v.d.output_type = Q8CONV_DTYPE_UINT8;
    v.d.output_zero_point = 200;
    CHECK(q8conv_compute_requant(&v.d, -128, ch, &rq) == Q8CONV_SUCCESS, "u8 status");
    CHECK(ch[0].offset == -117 - 1000 && ch[1].offset == 72, "u8 offsets %d %d", ch[0].offset, ch[1].offset);
    /* DOT_MIXED reads uint8 as it is: 131 * wsum. */
    CHECK(q8conv_compute_requant(&v.d, 0, ch, &rq) == Q8CONV_SUCCESS && ch[0].offset == 131 * -39 - 1000 &&
              ch[1].offset == 131 * 24,
          "u8 offsets for unsigned reads %d %d", ch[0].offset, ch[1].offset);
    CHECK(rq.z_y == 200.0f && rq.qmin == 0.0f && rq.qmax == 255.0f, "u8 rq qmin %g qmax %g", (double)rq.qmin,
          (double)rq.qmax);
    v.d.activation = Q8CONV_ACTIVATION_RELU6;
    CHECK(q8conv_compute_requant(&v.d, -128, ch, &rq) == Q8CONV_SUCCESS && rq.qmin == 200.0f && rq.qmax == 255.0f,
          "u8 relu6 rq qmin %g qmax %g (6 / 0.1 + 200 = 260, capped)", (double)rq.qmin, (double)rq.qmax);
    /* Signed reads: uint8 x - 128, int8 as it is; unsigned reads (DOT_MIXED): int8 x + 128, uint8 as it is. */
    const struct {
        bool reads_unsigned;
        q8conv_dtype type;
        uint32_t xor_word;
        int32_t shift;
    } reads[] = {{false, Q8CONV_DTYPE_INT8, 0u, 0},
                 {false, Q8CONV_DTYPE_UINT8, 0x80808080u, -128},
                 {true, Q8CONV_DTYPE_INT8, 0x80808080u, 128},
                 {true, Q8CONV_DTYPE_UINT8, 0u, 0}};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        const q8conv_input_read in = q8conv_input_read_for(reads[i].reads_unsigned, reads[i].type);
        CHECK(in.xor_word == reads[i].xor_word && in.shift == reads[i].shift, "input read %zu: xor 0x%08x shift %d", i,
              in.xor_word, in.shift);
    }
    /* int8 input read unsigned: (3 + 128) * wsum. */
    v.d.input_type = Q8CONV_DTYPE_INT8;
    v.d.input_zero_point = 3;
    CHECK(q8conv_compute_requant(&v.d, 128, ch, &rq) == Q8CONV_SUCCESS && ch[0].offset == 131 * -39 - 1000,
          "s8 offset for unsigned reads %d", ch[0].offset);

    /* Weight zero points: wsum becomes sum (w - z_w), and weight_zp is z_w' (uint8: z_w - 128).
     * Channel 0's weights {-20, -13, -6} with z_w 5: wsum -54 -> z_x 3 gives -162 - 1000. As uint8
     * weights (bytes 236, 243, 250) with z_w 240: wsum 9 -> 27 - 1000, weight_zp 112. */
    valid_init(&v);
    v.bias_i[0] = 1000;
    v.d.bias_mode = Q8CONV_BIAS_INT32;
    v.d.bias = v.bias_i;
    int32_t zw[4] = {5, 0, 0, 0};
    v.d.weight_zero_points = zw;
    CHECK(q8conv_compute_requant(&v.d, 0, ch, &rq) == Q8CONV_SUCCESS && ch[0].offset == -162 - 1000 &&
              ch[0].weight_zp == 5 && ch[1].offset == 72 && ch[1].weight_zp == 0,
          "int8 weight zero point: offset %d weight_zp %d", ch[0].offset, ch[0].weight_zp);
    v.d.weight_type = Q8CONV_DTYPE_UINT8;
    zw[0] = 240;
    zw[1] = 128;
    CHECK(q8conv_compute_requant(&v.d, 0, ch, &rq) == Q8CONV_SUCCESS && ch[0].offset == 27 - 1000 &&
              ch[0].weight_zp == 112 && ch[1].weight_zp == 0,
          "uint8 weight zero point: offset %d weight_zp %d, channel 1 weight_zp %d", ch[0].offset, ch[0].weight_zp,
          ch[1].weight_zp);
    CHECK(q8conv_desc_has_weight_zero_point(&v.d), "uint8 weights with z_w 240 need the input sum");
    for (int i = 0; i < 4; ++i)
        zw[i] = 128;
    CHECK(!q8conv_desc_has_weight_zero_point(&v.d), "uint8 weights all at z_w 128 need no input sum");
    v.d.weight_zero_points = NULL;
    CHECK(q8conv_desc_has_weight_zero_point(&v.d), "uint8 weights with z_w 0 (NULL) need the input sum");
    CHECK(q8conv_weight_xor(Q8CONV_DTYPE_UINT8) == 0x80u && q8conv_weight_xor(Q8CONV_DTYPE_INT8) == 0u, "weight_xor");

    /* A subnormal s_x * s_w cannot be kept exact on a flushing device: UNSUPPORTED. Both scales
     * are valid on their own. */
    valid_init(&v);
    v.d.input_scale = 1e-20f;
    v.scales[1] = 1e-20f;
    CHECK(q8conv_pw_validate_desc(&v.d) == Q8CONV_SUCCESS, "tiny scales valid");
    CHECK(q8conv_compute_requant(&v.d, 0, ch, &rq) == Q8CONV_ERROR_UNSUPPORTED, "subnormal eff");
    /* INT32 mode: s_x * s_w normal but divided by a large s_y it becomes subnormal. */
    valid_init(&v);
    v.d.input_scale = 1e-15f;
    v.scales[0] = 1e-15f;
    v.d.output_scale = 1e10f;
    v.d.bias_mode = Q8CONV_BIAS_INT32;
    v.d.bias = v.bias_i;
    CHECK(q8conv_compute_requant(&v.d, 0, ch, &rq) == Q8CONV_ERROR_UNSUPPORTED, "subnormal int32 eff");
}

int main(void)
{
    test_seed();
    test_hand_cases();
    test_round_half_even();
    test_relu();
    test_relu6();
    test_uint8_hand_cases();
    test_refusals();
    test_requant_constants();
    test_random_ops();
    return test_finish("test_reference");
}
