#include "common.h"

#include <math.h>
#include <string.h>
#include <time.h>

int test_failures = 0;
static uint64_t seed_value, rng_state;
static int seeded;

uint64_t test_seed(void)
{
    if (!seeded) {
        const char *s = getenv("Q8CONV_SEED");
        seed_value = s && *s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
        rng_state = seed_value * 0x9E3779B97F4A7C15ull + 1;
        seeded = 1;
    }
    return seed_value;
}

uint64_t test_rand(void)
{
    test_seed();
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

uint32_t test_range(uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(test_rand() % ((uint64_t)hi - lo + 1));
}

uint32_t test_below(uint32_t bound)
{
    return (uint32_t)(test_rand() % bound);
}

float test_uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)((test_rand() >> 40) * (1.0 / 16777216.0));
}

void test_fill_i8(int8_t *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        p[i] = (int8_t)(test_rand() >> 56);
}

void test_op_random(test_op *t, uint32_t ic, uint32_t oc, q8conv_bias_mode bias, q8conv_activation act,
                    q8conv_layout in_layout, q8conv_layout out_layout, q8conv_kernel kernel)
{
    memset(t, 0, sizeof *t);
    t->weights = malloc((size_t)ic * oc);
    t->scales = malloc(sizeof(float) * oc);
    test_fill_i8(t->weights, (size_t)ic * oc);
    float sx = test_uniform(0.005f, 0.1f), sw_sum = 0;
    for (uint32_t o = 0; o < oc; ++o) {
        t->scales[o] = test_uniform(0.001f, 0.02f);
        sw_sum += t->scales[o];
    }
    /* Accumulators of uniform int8 data have a standard deviation near sqrt(IC) * 74^2; aim the
     * output scale so that about 40 quantization steps cover one deviation, which exercises the
     * clamps at both ends without saturating everything. */
    float real_std = sx * (sw_sum / oc) * sqrtf((float)ic) * 5476.0f;
    float sy = real_std / test_uniform(20.0f, 60.0f);
    if (bias == Q8CONV_BIAS_FLOAT) {
        float *b = malloc(sizeof(float) * oc);
        for (uint32_t o = 0; o < oc; ++o)
            b[o] = test_uniform(-real_std, real_std);
        t->bias = b;
    } else if (bias == Q8CONV_BIAS_INT32) {
        int32_t *b = malloc(sizeof(int32_t) * oc);
        float acc_std = sqrtf((float)ic) * 5476.0f;
        for (uint32_t o = 0; o < oc; ++o)
            b[o] = (int32_t)test_uniform(-acc_std, acc_std);
        t->bias = b;
    }
    t->desc = (q8conv_pw_desc){
        .in_channels = ic,
        .out_channels = oc,
        .input_scale = sx,
        .input_zero_point = (int32_t)test_range(0, 255) - 128,
        .output_scale = sy,
        .output_zero_point = (int32_t)test_range(0, 255) - 128,
        .weights = t->weights,
        .weight_scales = t->scales,
        .bias_mode = bias,
        .bias = t->bias,
        .activation = act,
        .input_layout = in_layout,
        .output_layout = out_layout,
        .kernel = kernel,
    };
}

void test_op_free(test_op *t)
{
    free(t->weights);
    free(t->scales);
    free(t->bias);
    memset(t, 0, sizeof *t);
}

static void print_message(void *user, q8conv_message_severity severity, const char *message)
{
    (void)user;
    fprintf(stderr, "[validation %s] %s\n", severity == Q8CONV_MESSAGE_ERROR ? "error" : "warning", message);
}

q8conv_context *test_context(uint32_t flags)
{
    q8conv_context *ctx = NULL;
    q8conv_context_desc desc = {.flags = flags, .message_callback = print_message};
    q8conv_status st = q8conv_context_create(&desc, &ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "FAIL: q8conv_context_create: %s\n", q8conv_status_string(st));
        test_failures++;
        return NULL;
    }
    return ctx;
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
