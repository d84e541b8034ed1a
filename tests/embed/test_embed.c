/* libq8conv as a guest in a host's Vulkan runtime: imported devices, wrapped buffers, recordings
 * into the host's command buffers, the pipeline cache, the device info. Every GPU result is
 * compared byte for byte with q8conv_pw_reference. The host links the Vulkan loader and calls it
 * directly; its device and Vulkan helpers are tests/common's test_device, given that loader's
 * vkGetInstanceProcAddr.
 *
 * usage: q8conv-test-embed SUITE   (one ctest per suite; see main) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "common.h"
#include "test_device.h"

/* ---- helpers ---- */

/* The host's device, made through the Vulkan loader this program links, as a runtime would; the
 * dot product enabled as `dot` says. */
static bool host_create(test_device *h, test_dot_mode dot)
{
    return test_device_create(h, &(test_device_options){.gipa = vkGetInstanceProcAddr, .dot = dot}) == TEST_DEVICE_OK;
}

/* A context on the host's device, or NULL (reported). */
static q8conv_context *host_context(const test_device *h)
{
    q8conv_external_device ext = test_device_external(h);
    q8conv_context *ctx = NULL;
    q8conv_status st = q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "host: q8conv_context_create(external): %s\n", q8conv_status_string(st));
        return NULL;
    }
    return ctx;
}

/* One input/output pair of an op, with the input's host data and the reference output. */
typedef struct pair {
    q8conv_tensor *in, *out;
    uint32_t n, h, w;
    int8_t *x, *want;
    size_t out_count;
} pair;

/* Fills `p` for op `t` with fresh random input, writes it, poisons the output, and computes the
 * reference. The tensors must already be set. */
static void pair_prepare(pair *p, const test_op *t)
{
    const size_t in_count = (size_t)p->n * t->desc.in_channels * p->h * p->w;
    p->out_count = (size_t)p->n * t->desc.out_channels * p->h * p->w;
    free(p->x);
    free(p->want);
    p->x = malloc(in_count);
    p->want = malloc(p->out_count);
    test_fill_i8(p->x, in_count);
    CHECK_OK(q8conv_pw_reference(&t->desc, p->n, p->h, p->w, p->x, p->want));
    CHECK_OK(q8conv_tensor_write(p->in, p->x, Q8CONV_HOST_NCHW));
    q8conv_tensor_desc od;
    CHECK_OK(q8conv_tensor_get_desc(p->out, &od));
    const size_t raw = (size_t)q8conv_tensor_size_bytes(&od);
    void *poison = malloc(raw);
    memset(poison, 0x5a, raw);
    CHECK_OK(q8conv_tensor_write_raw(p->out, poison, raw));
    free(poison);
}

/* Library-owned tensors of the op's shapes. */
static void pair_create(pair *p, q8conv_context *ctx, const test_op *t, uint32_t n, uint32_t h, uint32_t w)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    p->h = h;
    p->w = w;
    CHECK_OK(q8conv_tensor_create(ctx, &(q8conv_tensor_desc){n, t->desc.in_channels, h, w, t->desc.input_layout}, &p->in));
    CHECK_OK(q8conv_tensor_create(ctx, &(q8conv_tensor_desc){n, t->desc.out_channels, h, w, t->desc.output_layout},
                                  &p->out));
}

static void pair_free(pair *p)
{
    q8conv_tensor_destroy(p->in);
    q8conv_tensor_destroy(p->out);
    free(p->x);
    free(p->want);
    memset(p, 0, sizeof *p);
}

static void pair_check(const pair *p, const char *what)
{
    if (!p->out || !p->want)
        return;
    int8_t *got = malloc(p->out_count);
    CHECK_OK(q8conv_tensor_read(p->out, got, Q8CONV_HOST_NCHW));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < p->out_count; ++i)
        if (got[i] != p->want[i] && bad++ == 0)
            first = i;
    CHECK(bad == 0, "%s [%ux%ux%u]: %zu of %zu bytes differ, first at %zu (got %d, want %d)", what, p->n, p->h, p->w, bad,
          p->out_count, first, bad ? got[first] : 0, bad ? p->want[first] : 0);
    free(got);
}

/* Runs `t` once on a fresh pair of a small shape through q8conv_pw_run and checks it. */
static void run_once_exact(q8conv_context *ctx, const test_op *t, const char *what)
{
    q8conv_pw *op = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &t->desc, &op));
    if (!op)
        return;
    pair p;
    pair_create(&p, ctx, t, 1, test_range(1, 4), test_range(1, 9));
    if (p.in && p.out) {
        pair_prepare(&p, t);
        CHECK_OK(q8conv_pw_run(op, p.in, p.out));
        pair_check(&p, what);
    }
    pair_free(&p);
    q8conv_pw_destroy(op);
}

/* The host's device, a context on it and a random op: what the recording suites start from. The
 * op and the context are NULL where their creation failed (reported); false when even the device
 * could not be made. */
static bool host_op_create(test_device *h, q8conv_context **ctx, test_op *t, q8conv_pw **op)
{
    *ctx = NULL;
    *op = NULL;
    if (!host_create(h, TEST_DOT_KHR_STRUCT)) {
        test_failures++;
        return false;
    }
    *ctx = host_context(h);
    test_op_random(t, test_process_rng(),
                   &(test_op_params){.ic = test_range(1, 40), .oc = test_range(1, 40),
                                     .bias = (q8conv_bias_mode)test_range(0, 2),
                                     .activation = (q8conv_activation)test_range(0, 2),
                                     .input_layout = (q8conv_layout)test_range(0, 1),
                                     .output_layout = (q8conv_layout)test_range(0, 1)});
    if (*ctx)
        CHECK_OK(q8conv_pw_create(*ctx, &t->desc, op));
    return true;
}

/* ---- suites ---- */

/* The same op recorded five times, with five different tensor pairs (library-owned and wrapped,
 * different N, H, W), three times into one command buffer and twice into a second, all before any
 * of them executes; then both are submitted together. The first command buffer is submitted once
 * more after new inputs are written: a recording stays valid until the op or a tensor goes. */
static void suite_record_repeat(void)
{
    test_device h;
    q8conv_context *ctx;
    test_op t;
    q8conv_pw *op;
    if (!host_op_create(&h, &ctx, &t, &op))
        return;
    enum { PAIRS = 5 };
    pair p[PAIRS];
    memset(p, 0, sizeof p);
    test_buffer arena = {0};
    VkCommandPool pool[2] = {VK_NULL_HANDLE, VK_NULL_HANDLE};
    VkCommandBuffer cmd[2] = {VK_NULL_HANDLE, VK_NULL_HANDLE};
    if (!op)
        goto done;

    for (int i = 0; i < 3; ++i)
        pair_create(&p[i], ctx, &t, test_range(1, 2), test_range(1, 6), test_range(1, 13));
    /* Pairs 3 and 4 live in one host buffer, each tensor at its own aligned offset. */
    VkDeviceSize align = h.props.limits.minStorageBufferOffsetAlignment < 16 ? 16 : h.props.limits.minStorageBufferOffsetAlignment;
    q8conv_tensor_desc d[4];
    VkDeviceSize off[4], end = align; /* start one alignment in: a non-zero offset */
    for (int i = 0; i < 2; ++i) {
        uint32_t n = test_range(1, 2), hh = test_range(1, 6), w = test_range(1, 13);
        p[3 + i].n = n;
        p[3 + i].h = hh;
        p[3 + i].w = w;
        d[2 * i] = (q8conv_tensor_desc){n, t.desc.in_channels, hh, w, t.desc.input_layout};
        d[2 * i + 1] = (q8conv_tensor_desc){n, t.desc.out_channels, hh, w, t.desc.output_layout};
    }
    for (int k = 0; k < 4; ++k) {
        off[k] = end;
        end = (off[k] + q8conv_tensor_size_bytes(&d[k]) + align - 1) / align * align;
    }
    if (!test_vk_buffer(&h.vk, end, TEST_MEMORY_HOST, &arena)) {
        test_failures++;
        goto done;
    }
    for (int i = 0; i < 2; ++i) {
        CHECK_OK(q8conv_tensor_wrap(ctx, &d[2 * i], arena.buffer, off[2 * i], &p[3 + i].in));
        CHECK_OK(q8conv_tensor_wrap_sized(ctx, &d[2 * i + 1], arena.buffer, off[2 * i + 1], arena.size, &p[3 + i].out));
    }
    for (int i = 0; i < PAIRS; ++i) {
        if (!p[i].in || !p[i].out)
            goto done;
        pair_prepare(&p[i], &t);
    }

    if (!test_vk_begin(&h.vk, &pool[0], &cmd[0]) || !test_vk_begin(&h.vk, &pool[1], &cmd[1])) {
        test_failures++;
        goto done;
    }
    for (int c = 0; c < 2; ++c)
        test_vk_barrier_before_record(&h.vk, cmd[c]);
    for (int i = 0; i < PAIRS; ++i)
        CHECK_OK(q8conv_pw_record(op, cmd[i < 3 ? 0 : 1], p[i].in, p[i].out));
    for (int c = 0; c < 2; ++c) {
        test_vk_barrier_after_record(&h.vk, cmd[c]);
        CHECK(vkEndCommandBuffer(cmd[c]) == VK_SUCCESS, "vkEndCommandBuffer");
    }
    CHECK(test_vk_submit_wait(&h.vk, cmd, 2), "submit of both command buffers");
    for (int i = 0; i < PAIRS; ++i)
        pair_check(&p[i], i < 3 ? "recording into command buffer 1" : "recording into command buffer 2");

    for (int i = 0; i < 3; ++i)
        pair_prepare(&p[i], &t);
    CHECK(test_vk_submit_wait(&h.vk, cmd, 1), "second submit of command buffer 1");
    for (int i = 0; i < 3; ++i)
        pair_check(&p[i], "command buffer 1 submitted again with new inputs");

done:
    for (int c = 0; c < 2; ++c)
        if (pool[c])
            vkDestroyCommandPool(h.vk.device, pool[c], NULL);
    for (int i = 0; i < PAIRS; ++i)
        pair_free(&p[i]);
    test_vk_buffer_free(&h.vk, &arena);
    q8conv_pw_destroy(op);
    q8conv_context_destroy(ctx);
    test_op_free(&t);
    test_device_destroy(&h);
}

/* q8conv_pw_record and q8conv_pw_run on one op from several threads at once, on the host's device
 * (the header: an op may be run or recorded from several threads, into different command buffers).
 * The op is fresh, so its pipelines are created while the threads race. Each thread records the op
 * for tensors of random shapes into its own command buffer, from its own pool, and between the
 * recordings runs it on other tensors with q8conv_pw_run. Shapes, data and references are made on
 * the main thread beforehand (the test RNG and CHECK are not thread-safe); after the join it submits
 * the recordings and compares every output with the reference. CI runs this suite under
 * ThreadSanitizer as well (label `threads`). */
enum { RECORD_THREADS = 4, RECORD_ROUNDS = 3 };

typedef struct record_thread {
    const test_vk *vk;
    q8conv_pw *op;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    pair recorded[RECORD_ROUNDS], ran[RECORD_ROUNDS];
    pthread_barrier_t *start;
    const char *failed; /* the first call that failed, and its status */
    q8conv_status status;
} record_thread;

static void *record_thread_main(void *arg)
{
    record_thread *r = arg;
    pthread_barrier_wait(r->start);
    test_vk_barrier_before_record(r->vk, r->cmd);
    for (int i = 0; i < RECORD_ROUNDS && !r->failed; ++i) {
        r->status = q8conv_pw_record(r->op, r->cmd, r->recorded[i].in, r->recorded[i].out);
        if (r->status != Q8CONV_SUCCESS) {
            r->failed = "q8conv_pw_record";
            break;
        }
        r->status = q8conv_pw_run(r->op, r->ran[i].in, r->ran[i].out);
        if (r->status != Q8CONV_SUCCESS)
            r->failed = "q8conv_pw_run";
    }
    test_vk_barrier_after_record(r->vk, r->cmd);
    if (vkEndCommandBuffer(r->cmd) != VK_SUCCESS && !r->failed)
        r->failed = "vkEndCommandBuffer";
    return NULL;
}

static void suite_record_threads(void)
{
    test_device h;
    q8conv_context *ctx;
    test_op t;
    q8conv_pw *op;
    if (!host_op_create(&h, &ctx, &t, &op))
        return;
    record_thread r[RECORD_THREADS];
    memset(r, 0, sizeof r);
    pthread_barrier_t start;
    pthread_t threads[RECORD_THREADS];
    const bool barrier = op != NULL && pthread_barrier_init(&start, NULL, RECORD_THREADS) == 0;
    bool ready = barrier;
    for (int k = 0; ready && k < RECORD_THREADS; ++k) {
        r[k].vk = &h.vk;
        r[k].op = op;
        r[k].start = &start;
        ready = test_vk_begin(&h.vk, &r[k].pool, &r[k].cmd);
        for (int i = 0; ready && i < RECORD_ROUNDS; ++i) {
            pair *both[2] = {&r[k].recorded[i], &r[k].ran[i]};
            for (int j = 0; j < 2; ++j) {
                pair_create(both[j], ctx, &t, test_range(1, 2), test_range(1, 6), test_range(1, 13));
                ready = ready && both[j]->in && both[j]->out;
                if (ready)
                    pair_prepare(both[j], &t);
            }
        }
    }
    CHECK(ready, "setting up %d threads' pools, command buffers and tensors", RECORD_THREADS);
    int started = 0;
    for (int k = 0; ready && k < RECORD_THREADS; ++k, ++started)
        if (pthread_create(&threads[k], NULL, record_thread_main, &r[k]) != 0) {
            CHECK(0, "pthread_create"); /* the threads started wait at the barrier for good */
            return;
        }
    for (int k = 0; k < started; ++k)
        pthread_join(threads[k], NULL);
    if (ready) {
        VkCommandBuffer cmds[RECORD_THREADS];
        bool ok = true;
        for (int k = 0; k < RECORD_THREADS; ++k) {
            CHECK(!r[k].failed, "thread %d: %s returned %s", k, r[k].failed, q8conv_status_string(r[k].status));
            ok = ok && !r[k].failed;
            cmds[k] = r[k].cmd;
        }
        if (ok) {
            CHECK(test_vk_submit_wait(&h.vk, cmds, RECORD_THREADS), "submit of the threads' recordings");
            for (int k = 0; k < RECORD_THREADS; ++k)
                for (int i = 0; i < RECORD_ROUNDS; ++i) {
                    pair_check(&r[k].recorded[i], "recorded by one of several threads");
                    pair_check(&r[k].ran[i], "run by one of several threads");
                }
        }
    }
    if (barrier)
        pthread_barrier_destroy(&start);
    for (int k = 0; k < RECORD_THREADS; ++k) {
        if (r[k].pool)
            vkDestroyCommandPool(h.vk.device, r[k].pool, NULL);
        for (int i = 0; i < RECORD_ROUNDS; ++i) {
            pair_free(&r[k].recorded[i]);
            pair_free(&r[k].ran[i]);
        }
    }
    q8conv_pw_destroy(op);
    q8conv_context_destroy(ctx);
    test_op_free(&t);
    test_device_destroy(&h);
}

/* An allocator that counts, so the test sees every host allocation the library makes. */
typedef struct counting_allocator {
    atomic_long allocs, frees;
} counting_allocator;

static void *count_alloc(void *user, size_t size, size_t alignment)
{
    counting_allocator *c = user;
    atomic_fetch_add(&c->allocs, 1);
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    void *p = NULL;
    return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}

static void count_free(void *user, void *ptr)
{
    counting_allocator *c = user;
    if (ptr)
        atomic_fetch_add(&c->frees, 1);
    free(ptr);
}

/* The steady-state record path allocates nothing: after a warm-up recording of a shape (which may
 * create its pipeline), recording it again, with the same or other tensors of that shape, makes no
 * host allocation through the context's allocator. This suite records into a command buffer on
 * the context's OWN device, reached through q8conv_context_get_vulkan_handles. */
static void suite_record_no_alloc(void)
{
    counting_allocator counts;
    atomic_init(&counts.allocs, 0);
    atomic_init(&counts.frees, 0);
    const q8conv_allocator allocator = {.alloc = count_alloc, .free = count_free, .user_data = &counts};
    q8conv_context *ctx = NULL;
    CHECK_OK(q8conv_context_create(&(q8conv_context_desc){.allocator = &allocator}, &ctx));
    if (!ctx)
        return;
    CHECK(atomic_load(&counts.allocs) > 0, "the context's allocations should go through the allocator");
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = test_range(4, 64), .oc = test_range(4, 64), .bias = Q8CONV_BIAS_FLOAT,
                                     .activation = Q8CONV_ACTIVATION_RELU, .input_layout = Q8CONV_LAYOUT_4W4C,
                                     .output_layout = Q8CONV_LAYOUT_4W4C});
    q8conv_pw *op = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    pair a, b;
    const uint32_t n = 1, hh = test_range(1, 8), w = test_range(1, 16);
    pair_create(&a, ctx, &t, n, hh, w);
    pair_create(&b, ctx, &t, n, hh, w);

    /* A command buffer on the context's device, reached through q8conv_context_get_vulkan_handles. */
    test_vk vk;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    const bool have_vk = test_vk_load_context(&vk, ctx);
    CHECK(have_vk && test_vk_begin(&vk, &pool, &cmd), "a command buffer on the context's device");
    if (!op || !a.out || !b.out || !cmd) {
        test_failures++;
        goto done;
    }
    pair_prepare(&a, &t);
    pair_prepare(&b, &t);
    test_vk_barrier_before_record(&vk, cmd);
    CHECK_OK(q8conv_pw_record(op, cmd, a.in, a.out)); /* warm-up: may create the pipeline */
    const long before = atomic_load(&counts.allocs), freed_before = atomic_load(&counts.frees);
    for (int i = 0; i < 50; ++i) {
        /* The host's own barrier between recordings that write the same output. */
        test_vk_barrier_before_record(&vk, cmd);
        CHECK_OK(q8conv_pw_record(op, cmd, (i & 1) ? a.in : b.in, (i & 1) ? a.out : b.out));
    }
    CHECK(atomic_load(&counts.allocs) == before, "q8conv_pw_record allocated %ld times in 50 steady-state recordings",
          atomic_load(&counts.allocs) - before);
    CHECK(atomic_load(&counts.frees) == freed_before, "q8conv_pw_record freed %ld times",
          atomic_load(&counts.frees) - freed_before);
    test_vk_barrier_after_record(&vk, cmd);
    CHECK(vk.EndCommandBuffer(cmd) == VK_SUCCESS, "vkEndCommandBuffer");
    /* Submitted on the context's queue: no q8conv call is in flight meanwhile. */
    CHECK(test_vk_submit_wait(&vk, &cmd, 1), "submit on the context's queue");
    pair_check(&a, "recorded on the context's own device");
    pair_check(&b, "recorded on the context's own device");

done:
    if (pool)
        vk.DestroyCommandPool(vk.device, pool, NULL);
    pair_free(&a);
    pair_free(&b);
    q8conv_pw_destroy(op);
    q8conv_context_destroy(ctx);
    test_op_free(&t);
    CHECK(atomic_load(&counts.allocs) == atomic_load(&counts.frees), "%ld allocations but %ld frees after destroy",
          atomic_load(&counts.allocs), atomic_load(&counts.frees));
}

/* White box: libq8conv frames the driver's cache bytes (src/pipeline_cache.c: u32 magic, u32 format,
 * u64 payload bytes, u64 FNV-1a of the payload). Recomputing the checksum lets a damaged payload
 * get past the frame, so the device-identity check behind it is exercised too. */
static void refresh_cache_checksum(uint8_t *blob, size_t size)
{
    if (size < 24)
        return;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 24; i < size; ++i)
        h = (h ^ blob[i]) * 0x100000001b3ull;
    memcpy(blob + 16, &h, 8);
}

/* Serialize the cache after a run, start a new context from it and run exactly; a garbage, a
 * truncated and a foreign (wrong UUID) blob are ignored: the context is created and runs exactly. */
static void suite_pipeline_cache(void)
{
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = test_range(1, 32), .oc = test_range(1, 32), .bias = Q8CONV_BIAS_INT32,
                                     .activation = Q8CONV_ACTIVATION_RELU6, .input_layout = Q8CONV_LAYOUT_4W4C,
                                     .output_layout = Q8CONV_LAYOUT_4C1W});
    q8conv_context *ctx = test_context(0);
    if (!ctx) {
        test_op_free(&t);
        return;
    }
    run_once_exact(ctx, &t, "first context");
    size_t size = 0;
    CHECK_OK(q8conv_context_get_pipeline_cache(ctx, NULL, &size));
    CHECK(size > 0, "the pipeline cache is empty after a run");
    uint8_t *blob = malloc(size + 64);
    size_t small = size - 1;
    CHECK(q8conv_context_get_pipeline_cache(ctx, blob, &small) == Q8CONV_ERROR_INVALID_ARGUMENT && small == size,
          "a too-small buffer must be refused and told the size (%zu, want %zu)", small, size);
    size_t got = size + 64;
    CHECK_OK(q8conv_context_get_pipeline_cache(ctx, blob, &got));
    CHECK(got > 0 && got <= size, "wrote %zu bytes, announced %zu", got, size);
    CHECK(q8conv_context_get_pipeline_cache(NULL, blob, &got) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL context");
    CHECK(q8conv_context_get_pipeline_cache(ctx, blob, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL size");
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    q8conv_context_destroy(ctx);

    /* Where the device's pipelineCacheUUID sits in the blob (Vulkan's cache header carries it). */
    size_t uuid_at = SIZE_MAX;
    test_device h;
    if (host_create(&h, TEST_DOT_OFF)) {
        for (size_t i = 0; i + VK_UUID_SIZE <= got && uuid_at == SIZE_MAX; ++i)
            if (memcmp(blob + i, h.props.pipelineCacheUUID, VK_UUID_SIZE) == 0)
                uuid_at = i;
        test_device_destroy(&h);
    }
    CHECK(uuid_at != SIZE_MAX, "the device's pipelineCacheUUID is not in the blob");

    uint8_t *variant = malloc(got);
    const size_t ncases = 7;
    for (size_t c = 0; c < ncases; ++c) {
        memcpy(variant, blob, got);
        const char *what = "";
        size_t n = got;
        switch (c) {
        case 0: what = "the blob of the first context"; break;
        case 1: what = "garbage"; test_fill_i8((int8_t *)variant, got); break;
        case 2: what = "truncated to half"; n = got / 2; break;
        case 3: what = "truncated to 20 bytes"; n = got < 20 ? got : 20; break;
        case 4:
            what = "wrong pipelineCacheUUID";
            variant[uuid_at != SIZE_MAX ? uuid_at + 3 : got / 2] ^= 0x5a;
            break;
        case 5:
            what = "wrong pipelineCacheUUID, checksum recomputed";
            variant[uuid_at != SIZE_MAX ? uuid_at + 3 : got / 2] ^= 0x5a;
            refresh_cache_checksum(variant, got);
            break;
        case 6: what = "last byte flipped"; variant[got - 1] ^= 0x01; break;
        }
        q8conv_context *c2 = NULL;
        q8conv_status st = q8conv_context_create(
            &(q8conv_context_desc){.pipeline_cache_data = variant, .pipeline_cache_size = n}, &c2);
        CHECK(st == Q8CONV_SUCCESS, "context with %s: %s", what, q8conv_status_string(st));
        if (c2) {
            run_once_exact(c2, &t, what);
            size_t again = 0;
            CHECK_OK(q8conv_context_get_pipeline_cache(c2, NULL, &again));
        }
        q8conv_context_destroy(c2);
    }
    free(variant);
    free(blob);
    test_op_free(&t);
}

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

static void check_info_sane(const q8conv_context_info *info, bool external, const char *what)
{
    CHECK(info->device_name[0] != 0, "%s: empty device name", what);
    CHECK(memchr(info->device_name, 0, sizeof info->device_name) != NULL, "%s: device name not terminated", what);
    CHECK(memchr(info->driver_name, 0, sizeof info->driver_name) != NULL, "%s: driver name not terminated", what);
    CHECK(memchr(info->driver_info, 0, sizeof info->driver_info) != NULL, "%s: driver info not terminated", what);
    CHECK(info->api_version >= VK_API_VERSION_1_1, "%s: api_version %#x", what, info->api_version);
    CHECK(info->external_device == external, "%s: external_device %d", what, info->external_device);
    CHECK(!info->integer_dot_product_accelerated || info->integer_dot_product_supported,
          "%s: accelerated without supported", what);
    /* Vulkan's required minimums. */
    for (int i = 0; i < 3; ++i)
        CHECK(info->max_compute_workgroup_count[i] >= 65535, "%s: maxComputeWorkGroupCount[%d] = %u", what, i,
              info->max_compute_workgroup_count[i]);
    CHECK(info->max_compute_workgroup_invocations >= 128, "%s: maxComputeWorkGroupInvocations %u", what,
          info->max_compute_workgroup_invocations);
    CHECK(info->max_storage_buffer_range >= (1u << 27), "%s: maxStorageBufferRange %llu", what,
          (unsigned long long)info->max_storage_buffer_range);
    CHECK(is_pow2(info->min_storage_buffer_offset_alignment) && info->min_storage_buffer_offset_alignment <= 256,
          "%s: minStorageBufferOffsetAlignment %llu", what, (unsigned long long)info->min_storage_buffer_offset_alignment);
    CHECK(info->subgroup_size == 0 || is_pow2(info->subgroup_size), "%s: subgroup size %u", what, info->subgroup_size);
    CHECK(info->subgroup_size >= 1, "%s: subgroup size 0 on a Vulkan 1.1 device", what);
    CHECK(info->timestamp_period_ns >= 0.0f, "%s: timestamp period %g", what, (double)info->timestamp_period_ns);
}

/* q8conv_context_get_info on an own context, one with FORCE_FALLBACK and an imported one. */
static void suite_info(void)
{
    CHECK(q8conv_context_get_info(NULL, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULLs");
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = 8, .oc = 8, .bias = Q8CONV_BIAS_NONE, .activation = Q8CONV_ACTIVATION_NONE,
                                     .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4W4C});
    for (int forced = 0; forced < 2; ++forced) {
        q8conv_context *ctx = test_context(forced ? Q8CONV_CONTEXT_FORCE_FALLBACK : 0);
        if (!ctx)
            continue;
        q8conv_context_info info;
        CHECK(q8conv_context_get_info(ctx, NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL info");
        CHECK_OK(q8conv_context_get_info(ctx, &info));
        const char *what = forced ? "own context, FORCE_FALLBACK" : "own context";
        check_info_sane(&info, false, what);
        /* AUTO by the rule: FALLBACK where the dot product is supported but not accelerated (lavapipe). */
        const q8conv_kernel want = test_auto_kernel(&info, !forced && info.integer_dot_product_supported);
        CHECK(info.default_kernel == want, "%s: default kernel %s, want %s", what, q8conv_kernel_name(info.default_kernel),
              q8conv_kernel_name(want));
        q8conv_pw *op = NULL;
        CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
        CHECK(q8conv_pw_get_kernel(op) == want, "%s: AUTO resolved to %s", what, q8conv_kernel_name(q8conv_pw_get_kernel(op)));
        q8conv_pw_destroy(op);
        if (forced) {
            test_op d = t;
            d.desc.kernel = Q8CONV_KERNEL_DOT;
            CHECK(q8conv_pw_create(ctx, &d.desc, &op) == Q8CONV_ERROR_UNSUPPORTED, "FORCE_FALLBACK must refuse DOT");
            d.desc.kernel = Q8CONV_KERNEL_DOT_MIXED;
            op = NULL;
            CHECK(q8conv_pw_create(ctx, &d.desc, &op) == Q8CONV_ERROR_UNSUPPORTED && op == NULL,
                  "FORCE_FALLBACK must refuse DOT_MIXED");
        }
        printf("%s: %s (%s), Vulkan %u.%u, dot %s (signed %s, mixed %s), subgroup %u, kernel %s\n", what,
               info.device_name, info.driver_name, VK_API_VERSION_MAJOR(info.api_version),
               VK_API_VERSION_MINOR(info.api_version), info.integer_dot_product_supported ? "yes" : "no",
               info.dot_signed_accelerated ? "accelerated" : "emulated", info.dot_mixed_accelerated ? "accelerated" : "emulated",
               info.subgroup_size, q8conv_kernel_name(info.default_kernel));
        test_check_validation(ctx);
        q8conv_context_destroy(ctx);
    }

    test_device h;
    if (!host_create(&h, TEST_DOT_KHR_STRUCT)) {
        test_failures++;
    } else {
        q8conv_context *ctx = host_context(&h);
        q8conv_context_info info;
        if (ctx && q8conv_context_get_info(ctx, &info) == Q8CONV_SUCCESS) {
            check_info_sane(&info, true, "imported device");
            CHECK(strcmp(info.device_name, h.props.deviceName) == 0, "device name %s, host sees %s", info.device_name,
                  h.props.deviceName);
            CHECK(info.vendor_id == h.props.vendorID && info.device_id == h.props.deviceID, "vendor/device id");
            CHECK(info.min_storage_buffer_offset_alignment == h.props.limits.minStorageBufferOffsetAlignment, "alignment");
            CHECK(info.integer_dot_product_supported == h.dot_enabled, "dot supported %d, host enabled %d",
                  info.integer_dot_product_supported, h.dot_enabled);
            q8conv_vulkan_handles vh;
            CHECK_OK(q8conv_context_get_vulkan_handles(ctx, &vh));
            CHECK(vh.device == h.vk.device && vh.queue == h.vk.queue && vh.instance == h.vk.instance &&
                      vh.physical_device == h.vk.physical_device && vh.queue_family_index == h.vk.queue_family_index,
                  "get_vulkan_handles must return the imported handles");
        }
        q8conv_context_destroy(ctx);
        test_device_destroy(&h);
    }
    test_op_free(&t);
}

/* The kernel follows what the host enabled: without integer dot product in the feature chain (or
 * with no chain at all) the default is FALLBACK and DOT is refused; with it, by either struct,
 * DOT is the default. Every case runs exactly. */
static void suite_external_features(void)
{
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = test_range(1, 24), .oc = test_range(1, 24), .bias = Q8CONV_BIAS_FLOAT,
                                     .activation = Q8CONV_ACTIVATION_NONE, .input_layout = Q8CONV_LAYOUT_4C1W,
                                     .output_layout = Q8CONV_LAYOUT_4W4C});
    static const struct {
        test_dot_mode mode;
        bool pass_chain;
        uint32_t instance_version;
        const char *what;
    } cases[] = {{TEST_DOT_OFF, true, VK_API_VERSION_1_3, "dot not enabled"},
                 {TEST_DOT_OFF, false, VK_API_VERSION_1_3, "dot not enabled, no chain passed"},
                 {TEST_DOT_KHR_STRUCT, false, VK_API_VERSION_1_3, "dot enabled but the chain not passed"},
                 {TEST_DOT_KHR_STRUCT, true, VK_API_VERSION_1_3, "dot enabled (VkPhysicalDeviceShaderIntegerDotProductFeatures)"},
                 {TEST_DOT_VULKAN13, true, VK_API_VERSION_1_3, "dot enabled (VkPhysicalDeviceVulkan13Features)"},
                 /* A 1.1 instance cannot use the 1.3 core feature of a 1.3 device: what
                  * q8conv_device_requirements asks for must still be valid there. */
                 {TEST_DOT_KHR_STRUCT, true, VK_MAKE_API_VERSION(0, 1, 1, 0), "dot enabled, Vulkan 1.1 instance"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        test_device h;
        const test_device_options o = {.gipa = vkGetInstanceProcAddr, .dot = cases[c].mode,
                                       .max_api_version = cases[c].instance_version};
        if (test_device_create(&h, &o) != TEST_DEVICE_OK) {
            test_failures++;
            continue;
        }
        const bool dot = h.dot_enabled && cases[c].pass_chain;
        q8conv_external_device ext = test_device_external(&h);
        if (!cases[c].pass_chain)
            ext.enabled_features = NULL;
        q8conv_context *ctx = NULL;
        CHECK_OK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx));
        if (ctx) {
            q8conv_context_info info;
            CHECK_OK(q8conv_context_get_info(ctx, &info));
            const q8conv_kernel want = test_auto_kernel(&info, dot);
            CHECK(info.default_kernel == want, "%s: default kernel %s", cases[c].what, q8conv_kernel_name(info.default_kernel));
            CHECK(info.integer_dot_product_supported == dot, "%s: integer_dot_product_supported %d", cases[c].what,
                  info.integer_dot_product_supported);
            test_op d = t;
            d.desc.kernel = Q8CONV_KERNEL_DOT;
            q8conv_pw *op = NULL;
            q8conv_status st = q8conv_pw_create(ctx, &d.desc, &op);
            CHECK(st == (dot ? Q8CONV_SUCCESS : Q8CONV_ERROR_UNSUPPORTED), "%s: DOT op creation returned %s", cases[c].what,
                  q8conv_status_string(st));
            q8conv_pw_destroy(op);
            op = NULL;
            d.desc.kernel = Q8CONV_KERNEL_DOT_MIXED;
            st = q8conv_pw_create(ctx, &d.desc, &op);
            CHECK(st == (dot ? Q8CONV_SUCCESS : Q8CONV_ERROR_UNSUPPORTED) && (op != NULL) == dot,
                  "%s: DOT_MIXED op creation returned %s", cases[c].what, q8conv_status_string(st));
            q8conv_pw_destroy(op);
            run_once_exact(ctx, &t, cases[c].what);
            d.desc.kernel = Q8CONV_KERNEL_LEGACY;
            run_once_exact(ctx, &d, cases[c].what);
        }
        q8conv_context_destroy(ctx);
        test_device_destroy(&h);
    }

    /* Cooperative matrices on a caller's device: used exactly when the device has them and the
     * caller turned on what q8conv_device_requirements2 asks for and passed that chain. */
    for (int pass_chain = 0; pass_chain < 2; ++pass_chain) {
        test_device h;
        const test_device_options o = {.gipa = vkGetInstanceProcAddr, .dot = TEST_DOT_KHR_STRUCT,
                                       .cooperative_matrix = true};
        if (test_device_create(&h, &o) != TEST_DEVICE_OK) {
            test_failures++;
            continue;
        }
        const bool coopmat = h.coopmat_enabled && pass_chain;
        const char *what = pass_chain ? "cooperative matrices enabled" : "cooperative matrices enabled, no chain passed";
        q8conv_external_device ext = test_device_external(&h);
        if (!pass_chain)
            ext.enabled_features = NULL;
        q8conv_context *ctx = NULL;
        CHECK_OK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx));
        if (ctx) {
            q8conv_context_info info;
            CHECK_OK(q8conv_context_get_info(ctx, &info));
            CHECK(info.cooperative_matrix_used == coopmat && info.cooperative_matrix_supported == coopmat,
                  "%s: cooperative matrices supported %d, used %d", what, info.cooperative_matrix_supported,
                  info.cooperative_matrix_used);
            CHECK((info.default_kernel == Q8CONV_KERNEL_COOPMAT) == coopmat, "%s: default kernel %s", what,
                  q8conv_kernel_name(info.default_kernel));
            test_op d = t;
            d.desc.kernel = Q8CONV_KERNEL_COOPMAT;
            q8conv_pw *op = NULL;
            q8conv_status st = q8conv_pw_create(ctx, &d.desc, &op);
            CHECK(st == (coopmat ? Q8CONV_SUCCESS : Q8CONV_ERROR_UNSUPPORTED) && (op != NULL) == coopmat,
                  "%s: COOPMAT op creation returned %s", what, q8conv_status_string(st));
            q8conv_pw_destroy(op);
            if (coopmat)
                run_once_exact(ctx, &d, what);
            run_once_exact(ctx, &t, what);
        }
        if (!h.coopmat_enabled && pass_chain)
            printf("external_features: the device has no cooperative matrices; checked that none are used\n");
        q8conv_context_destroy(ctx);
        test_device_destroy(&h);
    }

    /* An incomplete import is refused, not dereferenced. */
    test_device h;
    if (host_create(&h, TEST_DOT_OFF)) {
        q8conv_external_device ext = test_device_external(&h);
        q8conv_context *ctx = NULL;
        ext.device = VK_NULL_HANDLE;
        CHECK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx) == Q8CONV_ERROR_INVALID_ARGUMENT,
              "import without a device");
        ext = test_device_external(&h);
        ext.get_instance_proc_addr = NULL;
        CHECK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx) == Q8CONV_ERROR_INVALID_ARGUMENT,
              "import without vkGetInstanceProcAddr");
        ext = test_device_external(&h);
        ext.queue_family_index = 1000;
        CHECK(q8conv_context_create(&(q8conv_context_desc){.external = &ext}, &ctx) == Q8CONV_ERROR_INVALID_ARGUMENT,
              "import with a bad queue family");
        test_device_destroy(&h);
    } else {
        test_failures++;
    }
    test_op_free(&t);
}

/* q8conv_context_destroy leaves imported handles alone: the host goes on using its device and
 * queue afterwards, and a second context can import them again. */
static void suite_handles_survive(void)
{
    test_device h;
    if (!host_create(&h, TEST_DOT_KHR_STRUCT)) {
        test_failures++;
        return;
    }
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = test_range(1, 24), .oc = test_range(1, 24), .bias = Q8CONV_BIAS_INT32,
                                     .activation = Q8CONV_ACTIVATION_RELU, .input_layout = Q8CONV_LAYOUT_4W4C,
                                     .output_layout = Q8CONV_LAYOUT_4W4C});
    for (int round = 0; round < 2; ++round) {
        q8conv_context *ctx = host_context(&h);
        if (!ctx) {
            test_failures++;
            break;
        }
        run_once_exact(ctx, &t, round ? "second import of the same device" : "first import");
        test_buffer b;
        CHECK(test_vk_buffer(&h.vk, 4096, TEST_MEMORY_HOST, &b), "a host buffer while the context lives");
        q8conv_tensor *wrapped = NULL;
        CHECK_OK(q8conv_tensor_wrap(ctx, &(q8conv_tensor_desc){1, 8, 2, 2, Q8CONV_LAYOUT_4W4C}, b.buffer, 0, &wrapped));
        q8conv_tensor_destroy(wrapped);
        q8conv_context_destroy(ctx);

        /* The wrapped buffer and its memory are still the host's. */
        memset(b.mapped, 1, 4096);
        test_vk_buffer_free(&h.vk, &b);
        CHECK(vkDeviceWaitIdle(h.vk.device) == VK_SUCCESS, "vkDeviceWaitIdle after q8conv_context_destroy");
        VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                  .size = 256,
                                  .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
        VkBuffer buf = VK_NULL_HANDLE;
        CHECK(vkCreateBuffer(h.vk.device, &bci, NULL, &buf) == VK_SUCCESS, "vkCreateBuffer after q8conv_context_destroy");
        vkDestroyBuffer(h.vk.device, buf, NULL);
        VkCommandPool pool = VK_NULL_HANDLE;
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        CHECK(test_vk_begin(&h.vk, &pool, &cmd), "a command buffer after q8conv_context_destroy");
        if (cmd) {
            CHECK(vkEndCommandBuffer(cmd) == VK_SUCCESS, "vkEndCommandBuffer");
            CHECK(test_vk_submit_wait(&h.vk, &cmd, 1), "submit on the host's queue after q8conv_context_destroy");
        }
        if (pool)
            vkDestroyCommandPool(h.vk.device, pool, NULL);
        CHECK(vkQueueWaitIdle(h.vk.queue) == VK_SUCCESS, "vkQueueWaitIdle");
    }
    test_op_free(&t);
    test_device_destroy(&h);
}

/* q8conv_tensor_size_bytes and the checks of q8conv_tensor_wrap / _wrap_sized. */
static void suite_wrap(void)
{
    /* Sizes as SEMANTICS.md lays the tensors out. */
    const q8conv_tensor_desc a = {2, 5, 3, 7, Q8CONV_LAYOUT_4W4C}, b = {2, 5, 3, 7, Q8CONV_LAYOUT_4C1W};
    CHECK(q8conv_tensor_size_bytes(&a) == 2u * 3 * 2 * 2 * 16, "4W4C size %llu", (unsigned long long)q8conv_tensor_size_bytes(&a));
    CHECK(q8conv_tensor_size_bytes(&b) == 2u * 3 * 7 * 2 * 4, "4C1W size %llu", (unsigned long long)q8conv_tensor_size_bytes(&b));
    CHECK(q8conv_tensor_size_bytes(NULL) == 0, "NULL desc");
    CHECK(q8conv_tensor_size_bytes(&(q8conv_tensor_desc){1, 0, 1, 1, Q8CONV_LAYOUT_4W4C}) == 0, "zero channels");
    CHECK(q8conv_tensor_size_bytes(&(q8conv_tensor_desc){1, 1, 1, 1, (q8conv_layout)7}) == 0, "bad layout");

    test_device h;
    if (!host_create(&h, TEST_DOT_KHR_STRUCT)) {
        test_failures++;
        return;
    }
    q8conv_context *ctx = host_context(&h);
    test_op t;
    test_op_random(&t, test_process_rng(),
                   &(test_op_params){.ic = 5, .oc = 6, .bias = Q8CONV_BIAS_NONE, .activation = Q8CONV_ACTIVATION_NONE,
                                     .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4C1W});
    const q8conv_tensor_desc in = {2, 5, 3, 7, Q8CONV_LAYOUT_4W4C}, out = {2, 6, 3, 7, Q8CONV_LAYOUT_4C1W};
    const VkDeviceSize in_size = q8conv_tensor_size_bytes(&in), out_size = q8conv_tensor_size_bytes(&out);
    const VkDeviceSize align = h.props.limits.minStorageBufferOffsetAlignment < 16 ? 16 : h.props.limits.minStorageBufferOffsetAlignment;
    const VkDeviceSize out_off = (align + in_size + align - 1) / align * align;
    test_buffer buf = {0};
    q8conv_pw *op = NULL;
    if (!ctx || !test_vk_buffer(&h.vk, out_off + out_size, TEST_MEMORY_HOST, &buf)) {
        test_failures++;
        goto done;
    }
    q8conv_tensor *x = NULL, *y = NULL, *bad = NULL;
    const q8conv_status INVALID = Q8CONV_ERROR_INVALID_ARGUMENT;
    CHECK(q8conv_tensor_wrap(ctx, &in, buf.buffer, 1, &bad) == INVALID, "offset 1");
    CHECK(q8conv_tensor_wrap(ctx, &in, buf.buffer, 8, &bad) == INVALID, "offset 8 (not a multiple of 16)");
    if (align > 16)
        CHECK(q8conv_tensor_wrap(ctx, &in, buf.buffer, 16, &bad) == INVALID, "offset 16 below the device alignment");
    CHECK(q8conv_tensor_wrap(ctx, &in, buf.buffer, align + 4, &bad) == INVALID, "offset alignment + 4");
    CHECK(q8conv_tensor_wrap(ctx, &in, VK_NULL_HANDLE, 0, &bad) == INVALID, "NULL buffer");
    CHECK(q8conv_tensor_wrap(NULL, &in, buf.buffer, 0, &bad) == INVALID, "NULL context");
    CHECK(q8conv_tensor_wrap(ctx, NULL, buf.buffer, 0, &bad) == INVALID, "NULL desc");
    CHECK(q8conv_tensor_wrap(ctx, &in, buf.buffer, 0, NULL) == INVALID, "NULL out");
    CHECK(q8conv_tensor_wrap(ctx, &(q8conv_tensor_desc){0, 5, 3, 7, Q8CONV_LAYOUT_4W4C}, buf.buffer, 0, &bad) == INVALID,
          "zero batch");
    /* Past the end of the buffer (wrap bounds by the memory requirement, never below the size). */
    const VkDeviceSize past = (buf.size + 4096 + align - 1) / align * align;
    CHECK(q8conv_tensor_wrap(ctx, &in, buf.buffer, past, &bad) == INVALID, "offset past the buffer");
    CHECK(q8conv_tensor_wrap_sized(ctx, &out, buf.buffer, out_off, out_off + out_size - 1, &bad) == INVALID,
          "buffer one byte too small");
    CHECK(q8conv_tensor_wrap_sized(ctx, &out, buf.buffer, out_off + align, buf.size, &bad) == INVALID,
          "tensor running past the buffer end");
    CHECK(q8conv_tensor_wrap_sized(ctx, &in, buf.buffer, buf.size + align, buf.size, &bad) == INVALID,
          "offset beyond buffer_size");
    CHECK(q8conv_tensor_wrap_sized(ctx, &in, buf.buffer, 0, 0, &bad) == INVALID, "buffer_size 0");
    CHECK(bad == NULL, "*out set by a failing wrap");

    /* The exact fits work, and run. */
    CHECK_OK(q8conv_tensor_wrap(ctx, &in, buf.buffer, align, &x));
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &out, buf.buffer, out_off, out_off + out_size, &y));
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    if (x && y && op) {
        pair p = {.in = x, .out = y, .n = in.n, .h = in.h, .w = in.w};
        pair_prepare(&p, &t);
        CHECK_OK(q8conv_pw_run(op, x, y));
        pair_check(&p, "wrapped tensors in one buffer");
        free(p.x);
        free(p.want);
        /* An output overlapping the input in the same buffer is refused. */
        q8conv_tensor *overlap = NULL;
        CHECK_OK(q8conv_tensor_wrap(ctx, &(q8conv_tensor_desc){2, 6, 3, 7, Q8CONV_LAYOUT_4C1W}, buf.buffer, align, &overlap));
        if (overlap)
            CHECK(q8conv_pw_run(op, x, overlap) == INVALID, "output overlapping the input");
        q8conv_tensor_destroy(overlap);
    }
    q8conv_tensor_destroy(x);
    q8conv_tensor_destroy(y);
done:
    q8conv_pw_destroy(op);
    q8conv_context_destroy(ctx);
    /* The library never freed the buffer: the host can still use it. */
    if (buf.mapped)
        memset(buf.mapped, 0, (size_t)buf.size);
    test_vk_buffer_free(&h.vk, &buf);
    test_op_free(&t);
    test_device_destroy(&h);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } suites[] = {{"record_repeat", suite_record_repeat},       {"record_no_alloc", suite_record_no_alloc},
                  {"pipeline_cache", suite_pipeline_cache},     {"info", suite_info},
                  {"external_features", suite_external_features}, {"handles_survive", suite_handles_survive},
                  {"wrap", suite_wrap},                         {"record_threads", suite_record_threads}};
    const char *name = argc > 1 ? argv[1] : "";
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; ++i) {
        if (strcmp(name, suites[i].name) == 0) {
            printf("%s: seed %llu\n", name, (unsigned long long)test_seed());
            suites[i].run();
            return test_finish(name);
        }
    }
    fprintf(stderr, "usage: q8conv-test-embed SUITE\nsuites:");
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; ++i)
        fprintf(stderr, " %s", suites[i].name);
    fprintf(stderr, "\n");
    return 2;
}
