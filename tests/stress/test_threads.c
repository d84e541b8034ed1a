/* Threads on one context, as the header's thread-safety rules allow:
 * - each thread creates and destroys its own ops and tensors and runs them (pw_create uploads
 *   through the shared queue; the first use of a shape creates pipelines that others may want at
 *   the same moment);
 * - all threads run one shared op, each on its own tensors, with q8conv_pw_run (the op's own
 *   recording for one thread, the one-shot path for the others meanwhile) and in sequences of
 *   their own (recorded under the context's lock, their waits overlapping);
 * - one thread also serializes the pipeline cache while the others work;
 * - then all threads record the shared op into their own command buffers at once, and the main
 *   thread submits them.
 * Every result is compared with the reference byte for byte. Under Q8CONV_VALIDATION=1 the layer's
 * thread-safety checks watch the queue, pools and command buffers as well. */
#include <pthread.h>
#include <string.h>

#include "common.h"
#include "test_device.h"

#define THREADS 4
#define ROUNDS 6

typedef struct worker {
    int index;
    q8conv_context *ctx;
    q8conv_pw *shared;
    const q8conv_pw_desc *shared_desc;
    const test_vk *vk;
    pthread_barrier_t *barrier;
    test_rng rng;
    int failures;
    char first_error[640];
    unsigned runs;
    /* phase 2 */
    q8conv_tensor *in, *out;
    int8_t *x;
    VkCommandPool pool;
    VkCommandBuffer cmd;
} worker;

static void fail(worker *w, const char *what, const char *detail)
{
    if (w->failures++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "thread %d: %s: %s", w->index, what, detail);
}

/* A sequence of two independent steps of the shared op on this thread's tensors, run three times. */
static bool sequence_round(worker *w, char *err, size_t err_size)
{
    const q8conv_pw_desc *d = w->shared_desc;
    const uint32_t n = test_rng_range(&w->rng, 1, 2), h = test_rng_range(&w->rng, 1, 6), wd = test_rng_range(&w->rng, 1, 12);
    const q8conv_tensor_desc di = {n, d->in_channels, h, wd, d->input_layout};
    const q8conv_tensor_desc dout = {n, d->out_channels, h, wd, d->output_layout};
    const size_t in_n = (size_t)n * di.c * h * wd, out_n = (size_t)n * dout.c * h * wd;
    q8conv_tensor *in[2] = {NULL, NULL}, *out[2] = {NULL, NULL};
    int8_t *x[2] = {malloc(in_n), malloc(in_n)}, *ref = malloc(out_n), *got = malloc(out_n);
    q8conv_sequence *seq = NULL;
    q8conv_status st = q8conv_sequence_create(w->ctx, &seq);
    for (int i = 0; i < 2 && st == Q8CONV_SUCCESS; ++i) {
        test_rng_fill(&w->rng, x[i], in_n);
        st = q8conv_tensor_create(w->ctx, &di, &in[i]);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_tensor_create(w->ctx, &dout, &out[i]);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_tensor_write(in[i], x[i], Q8CONV_HOST_NCHW);
        if (st == Q8CONV_SUCCESS)
            st = q8conv_sequence_add(seq, w->shared, in[i], out[i]);
    }
    for (int r = 0; r < 3 && st == Q8CONV_SUCCESS; ++r)
        st = q8conv_sequence_run(seq);
    bool ok = st == Q8CONV_SUCCESS;
    if (!ok)
        snprintf(err, err_size, "%s", q8conv_status_string(st));
    for (int i = 0; i < 2 && ok; ++i) {
        ok = q8conv_pw_reference(d, n, h, wd, x[i], ref) == Q8CONV_SUCCESS &&
             q8conv_tensor_read(out[i], got, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS && memcmp(ref, got, out_n) == 0;
        if (!ok)
            snprintf(err, err_size, "step %d differs from the reference", i);
    }
    q8conv_sequence_destroy(seq);
    for (int i = 0; i < 2; ++i) {
        q8conv_tensor_destroy(in[i]);
        q8conv_tensor_destroy(out[i]);
        free(x[i]);
    }
    free(ref);
    free(got);
    return ok;
}

static void *work(void *arg)
{
    worker *w = arg;
    char err[512];
    pthread_barrier_wait(w->barrier);
    for (int round = 0; round < ROUNDS; ++round) {
        /* An op of this thread's own: created, run, destroyed while the others do the same. */
        test_op_params p = {.ic = test_rng_range(&w->rng, 1, 48),
                            .oc = test_rng_range(&w->rng, 1, 40),
                            .bias = (q8conv_bias_mode)test_rng_range(&w->rng, 0, 2),
                            .activation = (q8conv_activation)test_rng_range(&w->rng, 0, 2),
                            .input_layout = (q8conv_layout)test_rng_range(&w->rng, 0, 1),
                            .output_layout = (q8conv_layout)test_rng_range(&w->rng, 0, 1),
                            .kernel = (q8conv_kernel)test_rng_range(&w->rng, 0, 3),
                            .edges = true};
        test_op t;
        test_op_random(&t, &w->rng, &p);
        q8conv_pw *op = NULL;
        q8conv_status st = q8conv_pw_create(w->ctx, &t.desc, &op);
        if (st != Q8CONV_SUCCESS)
            fail(w, "pw_create", q8conv_status_string(st));
        else if (!test_check_run(w->ctx, op, &t.desc, test_rng_range(&w->rng, 1, 3), test_rng_range(&w->rng, 1, 9),
                                 test_rng_range(&w->rng, 1, 17), &w->rng, err, sizeof err))
            fail(w, "own op", err);
        q8conv_pw_destroy(op);
        test_op_free(&t);
        w->runs++;

        /* The shared op, on this thread's tensors. */
        if (!test_check_run(w->ctx, w->shared, w->shared_desc, test_rng_range(&w->rng, 1, 2),
                            test_rng_range(&w->rng, 1, 12), test_rng_range(&w->rng, 1, 20), &w->rng, err, sizeof err))
            fail(w, "shared op", err);
        w->runs++;

        if (!sequence_round(w, err, sizeof err))
            fail(w, "sequence of the shared op", err);
        w->runs++;

        if (w->index == 0) {
            size_t size = 0;
            st = q8conv_context_get_pipeline_cache(w->ctx, NULL, &size);
            void *blob = st == Q8CONV_SUCCESS ? malloc(size + 4096) : NULL;
            /* The cache may grow between the calls; the second call gets room to spare. */
            size += 4096;
            if (st == Q8CONV_SUCCESS)
                st = q8conv_context_get_pipeline_cache(w->ctx, blob, &size);
            if (st != Q8CONV_SUCCESS)
                fail(w, "get_pipeline_cache during runs", q8conv_status_string(st));
            free(blob);
        }
    }

    /* Phase 2: recording from every thread at once into its own command buffer. */
    const q8conv_tensor_desc di = {2, w->shared_desc->in_channels, 5, 7, w->shared_desc->input_layout};
    const q8conv_tensor_desc dout = {2, w->shared_desc->out_channels, 5, 7, w->shared_desc->output_layout};
    const size_t count = (size_t)2 * di.c * 5 * 7;
    w->x = malloc(count);
    test_rng_fill(&w->rng, w->x, count);
    if (q8conv_tensor_create(w->ctx, &di, &w->in) != Q8CONV_SUCCESS ||
        q8conv_tensor_create(w->ctx, &dout, &w->out) != Q8CONV_SUCCESS ||
        q8conv_tensor_write(w->in, w->x, Q8CONV_HOST_NCHW) != Q8CONV_SUCCESS)
        fail(w, "phase 2", "tensors");
    if (!test_vk_begin(w->vk, &w->pool, &w->cmd))
        fail(w, "phase 2", "command buffer");
    pthread_barrier_wait(w->barrier);
    if (w->in && w->out && w->cmd) {
        q8conv_status st = q8conv_pw_record(w->shared, w->cmd, w->in, w->out);
        if (st != Q8CONV_SUCCESS)
            fail(w, "pw_record", q8conv_status_string(st));
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_rng rng = test_rng_seeded(test_seed());
    q8conv_context *ctx = test_context(0);
    test_vk vk;
    if (!ctx || !test_vk_load_context(&vk, ctx)) {
        CHECK(0, "context for the test");
        return test_finish("stress_threads");
    }
    test_op_params sp = {.ic = 24, .oc = 20, .bias = Q8CONV_BIAS_FLOAT, .activation = Q8CONV_ACTIVATION_RELU,
                         .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4C1W};
    test_op shared_desc;
    test_op_random(&shared_desc, &rng, &sp);
    q8conv_pw *shared = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &shared_desc.desc, &shared));

    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; ++i) {
        workers[i] = (worker){.index = i,
                              .ctx = ctx,
                              .shared = shared,
                              .shared_desc = &shared_desc.desc,
                              .vk = &vk,
                              .barrier = &barrier,
                              .rng = test_rng_seeded(test_seed() * 31u + (uint64_t)i + 1u)};
        if (pthread_create(&threads[i], NULL, work, &workers[i]) != 0) {
            CHECK(0, "pthread_create");
            return test_finish("stress_threads");
        }
    }
    unsigned runs = 0;
    for (int i = 0; i < THREADS; ++i) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].failures == 0, "%d failure(s); first: %s", workers[i].failures, workers[i].first_error);
        runs += workers[i].runs;
    }
    /* Phase 2's recordings, submitted one after another from this thread. */
    unsigned recorded = 0;
    for (int i = 0; i < THREADS; ++i) {
        worker *w = &workers[i];
        if (w->cmd && w->in && w->out && w->failures == 0) {
            CHECK(vk.EndCommandBuffer(w->cmd) == VK_SUCCESS && test_vk_submit_wait(&vk, &w->cmd, 1),
                  "submit of thread %d's recording", i);
            const size_t out_n = (size_t)2 * shared_desc.desc.out_channels * 5 * 7;
            int8_t *ref = malloc(out_n), *got = malloc(out_n);
            CHECK_OK(q8conv_pw_reference(&shared_desc.desc, 2, 5, 7, w->x, ref));
            CHECK_OK(q8conv_tensor_read(w->out, got, Q8CONV_HOST_NCHW));
            CHECK(memcmp(ref, got, out_n) == 0, "thread %d's recording: result differs from the reference", i);
            recorded += memcmp(ref, got, out_n) == 0;
            free(ref);
            free(got);
        }
        if (w->pool)
            vk.DestroyCommandPool(vk.device, w->pool, NULL);
        q8conv_tensor_destroy(w->in);
        q8conv_tensor_destroy(w->out);
        free(w->x);
    }
    printf("%d threads: %u concurrent checked runs, %u concurrent recordings, all exact\n", THREADS, runs, recorded);
    pthread_barrier_destroy(&barrier);
    q8conv_pw_destroy(shared);
    test_op_free(&shared_desc);
    test_check_validation(ctx);
    q8conv_context_destroy(ctx);
    return test_finish("stress_threads");
}
