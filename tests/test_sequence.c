/* Sequences and q8conv_pw_run's replay, against the CPU reference byte for byte, with the
 * barriers the sequence recorded counted (through the internal archive).
 * Usage: q8conv-test-sequence SUITE
 *   chain    chained steps: exact, one barrier between each pair
 *   hazards  read/write patterns (RAW, WAR, WAW, RAR, barriers that cover earlier steps, wrapped
 *            tensors sharing a buffer): exact, and exactly the barriers each pattern needs
 *   random   random programs over a pool of tensors (some wrapped twice on the same bytes), run
 *            twice: exact, barriers as a model of the rule predicts
 *   reuse    one sequence run many times with new inputs, finalize, adding after a run
 *   misuse   bad arguments, destroyed ops and tensors, empty sequences: documented statuses,
 *            nothing written
 *   threads  sequences sharing an output run from two threads; one sequence run from two threads
 *   replay   q8conv_pw_run records again only when its tensors change; a destroyed op's command
 *            buffer serves the next op
 * Every suite runs on a blocking context and on a polling one (q8conv_context_desc.wait_mode), and
 * the validation layer (Q8CONV_VALIDATION=1: synchronization validation) must stay silent: it is
 * what checks that the barriers the sequence leaves out were not needed. */
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "common.h"
#include "test_device.h"

static test_rng rng;
static q8conv_context_info info;

/* ---- tensors with their expected contents, and ops ---- */

/* A tensor and the logical contents (NCHW) it must hold after the runs so far. Two wrapped tensors
 * of one descriptor on the same bytes share `expect`; only the first owns it. */
typedef struct tensor {
    q8conv_tensor *t;
    q8conv_tensor_desc d;
    size_t count;
    int8_t *expect;
    bool owns_expect;
} tensor;

static size_t desc_count(const q8conv_tensor_desc *d) { return (size_t)d->n * d->c * d->h * d->w; }

/* Created (or wrapped at `offset` of `buffer`) and filled with random data, which is what it holds
 * until a step writes it: every tensor may serve as an input, and an output that a run failed to
 * write keeps data that differs from the reference. */
static bool tensor_make(q8conv_context *ctx, tensor *x, q8conv_tensor_desc d, const test_buffer *buffer,
                        VkDeviceSize offset)
{
    memset(x, 0, sizeof *x);
    x->d = d;
    x->count = desc_count(&d);
    x->expect = malloc(x->count);
    x->owns_expect = true;
    test_rng_fill(&rng, x->expect, x->count);
    q8conv_status st = buffer ? q8conv_tensor_wrap_sized(ctx, &d, buffer->buffer, offset, buffer->size, &x->t)
                              : q8conv_tensor_create(ctx, &d, &x->t);
    CHECK(st == Q8CONV_SUCCESS, "tensor %s: %s", buffer ? "wrap" : "create", q8conv_status_string(st));
    if (st == Q8CONV_SUCCESS)
        CHECK_OK(q8conv_tensor_write(x->t, x->expect, Q8CONV_HOST_NCHW));
    return st == Q8CONV_SUCCESS;
}

/* A second tensor on exactly the bytes of `of` (same descriptor, same offset): the same memory
 * under another id. */
static bool tensor_alias(q8conv_context *ctx, tensor *x, const tensor *of, const test_buffer *buffer, VkDeviceSize offset)
{
    *x = *of;
    x->owns_expect = false;
    x->t = NULL;
    q8conv_status st = q8conv_tensor_wrap_sized(ctx, &of->d, buffer->buffer, offset, buffer->size, &x->t);
    CHECK(st == Q8CONV_SUCCESS, "alias wrap: %s", q8conv_status_string(st));
    return st == Q8CONV_SUCCESS;
}

/* The model takes the device's contents: after a wrapped tensor was written through another one
 * that overlaps it. */
static void tensor_sync(tensor *x)
{
    CHECK_OK(q8conv_tensor_read(x->t, x->expect, Q8CONV_HOST_NCHW));
}

static void tensor_free(tensor *x)
{
    q8conv_tensor_destroy(x->t);
    if (x->owns_expect)
        free(x->expect);
    memset(x, 0, sizeof *x);
}

/* The device contents equal what the model says. */
static void tensor_check(const tensor *x, const char *what)
{
    int8_t *got = malloc(x->count);
    q8conv_status st = q8conv_tensor_read(x->t, got, Q8CONV_HOST_NCHW);
    size_t bad = 0, first = 0;
    for (size_t i = 0; st == Q8CONV_SUCCESS && i < x->count; ++i)
        if (got[i] != x->expect[i] && bad++ == 0)
            first = i;
    CHECK(st == Q8CONV_SUCCESS && bad == 0, "%s: %s, %zu of %zu bytes differ from the reference (first at %zu)", what,
          q8conv_status_string(st), bad, x->count, first);
    free(got);
}

static q8conv_kernel pick_kernel(void)
{
    q8conv_kernel k = (q8conv_kernel)test_rng_range(&rng, 0, Q8CONV_KERNEL_COUNT_ - 1);
    if ((k == Q8CONV_KERNEL_DOT || k == Q8CONV_KERNEL_DOT_MIXED) && !info.integer_dot_product_supported)
        k = Q8CONV_KERNEL_FALLBACK;
    if (k == Q8CONV_KERNEL_COOPMAT && !info.cooperative_matrix_used)
        k = Q8CONV_KERNEL_AUTO;
    return k;
}

typedef struct op {
    q8conv_pw *pw;
    test_op t;
} op;

/* A random op that reads tensors like `in` and writes tensors like `out`. */
static bool op_make(q8conv_context *ctx, op *o, const tensor *in, const tensor *out)
{
    test_op_params p = {.ic = in->d.c,
                        .oc = out->d.c,
                        .bias = (q8conv_bias_mode)test_rng_range(&rng, 0, 2),
                        .activation = (q8conv_activation)test_rng_range(&rng, 0, 2),
                        .input_layout = in->d.layout,
                        .output_layout = out->d.layout,
                        .kernel = pick_kernel()};
    test_op_random(&o->t, &rng, &p);
    o->pw = NULL;
    q8conv_status st = q8conv_pw_create(ctx, &o->t.desc, &o->pw);
    CHECK(st == Q8CONV_SUCCESS, "pw_create %u->%u: %s", p.ic, p.oc, q8conv_status_string(st));
    return st == Q8CONV_SUCCESS;
}

static void op_free(op *o)
{
    q8conv_pw_destroy(o->pw);
    test_op_free(&o->t);
    o->pw = NULL;
}

/* The model of one step: out = op(in). */
static void model_step(const op *o, const tensor *in, tensor *out)
{
    CHECK_OK(q8conv_pw_reference(&o->t.desc, in->d.n, in->d.h, in->d.w, in->expect, out->expect));
}

static q8conv_sequence_stats stats_of(const q8conv_sequence *seq)
{
    q8conv_sequence_stats s;
    q8conv_sequence_get_stats(seq, &s);
    return s;
}

static q8conv_layout pick_layout(void) { return (q8conv_layout)test_rng_range(&rng, 0, 1); }

/* ---- chain: each step reads what the one before wrote ---- */

static void suite_chain(q8conv_context *ctx)
{
    enum { MAX_STEPS = 6 };
    for (int round = 0; round < 4; ++round) {
        const uint32_t steps = test_rng_range(&rng, 2, MAX_STEPS);
        const uint32_t n = test_rng_range(&rng, 1, 2), h = test_rng_range(&rng, 1, 7), w = test_rng_range(&rng, 1, 13);
        tensor t[MAX_STEPS + 1];
        op o[MAX_STEPS];
        bool ok = true;
        for (uint32_t k = 0; k <= steps; ++k)
            ok &= tensor_make(ctx, &t[k],
                              (q8conv_tensor_desc){n, test_rng_range(&rng, 1, 40), h, w, pick_layout()}, NULL, 0);
        for (uint32_t k = 0; k < steps; ++k)
            ok &= op_make(ctx, &o[k], &t[k], &t[k + 1]);
        q8conv_sequence *seq = NULL;
        CHECK_OK(q8conv_sequence_create(ctx, &seq));
        for (uint32_t k = 0; k < steps && ok && seq; ++k)
            CHECK_OK(q8conv_sequence_add(seq, o[k].pw, t[k].t, t[k + 1].t));
        if (ok && seq) {
            CHECK_OK(q8conv_sequence_run(seq));
            for (uint32_t k = 0; k < steps; ++k)
                model_step(&o[k], &t[k], &t[k + 1]);
            char what[64];
            for (uint32_t k = 1; k <= steps; ++k) {
                snprintf(what, sizeof what, "chain of %u, tensor %u", steps, k);
                tensor_check(&t[k], what);
            }
            q8conv_sequence_stats s = stats_of(seq);
            CHECK(s.steps == steps && s.barriers == steps - 1 && s.recordings == 1,
                  "chain of %u: %u steps, %u barriers, %u recordings (want %u, %u, 1)", steps, s.steps, s.barriers,
                  s.recordings, steps, steps - 1);
        }
        q8conv_sequence_destroy(seq);
        for (uint32_t k = 0; k < steps; ++k)
            op_free(&o[k]);
        for (uint32_t k = 0; k <= steps; ++k)
            tensor_free(&t[k]);
    }
}

/* ---- hazards: patterns with the barriers each needs ---- */

/* Steps as pairs of tensor letters ("XY ZX": X -> Y, then Z -> X). */
typedef struct pattern {
    const char *name;
    const char *steps;
    uint32_t barriers;
} pattern;

static const pattern patterns[] = {
    {"read after write (a chain)", "AB BC", 1},
    {"write after read", "AB CA", 1},
    {"write after write", "AB CB", 1},
    {"read after read (fan-out)", "AB AC AD", 0},
    {"independent steps", "AB CD EF GH", 0},
    {"a barrier orders every step before it", "AB CD BE DF", 1},
    {"a barrier orders earlier reads before later writes", "AB BC DA", 1},
    {"a step reading its predecessor's output back", "AB BA", 1},
    {"a cycle", "AB BC CA", 2},
    {"independent steps, then one that needs them all", "AB CD EF BG", 1},
};

/* Runs one pattern over tensors 'A'.. 'H' (letters) with a random op per step, and counts its
 * barriers. With `check_written` every output is compared with the model; without (tensors that
 * overlap in part, which the model cannot follow) the model takes the device's contents. */
static void run_pattern(q8conv_context *ctx, const char *name, const char *steps_text, uint32_t want_barriers,
                        tensor *letters, bool check_written)
{
    enum { MAX_STEPS = 8 };
    uint32_t steps = 0;
    int from[MAX_STEPS], to[MAX_STEPS];
    for (const char *p = steps_text; *p && steps < MAX_STEPS;) {
        if (*p == ' ') {
            ++p;
            continue;
        }
        from[steps] = p[0] - 'A';
        to[steps] = p[1] - 'A';
        steps++;
        p += 2;
    }
    op o[MAX_STEPS];
    bool ok = true;
    for (uint32_t k = 0; k < steps; ++k)
        ok &= op_make(ctx, &o[k], &letters[from[k]], &letters[to[k]]);
    q8conv_sequence *seq = NULL;
    CHECK_OK(q8conv_sequence_create(ctx, &seq));
    for (uint32_t k = 0; k < steps && ok && seq; ++k)
        CHECK_OK(q8conv_sequence_add(seq, o[k].pw, letters[from[k]].t, letters[to[k]].t));
    if (ok && seq) {
        CHECK_OK(q8conv_sequence_run(seq));
        q8conv_sequence_stats s = stats_of(seq);
        CHECK(s.barriers == want_barriers, "%s (%s): %u barriers recorded, want %u", name, steps_text, s.barriers,
              want_barriers);
        if (check_written) {
            for (uint32_t k = 0; k < steps; ++k)
                model_step(&o[k], &letters[from[k]], &letters[to[k]]);
            char what[128];
            for (uint32_t k = 0; k < steps; ++k) {
                snprintf(what, sizeof what, "%s (%s), tensor %c", name, steps_text, 'A' + to[k]);
                tensor_check(&letters[to[k]], what);
            }
        } else {
            for (int k = 0; k < 8; ++k)
                if (letters[k].owns_expect)
                    tensor_sync(&letters[k]);
        }
    }
    q8conv_sequence_destroy(seq);
    for (uint32_t k = 0; k < steps; ++k)
        op_free(&o[k]);
}

static void suite_hazards(q8conv_context *ctx)
{
    /* One shape for every tensor, so any letter may feed any other; big enough that a wrapped
     * tensor can start inside another at an aligned offset. */
    const q8conv_layout layout = pick_layout();
    const VkDeviceSize align =
        info.min_storage_buffer_offset_alignment > 16 ? info.min_storage_buffer_offset_alignment : 16;
    q8conv_tensor_desc d = {1, test_rng_range(&rng, 5, 24), 6, test_rng_range(&rng, 5, 13), layout};
    while (q8conv_tensor_size_bytes(&d) <= 2 * align)
        d.h *= 2;
    const VkDeviceSize size = q8conv_tensor_size_bytes(&d);

    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; ++i) {
        tensor letters[8];
        bool ok = true;
        for (int k = 0; k < 8; ++k)
            ok &= tensor_make(ctx, &letters[k], d, NULL, 0);
        if (ok)
            run_pattern(ctx, patterns[i].name, patterns[i].steps, patterns[i].barriers, letters, true);
        for (int k = 0; k < 8; ++k)
            tensor_free(&letters[k]);
    }

    /* Wrapped tensors on one buffer: A at 0; B the same bytes (another tensor, same offset); C past
     * A's end; D starting inside A. E, F, G, H are the library's own. */
    test_vk vk;
    test_buffer buf = {0};
    const VkDeviceSize apart = (size + align - 1) / align * align;
    CHECK(test_vk_load_context(&vk, ctx) && test_vk_buffer(&vk, 2 * apart, TEST_MEMORY_DEVICE, &buf),
          "a buffer for wrapped tensors");
    if (!buf.buffer)
        return;
    tensor letters[8];
    memset(letters, 0, sizeof letters);
    bool ok = tensor_make(ctx, &letters[0], d, &buf, 0);
    ok &= tensor_alias(ctx, &letters[1], &letters[0], &buf, 0);
    ok &= tensor_make(ctx, &letters[2], d, &buf, apart);
    ok &= tensor_make(ctx, &letters[3], d, &buf, align);
    for (int k = 4; k < 8; ++k)
        ok &= tensor_make(ctx, &letters[k], d, NULL, 0);
    if (ok) {
        /* D's random contents went over parts of A and C. */
        tensor_sync(&letters[0]);
        tensor_sync(&letters[2]);
        tensor_sync(&letters[3]);
        /* Whole-tensor aliases and disjoint ranges: the model holds, so every output is checked. */
        run_pattern(ctx, "write, then read through another tensor on the same bytes", "EA BF", 1, letters, true);
        run_pattern(ctx, "write, then write through another tensor on the same bytes", "EA FB", 1, letters, true);
        run_pattern(ctx, "read, then write through another tensor on the same bytes", "AE FB", 1, letters, true);
        run_pattern(ctx, "read through two tensors on the same bytes", "AE BF", 0, letters, true);
        run_pattern(ctx, "write one range of a buffer, read another", "EA CF", 0, letters, true);
        run_pattern(ctx, "write two disjoint ranges of one buffer", "EA GC", 0, letters, true);
        /* D overlaps A's tail: the barriers are checked here, and the bytes below. */
        run_pattern(ctx, "write, then read an overlapping range", "EA DF", 1, letters, false);
        run_pattern(ctx, "write, then write an overlapping range", "EA FD", 1, letters, false);
        run_pattern(ctx, "read, then write an overlapping range", "AE FD", 1, letters, false);
        run_pattern(ctx, "read two overlapping ranges", "AE DF", 0, letters, false);

        /* The partial overlap's bytes: E -> A, then D -> F, where D reads what A's step wrote
         * into the shared range. After the run nothing writes A or D again, so D's contents now
         * are what the second step read: F must be the reference of them. */
        op o1 = {0}, o2 = {0};
        q8conv_sequence *seq = NULL;
        if (op_make(ctx, &o1, &letters[4], &letters[0]) && op_make(ctx, &o2, &letters[3], &letters[5]) &&
            q8conv_sequence_create(ctx, &seq) == Q8CONV_SUCCESS) {
            CHECK_OK(q8conv_sequence_add(seq, o1.pw, letters[4].t, letters[0].t));
            CHECK_OK(q8conv_sequence_add(seq, o2.pw, letters[3].t, letters[5].t));
            CHECK_OK(q8conv_sequence_run(seq));
            model_step(&o1, &letters[4], &letters[0]);
            tensor_check(&letters[0], "partial overlap: the first step's output");
            tensor_sync(&letters[3]);
            model_step(&o2, &letters[3], &letters[5]);
            tensor_check(&letters[5], "partial overlap: the step reading the overlapping range");
        }
        q8conv_sequence_destroy(seq);
        op_free(&o1);
        op_free(&o2);
    }
    for (int k = 0; k < 8; ++k)
        tensor_free(&letters[k]);
    test_vk_buffer_free(&vk, &buf);
}

/* ---- random programs ---- */

/* Tensors of the pool that are the same memory: the alias shares its `expect` with its original. */
static bool same_memory(const tensor *a, const tensor *b) { return a->expect == b->expect; }

static void suite_random(q8conv_context *ctx)
{
    enum { POOL = 7, MAX_STEPS = 14 };
    test_vk vk;
    CHECK(test_vk_load_context(&vk, ctx), "the context's device functions");
    for (int round = 0; round < 6; ++round) {
        const uint32_t n = test_rng_range(&rng, 1, 2), h = test_rng_range(&rng, 1, 6), w = test_rng_range(&rng, 1, 11);
        static const uint32_t channels[] = {3, 8, 13, 20};
        tensor pool[POOL];
        bool ok = true;
        /* The last two are wrapped on one buffer at the same offset: one memory, two tensors. */
        const q8conv_tensor_desc shared = {n, channels[test_rng_range(&rng, 0, 3)], h, w, pick_layout()};
        test_buffer buf = {0};
        ok &= test_vk_buffer(&vk, q8conv_tensor_size_bytes(&shared), TEST_MEMORY_DEVICE, &buf);
        for (int k = 0; k < POOL - 2; ++k)
            ok &= tensor_make(ctx, &pool[k], (q8conv_tensor_desc){n, channels[test_rng_range(&rng, 0, 3)], h, w, pick_layout()},
                              NULL, 0);
        if (!ok) {
            test_vk_buffer_free(&vk, &buf);
            for (int k = 0; k < POOL - 2; ++k)
                tensor_free(&pool[k]);
            return;
        }
        ok &= tensor_make(ctx, &pool[POOL - 2], shared, &buf, 0);
        ok &= tensor_alias(ctx, &pool[POOL - 1], &pool[POOL - 2], &buf, 0);

        /* The program, and the barriers a model of the rule predicts: a step waits when it reads
         * a memory written, or writes a memory read or written, since the last barrier. */
        const uint32_t steps = test_rng_range(&rng, 1, MAX_STEPS);
        int from[MAX_STEPS], to[MAX_STEPS];
        op o[MAX_STEPS];
        uint32_t want_barriers = 0, made = 0;
        bool read_since[POOL] = {0}, written_since[POOL] = {0};
        for (uint32_t s = 0; s < steps && ok; ++s) {
            do {
                from[s] = (int)test_rng_range(&rng, 0, POOL - 1);
                to[s] = (int)test_rng_range(&rng, 0, POOL - 1);
            } while (same_memory(&pool[from[s]], &pool[to[s]]));
            bool wait = false;
            for (int k = 0; k < POOL; ++k) {
                const bool reads = same_memory(&pool[k], &pool[from[s]]), writes = same_memory(&pool[k], &pool[to[s]]);
                wait |= (reads && written_since[k]) || (writes && (read_since[k] || written_since[k]));
            }
            if (wait) {
                want_barriers++;
                memset(read_since, 0, sizeof read_since);
                memset(written_since, 0, sizeof written_since);
            }
            for (int k = 0; k < POOL; ++k) {
                read_since[k] |= same_memory(&pool[k], &pool[from[s]]);
                written_since[k] |= same_memory(&pool[k], &pool[to[s]]);
            }
            ok &= op_make(ctx, &o[s], &pool[from[s]], &pool[to[s]]);
            made = s + 1;
        }
        q8conv_sequence *seq = NULL;
        if (ok)
            CHECK_OK(q8conv_sequence_create(ctx, &seq));
        for (uint32_t s = 0; s < steps && seq; ++s)
            CHECK_OK(q8conv_sequence_add(seq, o[s].pw, pool[from[s]].t, pool[to[s]].t));
        /* Twice: the second run is the replay, on the contents the first one left. */
        for (int pass = 0; pass < 2 && seq; ++pass) {
            CHECK_OK(q8conv_sequence_run(seq));
            for (uint32_t s = 0; s < steps; ++s)
                model_step(&o[s], &pool[from[s]], &pool[to[s]]);
            char what[96];
            for (int k = 0; k < POOL; ++k) {
                snprintf(what, sizeof what, "random program of %u steps, pass %d, tensor %d", steps, pass, k);
                tensor_check(&pool[k], what);
            }
        }
        if (seq) {
            q8conv_sequence_stats s = stats_of(seq);
            CHECK(s.barriers == want_barriers && s.recordings == 1,
                  "random program of %u steps: %u barriers, %u recordings (want %u, 1)", steps, s.barriers,
                  s.recordings, want_barriers);
        }
        q8conv_sequence_destroy(seq);
        for (uint32_t s = 0; s < made; ++s)
            op_free(&o[s]);
        for (int k = POOL; k-- > 0;)
            tensor_free(&pool[k]);
        test_vk_buffer_free(&vk, &buf);
    }
}

/* ---- reuse: many runs of one recording ---- */

static void suite_reuse(q8conv_context *ctx)
{
    const uint32_t n = 1, h = test_rng_range(&rng, 2, 6), w = test_rng_range(&rng, 2, 12);
    tensor t[4];
    op o[3];
    bool ok = true;
    for (int k = 0; k < 4; ++k)
        ok &= tensor_make(ctx, &t[k], (q8conv_tensor_desc){n, test_rng_range(&rng, 1, 32), h, w, pick_layout()}, NULL, 0);
    for (int k = 0; k < 3 && ok; ++k)
        ok &= op_make(ctx, &o[k], &t[k], &t[k + 1]);
    q8conv_sequence *seq = NULL;
    if (ok)
        CHECK_OK(q8conv_sequence_create(ctx, &seq));
    if (seq) {
        CHECK_OK(q8conv_sequence_add(seq, o[0].pw, t[0].t, t[1].t));
        CHECK_OK(q8conv_sequence_add(seq, o[1].pw, t[1].t, t[2].t));
        CHECK_OK(q8conv_sequence_finalize(seq));
        CHECK_OK(q8conv_sequence_finalize(seq));
        q8conv_sequence_stats s = stats_of(seq);
        CHECK(s.recorded && s.recordings == 1, "finalize twice: %u recordings (want 1)", s.recordings);
        /* A new input before each run: the recording must read what tensor_write put there. */
        const int runs = 20;
        for (int r = 0; r < runs; ++r) {
            test_rng_fill(&rng, t[0].expect, t[0].count);
            CHECK_OK(q8conv_tensor_write(t[0].t, t[0].expect, Q8CONV_HOST_NCHW));
            CHECK_OK(q8conv_sequence_run(seq));
            model_step(&o[0], &t[0], &t[1]);
            model_step(&o[1], &t[1], &t[2]);
            tensor_check(&t[2], "reuse: the chain's output after a new input");
        }
        s = stats_of(seq);
        CHECK(s.recordings == 1, "%d runs after finalize recorded %u times (want 1)", runs, s.recordings);

        /* Adding after runs: the next run records once more, then replays again. */
        CHECK_OK(q8conv_sequence_add(seq, o[2].pw, t[2].t, t[3].t));
        s = stats_of(seq);
        CHECK(!s.recorded && s.steps == 3, "after an add: recorded %d, %u steps", s.recorded, s.steps);
        for (int r = 0; r < 3; ++r) {
            CHECK_OK(q8conv_sequence_run(seq));
            model_step(&o[0], &t[0], &t[1]);
            model_step(&o[1], &t[1], &t[2]);
            model_step(&o[2], &t[2], &t[3]);
            tensor_check(&t[3], "reuse: the step added after runs");
        }
        s = stats_of(seq);
        CHECK(s.recordings == 2 && s.barriers == 2, "after the add: %u recordings, %u barriers (want 2, 2)",
              s.recordings, s.barriers);
    }
    q8conv_sequence_destroy(seq);
    for (int k = 0; k < 3; ++k)
        op_free(&o[k]);
    for (int k = 0; k < 4; ++k)
        tensor_free(&t[k]);
}

/* ---- misuse ---- */

#define SENTINEL_SEQ ((q8conv_sequence *)(uintptr_t)0x5E47)

static void poison(const tensor *x)
{
    const size_t size = (size_t)q8conv_tensor_size_bytes(&x->d);
    uint8_t *p = malloc(size);
    memset(p, (int)TEST_POISON, size);
    CHECK_OK(q8conv_tensor_write_raw(x->t, p, size));
    free(p);
}

static bool still_poisoned(const tensor *x)
{
    const size_t size = (size_t)q8conv_tensor_size_bytes(&x->d);
    uint8_t *p = malloc(size);
    bool same = q8conv_tensor_read_raw(x->t, p, size) == Q8CONV_SUCCESS;
    for (size_t i = 0; same && i < size; ++i)
        same = p[i] == TEST_POISON;
    free(p);
    return same;
}

/* What a destroyed member does to the sequences that name it. `victim` picks the object destroyed
 * before the run: 0 the op, 1 the input, 2 the output. With `ran`, the sequence ran (and so was
 * recorded) before. A second sequence names the same objects and must refuse too; destroying both
 * frees the remains once (ASan watches). */
static void destroyed_member(q8conv_context *ctx, int victim, bool ran)
{
    static const char *const names[] = {"op", "input", "output"};
    const q8conv_tensor_desc d = {1, 12, 3, 5, pick_layout()};
    tensor in = {0}, out = {0}, other_in = {0}, other_out = {0};
    op o = {0}, other = {0};
    bool ok = tensor_make(ctx, &in, d, NULL, 0) && tensor_make(ctx, &out, d, NULL, 0) &&
              tensor_make(ctx, &other_in, d, NULL, 0) && tensor_make(ctx, &other_out, d, NULL, 0) &&
              op_make(ctx, &o, &in, &out) && op_make(ctx, &other, &in, &out);
    q8conv_sequence *seq = NULL, *seq2 = NULL;
    if (ok) {
        CHECK_OK(q8conv_sequence_create(ctx, &seq));
        CHECK_OK(q8conv_sequence_create(ctx, &seq2));
    }
    if (seq && seq2) {
        /* A step that stays valid, then the one whose member goes. */
        CHECK_OK(q8conv_sequence_add(seq, other.pw, other_in.t, other_out.t));
        CHECK_OK(q8conv_sequence_add(seq, o.pw, in.t, out.t));
        CHECK_OK(q8conv_sequence_add(seq2, o.pw, in.t, out.t));
        if (ran) {
            CHECK_OK(q8conv_sequence_run(seq));
            CHECK_OK(q8conv_sequence_run(seq2));
        }
        poison(&other_out);
        if (victim != 2)
            poison(&out);
        if (victim == 0)
            op_free(&o);
        else if (victim == 1)
            tensor_free(&in);
        else
            tensor_free(&out);
        q8conv_status st1 = q8conv_sequence_run(seq), st2 = q8conv_sequence_run(seq2);
        q8conv_status st3 = q8conv_sequence_finalize(seq);
        CHECK(st1 == Q8CONV_ERROR_INVALID_ARGUMENT && st2 == Q8CONV_ERROR_INVALID_ARGUMENT &&
                  st3 == Q8CONV_ERROR_INVALID_ARGUMENT,
              "%s destroyed%s: run %s, the other sequence's run %s, finalize %s", names[victim],
              ran ? " after a run" : "", q8conv_status_string(st1), q8conv_status_string(st2), q8conv_status_string(st3));
        CHECK(still_poisoned(&other_out) && (victim == 2 || still_poisoned(&out)),
              "%s destroyed: the refused run wrote an output", names[victim]);
    }
    /* The destroyed object is freed by whichever sequence goes last. */
    q8conv_sequence_destroy(seq);
    q8conv_sequence_destroy(seq2);
    op_free(&o);
    op_free(&other);
    tensor_free(&in);
    tensor_free(&out);
    tensor_free(&other_in);
    tensor_free(&other_out);
}

static void suite_misuse(q8conv_context *ctx, q8conv_context *other_ctx)
{
    const q8conv_status INV = Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_sequence *seq = SENTINEL_SEQ;
    CHECK(q8conv_sequence_create(NULL, &seq) == INV && seq == SENTINEL_SEQ, "sequence_create(NULL ctx)");
    CHECK(q8conv_sequence_create(ctx, NULL) == INV, "sequence_create(NULL out)");
    CHECK(q8conv_sequence_run(NULL) == INV && q8conv_sequence_finalize(NULL) == INV, "run/finalize(NULL)");
    q8conv_sequence_destroy(NULL);

    const q8conv_tensor_desc d = {2, 10, 3, 6, Q8CONV_LAYOUT_4W4C};
    tensor in = {0}, out = {0}, wide = {0}, wrong_layout = {0}, foreign = {0};
    op o = {0}, foreign_op = {0};
    bool ok = tensor_make(ctx, &in, d, NULL, 0) && tensor_make(ctx, &out, d, NULL, 0) &&
              tensor_make(ctx, &wide, (q8conv_tensor_desc){2, 10, 3, 7, Q8CONV_LAYOUT_4W4C}, NULL, 0) &&
              tensor_make(ctx, &wrong_layout, (q8conv_tensor_desc){2, 10, 3, 6, Q8CONV_LAYOUT_4C1W}, NULL, 0) &&
              tensor_make(other_ctx, &foreign, d, NULL, 0) && op_make(ctx, &o, &in, &out) &&
              op_make(other_ctx, &foreign_op, &in, &out);
    seq = NULL;
    q8conv_sequence *foreign_seq = NULL;
    if (ok) {
        CHECK_OK(q8conv_sequence_create(ctx, &seq));
        CHECK_OK(q8conv_sequence_create(other_ctx, &foreign_seq));
    }
    if (seq && foreign_seq) {
        /* An empty sequence runs, and submits nothing. */
        CHECK_OK(q8conv_sequence_finalize(seq));
        CHECK_OK(q8conv_sequence_run(seq));
        poison(&out);
        const struct {
            const char *name;
            q8conv_sequence *s;
            q8conv_pw *op;
            const q8conv_tensor *in;
            q8conv_tensor *out;
        } cases[] = {
            {"sequence NULL", NULL, o.pw, in.t, out.t},
            {"op NULL", seq, NULL, in.t, out.t},
            {"input NULL", seq, o.pw, NULL, out.t},
            {"output NULL", seq, o.pw, in.t, NULL},
            {"output of another width", seq, o.pw, in.t, wide.t},
            {"input in the wrong layout", seq, o.pw, wrong_layout.t, out.t},
            {"input and output the same tensor", seq, o.pw, in.t, in.t},
            {"tensor of another context", seq, o.pw, in.t, foreign.t},
            {"op of another context", seq, foreign_op.pw, in.t, out.t},
            {"op and tensors of a context other than the sequence's", foreign_seq, o.pw, in.t, out.t},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
            q8conv_status st = q8conv_sequence_add(cases[i].s, cases[i].op, cases[i].in, cases[i].out);
            CHECK(st == INV, "sequence_add: %s: %s", cases[i].name, q8conv_status_string(st));
        }
        CHECK(stats_of(seq).steps == 0 && stats_of(foreign_seq).steps == 0, "a refused add changed a sequence");
        CHECK_OK(q8conv_sequence_run(seq));
        CHECK_OK(q8conv_sequence_run(foreign_seq));
        CHECK(still_poisoned(&out), "empty sequences, refused adds: the output was written");
        /* The same sequence still takes a valid step and runs it exactly. */
        CHECK_OK(q8conv_sequence_add(seq, o.pw, in.t, out.t));
        CHECK_OK(q8conv_sequence_run(seq));
        model_step(&o, &in, &out);
        tensor_check(&out, "the step added after the refusals");
    }
    q8conv_sequence_destroy(seq);
    q8conv_sequence_destroy(foreign_seq);
    op_free(&o);
    op_free(&foreign_op);
    tensor_free(&in);
    tensor_free(&out);
    tensor_free(&wide);
    tensor_free(&wrong_layout);
    tensor_free(&foreign);

    for (int victim = 0; victim < 3; ++victim) {
        destroyed_member(ctx, victim, false);
        destroyed_member(ctx, victim, true);
    }
}

/* ---- threads ---- */

typedef struct runner {
    q8conv_sequence *seq;
    pthread_barrier_t *start;
    int runs, succeeded, refused, other;
} runner;

static void *run_many(void *arg)
{
    runner *r = arg;
    pthread_barrier_wait(r->start);
    for (int i = 0; i < r->runs; ++i) {
        q8conv_status st = q8conv_sequence_run(r->seq);
        if (st == Q8CONV_SUCCESS)
            r->succeeded++;
        else if (st == Q8CONV_ERROR_INVALID_ARGUMENT)
            r->refused++;
        else
            r->other++;
    }
    return NULL;
}

static void run_two_threads(runner *a, runner *b)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    a->start = b->start = &start;
    pthread_t ta, tb;
    bool ok_a = pthread_create(&ta, NULL, run_many, a) == 0;
    bool ok_b = ok_a && pthread_create(&tb, NULL, run_many, b) == 0;
    CHECK(ok_a && ok_b, "pthread_create");
    if (ok_a && !ok_b)
        run_many(b); /* releases the first thread from the barrier */
    if (ok_a)
        pthread_join(ta, NULL);
    if (ok_b)
        pthread_join(tb, NULL);
    pthread_barrier_destroy(&start);
}

static void suite_threads(q8conv_context *ctx)
{
    const q8conv_tensor_desc d = {1, 16, 4, 9, pick_layout()};
    /* Two sequences, each a chain of its own (X -> Y -> Z), both also writing S. */
    tensor x[2] = {{0}}, y[2] = {{0}}, z[2] = {{0}}, s = {0};
    op chain[2][2] = {{{0}}}, to_s[2] = {{0}};
    bool ok = tensor_make(ctx, &s, d, NULL, 0);
    for (int i = 0; i < 2; ++i)
        ok = ok && tensor_make(ctx, &x[i], d, NULL, 0) && tensor_make(ctx, &y[i], d, NULL, 0) &&
             tensor_make(ctx, &z[i], d, NULL, 0) && op_make(ctx, &chain[i][0], &x[i], &y[i]) &&
             op_make(ctx, &chain[i][1], &y[i], &z[i]) && op_make(ctx, &to_s[i], &x[i], &s);
    q8conv_sequence *seq[2] = {NULL, NULL};
    if (ok) {
        for (int i = 0; i < 2; ++i) {
            CHECK_OK(q8conv_sequence_create(ctx, &seq[i]));
            if (!seq[i])
                continue;
            CHECK_OK(q8conv_sequence_add(seq[i], chain[i][0].pw, x[i].t, y[i].t));
            CHECK_OK(q8conv_sequence_add(seq[i], to_s[i].pw, x[i].t, s.t));
            CHECK_OK(q8conv_sequence_add(seq[i], chain[i][1].pw, y[i].t, z[i].t));
        }
    }
    if (seq[0] && seq[1]) {
        runner a = {.seq = seq[0], .runs = 25}, b = {.seq = seq[1], .runs = 25};
        run_two_threads(&a, &b);
        CHECK(a.succeeded == a.runs && b.succeeded == b.runs,
              "two sequences sharing an output from two threads: %d and %d of %d runs succeeded", a.succeeded,
              b.succeeded, a.runs);
        int8_t *from[2] = {malloc(s.count), malloc(s.count)};
        for (int i = 0; i < 2; ++i) {
            model_step(&chain[i][0], &x[i], &y[i]);
            model_step(&chain[i][1], &y[i], &z[i]);
            tensor_check(&y[i], "two threads: a sequence's own chain");
            tensor_check(&z[i], "two threads: a sequence's own chain");
            CHECK_OK(q8conv_pw_reference(&to_s[i].t.desc, d.n, d.h, d.w, x[i].expect, from[i]));
        }
        int8_t *got = malloc(s.count);
        CHECK_OK(q8conv_tensor_read(s.t, got, Q8CONV_HOST_NCHW));
        CHECK(!memcmp(got, from[0], s.count) || !memcmp(got, from[1], s.count),
              "two threads: the shared output is neither sequence's result");
        free(got);
        free(from[0]);
        free(from[1]);

        /* One sequence from two threads: each run succeeds or is refused while the other runs;
         * nothing else, and the result stays exact. */
        runner c = {.seq = seq[0], .runs = 25}, e = {.seq = seq[0], .runs = 25};
        run_two_threads(&c, &e);
        CHECK(c.other == 0 && e.other == 0 && c.succeeded + e.succeeded > 0,
              "one sequence from two threads: %d+%d succeeded, %d+%d refused, %d+%d other", c.succeeded, e.succeeded,
              c.refused, e.refused, c.other, e.other);
        printf("one sequence from two threads: %d run(s), %d refused while the other thread ran it\n",
               c.succeeded + e.succeeded, c.refused + e.refused);
        tensor_check(&z[0], "one sequence from two threads");
    }
    for (int i = 0; i < 2; ++i) {
        q8conv_sequence_destroy(seq[i]);
        op_free(&chain[i][0]);
        op_free(&chain[i][1]);
        op_free(&to_s[i]);
        tensor_free(&x[i]);
        tensor_free(&y[i]);
        tensor_free(&z[i]);
    }
    tensor_free(&s);
}

/* ---- q8conv_pw_run's replay ---- */

static void run_checked(op *o, tensor *in, tensor *out, const char *what)
{
    test_rng_fill(&rng, in->expect, in->count);
    CHECK_OK(q8conv_tensor_write(in->t, in->expect, Q8CONV_HOST_NCHW));
    CHECK_OK(q8conv_pw_run(o->pw, in->t, out->t));
    model_step(o, in, out);
    tensor_check(out, what);
}

static void suite_replay(q8conv_context *ctx)
{
    const uint32_t h = test_rng_range(&rng, 1, 6), w = test_rng_range(&rng, 1, 12);
    tensor in = {0}, out = {0}, other = {0};
    op o = {0};
    const q8conv_tensor_desc din = {1, test_rng_range(&rng, 1, 30), h, w, pick_layout()};
    const q8conv_tensor_desc dout = {1, test_rng_range(&rng, 1, 30), h, w, pick_layout()};
    const bool ok = tensor_make(ctx, &in, din, NULL, 0) && tensor_make(ctx, &out, dout, NULL, 0) &&
                    tensor_make(ctx, &other, dout, NULL, 0) && op_make(ctx, &o, &in, &out);
    for (int i = 0; i < 5 && ok; ++i)
        run_checked(&o, &in, &out, "replay: the same tensors again, a new input each time");
    if (!ok) {
        op_free(&o);
        tensor_free(&in);
        tensor_free(&out);
        tensor_free(&other);
        return;
    }
    CHECK(o.pw->replay.recordings == 1, "5 runs on one pair recorded %u times (want 1)", o.pw->replay.recordings);
    run_checked(&o, &in, &other, "replay: another output");
    run_checked(&o, &in, &other, "replay: another output again");
    CHECK(o.pw->replay.recordings == 2, "a second pair: %u recordings (want 2)", o.pw->replay.recordings);
    run_checked(&o, &in, &out, "replay: back to the first pair");
    CHECK(o.pw->replay.recordings == 3, "back to the first pair: %u recordings (want 3)", o.pw->replay.recordings);
    /* A tensor destroyed and another made, perhaps at the same address: a new id, a new recording. */
    const q8conv_tensor *before = out.t;
    tensor_free(&out);
    if (tensor_make(ctx, &out, dout, NULL, 0)) {
        run_checked(&o, &in, &out, "replay: a new output tensor");
        CHECK(o.pw->replay.recordings == 4, "a new tensor%s: %u recordings (want 4)",
              out.t == before ? " at the freed one's address" : "", o.pw->replay.recordings);
    }
    /* A destroyed op's command buffer is kept for the next one, not allocated anew. */
    const VkCommandBuffer kept = o.pw->replay.cmd;
    op_free(&o);
    op next = {0};
    if (op_make(ctx, &next, &in, &out)) {
        run_checked(&next, &in, &out, "replay: an op made after one was destroyed");
        CHECK(next.pw->replay.cmd == kept, "the next op's run allocated a command buffer instead of reusing one");
    }
    op_free(&next);
    tensor_free(&in);
    tensor_free(&out);
    tensor_free(&other);
}

/* ---- main ---- */

typedef struct suite {
    const char *name;
    void (*run)(q8conv_context *ctx);
} suite;

static q8conv_context *misuse_other;
static void suite_misuse_both(q8conv_context *ctx) { suite_misuse(ctx, misuse_other); }

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const suite suites[] = {
        {"chain", suite_chain},     {"hazards", suite_hazards}, {"random", suite_random},
        {"reuse", suite_reuse},     {"misuse", suite_misuse_both}, {"threads", suite_threads},
        {"replay", suite_replay},
    };
    const suite *chosen = NULL;
    for (size_t i = 0; argc == 2 && i < sizeof suites / sizeof suites[0]; ++i)
        if (!strcmp(argv[1], suites[i].name))
            chosen = &suites[i];
    if (!chosen) {
        fprintf(stderr, "usage: q8conv-test-sequence chain|hazards|random|reuse|misuse|threads|replay\n");
        return 2;
    }
    rng = test_rng_seeded(test_seed());
    static const q8conv_wait_mode modes[] = {Q8CONV_WAIT_BLOCK, Q8CONV_WAIT_POLL};
    for (int m = 0; m < 2; ++m) {
        q8conv_context *ctx = test_context_with((q8conv_context_desc){.wait_mode = modes[m]});
        if (!ctx)
            break;
        CHECK_OK(q8conv_context_get_info(ctx, &info));
        if (chosen->run == suite_misuse_both)
            misuse_other = test_context(0);
        const int failures_before = test_failures;
        chosen->run(ctx);
        test_check_validation(ctx);
        if (misuse_other)
            test_check_validation(misuse_other);
        printf("%s, %s wait: %s\n", chosen->name, modes[m] == Q8CONV_WAIT_POLL ? "polling" : "blocking",
               test_failures == failures_before ? "passed" : "FAILED");
        q8conv_context_destroy(misuse_other);
        misuse_other = NULL;
        q8conv_context_destroy(ctx);
    }
    char name[64];
    snprintf(name, sizeof name, "sequence_%s", chosen->name);
    return test_finish(name);
}
