/* XNNPACK's QU8 convolution (Debian's libxnnpack, a 2022-02 snapshot) against the CPU reference in
 * the INT32-bias mode: a CPU runtime for uint8-activation models should get libq8conv's bytes.
 *
 * What is compared, and why only that: XNNPACK's QU8 operator takes uint8 weights with one zero
 * point and ONE scale for all output channels, so it cannot express libq8conv's per-channel
 * scales or zero points. The cases are the subset both express: every channel's weight scale
 * equal (a quarter of the cases with power-of-two scales, which make rounding ties frequent),
 * uint8 weights with one kernel zero point (the same value in every entry of
 * weight_zero_points) across [0, 255] with both ends, strides 1-3 (XNNPACK's subsampling) along
 * either axis, uint8 input and output, int32 bias, every activation, zero points across [0, 255]
 * with both ends. Per-channel scales and zero points and mixed types are not compared with
 * XNNPACK; test_reference checks them against SEMANTICS.md.
 *
 * On x86-64 every byte must match: Debian 12's build has matched every case there, ties
 * included. Other architectures' builds may use fixed-point requantization microkernels, whose
 * rounding is not SEMANTICS.md's: there the differing bytes are reported, not failed. */
#include <math.h>
#include <string.h>

#include <xnnpack.h>

#include "common.h"

#if defined(__x86_64__)
#define MUST_MATCH 1
#else
#define MUST_MATCH 0
#endif

#define CASES 60

/* A uint8 zero point, the ends of the range a quarter of the time. */
static int32_t pick_zero_point(void)
{
    static const int32_t edges[] = {0, 1, 127, 128, 254, 255};
    if (test_below(4) == 0)
        return edges[test_below(sizeof edges / sizeof edges[0])];
    return (int32_t)test_below(256);
}

/* One case; returns the number of bytes that differ from the reference, or -1 when nothing was
 * compared: XNNPACK refuses an output range of one value (ReLU with z_y = 255), and any other
 * refusal or failure fails the test. */
static long run_case(uint32_t n, uint32_t h, uint32_t w, uint32_t ic, uint32_t oc, q8conv_activation act, bool ties,
                     uint32_t s_h, uint32_t s_w)
{
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = ic, .oc = oc, .bias = Q8CONV_BIAS_INT32, .activation = act,
                                     .input_type = Q8CONV_DTYPE_UINT8, .output_type = Q8CONV_DTYPE_UINT8,
                                     .weight_type = Q8CONV_DTYPE_UINT8, .weight_zp = TEST_WZP_TENSOR,
                                     .stride_h = s_h, .stride_w = s_w});
    for (uint32_t o = 1; o < oc; ++o)
        t.scales[o] = t.scales[0];
    if (ties) {
        /* Powers of two everywhere: (s_x * s_w) / s_y = 2^-k exactly, so one accumulator in 2^k
         * lands on a tie, where round-half-even and round-half-away part. 2^-k near 30 / the
         * accumulators' spread keeps the outputs unsaturated. */
        const int k = (int)ceilf(log2f(sqrtf((float)ic) * 5476.0f / 30.0f));
        t.desc.input_scale = 0x1p-4f;
        for (uint32_t o = 0; o < oc; ++o)
            t.scales[o] = 0x1p-4f;
        t.desc.output_scale = ldexpf(1.0f, k - 8);
    }
    t.desc.input_zero_point = pick_zero_point();
    t.desc.output_zero_point = pick_zero_point();
    /* One kernel zero point for every channel, the ends of the range a quarter of the time. */
    const int32_t z_w = pick_zero_point();
    for (uint32_t o = 0; o < oc; ++o)
        t.weight_zps[o] = z_w;
    const q8conv_pw_desc *d = &t.desc;
    const uint32_t ho = test_strided_extent(h, s_h), wo = test_strided_extent(w, s_w);
    const size_t hw = (size_t)h * w, pixels = (size_t)n * hw, out_hw = (size_t)ho * wo, out_pixels = (size_t)n * out_hw;
    uint8_t *x = malloc(pixels * ic), *x_nhwc = malloc(pixels * ic + XNN_EXTRA_BYTES);
    uint8_t *ref = malloc(out_pixels * oc), *y_nhwc = malloc(out_pixels * oc);
    test_fill_i8((int8_t *)x, pixels * ic);
    for (size_t m = 0; m < pixels; ++m)
        for (uint32_t k = 0; k < ic; ++k)
            x_nhwc[m * ic + k] = x[((m / hw) * ic + k) * hw + m % hw];
    memset(x_nhwc + pixels * ic, 0, XNN_EXTRA_BYTES);
    /* The weights are uint8 bytes already (weight_type UINT8): XNNPACK takes the same array. */
    const uint8_t *w_u8 = (const uint8_t *)t.weights;
    memset(y_nhwc, TEST_POISON, out_pixels * oc);
    CHECK_OK(q8conv_pw_reference(d, n, h, w, (const int8_t *)x, (int8_t *)ref));

    int32_t lo, hi; /* in [0, 255]: a uint8 output */
    test_clamp_bounds(d, &lo, &hi);
    xnn_operator_t op = NULL;
    long differ = -1;
    enum xnn_status st = xnn_create_convolution2d_nhwc_qu8(
        0, 0, 0, 0, 1, 1, s_h, s_w, 1, 1, 1, ic, oc, ic, oc, (uint8_t)d->input_zero_point, d->input_scale, (uint8_t)z_w,
        t.scales[0], w_u8, (const int32_t *)t.bias, (uint8_t)d->output_zero_point, d->output_scale, (uint8_t)lo, (uint8_t)hi, 0, &op);
    if (st == xnn_status_success)
        st = xnn_setup_convolution2d_nhwc_qu8(op, n, h, w, x_nhwc, y_nhwc, NULL);
    if (st == xnn_status_success)
        st = xnn_run_operator(op, NULL);
    char what[256];
    test_describe_run(d, n, h, w, what, sizeof what);
    if (lo >= hi)
        CHECK(st == xnn_status_invalid_parameter, "%sXNNPACK QU8 with output range [%d, %d]: status %d", what, lo, hi,
              (int)st);
    else
        CHECK(st == xnn_status_success, "%sXNNPACK QU8 status %d", what, (int)st);
    if (st == xnn_status_success && lo < hi) {
        differ = 0;
        size_t first = 0;
        for (size_t m = 0; m < out_pixels; ++m)
            for (uint32_t o = 0; o < oc; ++o)
                if (y_nhwc[m * oc + o] != ref[((m / out_hw) * oc + o) * out_hw + m % out_hw] && differ++ == 0)
                    first = m * oc + o;
        if (differ && MUST_MATCH)
            CHECK(0, "%s%ld of %zu bytes differ from XNNPACK QU8; first at NHWC %zu: xnnpack %u, reference %u", what,
                  differ, out_pixels * oc, first, y_nhwc[first],
                  ref[((first / oc / out_hw) * oc + first % oc) * out_hw + (first / oc) % out_hw]);
    }
    xnn_delete_operator(op);
    test_op_free(&t);
    free(x);
    free(x_nhwc);
    free(ref);
    free(y_nhwc);
    return differ;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_seed();
    if (xnn_initialize(NULL) != xnn_status_success) {
        CHECK(0, "xnn_initialize failed");
        return test_finish("xnnpack_qu8");
    }
    long differ = 0, compared = 0, skipped = 0;
    for (int c = 0; c < CASES; ++c) {
        /* Shapes with partial channel blocks and N > 1 among them, as libq8conv's tests use. */
        const uint32_t n = test_range(1, 3), h = test_range(1, 6), w = test_range(1, 13);
        const uint32_t ic = c % 10 == 0 ? test_range(100, 700) : test_range(1, 70), oc = test_range(1, 40);
        /* Strides 1-3 along each axis, 1 x 1 a third of the time. */
        const uint32_t s_h = c % 3 == 0 ? 1 : test_range(1, 3), s_w = c % 3 == 0 ? 1 : test_range(1, 3);
        const long d = run_case(n, h, w, ic, oc, (q8conv_activation)(c % 3), c % 4 == 3, s_h, s_w);
        if (d >= 0) {
            differ += d;
            compared += (long)n * test_strided_extent(h, s_h) * test_strided_extent(w, s_w) * oc;
        } else {
            skipped++;
        }
    }
    printf("xnnpack_qu8: %d cases (%ld with a one-value output range, refused by XNNPACK), %ld bytes compared, "
           "%ld differ%s\n", CASES, skipped, compared, differ, MUST_MATCH ? "" : " (reported only on this architecture)");
    CHECK(skipped < CASES / 4, "too few cases compared");
    xnn_deinitialize();
    return test_finish("xnnpack_qu8");
}
