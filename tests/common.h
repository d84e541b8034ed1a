/* Helpers shared by the tests: a seeded RNG, random operator descriptors, reporting. */
#ifndef Q8CONV_TEST_COMMON_H
#define Q8CONV_TEST_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "q8conv.h"

/* The seed comes from Q8CONV_SEED when set, else from the clock; tests print it on failure. */
uint64_t test_seed(void);
uint64_t test_rand(void);              /* xorshift64* */
uint32_t test_range(uint32_t lo, uint32_t hi); /* inclusive */
uint32_t test_below(uint32_t bound);          /* [0, bound) */
float test_uniform(float lo, float hi);
void test_fill_i8(int8_t *p, size_t n);

/* A random, valid descriptor whose outputs spread over the int8 range. Owns its arrays. */
typedef struct test_op {
    q8conv_pw_desc desc;
    int8_t *weights;
    float *scales;
    void *bias;
} test_op;
void test_op_random(test_op *t, uint32_t ic, uint32_t oc, q8conv_bias_mode bias, q8conv_activation act,
                    q8conv_layout in_layout, q8conv_layout out_layout, q8conv_kernel kernel);
void test_op_free(test_op *t);

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
/* Fails the test if the validation layer reported anything on ctx. */
void test_check_validation(const q8conv_context *ctx);
/* Prints the summary line and returns the process exit code. */
int test_finish(const char *name);

#endif
