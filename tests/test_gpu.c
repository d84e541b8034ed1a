/* GPU against the CPU reference, byte for byte, with poisoned outputs and padding checks.
 * Usage: q8conv-test-gpu SUITE   (small_oc | shapes | modes | split | uint8 | wzp_stride) */
#include <string.h>

#include "common.h"
#include "pure.h"

/* AUTO too: on a device with cooperative matrices it holds the matrix and the dot kernel and picks
 * one per shape (q8conv_matrix_pays), and both must give the reference's bytes. */
static const q8conv_kernel kernels[] = {Q8CONV_KERNEL_DOT,     Q8CONV_KERNEL_DOT_MIXED, Q8CONV_KERNEL_FALLBACK,
                                        Q8CONV_KERNEL_LEGACY,  Q8CONV_KERNEL_COOPMAT,   Q8CONV_KERNEL_AUTO};
static q8conv_kernel default_kernel;
#define KERNEL_COUNT (sizeof kernels / sizeof kernels[0])
/* Whether the device runs the cooperative-matrix kernel (q8conv_context_info); where it does not,
 * forcing it must be refused with nothing created, and its cases are counted as skipped. */
static bool coopmat_supported;
static unsigned coopmat_refused;

/* One run of t's op on the given NCHW input (NULL: random), poisoned output, GPU vs reference,
 * padding included; a kernel the device lacks must be refused with nothing created. */
static void run_op(q8conv_context *ctx, const test_op *t, uint32_t n, uint32_t h, uint32_t w, const int8_t *input)
{
    const q8conv_kernel kernel = t->desc.kernel;
    char what[256], err[768];
    test_describe_run(&t->desc, n, h, w, what, sizeof what);
    q8conv_pw *op = NULL;
    q8conv_status st = q8conv_pw_create(ctx, &t->desc, &op);
    if (kernel == Q8CONV_KERNEL_COOPMAT && !coopmat_supported) {
        CHECK(st == Q8CONV_ERROR_UNSUPPORTED && op == NULL, "%spw_create on a device without cooperative matrices: %s",
              what, q8conv_status_string(st));
        coopmat_refused++;
        return;
    }
    CHECK(st == Q8CONV_SUCCESS, "%spw_create: %s", what, q8conv_status_string(st));
    if (op) {
        const q8conv_kernel want = kernel == Q8CONV_KERNEL_AUTO ? default_kernel : kernel;
        CHECK(q8conv_pw_get_kernel(op) == want, "%skernel resolved to %s", what,
              q8conv_kernel_name(q8conv_pw_get_kernel(op)));
        CHECK(test_check_run_input(ctx, op, &t->desc, n, h, w, input, test_process_rng(), err, sizeof err), "%s", err);
    }
    q8conv_pw_destroy(op);
}

/* One run (run_op): a random op drawn from `p`, its zero points replaced where given. */
static void run_params_case(q8conv_context *ctx, uint32_t n, uint32_t h, uint32_t w, const test_op_params *p,
                            const int32_t *zero_points)
{
    test_op t;
    test_op_random(&t, test_process_rng(), p);
    if (zero_points) {
        t.desc.input_zero_point = zero_points[0];
        t.desc.output_zero_point = zero_points[1];
    }
    run_op(ctx, &t, n, h, w, NULL);
    test_op_free(&t);
}

/* One run: random op and input of the given element types. */
static void run_typed_case(q8conv_context *ctx, uint32_t n, uint32_t h, uint32_t w, uint32_t ic, uint32_t oc,
                           q8conv_bias_mode bias, q8conv_activation act, q8conv_layout lin, q8conv_layout lout,
                           q8conv_dtype tin, q8conv_dtype tout, q8conv_kernel kernel, const int32_t *zero_points)
{
    run_params_case(ctx, n, h, w,
                    &(test_op_params){.ic = ic, .oc = oc, .bias = bias, .activation = act, .input_layout = lin,
                                      .output_layout = lout, .input_type = tin, .output_type = tout, .kernel = kernel},
                    zero_points);
}

/* run_typed_case with int8 on both sides. */
static void run_case(q8conv_context *ctx, uint32_t n, uint32_t h, uint32_t w, uint32_t ic, uint32_t oc,
                     q8conv_bias_mode bias, q8conv_activation act, q8conv_layout lin, q8conv_layout lout,
                     q8conv_kernel kernel, const int32_t *zero_points)
{
    run_typed_case(ctx, n, h, w, ic, oc, bias, act, lin, lout, Q8CONV_DTYPE_INT8, Q8CONV_DTYPE_INT8, kernel,
                   zero_points);
}

static q8conv_bias_mode pick_bias(void) { return (q8conv_bias_mode)test_range(0, 2); }
static q8conv_activation pick_act(void) { return (q8conv_activation)test_range(0, 2); }

/* OC 1, 2, 3 (one partial channel block) with IC 16 at 8x8: every layout pair, bias mode,
 * activation and kernel. */
static void suite_small_oc(q8conv_context *ctx)
{
    for (uint32_t oc = 1; oc <= 3; ++oc)
        for (int lin = 0; lin < 2; ++lin)
            for (int lout = 0; lout < 2; ++lout)
                for (int b = 0; b < 3; ++b)
                    for (int a = 0; a < 3; ++a)
                        for (size_t k = 0; k < KERNEL_COUNT; ++k)
                            run_case(ctx, 1, 8, 8, 16, oc, (q8conv_bias_mode)b, (q8conv_activation)a,
                                     (q8conv_layout)lin, (q8conv_layout)lout, kernels[k], NULL);
}

/* The shapes, each through every kernel and layout pair; bias and activation drawn at
 * random per run (the seed is printed). */
static void suite_shapes(q8conv_context *ctx)
{
    static const uint32_t shapes[][5] = {
        /* n, h, w, ic, oc */
        {1, 64, 64, 3, 32}, {1, 32, 32, 32, 64}, {1, 16, 16, 64, 96}, {1, 57, 33, 7, 13},
        {1, 64, 64, 40, 80}, {1, 8, 8, 480, 160}, {3, 9, 10, 24, 20}, {2, 7, 7, 96, 36},
        /* small grids with long K loops: split-K (tiling.h), including the largest IC */
        {1, 7, 7, 960, 40}, {1, 3, 5, 200, 12}, {1, 1, 1, 16384, 8},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int lin = 0; lin < 2; ++lin)
            for (int lout = 0; lout < 2; ++lout)
                for (size_t k = 0; k < KERNEL_COUNT; ++k)
                    run_case(ctx, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4], pick_bias(),
                             pick_act(), (q8conv_layout)lin, (q8conv_layout)lout, kernels[k], NULL);
}

/* Every bias mode x activation x kernel, with edge zero points, on a shape with partial blocks. */
/* Round-half-to-even under load: s_x = 1, every s_w = 0.5 and s_y = 1 make eff (and eff / s_y) exactly
 * 0.5, so every odd accumulator requantizes from a tie, and small weights keep most outputs inside
 * the clamp bounds. Float biases are whole or half steps, so they keep the ties. The kernels do
 * their rounding with float adds rather than roundEven (shaders/requant.glsl): this is the case
 * that tells the two apart. Every kernel, bias mode and layout pair; zero points drawn. */
static void suite_ties(q8conv_context *ctx)
{
    for (int b = 0; b < 3; ++b)
        for (int l = 0; l < 4; ++l)
            for (size_t k = 0; k < KERNEL_COUNT; ++k) {
                test_op t;
                test_rng *r = test_process_rng();
                const uint32_t ic = 1u + test_range(0, 11), oc = 1u + test_range(0, 9);
                test_op_random(&t, r,
                               &(test_op_params){.ic = ic, .oc = oc, .bias = (q8conv_bias_mode)b,
                                                 .input_layout = (q8conv_layout)(l >> 1),
                                                 .output_layout = (q8conv_layout)(l & 1), .kernel = kernels[k]});
                t.desc.input_scale = 1.0f;
                t.desc.output_scale = 1.0f;
                for (uint32_t o = 0; o < oc; ++o) {
                    t.scales[o] = 0.5f;
                    if (b == Q8CONV_BIAS_FLOAT)
                        ((float *)t.bias)[o] = 0.5f * (float)((int)test_range(0, 40) - 20);
                    else if (b == Q8CONV_BIAS_INT32)
                        ((int32_t *)t.bias)[o] = (int32_t)test_range(0, 400) - 200;
                }
                for (uint32_t i = 0; i < ic * oc; ++i)
                    t.weights[i] = (int8_t)((int)test_range(0, 2) - 1);
                run_op(ctx, &t, 1, 3, 9, NULL);
                test_op_free(&t);
            }
}

static void suite_modes(q8conv_context *ctx)
{
    static const int32_t zps[][2] = {{-128, -128}, {127, 127}, {-128, 127}, {127, -128}, {0, 0}, {5, -3}};
    for (size_t z = 0; z < sizeof zps / sizeof zps[0]; ++z)
        for (int b = 0; b < 3; ++b)
            for (int a = 0; a < 3; ++a)
                for (size_t k = 0; k < KERNEL_COUNT; ++k)
                    run_case(ctx, 2, 5, 11, 37, 22, (q8conv_bias_mode)b, (q8conv_activation)a,
                             (q8conv_layout)test_range(0, 1), (q8conv_layout)test_range(0, 1), kernels[k], zps[z]);
}

/* The element-type pairs with a uint8 side: U8S8 (ONNX QLinearConv), and both mixed ones. */
static const q8conv_dtype uint8_pairs[][2] = {{Q8CONV_DTYPE_UINT8, Q8CONV_DTYPE_UINT8},
                                              {Q8CONV_DTYPE_UINT8, Q8CONV_DTYPE_INT8},
                                              {Q8CONV_DTYPE_INT8, Q8CONV_DTYPE_UINT8}};
#define UINT8_PAIR_COUNT (sizeof uint8_pairs / sizeof uint8_pairs[0])

/* A zero point given in uint8 terms, for a side of type t (an int8 side gets the same place in
 * its range: z - 128). */
static int32_t zero_point_for(q8conv_dtype t, int32_t z_u8)
{
    return t == Q8CONV_DTYPE_UINT8 ? z_u8 : z_u8 - 128;
}

/* Every uint8 pair x layout pair x bias mode x activation x kernel, N 2 and IC 13, OC 10, W 7 (no
 * multiple of 4), zero points cycling through both ends of the uint8 range and values between. */
static void suite_uint8_modes(q8conv_context *ctx)
{
    static const int32_t zps[][2] = {{0, 255}, {255, 0}, {0, 0}, {255, 255}, {128, 77}, {3, 130}, {200, 1}};
    size_t i = 0;
    for (size_t p = 0; p < UINT8_PAIR_COUNT; ++p)
        for (int lin = 0; lin < 2; ++lin)
            for (int lout = 0; lout < 2; ++lout)
                for (int b = 0; b < 3; ++b)
                    for (int a = 0; a < 3; ++a)
                        for (size_t k = 0; k < KERNEL_COUNT; ++k, ++i) {
                            const int32_t *z = zps[i % (sizeof zps / sizeof zps[0])];
                            const int32_t zp[2] = {zero_point_for(uint8_pairs[p][0], z[0]),
                                                   zero_point_for(uint8_pairs[p][1], z[1])};
                            run_typed_case(ctx, 2, 3, 7, 13, 10, (q8conv_bias_mode)b, (q8conv_activation)a,
                                           (q8conv_layout)lin, (q8conv_layout)lout, uint8_pairs[p][0],
                                           uint8_pairs[p][1], kernels[k], zp);
                        }
}

/* Shapes with a uint8 side: one partial channel block, the split-K grids, the largest IC (the
 * accumulators' extremes), N > 1; random zero points in the side's range, every kernel and
 * layout pair, bias and activation drawn. */
static void suite_uint8_shapes(q8conv_context *ctx)
{
    static const uint32_t shapes[][5] = {
        /* n, h, w, ic, oc */
        {1, 8, 8, 16, 3}, {3, 9, 10, 24, 20}, {1, 57, 33, 7, 13}, {2, 5, 11, 37, 22},
        {1, 7, 7, 960, 40}, {1, 3, 5, 200, 12}, {1, 1, 1, 16384, 8},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (size_t p = 0; p < UINT8_PAIR_COUNT; ++p)
            for (int l = 0; l < 4; ++l)
                for (size_t k = 0; k < KERNEL_COUNT; ++k)
                    run_typed_case(ctx, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4],
                                   pick_bias(), pick_act(), (q8conv_layout)(l >> 1), (q8conv_layout)(l & 1),
                                   uint8_pairs[p][0], uint8_pairs[p][1], kernels[k], NULL);
}

/* Two ops a -> b chained through a 4W4C tensor y, as one q8conv_sequence and then as two
 * q8conv_pw_run (the second pair of runs replays the recordings): both give the reference's chain,
 * byte for byte. A step with an output tensor of b's (another type or size) for a is refused by
 * q8conv_sequence_add. */
static void run_chain(q8conv_context *ctx, uint32_t n, uint32_t h, uint32_t w, const test_op_params *pa,
                      const test_op_params *pb, const char *label)
{
    test_op a, b;
    test_op_random(&a, test_process_rng(), pa);
    test_op_random(&b, test_process_rng(), pb);
    char what[256];
    test_describe_run(&a.desc, n, h, w, what, sizeof what);
    q8conv_pw *opa = NULL, *opb = NULL;
    const q8conv_status sa = q8conv_pw_create(ctx, &a.desc, &opa), sb = q8conv_pw_create(ctx, &b.desc, &opb);
    if (pa->kernel == Q8CONV_KERNEL_COOPMAT && !coopmat_supported) {
        CHECK(sa == Q8CONV_ERROR_UNSUPPORTED && sb == Q8CONV_ERROR_UNSUPPORTED, "%scoopmat accepted", what);
        coopmat_refused += 2;
    } else if (sa == Q8CONV_SUCCESS && sb == Q8CONV_SUCCESS) {
        /* y is a's output and b's input; z is b's output. */
        const uint32_t hy = test_strided_extent(h, a.desc.stride_h), wy = test_strided_extent(w, a.desc.stride_w);
        const uint32_t hz = test_strided_extent(hy, b.desc.stride_h), wz = test_strided_extent(wy, b.desc.stride_w);
        const uint32_t c0 = pa->ic, c1 = pa->oc, c2 = pb->oc;
        const q8conv_tensor_desc dx = {n, c0, h, w, a.desc.input_layout, a.desc.input_type};
        const q8conv_tensor_desc dy = {n, c1, hy, wy, Q8CONV_LAYOUT_4W4C, a.desc.output_type};
        const q8conv_tensor_desc dz = {n, c2, hz, wz, b.desc.output_layout, b.desc.output_type};
        const size_t nx = (size_t)n * c0 * h * w, ny = (size_t)n * c1 * hy * wy, nz = (size_t)n * c2 * hz * wz;
        uint8_t *x = malloc(nx), *ref_y = malloc(ny), *ref_z = malloc(nz), *got = malloc(nz);
        test_fill_i8((int8_t *)x, nx);
        CHECK_OK(q8conv_pw_reference(&a.desc, n, h, w, (const int8_t *)x, (int8_t *)ref_y));
        CHECK_OK(q8conv_pw_reference(&b.desc, n, hy, wy, (const int8_t *)ref_y, (int8_t *)ref_z));
        q8conv_tensor *tx = NULL, *ty = NULL, *tz = NULL;
        q8conv_sequence *seq = NULL;
        CHECK_OK(q8conv_tensor_create(ctx, &dx, &tx));
        CHECK_OK(q8conv_tensor_create(ctx, &dy, &ty));
        CHECK_OK(q8conv_tensor_create(ctx, &dz, &tz));
        CHECK_OK(q8conv_sequence_create(ctx, &seq));
        CHECK_OK(q8conv_tensor_write(tx, (const int8_t *)x, Q8CONV_HOST_NCHW));
        if (dz.dtype != dy.dtype || dz.h != dy.h || dz.w != dy.w)
            CHECK(q8conv_sequence_add(seq, opa, tx, tz) == Q8CONV_ERROR_INVALID_ARGUMENT,
                  "%ssequence_add with b's output (another type or size) for a", what);
        CHECK_OK(q8conv_sequence_add(seq, opa, tx, ty));
        CHECK_OK(q8conv_sequence_add(seq, opb, ty, tz));
        for (int pass = 0; pass < 3; ++pass) {
            memset(got, TEST_POISON, nz);
            CHECK_OK(q8conv_tensor_write(tz, (const int8_t *)got, Q8CONV_HOST_NCHW));
            if (pass == 0) {
                CHECK_OK(q8conv_sequence_run(seq));
            } else { /* the second pass records both runs, the third replays them */
                CHECK_OK(q8conv_pw_run(opa, tx, ty));
                CHECK_OK(q8conv_pw_run(opb, ty, tz));
            }
            CHECK_OK(q8conv_tensor_read(tz, (int8_t *)got, Q8CONV_HOST_NCHW));
            size_t bad = 0;
            for (size_t i = 0; i < nz; ++i)
                bad += got[i] != ref_z[i];
            CHECK(bad == 0, "%s%s: %zu of %zu bytes of the %s chain differ", what, pass == 0 ? "sequence" : "two runs",
                  bad, nz, label);
        }
        q8conv_sequence_destroy(seq);
        q8conv_tensor_destroy(tx);
        q8conv_tensor_destroy(ty);
        q8conv_tensor_destroy(tz);
        free(x);
        free(ref_y);
        free(ref_z);
        free(got);
    } else {
        CHECK(0, "%spw_create: %s, %s", what, q8conv_status_string(sa), q8conv_status_string(sb));
    }
    q8conv_pw_destroy(opa);
    q8conv_pw_destroy(opb);
    test_op_free(&a);
    test_op_free(&b);
}

/* Two ops chained through an int8 tensor, uint8 -> int8 -> uint8 (run_chain). */
static void suite_uint8_sequence(q8conv_context *ctx)
{
    const uint32_t n = 2, h = 3, w = 7, c0 = 13, c1 = 10, c2 = 7;
    for (size_t k = 0; k < KERNEL_COUNT; ++k) {
        const test_op_params pa = {.ic = c0, .oc = c1, .bias = pick_bias(), .activation = pick_act(),
                                   .input_layout = (q8conv_layout)test_range(0, 1),
                                   .output_layout = Q8CONV_LAYOUT_4W4C, .input_type = Q8CONV_DTYPE_UINT8,
                                   .kernel = kernels[k]};
        const test_op_params pb = {.ic = c1, .oc = c2, .bias = pick_bias(), .activation = pick_act(),
                                   .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = (q8conv_layout)test_range(0, 1),
                                   .output_type = Q8CONV_DTYPE_UINT8, .kernel = kernels[k]};
        run_chain(ctx, n, h, w, &pa, &pb, "u8 -> s8 -> u8");
    }
}

/* ---- weight zero points and strides ---- */

static q8conv_dtype pick_type(void) { return (q8conv_dtype)test_range(0, 1); }
static q8conv_layout pick_layout(void) { return (q8conv_layout)test_range(0, 1); }

/* Weight zero points: each weight type x way of drawing them (per tensor, per channel, the ends of
 * the range, the middle) x input type x kernel; then every bias mode x activation with the ends;
 * then the largest IC with the ends (the accumulator bound). IC 37 leaves a partial last channel
 * block, whose padded bytes the input sum must skip (a uint8 input reads a padding 0 as -128). */
static void suite_weight_zero_points(q8conv_context *ctx)
{
    static const int modes[] = {TEST_WZP_TENSOR, TEST_WZP_CHANNEL, TEST_WZP_ENDS, TEST_WZP_MID};
    for (int wt = 0; wt < 2; ++wt)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; ++m)
            for (int tin = 0; tin < 2; ++tin)
                for (size_t k = 0; k < KERNEL_COUNT; ++k)
                    run_params_case(ctx, 2, 5, 11,
                                    &(test_op_params){.ic = 37, .oc = 22, .bias = pick_bias(), .activation = pick_act(),
                                                      .input_layout = pick_layout(), .output_layout = pick_layout(),
                                                      .input_type = (q8conv_dtype)tin, .output_type = pick_type(),
                                                      .kernel = kernels[k], .edges = true,
                                                      .weight_type = (q8conv_dtype)wt, .weight_zp = modes[m]},
                                    NULL);
    for (int b = 0; b < 3; ++b)
        for (int a = 0; a < 3; ++a)
            for (size_t k = 0; k < KERNEL_COUNT; ++k)
                run_params_case(ctx, 1, 3, 7,
                                &(test_op_params){.ic = 13, .oc = 10, .bias = (q8conv_bias_mode)b,
                                                  .activation = (q8conv_activation)a, .input_layout = pick_layout(),
                                                  .output_layout = pick_layout(), .input_type = pick_type(),
                                                  .output_type = pick_type(), .kernel = kernels[k],
                                                  .weight_type = pick_type(), .weight_zp = TEST_WZP_ENDS},
                                NULL);
    for (int wt = 0; wt < 2; ++wt)
        for (size_t k = 0; k < KERNEL_COUNT; ++k)
            run_params_case(ctx, 1, 1, 3,
                            &(test_op_params){.ic = 16384, .oc = 8, .bias = pick_bias(), .activation = pick_act(),
                                              .input_layout = pick_layout(), .output_layout = pick_layout(),
                                              .input_type = pick_type(), .output_type = pick_type(),
                                              .kernel = kernels[k], .edges = true, .weight_type = (q8conv_dtype)wt,
                                              .weight_zp = TEST_WZP_ENDS},
                            NULL);
}

/* Strides 1-4, H and W not multiples of the stride nor W of 4 (before striding; after, some are),
 * N 2, every layout pair and kernel, with and without weight zero points, either input type; then
 * the split-K grids (few output pixels, long K loops) strided. */
static void suite_strides(q8conv_context *ctx)
{
    static const uint32_t strides[][2] = {{1, 2}, {2, 1}, {2, 2}, {3, 3}, {4, 4}, {3, 2}, {1, 4}};
    static const uint32_t widths[] = {13, 17, 10, 7};
    size_t i = 0;
    for (size_t s = 0; s < sizeof strides / sizeof strides[0]; ++s)
        for (int l = 0; l < 4; ++l)
            for (size_t k = 0; k < KERNEL_COUNT; ++k, ++i)
                run_params_case(ctx, 2, 9, widths[i % 4],
                                &(test_op_params){.ic = 19, .oc = 14, .bias = pick_bias(), .activation = pick_act(),
                                                  .input_layout = (q8conv_layout)(l >> 1),
                                                  .output_layout = (q8conv_layout)(l & 1), .input_type = pick_type(),
                                                  .output_type = pick_type(), .kernel = kernels[k],
                                                  .weight_type = pick_type(),
                                                  .weight_zp = (i & 1) ? TEST_WZP_CHANNEL : TEST_WZP_NONE,
                                                  .stride_h = strides[s][0], .stride_w = strides[s][1]},
                                NULL);
    /* A strided op with uint8 weights chained into a stride-1 op, as a sequence and as two runs
     * (recorded, then replayed). */
    for (size_t k = 0; k < KERNEL_COUNT; ++k) {
        const test_op_params pa = {.ic = 11, .oc = 9, .bias = pick_bias(), .activation = pick_act(),
                                   .input_layout = pick_layout(), .output_layout = Q8CONV_LAYOUT_4W4C,
                                   .input_type = pick_type(), .kernel = kernels[k], .weight_type = Q8CONV_DTYPE_UINT8,
                                   .weight_zp = TEST_WZP_CHANNEL, .stride_h = 2, .stride_w = 3};
        const test_op_params pb = {.ic = 9, .oc = 6, .bias = pick_bias(), .activation = pick_act(),
                                   .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = pick_layout(),
                                   .output_type = pick_type(), .kernel = kernels[k], .weight_zp = TEST_WZP_TENSOR};
        run_chain(ctx, 2, 7, 11, &pa, &pb, "strided -> weight zero point");
    }
    static const uint32_t split_k[][5] = {{1, 7, 7, 960, 40}, {1, 3, 5, 200, 12}};
    for (size_t s = 0; s < 2; ++s)
        for (size_t k = 0; k < KERNEL_COUNT; ++k)
            run_params_case(ctx, split_k[s][0], split_k[s][1], split_k[s][2],
                            &(test_op_params){.ic = split_k[s][3], .oc = split_k[s][4], .bias = pick_bias(),
                                              .activation = pick_act(), .input_layout = pick_layout(),
                                              .output_layout = pick_layout(), .input_type = pick_type(),
                                              .kernel = kernels[k], .weight_type = pick_type(),
                                              .weight_zp = TEST_WZP_ENDS, .stride_h = 2, .stride_w = 2},
                            NULL);
}

/* Constants a device may flush to zero are refused, not computed differently. */
static void suite_flush_guard(q8conv_context *ctx)
{
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = 8, .oc = 4, .bias = Q8CONV_BIAS_FLOAT, .activation = Q8CONV_ACTIVATION_NONE,
                                     .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4W4C});
    q8conv_pw *op = NULL;
    ((float *)t.bias)[2] = 1e-40f; /* subnormal */
    CHECK(q8conv_pw_create(ctx, &t.desc, &op) == Q8CONV_ERROR_UNSUPPORTED && op == NULL, "subnormal bias accepted");
    ((float *)t.bias)[2] = 0.5f;
    t.desc.input_scale = 1e-20f;
    t.scales[1] = 1e-20f; /* s_x * s_w = 1e-40: subnormal */
    CHECK(q8conv_pw_create(ctx, &t.desc, &op) == Q8CONV_ERROR_UNSUPPORTED && op == NULL, "subnormal eff accepted");
    t.scales[1] = 1e-12f; /* 1e-32 < 2^-100 with a float bias */
    CHECK(q8conv_pw_create(ctx, &t.desc, &op) == Q8CONV_ERROR_UNSUPPORTED && op == NULL, "tiny eff accepted");
    q8conv_pw_destroy(op);
    test_op_free(&t);
}

/* The largest accumulators a kernel can meet, in the values it multiplies: IC 16384 (SEMANTICS.md's
 * limit), every input byte at one end of its type, every weight of a channel at one end of int8
 * (the last channel random). So |sum x * w| reaches 16384 * 128 * 128 = 2^28 (int8), and the bytes
 * a kernel reads reach their own ends: x - 128 = -128 for uint8 0 in the signed kernels, x + 128 =
 * 255 for int8 127 in DOT_MIXED (16384 * 255 * 128 < 2^29). Zero points and int32 biases are drawn
 * with their edges; the output scale spreads the largest sums over about 100 output steps. */
static void suite_extremes(q8conv_context *ctx)
{
    const uint32_t ic = 16384, oc = 8, w = 4;
    test_rng *r = test_process_rng();
    int8_t *x = malloc((size_t)ic * w);
    if (!x) {
        CHECK(0, "host allocation failed");
        return;
    }
    for (int type = 0; type < 2; ++type)
        for (int end = 0; end < 2; ++end)
            for (size_t k = 0; k < KERNEL_COUNT; ++k) {
                const q8conv_dtype dt = type ? Q8CONV_DTYPE_UINT8 : Q8CONV_DTYPE_INT8;
                test_op t;
                test_op_random(&t, r,
                               &(test_op_params){.ic = ic, .oc = oc, .bias = pick_bias(), .activation = pick_act(),
                                                 .input_layout = (q8conv_layout)test_range(0, 1),
                                                 .output_layout = (q8conv_layout)test_range(0, 1), .input_type = dt,
                                                 .output_type = dt, .kernel = kernels[k], .edges = true});
                for (uint32_t o = 0; o + 1 < oc; ++o)
                    memset(t.weights + (size_t)o * ic, (o + (uint32_t)end) & 1 ? 127 : -128, ic);
                /* int8: -128 or 127; uint8: 0 or 255 (bytes 0x00 / 0xFF). */
                memset(x, type ? (end ? 0xFF : 0x00) : (end ? 127 : -128), (size_t)ic * w);
                float sw = 0.0f;
                for (uint32_t o = 0; o < oc; ++o)
                    sw += t.scales[o] / (float)oc;
                t.desc.output_scale = t.desc.input_scale * sw * (float)ic * 255.0f * 128.0f / 100.0f;
                run_op(ctx, &t, 1, 1, w, x);
                test_op_free(&t);
            }
    free(x);
}

/* More rows (N*H) than one dispatch may launch on lavapipe (65535 workgroups in z): the picker
 * must split, and the result must still be exact. OC = 256 fills a 64-wide workgroup with channel
 * tiles, so each workgroup covers at most two rows and the z extent really exceeds the limit. */
/* The block kernels' TILE_N4, from the kernel table (every block kernel has a line without needs
 * or with the dot product's). */
static uint32_t table_tile_n4(q8conv_kernel kernel)
{
    uint32_t line = 0;
    CHECK_OK(q8conv_kernel_resolve(kernel, Q8CONV_CAP_DOT, &line));
    return q8conv_kernel_lines[line].tile_n4;
}

static void suite_split(q8conv_context *ctx)
{
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    const uint32_t max_z = info.max_compute_workgroup_count[2];
    if (max_z > 150000u) {
        printf("split: device allows %u workgroups in z; nothing to split here\n", max_z);
        return;
    }
    const uint32_t rows = 2u * max_z + 1000u, oc = 256, w = 1;
    for (size_t k = 0; k < KERNEL_COUNT; ++k) {
        if (kernels[k] == Q8CONV_KERNEL_COOPMAT || kernels[k] == Q8CONV_KERNEL_AUTO)
            continue; /* the matrix grid is split along its pixel tiles: suite_split_matrix */
        q8conv_dispatch_plan plan;
        CHECK_OK(q8conv_pick_dispatch_plan((oc + 3) / 4, (w + 3) / 4, rows, 1, table_tile_n4(kernels[k]),
                                    info.max_compute_workgroup_count, (uint32_t[3]){1024, 1024, 64},
                                    info.max_compute_workgroup_invocations, &plan));
        CHECK(plan.count > 1, "kernel %s: expected a split plan for %u rows, got %u dispatch(es)",
              q8conv_kernel_name(kernels[k]), rows, plan.count);
        run_case(ctx, 2, rows / 2, w, 8, oc, pick_bias(), pick_act(), (q8conv_layout)test_range(0, 1),
                 (q8conv_layout)test_range(0, 1), kernels[k], NULL);
    }
    /* Strided, with weight zero points: the split is of the output's rows, each reading every
     * other input row. */
    run_params_case(ctx, 2, rows - 1, w,
                    &(test_op_params){.ic = 8, .oc = oc, .bias = pick_bias(), .activation = pick_act(),
                                      .input_layout = pick_layout(), .output_layout = pick_layout(),
                                      .input_type = pick_type(), .kernel = Q8CONV_KERNEL_DOT,
                                      .weight_type = Q8CONV_DTYPE_UINT8, .weight_zp = TEST_WZP_CHANNEL,
                                      .stride_h = 2},
                    NULL);
}

/* The cooperative-matrix kernel's grid has a workgroup per pixel tile in y: more pixel tiles than
 * maxComputeWorkGroupCount[1] must be split into several dispatches, exactly. 4C1W with W = 1
 * makes every row one pixel. */
static void suite_split_matrix(q8conv_context *ctx)
{
    if (!coopmat_supported) {
        printf("split: coopmat skipped: the device has no cooperative matrices\n");
        return;
    }
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    const uint32_t max_y = info.max_compute_workgroup_count[1];
    uint32_t largest_bm = 0;
    for (int i = 0; i < Q8CONV_CM_TILE_COUNT; ++i)
        largest_bm = q8conv_matrix_tiles[i].bm > largest_bm ? q8conv_matrix_tiles[i].bm : largest_bm;
    if ((uint64_t)max_y * largest_bm > 20000000u) {
        printf("split: device allows %u workgroups in y; the matrix grid is not split here\n", max_y);
        return;
    }
    const uint32_t pixels = max_y * largest_bm + 4321u, ic = 4, oc = 4;
    q8conv_dispatch_plan plan;
    CHECK_OK(q8conv_pick_matrix_plan(pixels, 1, 1, info.subgroup_size, info.max_compute_workgroup_count, (uint32_t[3]){1024, 1024, 64},
                              info.max_compute_workgroup_invocations, 48u * 1024u, &plan));
    CHECK(plan.count > 1, "coopmat: expected a split plan for %u pixels, got %u dispatch(es)", pixels, plan.count);
    run_case(ctx, 1, pixels, 1, ic, oc, pick_bias(), pick_act(), Q8CONV_LAYOUT_4C1W, Q8CONV_LAYOUT_4C1W,
             Q8CONV_KERNEL_COOPMAT, NULL);
}

int main(int argc, char **argv)
{
    const char *suite = argc > 1 ? argv[1] : "shapes";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(suite, "no_device") || !strcmp(suite, "env_device")) {
        /* no_device: ctest points the loader at a driver manifest that does not exist.
         * env_device: ctest sets Q8CONV_DEVICE=99, which only a NULL descriptor reads. */
        q8conv_context *sentinel = (q8conv_context *)&test_failures, *ctx = sentinel;
        q8conv_status st = q8conv_context_create(NULL, &ctx);
        CHECK(st == Q8CONV_ERROR_NO_DEVICE && ctx == sentinel, "context_create(NULL): %s", q8conv_status_string(st));
        if (!strcmp(suite, "env_device")) {
            ctx = NULL;
            CHECK_OK(q8conv_context_create(&(q8conv_context_desc){.device_index = 0}, &ctx));
            q8conv_context_destroy(ctx);
        }
        return test_finish(suite);
    }
    q8conv_context *ctx = test_context(0);
    if (!ctx)
        return test_finish(suite);
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    printf("device: %s (%s %s), dot product %s, validation %s\n", info.device_name, info.driver_name,
           info.driver_info, info.integer_dot_product_supported ? "yes" : "no", info.validation_enabled ? "on" : "off");
    CHECK(info.integer_dot_product_supported, "the test device must offer integer dot product so the DOT kernel runs");
    coopmat_supported = info.cooperative_matrix_supported;
    default_kernel = info.default_kernel;
    printf("cooperative matrices: %s", coopmat_supported ? "yes" : "no");
    for (uint32_t i = 0; i < info.cooperative_matrix_shape_count && i < Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES; ++i)
        printf("%s%ux%ux%u", i ? ", " : " (int8 shapes ", info.cooperative_matrix_shapes[i][0],
               info.cooperative_matrix_shapes[i][1], info.cooperative_matrix_shapes[i][2]);
    printf("%s\n", info.cooperative_matrix_shape_count ? ")" : "");
    CHECK(coopmat_supported == info.cooperative_matrix_used && (info.default_kernel == Q8CONV_KERNEL_COOPMAT) == coopmat_supported,
          "cooperative matrices supported %d, used %d, default kernel %s", info.cooperative_matrix_supported,
          info.cooperative_matrix_used, q8conv_kernel_name(info.default_kernel));
    /* AUTO follows the rule (include/q8conv.h) from what the device reports. */
    const q8conv_kernel rule = test_auto_kernel(&info, true);
    printf("dot product accelerated: signed %s, mixed-signedness %s; AUTO: %s\n", info.dot_signed_accelerated ? "yes" : "no",
           info.dot_mixed_accelerated ? "yes" : "no", q8conv_kernel_name(info.default_kernel));
    CHECK(info.default_kernel == rule, "default kernel %s, the rule says %s", q8conv_kernel_name(info.default_kernel),
          q8conv_kernel_name(rule));
    if (!strcmp(suite, "small_oc"))
        suite_small_oc(ctx);
    else if (!strcmp(suite, "shapes"))
        suite_shapes(ctx);
    else if (!strcmp(suite, "modes")) {
        suite_modes(ctx);
        suite_ties(ctx);
        suite_flush_guard(ctx);
        suite_extremes(ctx);
    }
    else if (!strcmp(suite, "split")) {
        suite_split(ctx);
        suite_split_matrix(ctx);
    }
    else if (!strcmp(suite, "wzp_stride")) {
        suite_weight_zero_points(ctx);
        suite_strides(ctx);
    }
    else if (!strcmp(suite, "uint8")) {
        suite_uint8_modes(ctx);
        suite_uint8_shapes(ctx);
        suite_uint8_sequence(ctx);
    }
    else
        CHECK(0, "unknown suite %s", suite);
    if (coopmat_refused)
        printf("%s: coopmat skipped: the device has no cooperative matrices (%u case(s) refused with UNSUPPORTED, "
               "as they must be)\n", suite, coopmat_refused);
    test_check_validation(ctx);
    q8conv_context_destroy(ctx);
    return test_finish(suite);
}
