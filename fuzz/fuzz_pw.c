/* libFuzzer target: bytes -> an operator descriptor (+ small shapes) and a tensor descriptor.
 *
 * Properties checked, each an abort() when broken:
 * - q8conv_pw_validate_desc agrees with an independent reading of SEMANTICS.md "Valid parameters";
 * - q8conv_pw_reference agrees with it, and leaves its output alone when it refuses;
 * - q8conv_pw_create gives SUCCESS or exactly the documented UNSUPPORTED cases, and never writes
 *   *out on failure;
 * - a created op, run on the shared context, equals the reference byte for byte, and refuses
 *   tensors of the other element type (nothing written);
 * - q8conv_tensor_size_bytes / q8conv_tensor_create agree with the layout formula;
 * - the validation layer (Q8CONV_VALIDATION=1) reports nothing.
 * Sanitizers (address, undefined) turn any memory or UB error into a crash as well.
 *
 * The encoding is forgiving on purpose: every byte string decodes to some descriptor, and the
 * all-zero (or empty) input decodes to a valid one, so the fuzzer reaches the GPU path at once. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "q8conv.h"

/* Work per input stays small so that the fuzzer keeps a high rate. */
#define MAX_PIXELS_X_IC (1u << 16)
#define MAX_WEIGHTS (1u << 16)

static q8conv_context *g_ctx;
static bool g_has_dot, g_has_coopmat;
static uint64_t g_range;

/* The descriptor of the input being run, printed with any failure. */
static const q8conv_pw_desc *g_current;

static void print_desc(const q8conv_pw_desc *d)
{
    if (!d)
        return;
    fprintf(stderr, "  desc: IC %u OC %u s_x %a z_x %d s_y %a z_y %d bias_mode %u activation %u layouts %u->%u "
            "types %u->%u kernel %u weight_type %u zw[0] %d stride %ux%u\n",
            d->in_channels, d->out_channels, (double)d->input_scale, d->input_zero_point, (double)d->output_scale,
            d->output_zero_point, (unsigned)d->bias_mode, (unsigned)d->activation, (unsigned)d->input_layout,
            (unsigned)d->output_layout, (unsigned)d->input_type, (unsigned)d->output_type, (unsigned)d->kernel,
            (unsigned)d->weight_type, d->weight_zero_points ? d->weight_zero_points[0] : 0, d->stride_h, d->stride_w);
    if (d->weight_scales && d->out_channels <= 64)
        for (uint32_t o = 0; o < d->out_channels; ++o)
            fprintf(stderr, "  s_w[%u] %a bias %a\n", o, (double)d->weight_scales[o],
                    !d->bias ? 0.0
                    : d->bias_mode == Q8CONV_BIAS_FLOAT ? (double)((const float *)d->bias)[o]
                                                        : (double)((const int32_t *)d->bias)[o]);
}

#define FUZZ_ASSERT(cond, ...)                                  \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "fuzz_pw: %s: ", #cond);            \
            fprintf(stderr, __VA_ARGS__);                       \
            fprintf(stderr, "\n");                              \
            print_desc(g_current);                              \
            abort();                                            \
        }                                                       \
    } while (0)

/* ---- decoding ---- */

typedef struct reader {
    const uint8_t *p;
    size_t n, pos;
} reader;

static uint8_t u8(reader *r)
{
    return r->pos < r->n ? r->p[r->pos++] : 0;
}

static uint32_t u32(reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= (uint32_t)u8(r) << (8 * i);
    return v;
}

static float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static const float special_floats[] = {
    NAN, INFINITY, -INFINITY, 0.0f, -0.0f, -1.0f, -0.01f, 1e-40f, 1.4e-45f, FLT_MIN, FLT_MAX, 3e38f, 1e38f,
    1e37f, 1e30f, 1e-20f, 1e-30f, 0x1p-100f, 0x1p-101f, 1.0f, 0.5f, 6.0f, 1e-7f, 65504.0f,
};
#define SPECIAL_COUNT (sizeof special_floats / sizeof special_floats[0])

/* Mostly a plausible scale 2^-15 .. 2; sometimes a special value; sometimes raw bits. */
static float scale(reader *r)
{
    uint8_t sel = u8(r);
    if (sel < 200)
        return ldexpf(1.0f + (float)u8(r) / 256.0f, -(int)(sel % 16));
    if (sel < 240)
        return special_floats[(sel - 200) % SPECIAL_COUNT];
    return bits_to_float(u32(r));
}

static uint32_t channels(reader *r)
{
    static const uint32_t edges[] = {0, 1, 4, 5, 16384, 16385, 16383, UINT32_MAX};
    uint8_t sel = u8(r);
    if (sel < 224)
        return 1u + sel % 48u;
    if (sel < 240)
        return 1u + (u32(r) % 600u);
    if (sel < 250)
        return edges[sel % 8];
    return u32(r); /* anything */
}

static uint32_t enum_value(reader *r, uint32_t count)
{
    uint8_t sel = u8(r);
    return sel < 240 ? sel % count : u32(r);
}

/* Mostly in the range of the side's type (a type that is not UINT8 decodes as int8's); the values
 * at and just past both ends of either range are drawn on their own. */
static int32_t zero_point(reader *r, q8conv_dtype type)
{
    static const int32_t edges[] = {-128, 127, -129, 128, 255, -255, INT32_MIN, INT32_MAX, 0, 256, -1};
    uint8_t sel = u8(r);
    if (sel < 216)
        return type == Q8CONV_DTYPE_UINT8 ? (int32_t)u8(r) : (int32_t)(int8_t)u8(r);
    if (sel < 248)
        return edges[sel % (sizeof edges / sizeof edges[0])];
    return (int32_t)u32(r);
}

/* A stride field: mostly 0-4, sometimes anything (every value is valid). */
static uint32_t stride(reader *r)
{
    uint8_t sel = u8(r);
    return sel < 248 ? sel % 5u : u32(r);
}

/* ---- the oracle: SEMANTICS.md and the header, written out independently ---- */

static bool scale_valid(float s)
{
    return isnormal(s) && s > 0.0f && isnormal(1.0f / s);
}

static bool zero_point_in_range(int32_t z, q8conv_dtype type)
{
    return type == Q8CONV_DTYPE_UINT8 ? z >= 0 && z <= 255 : z >= -128 && z <= 127;
}

static q8conv_status expected_validity(const q8conv_pw_desc *d)
{
    if (!d->weights || !d->weight_scales)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (d->in_channels < 1 || d->in_channels > 16384 || d->out_channels < 1 || d->out_channels > 16384)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if ((uint32_t)d->bias_mode > 2 || (uint32_t)d->activation > 2 || (uint32_t)d->input_layout > 1 ||
        (uint32_t)d->output_layout > 1 || (uint32_t)d->kernel > 5 || (uint32_t)d->input_type > 1 ||
        (uint32_t)d->output_type > 1 || (uint32_t)d->weight_type > 1)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    for (uint32_t o = 0; d->weight_zero_points && o < d->out_channels; ++o)
        if (!zero_point_in_range(d->weight_zero_points[o], d->weight_type))
            return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (!zero_point_in_range(d->input_zero_point, d->input_type) ||
        !zero_point_in_range(d->output_zero_point, d->output_type))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (!scale_valid(d->input_scale) || !scale_valid(d->output_scale))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    for (uint32_t o = 0; o < d->out_channels; ++o)
        if (!scale_valid(d->weight_scales[o]))
            return Q8CONV_ERROR_INVALID_ARGUMENT;
    if ((d->bias_mode == Q8CONV_BIAS_NONE) != (d->bias == NULL))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    for (uint32_t o = 0; d->bias && o < d->out_channels; ++o) {
        if (d->bias_mode == Q8CONV_BIAS_FLOAT && !isfinite(((const float *)d->bias)[o]))
            return Q8CONV_ERROR_INVALID_ARGUMENT;
        if (d->bias_mode == Q8CONV_BIAS_INT32 && (((const int32_t *)d->bias)[o] > (1 << 30) ||
                                                  ((const int32_t *)d->bias)[o] < -(1 << 30)))
            return Q8CONV_ERROR_INVALID_ARGUMENT;
    }
    return Q8CONV_SUCCESS;
}

/* The header's UNSUPPORTED cases of q8conv_pw_create, for a valid descriptor. */
static q8conv_status expected_create(const q8conv_pw_desc *d)
{
    if (((d->kernel == Q8CONV_KERNEL_DOT || d->kernel == Q8CONV_KERNEL_DOT_MIXED) && !g_has_dot) ||
        (d->kernel == Q8CONV_KERNEL_COOPMAT && !g_has_coopmat))
        return Q8CONV_ERROR_UNSUPPORTED;
    for (uint32_t o = 0; o < d->out_channels; ++o) {
        float eff = d->input_scale * d->weight_scales[o];
        if (d->bias_mode == Q8CONV_BIAS_INT32)
            eff = eff / d->output_scale;
        if (!isnormal(eff))
            return Q8CONV_ERROR_UNSUPPORTED;
        if (d->bias_mode == Q8CONV_BIAS_FLOAT &&
            (eff < 0x1p-100f || fpclassify(((const float *)d->bias)[o]) == FP_SUBNORMAL))
            return Q8CONV_ERROR_UNSUPPORTED;
    }
    const uint64_t weight_bytes = (uint64_t)((d->out_channels + 3) / 4) * ((d->in_channels + 3) / 4) * 16u;
    if (weight_bytes > g_range)
        return Q8CONV_ERROR_UNSUPPORTED;
    return Q8CONV_SUCCESS;
}

/* ---- tensor descriptors ---- */

static void fuzz_tensor_desc(reader *r)
{
    q8conv_tensor_desc d;
    uint8_t sel = u8(r);
    if (sel < 128) {
        d = (q8conv_tensor_desc){1u + u8(r) % 4u, 1u + u8(r) % 70u, 1u + u8(r) % 9u, 1u + u8(r) % 33u,
                                 (q8conv_layout)(u8(r) % 2u), (q8conv_dtype)(u8(r) % 2u)};
    } else {
        d = (q8conv_tensor_desc){u32(r), u32(r), u32(r), u32(r), (q8conv_layout)enum_value(r, 2),
                                 (q8conv_dtype)enum_value(r, 2)};
    }
    const bool invalid =
        d.n == 0 || d.c == 0 || d.h == 0 || d.w == 0 || (uint32_t)d.layout > 1 || (uint32_t)d.dtype > 1;
    /* Bytes per the layout formula, in long double (64 mantissa bits: exact up to 2^64, and
     * anything larger is far beyond the 2^40 limit either way). */
    const long double c4 = (long double)((d.c + 3ull) / 4ull);
    const long double row_bytes = d.layout == Q8CONV_LAYOUT_4W4C ? (long double)((d.w + 3ull) / 4ull) * c4 * 16.0L
                                                                 : (long double)d.w * c4 * 4.0L;
    const long double bytes = row_bytes * (long double)d.n * (long double)d.h;
    const bool oversized = !invalid && bytes > (long double)(1ull << 40);
    const VkDeviceSize size = q8conv_tensor_size_bytes(&d);
    if (invalid || oversized)
        FUZZ_ASSERT(size == 0, "size_bytes of an invalid/oversized desc is %llu", (unsigned long long)size);
    else
        FUZZ_ASSERT((long double)size == bytes, "size_bytes %llu, formula %.0Lf", (unsigned long long)size, bytes);
    if (!g_ctx)
        return;
    q8conv_tensor *t = (q8conv_tensor *)(uintptr_t)0x5E47;
    if (invalid || oversized || (uint64_t)d.n * d.h > UINT32_MAX) {
        q8conv_status st = q8conv_tensor_create(g_ctx, &d, &t);
        FUZZ_ASSERT(st == (invalid ? Q8CONV_ERROR_INVALID_ARGUMENT : Q8CONV_ERROR_UNSUPPORTED),
                    "tensor_create: %s", q8conv_status_string(st));
        FUZZ_ASSERT(t == (q8conv_tensor *)(uintptr_t)0x5E47, "tensor_create failed but wrote *out");
    } else if (size <= (1u << 20)) {
        q8conv_status st = q8conv_tensor_create(g_ctx, &d, &t);
        FUZZ_ASSERT(st == Q8CONV_SUCCESS, "tensor_create of %llu bytes: %s", (unsigned long long)size,
                    q8conv_status_string(st));
        q8conv_tensor_destroy(t);
    }
}

/* ---- one input ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* One context for the whole session: creating one per input would measure the driver. */
    if (q8conv_context_create(NULL, &g_ctx) != Q8CONV_SUCCESS) {
        fprintf(stderr, "fuzz_pw: no Vulkan device; fuzzing validation and the reference only\n");
        g_ctx = NULL;
        return 0;
    }
    q8conv_context_info info;
    q8conv_context_get_info(g_ctx, &info);
    g_has_dot = info.integer_dot_product_supported;
    g_has_coopmat = info.cooperative_matrix_supported;
    g_range = info.max_storage_buffer_range;
    fprintf(stderr, "fuzz_pw: device %s, validation %s\n", info.device_name, info.validation_enabled ? "on" : "off");
    return 0;
}

static void check_validation_clean(void)
{
    q8conv_context_info info;
    q8conv_context_get_info(g_ctx, &info);
    FUZZ_ASSERT(info.validation_errors == 0 && info.validation_warnings == 0,
                "the validation layer reported %u error(s), %u warning(s)", info.validation_errors,
                info.validation_warnings);
}

/* The op given a tensor of the other element type on one side (the other side right): refused,
 * and the poisoned output keeps every byte. */
static void check_wrong_type(q8conv_pw *op, q8conv_tensor *ti, q8conv_tensor *to, q8conv_tensor_desc di,
                             q8conv_tensor_desc dout, bool input_side)
{
    q8conv_tensor_desc *flip = input_side ? &di : &dout;
    flip->dtype = flip->dtype == Q8CONV_DTYPE_UINT8 ? Q8CONV_DTYPE_INT8 : Q8CONV_DTYPE_UINT8;
    q8conv_tensor *other = NULL;
    FUZZ_ASSERT(q8conv_tensor_create(g_ctx, flip, &other) == Q8CONV_SUCCESS, "tensor of the other type");
    q8conv_tensor *out = input_side ? to : other;
    const size_t raw = (size_t)q8conv_tensor_size_bytes(&dout);
    uint8_t *poison = malloc(raw), *now = malloc(raw);
    memset(poison, TEST_POISON, raw);
    FUZZ_ASSERT(q8conv_tensor_write_raw(out, poison, raw) == Q8CONV_SUCCESS, "poison the output");
    const q8conv_status st = q8conv_pw_run(op, input_side ? other : ti, out);
    FUZZ_ASSERT(st == Q8CONV_ERROR_INVALID_ARGUMENT, "pw_run with a %s tensor of the other type: %s",
                input_side ? "input" : "output", q8conv_status_string(st));
    FUZZ_ASSERT(q8conv_tensor_read_raw(out, now, raw) == Q8CONV_SUCCESS && memcmp(now, poison, raw) == 0,
                "a refused run wrote its output");
    q8conv_tensor_destroy(other);
    free(poison);
    free(now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size, 0};
    /* The selectors that pick edge values come first: libFuzzer starts with short inputs. */
    const uint8_t special_sel = u8(&r), special_channel = u8(&r), data_kind = u8(&r);
    q8conv_pw_desc d = {0};
    d.in_channels = channels(&r);
    d.out_channels = channels(&r);
    d.input_scale = scale(&r);
    d.output_scale = scale(&r);
    d.input_type = (q8conv_dtype)enum_value(&r, 2);
    d.output_type = (q8conv_dtype)enum_value(&r, 2);
    d.input_zero_point = zero_point(&r, d.input_type);
    d.output_zero_point = zero_point(&r, d.output_type);
    d.bias_mode = (q8conv_bias_mode)enum_value(&r, 3);
    d.activation = (q8conv_activation)enum_value(&r, 3);
    d.input_layout = (q8conv_layout)enum_value(&r, 2);
    d.output_layout = (q8conv_layout)enum_value(&r, 2);
    d.kernel = (q8conv_kernel)enum_value(&r, 6);
    const uint8_t flags = u8(&r);
    /* 1: the input tensor, 2: the output tensor of the other element type first (must be refused). */
    const uint8_t wrong_type = u8(&r) % 4u;
    const uint32_t n = 1u + u8(&r) % 3u, h = 1u + u8(&r) % 6u, w = 1u + u8(&r) % 13u;
    /* Bulk data from the test-support library's generator, seeded from the input. */
    test_rng seed = {u32(&r)};
    const float sw_base = scale(&r);
    /* Weight type, zero points (0: none, 1: one decoded value for all, 2: per channel in range,
     * 3: per channel with one decoded value, maybe out of range), strides. */
    d.weight_type = (q8conv_dtype)enum_value(&r, 2);
    const uint8_t wzp_kind = u8(&r) % 4u;
    const int32_t wzp_decoded = zero_point(&r, d.weight_type);
    d.stride_h = stride(&r);
    d.stride_w = stride(&r);

    /* Arrays only as large as the descriptor claims, so that a library reading past what it
     * validated would be caught by ASan; channel counts past a bound get no arrays at all (the
     * library must refuse before touching them). */
    const bool arrays = d.in_channels >= 1 && d.in_channels <= 16384 && d.out_channels >= 1 &&
                        d.out_channels <= 16384;
    if (arrays && (uint64_t)d.in_channels * d.out_channels > MAX_WEIGHTS)
        d.out_channels = MAX_WEIGHTS / d.in_channels;
    int8_t *weights = NULL;
    float *scales = NULL, *fbias = NULL;
    int32_t *ibias = NULL, *wzps = NULL;
    if (arrays) {
        const uint32_t oc = d.out_channels, ic = d.in_channels;
        weights = malloc((size_t)oc * ic);
        scales = malloc(sizeof(float) * oc);
        fbias = malloc(sizeof(float) * oc);
        ibias = malloc(sizeof(int32_t) * oc);
        for (size_t i = 0; i < (size_t)oc * ic; ++i) {
            uint64_t v = test_rng_next(&seed);
            weights[i] = data_kind % 4 == 1 ? ((v & 1) ? 127 : -128) : data_kind % 4 == 2 ? 0 : (int8_t)v;
        }
        for (uint32_t o = 0; o < oc; ++o) {
            uint64_t v = test_rng_next(&seed);
            /* around the decoded base scale, so that the output scale relation varies */
            scales[o] = isnormal(sw_base) && sw_base > 0 ? sw_base * (1.0f + (float)(v % 1024) / 1024.0f) : sw_base;
            fbias[o] = (float)((int64_t)(v >> 16) % 20001 - 10000) * (d.output_scale > 0 ? d.output_scale : 1.0f);
            ibias[o] = data_kind & 4 ? (int32_t)(v >> 32) : (int32_t)((int64_t)(v >> 40) % 200001 - 100000);
            if (data_kind & 8)
                ibias[o] = (v & 1) ? (1 << 30) : -(1 << 30);
        }
        if (wzp_kind) {
            wzps = malloc(sizeof(int32_t) * oc);
            const bool u8_w = d.weight_type == Q8CONV_DTYPE_UINT8;
            for (uint32_t o = 0; o < oc; ++o)
                wzps[o] = wzp_kind == 1 ? wzp_decoded
                                        : u8_w ? (int32_t)(test_rng_next(&seed) & 0xFF) : (int32_t)(int8_t)test_rng_next(&seed);
            if (wzp_kind == 3)
                wzps[special_channel % oc] = wzp_decoded;
        }
        const uint32_t k = special_channel % oc;
        switch (special_sel % 8) {
        case 1: scales[k] = special_floats[(special_sel / 8) % SPECIAL_COUNT]; break;
        case 2: fbias[k] = special_floats[(special_sel / 8) % SPECIAL_COUNT]; break;
        case 3: ibias[k] = (int32_t)test_rng_next(&seed); break;
        case 4: ibias[k] = (special_sel & 8) ? (1 << 30) + 1 : -(1 << 30) - 1; break;
        default: break;
        }
    }
    d.weights = (flags & 0x0F) == 0x0F ? NULL : weights;
    d.weight_scales = (flags & 0xF0) == 0xF0 ? NULL : scales;
    d.weight_zero_points = wzps;
    /* The bias pointer follows the mode, unless the flags say to mismatch them. */
    const void *consistent = (uint32_t)d.bias_mode == Q8CONV_BIAS_FLOAT   ? (const void *)fbias
                             : (uint32_t)d.bias_mode == Q8CONV_BIAS_INT32 ? (const void *)ibias
                                                                          : NULL;
    if ((flags & 0x30) == 0x30)
        d.bias = consistent ? NULL : (const void *)ibias;
    else
        d.bias = consistent;
    if (!arrays) {
        /* Out-of-range channel counts: nothing may be dereferenced. */
        d.weights = (flags & 1) ? NULL : (const int8_t *)(uintptr_t)0x10;
        d.weight_scales = (flags & 2) ? NULL : (const float *)(uintptr_t)0x10;
        d.bias = d.bias ? (const void *)(uintptr_t)0x10 : NULL;
        d.weight_zero_points = wzp_kind ? (const int32_t *)(uintptr_t)0x10 : NULL;
    }

    g_current = arrays ? &d : NULL;
    const q8conv_status valid = q8conv_pw_validate_desc(&d);
    if (!arrays) {
        const bool bad_channels = d.in_channels < 1 || d.in_channels > 16384 || d.out_channels < 1 ||
                                  d.out_channels > 16384;
        if (bad_channels)
            FUZZ_ASSERT(valid == Q8CONV_ERROR_INVALID_ARGUMENT, "channels %u x %u accepted", d.in_channels,
                        d.out_channels);
        fuzz_tensor_desc(&r);
        return 0;
    }
    const q8conv_status expect = expected_validity(&d);
    FUZZ_ASSERT(valid == expect, "validate_desc %s, oracle %s", q8conv_status_string(valid),
                q8conv_status_string(expect));

    /* The output's extent (SEMANTICS.md): (H - 1) / s + 1, stride 0 or 1 meaning 1. */
    const uint32_t ho = d.stride_h > 1 ? (h - 1) / d.stride_h + 1 : h, wo = d.stride_w > 1 ? (w - 1) / d.stride_w + 1 : w;
    const bool small = (uint64_t)n * h * w * d.in_channels <= MAX_PIXELS_X_IC &&
                       (uint64_t)n * ho * wo * d.out_channels <= MAX_PIXELS_X_IC;
    int8_t *x = NULL, *ref = NULL;
    size_t in_n = 0, out_n = 0;
    if (small) {
        in_n = (size_t)n * d.in_channels * h * w;
        out_n = (size_t)n * d.out_channels * ho * wo;
        x = malloc(in_n);
        ref = malloc(out_n);
        /* The ends of the input type's range: 0x7F/0x80 as int8, 0xFF/0x00 as uint8. */
        const bool u8_in = d.input_type == Q8CONV_DTYPE_UINT8;
        for (size_t i = 0; i < in_n; ++i) {
            uint64_t v = test_rng_next(&seed);
            x[i] = data_kind % 4 == 1 ? ((v & 1) ? (u8_in ? -1 : 127) : (u8_in ? 0 : -128)) : (int8_t)v;
        }
        memset(ref, TEST_POISON, out_n);
        const q8conv_status st = q8conv_pw_reference(&d, n, h, w, x, ref);
        FUZZ_ASSERT(st == (valid == Q8CONV_SUCCESS ? Q8CONV_SUCCESS : Q8CONV_ERROR_INVALID_ARGUMENT),
                    "reference %s, validate %s", q8conv_status_string(st), q8conv_status_string(valid));
        if (st != Q8CONV_SUCCESS)
            for (size_t i = 0; i < out_n; ++i)
                FUZZ_ASSERT((uint8_t)ref[i] == TEST_POISON, "reference failed but wrote its output");
    }

    if (g_ctx && (valid != Q8CONV_SUCCESS || small)) {
        q8conv_pw *op = (q8conv_pw *)(uintptr_t)0x5E47;
        const q8conv_status st = q8conv_pw_create(g_ctx, &d, &op);
        const q8conv_status want = valid != Q8CONV_SUCCESS ? valid : expected_create(&d);
        FUZZ_ASSERT(st == want, "pw_create %s, expected %s", q8conv_status_string(st), q8conv_status_string(want));
        if (st != Q8CONV_SUCCESS)
            FUZZ_ASSERT(op == (q8conv_pw *)(uintptr_t)0x5E47, "pw_create failed but wrote *out");
        if (st == Q8CONV_SUCCESS) {
            const q8conv_tensor_desc di = {n, d.in_channels, h, w, d.input_layout, d.input_type};
            const q8conv_tensor_desc dout = {n, d.out_channels, ho, wo, d.output_layout, d.output_type};
            q8conv_tensor *ti = NULL, *to = NULL;
            int8_t *got = malloc(out_n);
            const q8conv_host_layout host = (flags & 0x40) ? Q8CONV_HOST_NHWC : Q8CONV_HOST_NCHW;
            int8_t *xh = malloc(in_n);
            if (host == Q8CONV_HOST_NHWC) {
                for (uint32_t b = 0; b < n; ++b)
                    for (uint32_t c = 0; c < d.in_channels; ++c)
                        for (size_t p = 0; p < (size_t)h * w; ++p)
                            xh[((size_t)b * h * w + p) * d.in_channels + c] = x[((size_t)b * d.in_channels + c) * h * w + p];
            } else {
                memcpy(xh, x, in_n);
            }
            FUZZ_ASSERT(q8conv_tensor_create(g_ctx, &di, &ti) == Q8CONV_SUCCESS, "input tensor");
            FUZZ_ASSERT(q8conv_tensor_create(g_ctx, &dout, &to) == Q8CONV_SUCCESS, "output tensor");
            FUZZ_ASSERT(q8conv_tensor_write(ti, xh, host) == Q8CONV_SUCCESS, "tensor_write");
            if (wrong_type == 1 || wrong_type == 2)
                check_wrong_type(op, ti, to, di, dout, wrong_type == 1);
            q8conv_status run = q8conv_pw_run(op, ti, to);
            FUZZ_ASSERT(run == Q8CONV_SUCCESS, "pw_run: %s", q8conv_status_string(run));
            FUZZ_ASSERT(q8conv_tensor_read(to, got, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS, "tensor_read");
            for (size_t i = 0; i < out_n; ++i)
                FUZZ_ASSERT(got[i] == ref[i],
                            "GPU differs from the reference at %zu: 0x%02x vs 0x%02x (N%u H%u W%u %u->%u bias %u act %u "
                            "kernel %s)",
                            i, (uint8_t)got[i], (uint8_t)ref[i], n, h, w, d.in_channels, d.out_channels,
                            (unsigned)d.bias_mode, (unsigned)d.activation, q8conv_kernel_name(q8conv_pw_get_kernel(op)));
            q8conv_tensor_destroy(ti);
            q8conv_tensor_destroy(to);
            q8conv_pw_destroy(op);
            free(got);
            free(xh);
        }
        check_validation_clean();
    }
    g_current = NULL;
    fuzz_tensor_desc(&r);
    free(x);
    free(ref);
    free(weights);
    free(scales);
    free(fbias);
    free(ibias);
    free(wzps);
    return 0;
}
