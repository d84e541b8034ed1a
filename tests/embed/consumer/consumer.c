/* The smallest useful libq8conv program: one tiny convolution on the default device, compared
 * with the CPU reference. Built from an install prefix by find_package and by pkg-config. */
#include <stdio.h>
#include <string.h>

#include <q8conv.h>

int main(void)
{
    enum { IC = 6, OC = 5, N = 1, H = 2, W = 3 };
    int8_t weights[OC * IC], x[N * IC * H * W], want[N * OC * H * W], got[N * OC * H * W];
    float scales[OC];
    int32_t bias[OC];
    for (int i = 0; i < OC * IC; ++i)
        weights[i] = (int8_t)(i * 37 % 255 - 127);
    for (int i = 0; i < N * IC * H * W; ++i)
        x[i] = (int8_t)(i * 53 % 255 - 127);
    for (int o = 0; o < OC; ++o) {
        scales[o] = 0.004f + 0.001f * (float)o;
        bias[o] = o * 300 - 600;
    }
    const q8conv_pw_desc desc = {.in_channels = IC, .out_channels = OC,
                                 .input_scale = 0.05f, .input_zero_point = 3,
                                 .output_scale = 0.25f, .output_zero_point = -2,
                                 .weights = weights, .weight_scales = scales,
                                 .bias_mode = Q8CONV_BIAS_INT32, .bias = bias,
                                 .activation = Q8CONV_ACTIVATION_NONE};
    q8conv_status st = q8conv_pw_reference(&desc, N, H, W, x, want);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "consumer: q8conv_pw_reference: %s\n", q8conv_status_string(st));
        return 1;
    }
    q8conv_context *ctx = NULL;
    q8conv_pw *op = NULL;
    q8conv_tensor *in = NULL, *out = NULL;
    st = q8conv_context_create(NULL, &ctx);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pw_create(ctx, &desc, &op);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_create(ctx, &(q8conv_tensor_desc){.n = N, .c = IC, .h = H, .w = W}, &in);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_create(ctx, &(q8conv_tensor_desc){.n = N, .c = OC, .h = H, .w = W}, &out);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_write(in, x, Q8CONV_HOST_NCHW);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_pw_run(op, in, out);
    if (st == Q8CONV_SUCCESS)
        st = q8conv_tensor_read(out, got, Q8CONV_HOST_NCHW);
    q8conv_tensor_destroy(in);
    q8conv_tensor_destroy(out);
    q8conv_pw_destroy(op);
    q8conv_context_destroy(ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "consumer: %s\n", q8conv_status_string(st));
        return 1;
    }
    if (memcmp(got, want, sizeof got) != 0) {
        fprintf(stderr, "consumer: GPU result differs from q8conv_pw_reference\n");
        return 1;
    }
    printf("consumer: libq8conv %d.%d.%d, %d output bytes equal the reference\n", Q8CONV_VERSION_MAJOR,
           Q8CONV_VERSION_MINOR, Q8CONV_VERSION_PATCH, (int)sizeof got);
    return 0;
}
