/* Helpers shared by every test: the seed and seeded random streams, random operator descriptors,
 * a reference-checked run with its padding check, CHECK and reporting, a context for tests.
 *
 * The functions that take a test_rng and report through an `err` buffer never touch CHECK or the
 * process's stream, so several threads may call them at once, each with its own test_rng. */
#ifndef Q8CONV_TEST_COMMON_H
#define Q8CONV_TEST_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "q8conv.h"

/* Written over an output before a run: bytes the kernel must leave alone still hold it after, and
 * memory freed by an earlier op that may hold the right answer cannot pass for it. */
#define TEST_POISON 0xA5u

/* Writes TEST_POISON over every device byte of t, padding included; false when a call failed. */
bool test_poison_tensor(q8conv_tensor *t);

/* The clamp bounds of SEMANTICS.md (src/core/clamp.h) as integers in the output type's range, for
 * CPU peers that take them (XNNPACK's output_min and output_max). */
void test_clamp_bounds(const q8conv_pw_desc *desc, int32_t *lo, int32_t *hi);

/* ---- the seed and random numbers ---- */

/* The seed comes from Q8CONV_SEED when set, else from the clock; tests print it on failure. */
uint64_t test_seed(void);

/* One random stream (splitmix64): one per thread, per sweep case, or the process's own. */
typedef struct test_rng {
    uint64_t state;
} test_rng;

test_rng test_rng_seeded(uint64_t seed);
uint64_t test_rng_next(test_rng *r);
uint32_t test_rng_range(test_rng *r, uint32_t lo, uint32_t hi); /* inclusive */
float test_rng_uniform(test_rng *r, float lo, float hi);
bool test_rng_chance(test_rng *r, unsigned percent);
void test_rng_fill(test_rng *r, int8_t *p, size_t n);

/* The process's stream, seeded with test_seed() on first use (single-threaded tests), and
 * shorthands that draw from it. */
test_rng *test_process_rng(void);
uint64_t test_rand(void);
uint32_t test_range(uint32_t lo, uint32_t hi); /* inclusive */
uint32_t test_below(uint32_t bound);          /* [0, bound) */
void test_fill_i8(int8_t *p, size_t n);

/* ---- random operators ---- */

typedef struct test_op_params {
    uint32_t ic, oc;
    q8conv_bias_mode bias;
    q8conv_activation activation;
    q8conv_layout input_layout, output_layout;
    q8conv_dtype input_type, output_type; /* zero points are drawn in each side's range */
    q8conv_kernel kernel;
    /* Draw edge values too: extreme weights, zero points at the ends of the range, bias at the
     * int32 bound, output scales that saturate almost everything or almost nothing. */
    bool edges;
    /* Weights read as this type (0 = INT8), their zero points (test_wzp) and the strides (0 = 1).
     * All zero draws exactly what it drew before these fields existed. */
    q8conv_dtype weight_type;
    int weight_zp;
    uint32_t stride_h, stride_w;
} test_op_params;

/* test_op_params.weight_zp: how the weight zero points are drawn, each in the weight type's range. */
enum test_wzp {
    TEST_WZP_NONE = 0,    /* NULL: all 0 */
    TEST_WZP_TENSOR = 1,  /* one value for every channel (a per-tensor zero point) */
    TEST_WZP_CHANNEL = 2, /* a value per channel */
    TEST_WZP_ENDS = 3,    /* per channel, cycling through the type's min, max, and min + 1 */
    TEST_WZP_MID = 4      /* every channel the type's middle, 0 or 128: stored weights symmetric */
};

/* A valid descriptor whose outputs spread over the output type's range. Owns its arrays. */
typedef struct test_op {
    q8conv_pw_desc desc;
    int8_t *weights;
    float *scales;
    void *bias;
    int32_t *weight_zps;
} test_op;

void test_op_random(test_op *op, test_rng *r, const test_op_params *p);
void test_op_free(test_op *op);

/* An output extent under a desc's stride field (0 or 1: the input's): (in - 1) / stride + 1,
 * written out here from SEMANTICS.md, not taken from the library. */
uint32_t test_strided_extent(uint32_t in, uint32_t stride);

/* ---- a checked run ---- */

/* "N.. H.. W.. IC->OC bias act layouts types kernel zero points: ", for failure messages. */
void test_describe_run(const q8conv_pw_desc *desc, uint32_t n, uint32_t h, uint32_t w, char *buf, size_t size);

/* Creates [n][IC][h][w] and [n][OC][h][w] tensors in the op's layouts and types, writes random input (NCHW
 * or NHWC host layout, drawn), poisons the output, runs `op` (created from `desc` on ctx), and
 * compares with q8conv_pw_reference byte for byte. The raw output is checked too: padded channel
 * bytes inside written words are 0, and words wholly in the width padding (4W4C) still hold the
 * poison. Returns true when exact; otherwise `err` says what went wrong. */
bool test_check_run(q8conv_context *ctx, q8conv_pw *op, const q8conv_pw_desc *desc, uint32_t n, uint32_t h,
                    uint32_t w, test_rng *r, char *err, size_t err_size);
/* test_check_run with the given NCHW input (n*IC*h*w bytes; a uint8 tensor's cast) instead of a
 * random one: for inputs chosen to reach an edge, such as the largest accumulators. */
bool test_check_run_input(q8conv_context *ctx, q8conv_pw *op, const q8conv_pw_desc *desc, uint32_t n, uint32_t h,
                          uint32_t w, const int8_t *input, test_rng *r, char *err, size_t err_size);

/* Creates a random small op on ctx and checks one run of it: "the context still works". */
bool test_check_context_works(q8conv_context *ctx, test_rng *r, char *err, size_t err_size);

/* ---- checks and reporting (main thread) ---- */

extern int test_failures;
#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                   \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fprintf(stderr, " (seed %llu; rerun with Q8CONV_SEED)\n", (unsigned long long)test_seed()); \
            test_failures++;                                                                  \
        }                                                                                     \
    } while (0)
#define CHECK_OK(expr)                                                                        \
    do {                                                                                      \
        q8conv_status st_ = (expr);                                                           \
        CHECK(st_ == Q8CONV_SUCCESS, "%s returned %s", #expr, q8conv_status_string(st_));     \
    } while (0)

/* Creates a context for tests (validation per Q8CONV_VALIDATION, handled by the library). */
q8conv_context *test_context(uint32_t flags);
/* The same from a whole descriptor (a wait mode, say); messages are printed unless it names a callback. */
q8conv_context *test_context_with(q8conv_context_desc desc);
/* What AUTO must be on a context, by the rule of include/q8conv.h, written out from its info (an
 * independent statement of the rule; the library's is src/core/kernels.c). `dot_used`: the context may
 * use the dot product (false with FORCE_FALLBACK or where the feature is not enabled). */
q8conv_kernel test_auto_kernel(const q8conv_context_info *info, bool dot_used);
/* Fails the test if the validation layer reported anything on ctx. */
void test_check_validation(const q8conv_context *ctx);
/* Prints the summary line and returns the process exit code. */
int test_finish(const char *name);

#endif
