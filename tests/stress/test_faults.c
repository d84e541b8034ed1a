/* Faults: host allocation failure at every allocation point, device-memory exhaustion, and a
 * lost device.
 *
 * Host memory: a counting allocator (q8conv_context_desc.allocator) fails the k-th allocation of an
 * operation, for k = 1, 2, ... until the operation no longer reaches k. Each failure must be a
 * clean Q8CONV_ERROR_OUT_OF_HOST_MEMORY with nothing leaked and nothing visible changed, and the
 * next attempt must succeed.
 *
 * Device: the context runs on a device the test creates, with a get_instance_proc_addr that
 * interposes vkAllocateMemory (fails on demand), vkQueueSubmit, vkWaitForFences and
 * vkGetFenceStatus (report VK_ERROR_DEVICE_LOST on demand; the last two are counted, which shows
 * how each wait mode waits), and counts live buffers and memory objects. */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objects.h"
#include "common.h"
#include "test_device.h"

static test_rng rng;

/* ==== host allocation failures ==== */

typedef struct counting_allocator {
    long calls;   /* allocations asked for since the last arm() */
    long fail_at; /* that allocation (1-based) returns NULL; 0: none does */
    long live;    /* allocated and not yet freed */
    bool bad_request; /* an alignment that is not a power of two <= 64 */
} counting_allocator;

static void *counting_alloc(void *user, size_t size, size_t alignment)
{
    counting_allocator *a = user;
    a->calls++;
    if (alignment == 0 || (alignment & (alignment - 1)) || alignment > 64)
        a->bad_request = true;
    if (a->fail_at && a->calls == a->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, size) != 0)
        return NULL;
    a->live++;
    return p;
}

static void counting_free(void *user, void *p)
{
    counting_allocator *a = user;
    if (!p)
        return;
    a->live--;
    free(p);
}

static void arm(counting_allocator *a, long k)
{
    a->calls = 0;
    a->fail_at = k;
}

static void print_message(void *user, q8conv_message_severity severity, const char *message)
{
    (void)user;
    fprintf(stderr, "[validation %s] %s\n", severity == Q8CONV_MESSAGE_ERROR ? "error" : "warning", message);
}

/* The interposed device of the second half, declared here for the case that needs both. */
typedef struct device_env device_env;
static device_env *device_env_new(const q8conv_allocator *hooks, bool strict_pools);
static void device_env_delete(device_env *d);
static q8conv_context *device_env_context(const device_env *d);

/* What one fault case works on. Everything is rebuilt for each k, so an allocation that only the
 * first attempt makes (the first pipeline, the first descriptor pool) is reached for every k. */
typedef struct fault_env {
    counting_allocator alloc;
    q8conv_allocator hooks;
    q8conv_context *ctx;
    test_op desc;
    q8conv_pw *op;
    q8conv_tensor *in, *out;
    q8conv_tensor_desc in_desc, out_desc;
    q8conv_tensor *fill[256];
    uint32_t fill_count;
    int8_t *host;
    size_t host_size;
    uint8_t *raw;
    size_t raw_size;
    test_vk vk;
    test_buffer buf;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    device_env *device; /* the context runs on the interposed device (NULL: its own) */
    q8conv_sequence *seq;
    /* what a successful attempt made */
    q8conv_context *made_ctx;
    q8conv_pw *made_op;
    q8conv_tensor *made_tensor;
    q8conv_sequence *made_seq;
} fault_env;

#define SENTINEL_CTX ((q8conv_context *)(uintptr_t)0x5E47)
#define SENTINEL_OP ((q8conv_pw *)(uintptr_t)0x5E47)
#define SENTINEL_TENSOR ((q8conv_tensor *)(uintptr_t)0x5E47)
#define SENTINEL_SEQ ((q8conv_sequence *)(uintptr_t)0x5E47)

static q8conv_context_desc context_desc(fault_env *e)
{
    return (q8conv_context_desc){.allocator = &e->hooks, .message_callback = print_message};
}

static bool make_context(fault_env *e)
{
    q8conv_context_desc d = context_desc(e);
    return q8conv_context_create(&d, &e->ctx) == Q8CONV_SUCCESS;
}

static bool make_op(fault_env *e)
{
    test_op_params p = {.ic = 21, .oc = 10, .bias = Q8CONV_BIAS_INT32, .activation = Q8CONV_ACTIVATION_RELU,
                        .input_layout = Q8CONV_LAYOUT_4C1W, .output_layout = Q8CONV_LAYOUT_4W4C};
    test_op_random(&e->desc, &rng, &p);
    return make_context(e) && q8conv_pw_create(e->ctx, &e->desc.desc, &e->op) == Q8CONV_SUCCESS;
}

/* A context with an op, an input holding random data and a poisoned output. */
static bool make_run_setup(fault_env *e)
{
    if (!make_op(e))
        return false;
    e->in_desc = (q8conv_tensor_desc){.n = 2, .c = 21, .h = 3, .w = 7, .layout = Q8CONV_LAYOUT_4C1W};
    e->out_desc = (q8conv_tensor_desc){.n = 2, .c = 10, .h = 3, .w = 7, .layout = Q8CONV_LAYOUT_4W4C};
    e->host_size = 2 * 21 * 3 * 7;
    e->host = malloc(e->host_size);
    test_rng_fill(&rng, e->host, e->host_size);
    e->raw_size = (size_t)q8conv_tensor_size_bytes(&e->out_desc);
    e->raw = malloc(e->raw_size);
    memset(e->raw, TEST_POISON, e->raw_size);
    return q8conv_tensor_create(e->ctx, &e->in_desc, &e->in) == Q8CONV_SUCCESS &&
           q8conv_tensor_create(e->ctx, &e->out_desc, &e->out) == Q8CONV_SUCCESS &&
           q8conv_tensor_write(e->in, e->host, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS &&
           q8conv_tensor_write_raw(e->out, e->raw, e->raw_size) == Q8CONV_SUCCESS;
}

static bool output_still_poisoned(fault_env *e, char *err, size_t n)
{
    uint8_t *now = malloc(e->raw_size);
    bool same = q8conv_tensor_read_raw(e->out, now, e->raw_size) == Q8CONV_SUCCESS &&
                memcmp(now, e->raw, e->raw_size) == 0;
    free(now);
    if (!same)
        snprintf(err, n, "the output tensor changed although the call failed");
    return same;
}

static bool output_exact(fault_env *e, char *err, size_t n)
{
    const size_t out_n = 2 * 10 * 3 * 7;
    int8_t *ref = malloc(out_n), *got = malloc(out_n);
    bool ok = q8conv_pw_reference(&e->desc.desc, 2, 3, 7, e->host, ref) == Q8CONV_SUCCESS &&
              q8conv_tensor_read(e->out, got, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS && memcmp(ref, got, out_n) == 0;
    free(ref);
    free(got);
    if (!ok)
        snprintf(err, n, "the output differs from the reference");
    return ok;
}

/* ---- the operations under test ---- */

static bool setup_nothing(fault_env *e) { (void)e; return true; }

static q8conv_status attempt_context(fault_env *e)
{
    q8conv_context_desc d = context_desc(e);
    e->made_ctx = SENTINEL_CTX;
    q8conv_status st = q8conv_context_create(&d, &e->made_ctx);
    if (st != Q8CONV_SUCCESS && e->made_ctx != SENTINEL_CTX) {
        fprintf(stderr, "context_create failed but wrote *out\n");
        test_failures++;
    }
    return st;
}

static q8conv_status attempt_pw_create(fault_env *e)
{
    e->made_op = SENTINEL_OP;
    q8conv_status st = q8conv_pw_create(e->ctx, &e->desc.desc, &e->made_op);
    CHECK(st == Q8CONV_SUCCESS || e->made_op == SENTINEL_OP, "pw_create failed but wrote *out");
    return st;
}

static bool setup_pw_create(fault_env *e)
{
    test_op_params p = {.ic = 33, .oc = 17, .bias = Q8CONV_BIAS_FLOAT, .input_layout = Q8CONV_LAYOUT_4W4C,
                        .output_layout = Q8CONV_LAYOUT_4C1W};
    test_op_random(&e->desc, &rng, &p);
    return make_context(e);
}

static q8conv_status attempt_tensor_create(fault_env *e)
{
    e->made_tensor = SENTINEL_TENSOR;
    q8conv_tensor_desc d = {.n = 1, .c = 19, .h = 5, .w = 6, .layout = Q8CONV_LAYOUT_4W4C};
    q8conv_status st = q8conv_tensor_create(e->ctx, &d, &e->made_tensor);
    CHECK(st == Q8CONV_SUCCESS || e->made_tensor == SENTINEL_TENSOR, "tensor_create failed but wrote *out");
    return st;
}

static bool setup_wrap(fault_env *e)
{
    return make_context(e) && test_vk_load_context(&e->vk, e->ctx) &&
           test_vk_buffer(&e->vk, 4096, TEST_MEMORY_DEVICE, &e->buf);
}

static q8conv_status attempt_wrap(fault_env *e)
{
    e->made_tensor = SENTINEL_TENSOR;
    q8conv_tensor_desc d = {.n = 1, .c = 8, .h = 4, .w = 4, .layout = Q8CONV_LAYOUT_4C1W};
    q8conv_status st = q8conv_tensor_wrap_sized(e->ctx, &d, e->buf.buffer, 0, 4096, &e->made_tensor);
    CHECK(st == Q8CONV_SUCCESS || e->made_tensor == SENTINEL_TENSOR, "tensor_wrap failed but wrote *out");
    return st;
}

/* 256 tensors fill the context's first four descriptor pools (64 sets each), so the next tensor
 * needs a fifth pool and a larger array to hold the pools. lavapipe never refuses a set beyond a
 * pool's maxSets (Vulkan allows either), so the context runs on the interposed device that
 * refuses them as other drivers do. */
static bool setup_pool_growth(fault_env *e)
{
    e->device = device_env_new(&e->hooks, true);
    e->ctx = e->device ? device_env_context(e->device) : NULL;
    if (!e->ctx)
        return false;
    q8conv_tensor_desc d = {.n = 1, .c = 4, .h = 1, .w = 4};
    for (e->fill_count = 0; e->fill_count < 256; ++e->fill_count)
        if (q8conv_tensor_create(e->ctx, &d, &e->fill[e->fill_count]) != Q8CONV_SUCCESS)
            return false;
    return true;
}

static q8conv_status attempt_write(fault_env *e)
{
    return q8conv_tensor_write(e->out, e->host, Q8CONV_HOST_NCHW);
}

static bool setup_write(fault_env *e)
{
    /* The output tensor (poisoned) is what gets written; host data of its shape. */
    if (!make_run_setup(e))
        return false;
    free(e->host);
    e->host_size = 2 * 10 * 3 * 7;
    e->host = malloc(e->host_size);
    test_rng_fill(&rng, e->host, e->host_size);
    return true;
}

static bool written_exact(fault_env *e, char *err, size_t n)
{
    int8_t *got = malloc(e->host_size);
    bool ok = q8conv_tensor_read(e->out, got, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS &&
              memcmp(got, e->host, e->host_size) == 0;
    free(got);
    if (!ok)
        snprintf(err, n, "tensor_read does not return what tensor_write wrote");
    return ok;
}

static int8_t read_dst[2 * 21 * 3 * 7];

static q8conv_status attempt_read(fault_env *e)
{
    memset(read_dst, (int)TEST_POISON, sizeof read_dst);
    return q8conv_tensor_read(e->in, read_dst, Q8CONV_HOST_NCHW);
}

static bool read_dst_untouched(fault_env *e, char *err, size_t n)
{
    (void)e;
    for (size_t i = 0; i < sizeof read_dst; ++i)
        if ((uint8_t)read_dst[i] != TEST_POISON) {
            snprintf(err, n, "tensor_read failed but wrote the destination");
            return false;
        }
    return true;
}

static bool read_exact(fault_env *e, char *err, size_t n)
{
    if (memcmp(read_dst, e->host, sizeof read_dst) != 0) {
        snprintf(err, n, "tensor_read does not return what tensor_write wrote");
        return false;
    }
    return true;
}

static q8conv_status attempt_run(fault_env *e)
{
    return q8conv_pw_run(e->op, e->in, e->out);
}

static bool setup_record(fault_env *e)
{
    return make_run_setup(e) && test_vk_load_context(&e->vk, e->ctx);
}

/* Each attempt records into a fresh command buffer: after a failure the header asks for a reset,
 * since part of the recording may be in it. */
static q8conv_status attempt_record(fault_env *e)
{
    if (e->pool)
        e->vk.DestroyCommandPool(e->vk.device, e->pool, NULL);
    e->pool = VK_NULL_HANDLE;
    if (!test_vk_begin(&e->vk, &e->pool, &e->cmd))
        return Q8CONV_ERROR_VULKAN;
    return q8conv_pw_record(e->op, e->cmd, e->in, e->out);
}

static bool recording_exact(fault_env *e, char *err, size_t n)
{
    if (e->vk.EndCommandBuffer(e->cmd) != VK_SUCCESS || !test_vk_submit_wait(&e->vk, &e->cmd, 1)) {
        snprintf(err, n, "submit of the recording failed");
        return false;
    }
    return output_exact(e, err, n);
}

static q8conv_status attempt_sequence_create(fault_env *e)
{
    e->made_seq = SENTINEL_SEQ;
    q8conv_status st = q8conv_sequence_create(e->ctx, &e->made_seq);
    CHECK(st == Q8CONV_SUCCESS || e->made_seq == SENTINEL_SEQ, "sequence_create failed but wrote *out");
    return st;
}

static uint32_t sequence_steps(const q8conv_sequence *seq)
{
    q8conv_sequence_stats s;
    q8conv_sequence_get_stats(seq, &s);
    return s.steps;
}

/* A sequence holding a full array of steps (16, in -> out each), so that the next add grows it. */
static bool setup_sequence_full(fault_env *e)
{
    if (!make_run_setup(e) || q8conv_sequence_create(e->ctx, &e->seq) != Q8CONV_SUCCESS)
        return false;
    for (int i = 0; i < 16; ++i)
        if (q8conv_sequence_add(e->seq, e->op, e->in, e->out) != Q8CONV_SUCCESS)
            return false;
    return true;
}

static q8conv_status attempt_sequence_add(fault_env *e)
{
    return q8conv_sequence_add(e->seq, e->op, e->in, e->out);
}

static bool sequence_unchanged(fault_env *e, char *err, size_t n)
{
    if (sequence_steps(e->seq) != 16) {
        snprintf(err, n, "the failed add changed the sequence: %u steps", sequence_steps(e->seq));
        return false;
    }
    return true;
}

/* Every step writes the output from the same input, so after a run it is one step's result. */
static bool sequence_grown_exact(fault_env *e, char *err, size_t n)
{
    if (sequence_steps(e->seq) != 17) {
        snprintf(err, n, "%u steps after the add (want 17)", sequence_steps(e->seq));
        return false;
    }
    if (q8conv_sequence_run(e->seq) != Q8CONV_SUCCESS) {
        snprintf(err, n, "the grown sequence did not run");
        return false;
    }
    return output_exact(e, err, n);
}

static bool setup_sequence_run(fault_env *e)
{
    return make_run_setup(e) && q8conv_sequence_create(e->ctx, &e->seq) == Q8CONV_SUCCESS &&
           q8conv_sequence_add(e->seq, e->op, e->in, e->out) == Q8CONV_SUCCESS;
}

static q8conv_status attempt_sequence_run(fault_env *e)
{
    return q8conv_sequence_run(e->seq);
}

static void undo_made(fault_env *e)
{
    if (e->made_seq != SENTINEL_SEQ)
        q8conv_sequence_destroy(e->made_seq);
    e->made_seq = SENTINEL_SEQ;
    if (e->made_tensor != SENTINEL_TENSOR)
        q8conv_tensor_destroy(e->made_tensor);
    if (e->made_op != SENTINEL_OP)
        q8conv_pw_destroy(e->made_op);
    if (e->made_ctx != SENTINEL_CTX)
        q8conv_context_destroy(e->made_ctx);
    e->made_tensor = SENTINEL_TENSOR;
    e->made_op = SENTINEL_OP;
    e->made_ctx = SENTINEL_CTX;
}

static void teardown(fault_env *e)
{
    undo_made(e);
    q8conv_sequence_destroy(e->seq);
    e->seq = NULL;
    for (uint32_t i = 0; i < e->fill_count; ++i)
        q8conv_tensor_destroy(e->fill[i]);
    e->fill_count = 0;
    q8conv_tensor_destroy(e->in);
    q8conv_tensor_destroy(e->out);
    q8conv_pw_destroy(e->op);
    test_vk_buffer_free(&e->vk, &e->buf);
    if (e->pool)
        e->vk.DestroyCommandPool(e->vk.device, e->pool, NULL);
    e->pool = VK_NULL_HANDLE;
    if (e->ctx)
        test_check_validation(e->ctx);
    if (e->device)
        device_env_delete(e->device); /* destroys the context too */
    else
        q8conv_context_destroy(e->ctx);
    e->device = NULL;
    e->ctx = NULL;
    e->op = NULL;
    e->in = e->out = NULL;
    test_op_free(&e->desc);
    free(e->host);
    free(e->raw);
    e->host = NULL;
    e->raw = NULL;
}

typedef struct fault_case {
    const char *name;
    bool (*setup)(fault_env *);
    q8conv_status (*attempt)(fault_env *);
    bool (*unchanged)(fault_env *, char *, size_t); /* after a failure; NULL: nothing to look at */
    bool (*result)(fault_env *, char *, size_t);    /* after a success; NULL: the status says it */
    long min_points; /* allocations the operation is known to make, so the path of interest was reached */
} fault_case;

static const fault_case host_cases[] = {
    {"context_create", setup_nothing, attempt_context, NULL, NULL},
    {"pw_create", setup_pw_create, attempt_pw_create, NULL, NULL},
    {"tensor_create", make_context, attempt_tensor_create, NULL, NULL},
    /* the tensor, its window arrays (sets, pools), and the larger pool array */
    {"tensor_create (descriptor pool chain grows)", setup_pool_growth, attempt_tensor_create, NULL, NULL, 4},
    {"tensor_wrap_sized", setup_wrap, attempt_wrap, NULL, NULL},
    {"tensor_write", setup_write, attempt_write, output_still_poisoned, written_exact},
    {"tensor_read", make_run_setup, attempt_read, read_dst_untouched, read_exact},
    {"pw_run (first run: pipeline creation)", make_run_setup, attempt_run, output_still_poisoned, output_exact},
    {"pw_record (first recording: pipeline creation)", setup_record, attempt_record, NULL, recording_exact},
    {"sequence_create", make_context, attempt_sequence_create, NULL, NULL},
    {"sequence_add (the step array grows)", setup_sequence_full, attempt_sequence_add, sequence_unchanged,
     sequence_grown_exact},
    {"sequence_run (first run: recording, pipeline creation)", setup_sequence_run, attempt_sequence_run,
     output_still_poisoned, output_exact},
};

static void run_host_case(const fault_case *c)
{
    const int failures_before = test_failures;
    char err[256];
    long k = 1, points = 0;
    for (;; ++k) {
        fault_env e;
        memset(&e, 0, sizeof e);
        e.hooks = (q8conv_allocator){.alloc = counting_alloc, .free = counting_free, .user_data = &e.alloc};
        e.made_ctx = SENTINEL_CTX;
        e.made_op = SENTINEL_OP;
        e.made_tensor = SENTINEL_TENSOR;
        e.made_seq = SENTINEL_SEQ;
        if (!c->setup(&e)) {
            CHECK(0, "%s: setup failed", c->name);
            teardown(&e);
            break;
        }
        const long baseline = e.alloc.live;
        arm(&e.alloc, k);
        q8conv_status st = c->attempt(&e);
        const long reached = e.alloc.calls;
        arm(&e.alloc, 0);
        bool done = false;
        if (st == Q8CONV_SUCCESS) {
            /* Only a run that never reached the k-th allocation may succeed. */
            CHECK(reached < k, "%s: succeeded although allocation %ld of %ld failed", c->name, k, reached);
            points = reached;
            done = true;
        } else {
            CHECK(st == Q8CONV_ERROR_OUT_OF_HOST_MEMORY, "%s: allocation %ld failed: got %s", c->name, k,
                  q8conv_status_string(st));
            CHECK(e.alloc.live == baseline, "%s: allocation %ld failed: %ld allocation(s) leaked", c->name, k,
                  e.alloc.live - baseline);
            if (c->unchanged)
                CHECK(c->unchanged(&e, err, sizeof err), "%s: allocation %ld failed: %s", c->name, k, err);
            undo_made(&e);
            st = c->attempt(&e); /* the next attempt, with memory available again */
            CHECK(st == Q8CONV_SUCCESS, "%s: the attempt after failing allocation %ld: %s", c->name, k,
                  q8conv_status_string(st));
        }
        if (st == Q8CONV_SUCCESS && c->result)
            CHECK(c->result(&e, err, sizeof err), "%s (k = %ld): %s", c->name, k, err);
        CHECK(!e.alloc.bad_request, "%s: an allocation asked for a bad alignment", c->name);
        teardown(&e);
        CHECK(e.alloc.live == 0, "%s (k = %ld): %ld allocation(s) still live after every object was destroyed",
              c->name, k, e.alloc.live);
        if (done || k > 200)
            break;
    }
    /* Every one of these operations allocates: a loop that never failed tested nothing. */
    CHECK(points > 0 && points >= c->min_points, "%s: %ld allocation point(s) reached, expected at least %ld",
          c->name, points, c->min_points > 0 ? c->min_points : 1);
    printf("host: %-50s %ld allocation point(s), each failed once: %s\n", c->name, points,
           test_failures == failures_before ? "clean" : "FAILED");
}

/* ==== device faults through an interposed vkGetInstanceProcAddr ==== */

typedef struct pool_record {
    VkDescriptorPool pool;
    uint32_t max_sets, live;
} pool_record;

static struct {
    PFN_vkGetInstanceProcAddr real_gipa;
    PFN_vkGetDeviceProcAddr real_gdpa;
    PFN_vkAllocateMemory real_allocate;
    PFN_vkFreeMemory real_free;
    PFN_vkCreateBuffer real_create_buffer;
    PFN_vkDestroyBuffer real_destroy_buffer;
    PFN_vkQueueSubmit real_submit;
    PFN_vkWaitForFences real_wait;
    PFN_vkGetFenceStatus real_status;
    atomic_long allocate_calls; /* since the last device_arm */
    atomic_long allocate_fail_at; /* that call fails; -1: every call fails; 0: none */
    atomic_long live_memory, live_buffers;
    atomic_bool lose_on_submit, lose_on_wait, lose_on_status, lost;
    atomic_long wait_calls, status_calls;
    atomic_long calls_after_loss; /* submits, waits and allocations the library made after the loss */
    atomic_long submits;
    /* strict descriptor pools: a pool refuses sets beyond its maxSets (single-threaded use) */
    bool strict_pools;
    PFN_vkCreateDescriptorPool real_create_pool;
    PFN_vkDestroyDescriptorPool real_destroy_pool;
    PFN_vkAllocateDescriptorSets real_allocate_sets;
    PFN_vkFreeDescriptorSets real_free_sets;
    pool_record pools[64];
    uint32_t pool_count;
} fx;

static uint32_t pool_slot(VkDescriptorPool pool)
{
    for (uint32_t i = 0; i < fx.pool_count; ++i)
        if (fx.pools[i].pool == pool)
            return i;
    return UINT32_MAX;
}

static VkResult VKAPI_PTR fault_create_pool(VkDevice device, const VkDescriptorPoolCreateInfo *info,
                                            const VkAllocationCallbacks *cb, VkDescriptorPool *pool)
{
    if (fx.pool_count == sizeof fx.pools / sizeof fx.pools[0])
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    VkResult r = fx.real_create_pool(device, info, cb, pool);
    if (r == VK_SUCCESS)
        fx.pools[fx.pool_count++] = (pool_record){.pool = *pool, .max_sets = info->maxSets};
    return r;
}

static void VKAPI_PTR fault_destroy_pool(VkDevice device, VkDescriptorPool pool, const VkAllocationCallbacks *cb)
{
    uint32_t i = pool_slot(pool);
    if (i != UINT32_MAX)
        fx.pools[i] = fx.pools[--fx.pool_count];
    fx.real_destroy_pool(device, pool, cb);
}

static VkResult VKAPI_PTR fault_allocate_sets(VkDevice device, const VkDescriptorSetAllocateInfo *info,
                                              VkDescriptorSet *sets)
{
    uint32_t i = pool_slot(info->descriptorPool);
    if (fx.strict_pools && i != UINT32_MAX && fx.pools[i].live + info->descriptorSetCount > fx.pools[i].max_sets)
        return VK_ERROR_OUT_OF_POOL_MEMORY;
    VkResult r = fx.real_allocate_sets(device, info, sets);
    if (r == VK_SUCCESS && i != UINT32_MAX)
        fx.pools[i].live += info->descriptorSetCount;
    return r;
}

static VkResult VKAPI_PTR fault_free_sets(VkDevice device, VkDescriptorPool pool, uint32_t count,
                                          const VkDescriptorSet *sets)
{
    uint32_t i = pool_slot(pool);
    for (uint32_t k = 0; k < count && i != UINT32_MAX; ++k)
        if (sets[k])
            fx.pools[i].live--;
    return fx.real_free_sets(device, pool, count, sets);
}

static VkResult VKAPI_PTR fault_allocate_memory(VkDevice device, const VkMemoryAllocateInfo *info,
                                                const VkAllocationCallbacks *cb, VkDeviceMemory *memory)
{
    long call = atomic_fetch_add(&fx.allocate_calls, 1) + 1;
    long fail_at = atomic_load(&fx.allocate_fail_at);
    if (atomic_load(&fx.lost))
        atomic_fetch_add(&fx.calls_after_loss, 1);
    if (fail_at < 0 || call == fail_at)
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    VkResult r = fx.real_allocate(device, info, cb, memory);
    if (r == VK_SUCCESS)
        atomic_fetch_add(&fx.live_memory, 1);
    return r;
}

static void VKAPI_PTR fault_free_memory(VkDevice device, VkDeviceMemory memory, const VkAllocationCallbacks *cb)
{
    if (memory)
        atomic_fetch_sub(&fx.live_memory, 1);
    fx.real_free(device, memory, cb);
}

static VkResult VKAPI_PTR fault_create_buffer(VkDevice device, const VkBufferCreateInfo *info,
                                              const VkAllocationCallbacks *cb, VkBuffer *buffer)
{
    VkResult r = fx.real_create_buffer(device, info, cb, buffer);
    if (r == VK_SUCCESS)
        atomic_fetch_add(&fx.live_buffers, 1);
    return r;
}

static void VKAPI_PTR fault_destroy_buffer(VkDevice device, VkBuffer buffer, const VkAllocationCallbacks *cb)
{
    if (buffer)
        atomic_fetch_sub(&fx.live_buffers, 1);
    fx.real_destroy_buffer(device, buffer, cb);
}

static VkResult VKAPI_PTR fault_queue_submit(VkQueue queue, uint32_t count, const VkSubmitInfo *submits, VkFence fence)
{
    atomic_fetch_add(&fx.submits, 1);
    if (atomic_load(&fx.lost))
        atomic_fetch_add(&fx.calls_after_loss, 1);
    if (atomic_load(&fx.lose_on_submit)) {
        /* Nothing reaches the driver, as when a device dies before taking the work. */
        atomic_store(&fx.lost, true);
        return VK_ERROR_DEVICE_LOST;
    }
    return fx.real_submit(queue, count, submits, fence);
}

static VkResult VKAPI_PTR fault_wait_for_fences(VkDevice device, uint32_t count, const VkFence *fences, VkBool32 all,
                                                uint64_t timeout)
{
    atomic_fetch_add(&fx.wait_calls, 1);
    if (atomic_load(&fx.lost))
        atomic_fetch_add(&fx.calls_after_loss, 1);
    VkResult r = fx.real_wait(device, count, fences, all, timeout);
    if (atomic_load(&fx.lose_on_wait)) {
        /* The work did finish (so destroying its objects later is legal), but the caller hears
         * that the device was lost while waiting, as a driver reports a hang it recovered from. */
        atomic_store(&fx.lost, true);
        return VK_ERROR_DEVICE_LOST;
    }
    return r;
}

static VkResult VKAPI_PTR fault_get_fence_status(VkDevice device, VkFence fence)
{
    atomic_fetch_add(&fx.status_calls, 1);
    if (atomic_load(&fx.lost))
        atomic_fetch_add(&fx.calls_after_loss, 1);
    if (atomic_load(&fx.lose_on_status)) {
        /* As in vkWaitForFences: the work finishes, then the poll hears of the loss. */
        fx.real_wait(device, 1, &fence, VK_TRUE, UINT64_MAX);
        atomic_store(&fx.lost, true);
        return VK_ERROR_DEVICE_LOST;
    }
    return fx.real_status(device, fence);
}

static PFN_vkVoidFunction VKAPI_PTR fault_gdpa(VkDevice device, const char *name)
{
    if (!strcmp(name, "vkAllocateMemory"))
        return (PFN_vkVoidFunction)fault_allocate_memory;
    if (!strcmp(name, "vkFreeMemory"))
        return (PFN_vkVoidFunction)fault_free_memory;
    if (!strcmp(name, "vkCreateBuffer"))
        return (PFN_vkVoidFunction)fault_create_buffer;
    if (!strcmp(name, "vkDestroyBuffer"))
        return (PFN_vkVoidFunction)fault_destroy_buffer;
    if (!strcmp(name, "vkQueueSubmit"))
        return (PFN_vkVoidFunction)fault_queue_submit;
    if (!strcmp(name, "vkWaitForFences"))
        return (PFN_vkVoidFunction)fault_wait_for_fences;
    if (!strcmp(name, "vkGetFenceStatus"))
        return (PFN_vkVoidFunction)fault_get_fence_status;
    if (!strcmp(name, "vkCreateDescriptorPool"))
        return (PFN_vkVoidFunction)fault_create_pool;
    if (!strcmp(name, "vkDestroyDescriptorPool"))
        return (PFN_vkVoidFunction)fault_destroy_pool;
    if (!strcmp(name, "vkAllocateDescriptorSets"))
        return (PFN_vkVoidFunction)fault_allocate_sets;
    if (!strcmp(name, "vkFreeDescriptorSets"))
        return (PFN_vkVoidFunction)fault_free_sets;
    if (!strcmp(name, "vkGetDeviceProcAddr"))
        return (PFN_vkVoidFunction)fault_gdpa;
    return fx.real_gdpa(device, name);
}

static PFN_vkVoidFunction VKAPI_PTR fault_gipa(VkInstance instance, const char *name)
{
    if (!strcmp(name, "vkGetDeviceProcAddr"))
        return (PFN_vkVoidFunction)fault_gdpa;
    if (!strcmp(name, "vkGetInstanceProcAddr"))
        return (PFN_vkVoidFunction)fault_gipa;
    return fx.real_gipa(instance, name);
}

/* A device of the test's own, with validation when the run asks for it, and a context on it
 * that reaches Vulkan only through the interposer. */
struct device_env {
    test_device dev;
    q8conv_context *ctx;
};

/* `cd` says how the context is made (allocator, wait mode); the device and messages are filled in. */
static bool device_env_create(device_env *d, q8conv_context_desc cd, bool strict_pools)
{
    memset(d, 0, sizeof *d);
    if (test_device_create(&d->dev, &(test_device_options){.validation = test_validation_requested()}) !=
        TEST_DEVICE_OK) {
        CHECK(0, "cannot create the test's own Vulkan device%s",
              test_validation_requested() ? " with VK_LAYER_KHRONOS_validation" : "");
        test_device_destroy(&d->dev);
        return false;
    }
    memset(&fx, 0, sizeof fx);
    fx.real_gipa = d->dev.gipa;
    fx.real_gdpa = (PFN_vkGetDeviceProcAddr)d->dev.gipa(d->dev.vk.instance, "vkGetDeviceProcAddr");
#define REAL(field, name) fx.field = (PFN_##name)fx.real_gdpa(d->dev.vk.device, #name)
    REAL(real_allocate, vkAllocateMemory);
    REAL(real_free, vkFreeMemory);
    REAL(real_create_buffer, vkCreateBuffer);
    REAL(real_destroy_buffer, vkDestroyBuffer);
    REAL(real_submit, vkQueueSubmit);
    REAL(real_wait, vkWaitForFences);
    REAL(real_status, vkGetFenceStatus);
    REAL(real_create_pool, vkCreateDescriptorPool);
    REAL(real_destroy_pool, vkDestroyDescriptorPool);
    REAL(real_allocate_sets, vkAllocateDescriptorSets);
    REAL(real_free_sets, vkFreeDescriptorSets);
#undef REAL
    fx.strict_pools = strict_pools;
    q8conv_external_device ext = test_device_external(&d->dev);
    ext.get_instance_proc_addr = fault_gipa;
    cd.external = &ext;
    cd.message_callback = print_message;
    q8conv_status st = q8conv_context_create(&cd, &d->ctx);
    CHECK(st == Q8CONV_SUCCESS, "context on the interposed device: %s", q8conv_status_string(st));
    return st == Q8CONV_SUCCESS;
}

static device_env *device_env_new(const q8conv_allocator *hooks, bool strict_pools)
{
    device_env *d = malloc(sizeof *d);
    if (d && !device_env_create(d, (q8conv_context_desc){.allocator = hooks}, strict_pools)) {
        device_env_delete(d);
        return NULL;
    }
    return d;
}

static q8conv_context *device_env_context(const device_env *d)
{
    return d->ctx;
}

static void device_env_destroy(device_env *d);

static void device_env_delete(device_env *d)
{
    if (d)
        device_env_destroy(d);
    free(d);
}

static void device_env_destroy(device_env *d)
{
    q8conv_context_destroy(d->ctx);
    d->ctx = NULL;
    CHECK(atomic_load(&fx.live_memory) == 0 && atomic_load(&fx.live_buffers) == 0,
          "after destroying everything: %ld memory object(s), %ld buffer(s) still live",
          atomic_load(&fx.live_memory), atomic_load(&fx.live_buffers));
    /* The layer reports objects left on the device here, so the counts are read after this. */
    test_device_destroy(&d->dev);
    CHECK(atomic_load(&d->dev.errors) == 0 && atomic_load(&d->dev.warnings) == 0,
          "validation on the test's device: %u error(s), %u warning(s)", atomic_load(&d->dev.errors),
          atomic_load(&d->dev.warnings));
}

static void device_arm(long fail_at)
{
    atomic_store(&fx.allocate_calls, 0);
    atomic_store(&fx.allocate_fail_at, fail_at);
}

static bool raw_equals(const q8conv_tensor *t, const uint8_t *expect, size_t size)
{
    uint8_t *now = malloc(size);
    bool same = q8conv_tensor_read_raw(t, now, size) == Q8CONV_SUCCESS && memcmp(now, expect, size) == 0;
    free(now);
    return same;
}

/* Every device allocation of each operation fails once, then all of them at once. */
static void test_device_memory(void)
{
    device_env d;
    if (!device_env_create(&d, (q8conv_context_desc){0}, false))
        return;
    q8conv_context *ctx = d.ctx;
    char err[512];
    test_op_params p = {.ic = 12, .oc = 9, .bias = Q8CONV_BIAS_FLOAT, .activation = Q8CONV_ACTIVATION_RELU6,
                        .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4C1W};
    test_op t;
    test_op_random(&t, &rng, &p);
    const q8conv_tensor_desc td = {.n = 1, .c = 9, .h = 3, .w = 5, .layout = Q8CONV_LAYOUT_4C1W};
    const size_t raw_size = (size_t)q8conv_tensor_size_bytes(&td);
    uint8_t *poison = malloc(raw_size);
    memset(poison, TEST_POISON, raw_size);
    int8_t host[9 * 3 * 5], dst[9 * 3 * 5];
    test_rng_fill(&rng, host, sizeof host);

    q8conv_tensor *target = NULL;
    CHECK_OK(q8conv_tensor_create(ctx, &td, &target));
    CHECK_OK(q8conv_tensor_write_raw(target, poison, raw_size));

    enum { OP_TENSOR, OP_PW, OP_WRITE, OP_READ, OP_WRITE_RAW, OP_READ_RAW, OP_COUNT };
    static const char *const names[OP_COUNT] = {"tensor_create", "pw_create", "tensor_write",
                                               "tensor_read",   "tensor_write_raw", "tensor_read_raw"};
    uint8_t *pattern = malloc(raw_size), *raw_dst = malloc(raw_size);
    memset(pattern, 0x3C, raw_size);
    for (int which = 0; which < OP_COUNT && target; ++which) {
        const int failures_before = test_failures;
        long points = 0;
        for (long k = 1; k < 50; ++k) {
            const long memory_before = atomic_load(&fx.live_memory), buffers_before = atomic_load(&fx.live_buffers);
            q8conv_tensor *made_t = SENTINEL_TENSOR;
            q8conv_pw *made_op = SENTINEL_OP;
            memset(dst, (int)TEST_POISON, sizeof dst);
            memset(raw_dst, (int)TEST_POISON, raw_size);
            device_arm(k);
            q8conv_status st;
            switch (which) {
            case OP_TENSOR: st = q8conv_tensor_create(ctx, &td, &made_t); break;
            case OP_PW: st = q8conv_pw_create(ctx, &t.desc, &made_op); break;
            case OP_WRITE: st = q8conv_tensor_write(target, host, Q8CONV_HOST_NCHW); break;
            case OP_READ: st = q8conv_tensor_read(target, dst, Q8CONV_HOST_NCHW); break;
            case OP_WRITE_RAW: st = q8conv_tensor_write_raw(target, pattern, raw_size); break;
            default: st = q8conv_tensor_read_raw(target, raw_dst, raw_size); break;
            }
            device_arm(0);
            if (st == Q8CONV_SUCCESS) {
                points = k - 1;
                if (made_t != SENTINEL_TENSOR)
                    q8conv_tensor_destroy(made_t);
                if (made_op != SENTINEL_OP)
                    q8conv_pw_destroy(made_op);
                break;
            }
            CHECK(st == Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, "%s, device allocation %ld failing: %s", names[which], k,
                  q8conv_status_string(st));
            CHECK(made_t == SENTINEL_TENSOR && made_op == SENTINEL_OP, "%s failed but wrote *out", names[which]);
            CHECK(atomic_load(&fx.live_memory) == memory_before && atomic_load(&fx.live_buffers) == buffers_before,
                  "%s, device allocation %ld failing: leaked %ld memory object(s), %ld buffer(s)", names[which], k,
                  atomic_load(&fx.live_memory) - memory_before, atomic_load(&fx.live_buffers) - buffers_before);
            bool untouched = true;
            for (size_t i = 0; i < sizeof dst; ++i)
                untouched = untouched && (uint8_t)dst[i] == TEST_POISON;
            for (size_t i = 0; i < raw_size; ++i)
                untouched = untouched && raw_dst[i] == TEST_POISON;
            CHECK(untouched, "%s failed but wrote the destination", names[which]);
            CHECK(raw_equals(target, poison, raw_size), "%s failed but changed the tensor", names[which]);
        }
        CHECK(points > 0, "%s: no device allocation was reached", names[which]);
        printf("device memory: %-17s %ld allocation point(s), each failed once: %s\n", names[which], points,
               test_failures == failures_before ? "OUT_OF_DEVICE_MEMORY, clean" : "FAILED");
        if (which == OP_WRITE) {
            int8_t back[9 * 3 * 5];
            CHECK(q8conv_tensor_read(target, back, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS &&
                      memcmp(back, host, sizeof back) == 0,
                  "tensor_write after the faults did not write");
        }
        if (which == OP_READ_RAW)
            CHECK(memcmp(raw_dst, poison, raw_size) == 0, "tensor_read_raw after the faults did not read");
        /* the poison back, for the next operation's "unchanged" check */
        CHECK_OK(q8conv_tensor_write_raw(target, poison, raw_size));
    }
    free(pattern);
    free(raw_dst);

    /* Exhaustion that lasts: everything that needs new device memory fails, the rest works. */
    q8conv_pw *op = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    device_arm(-1);
    q8conv_tensor *made = SENTINEL_TENSOR;
    CHECK(q8conv_tensor_create(ctx, &td, &made) == Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY && made == SENTINEL_TENSOR,
          "tensor_create without device memory");
    CHECK(q8conv_tensor_write(target, host, Q8CONV_HOST_NCHW) == Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY,
          "tensor_write without device memory");
    device_arm(0);
    CHECK(raw_equals(target, poison, raw_size), "tensor_write without device memory changed the tensor");
    CHECK(test_check_run(ctx, op, &t.desc, 1, 3, 5, &rng, err, sizeof err), "after exhaustion: %s", err);
    q8conv_pw_destroy(op);
    q8conv_tensor_destroy(target);
    CHECK(test_check_context_works(ctx, &rng, err, sizeof err), "after device-memory faults: %s", err);
    free(poison);
    test_op_free(&t);
    device_env_destroy(&d);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Each call after the loss: DEVICE_LOST, quickly, without reaching the device again. */
#define EXPECT_LOST(call)                                                                                     \
    do {                                                                                                      \
        double t0_ = now_s();                                                                                 \
        q8conv_status st_ = (call);                                                                           \
        double dt_ = now_s() - t0_;                                                                           \
        CHECK(st_ == Q8CONV_ERROR_DEVICE_LOST && dt_ < 1.0, "%s after the loss: %s in %.3f s", #call,         \
              q8conv_status_string(st_), dt_);                                                                \
    } while (0)

/* Where the loss is met: vkQueueSubmit in a first pw_run; vkWaitForFences in a tensor write or in
 * a sequence run; vkGetFenceStatus in a sequence run on a polling context. */
typedef enum loss_point { LOSS_RUN_SUBMIT, LOSS_WRITE_WAIT, LOSS_SEQUENCE_WAIT, LOSS_SEQUENCE_POLL } loss_point;

static void test_device_lost(loss_point where)
{
    static const char *const names[] = {"vkQueueSubmit (pw_run)", "vkWaitForFences (tensor_write)",
                                        "vkWaitForFences (sequence_run)", "vkGetFenceStatus (sequence_run, polling)"};
    const int failures_before = test_failures;
    device_env d;
    const q8conv_context_desc cd = {.wait_mode = where == LOSS_SEQUENCE_POLL ? Q8CONV_WAIT_POLL : Q8CONV_WAIT_BLOCK,
                                    .wait_poll_us = where == LOSS_SEQUENCE_POLL ? Q8CONV_MAX_WAIT_POLL_US : 0};
    if (!device_env_create(&d, cd, false))
        return;
    q8conv_context *ctx = d.ctx;
    char err[512];
    test_op_params p = {.ic = 16, .oc = 8, .bias = Q8CONV_BIAS_NONE, .input_layout = Q8CONV_LAYOUT_4W4C,
                        .output_layout = Q8CONV_LAYOUT_4W4C};
    test_op t;
    test_op_random(&t, &rng, &p);
    const q8conv_tensor_desc di = {.n = 1, .c = 16, .h = 4, .w = 4}, dout = {.n = 1, .c = 8, .h = 4, .w = 4};
    q8conv_pw *op = NULL;
    q8conv_tensor *in = NULL, *out = NULL;
    q8conv_sequence *seq = NULL;
    test_vk vk;
    test_buffer buf = {0};
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    int8_t host[16 * 4 * 4];
    uint8_t raw[256];
    test_rng_fill(&rng, host, sizeof host);
    CHECK(test_check_context_works(ctx, &rng, err, sizeof err), "before the loss: %s", err);
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    CHECK_OK(q8conv_tensor_create(ctx, &di, &in));
    CHECK_OK(q8conv_tensor_create(ctx, &dout, &out));
    CHECK_OK(q8conv_sequence_create(ctx, &seq));
    if (seq && op && in && out)
        CHECK_OK(q8conv_sequence_add(seq, op, in, out));
    CHECK(test_vk_load_context(&vk, ctx) && test_vk_buffer(&vk, 4096, TEST_MEMORY_DEVICE, &buf) &&
              test_vk_begin(&vk, &pool, &cmd),
          "Vulkan objects of the test");
    if (op && in && out && seq && cmd) {
        const double t0 = now_s();
        if (where != LOSS_WRITE_WAIT)
            CHECK_OK(q8conv_tensor_write(in, host, Q8CONV_HOST_NCHW));
        switch (where) {
        case LOSS_RUN_SUBMIT:
            atomic_store(&fx.lose_on_submit, true);
            CHECK(q8conv_pw_run(op, in, out) == Q8CONV_ERROR_DEVICE_LOST, "pw_run with the device lost in vkQueueSubmit");
            break;
        case LOSS_WRITE_WAIT:
            atomic_store(&fx.lose_on_wait, true);
            CHECK(q8conv_tensor_write(in, host, Q8CONV_HOST_NCHW) == Q8CONV_ERROR_DEVICE_LOST,
                  "tensor_write with the device lost in vkWaitForFences");
            break;
        case LOSS_SEQUENCE_WAIT:
            atomic_store(&fx.lose_on_wait, true);
            CHECK(q8conv_sequence_run(seq) == Q8CONV_ERROR_DEVICE_LOST,
                  "sequence_run with the device lost in vkWaitForFences");
            break;
        case LOSS_SEQUENCE_POLL:
            atomic_store(&fx.lose_on_status, true);
            CHECK(q8conv_sequence_run(seq) == Q8CONV_ERROR_DEVICE_LOST,
                  "sequence_run with the device lost in vkGetFenceStatus");
            break;
        }
        CHECK(now_s() - t0 < 1.0, "the call that met the loss took %.3f s", now_s() - t0);
        CHECK(atomic_load(&fx.lost), "the interposer never reported the loss");
        atomic_store(&fx.calls_after_loss, 0);

        q8conv_tensor *made_t = SENTINEL_TENSOR;
        q8conv_pw *made_op = SENTINEL_OP;
        q8conv_sequence *made_seq = SENTINEL_SEQ;
        const q8conv_tensor_desc wd = {.n = 1, .c = 8, .h = 4, .w = 4};
        EXPECT_LOST(q8conv_pw_run(op, in, out));
        EXPECT_LOST(q8conv_sequence_run(seq));
        EXPECT_LOST(q8conv_sequence_finalize(seq));
        EXPECT_LOST(q8conv_sequence_add(seq, op, in, out));
        EXPECT_LOST(q8conv_sequence_create(ctx, &made_seq));
        EXPECT_LOST(q8conv_pw_record(op, cmd, in, out));
        EXPECT_LOST(q8conv_tensor_write(in, host, Q8CONV_HOST_NCHW));
        EXPECT_LOST(q8conv_tensor_read(in, host, Q8CONV_HOST_NCHW));
        EXPECT_LOST(q8conv_tensor_write_raw(out, raw, (size_t)q8conv_tensor_size_bytes(&dout)));
        EXPECT_LOST(q8conv_tensor_read_raw(out, raw, (size_t)q8conv_tensor_size_bytes(&dout)));
        EXPECT_LOST(q8conv_tensor_create(ctx, &di, &made_t));
        EXPECT_LOST(q8conv_tensor_wrap_sized(ctx, &wd, buf.buffer, 0, 4096, &made_t));
        EXPECT_LOST(q8conv_pw_create(ctx, &t.desc, &made_op));
        EXPECT_LOST(q8conv_pw_run(op, in, out));
        CHECK(made_t == SENTINEL_TENSOR && made_op == SENTINEL_OP && made_seq == SENTINEL_SEQ,
              "a call after the loss wrote *out");
        CHECK(atomic_load(&fx.calls_after_loss) == 0,
              "%ld submit/wait/allocate call(s) reached the device after it was lost",
              atomic_load(&fx.calls_after_loss));
        /* Invalid arguments are still told apart from the loss. */
        CHECK(q8conv_pw_run(op, in, in) == Q8CONV_ERROR_INVALID_ARGUMENT, "aliasing after the loss");
        q8conv_context_info info;
        CHECK_OK(q8conv_context_get_info(ctx, &info));
    }
    printf("device lost in %s: %s\n", names[where],
           test_failures == failures_before ? "every later call returned DEVICE_LOST at once" : "FAILED");
    q8conv_sequence_destroy(seq);
    if (pool)
        vk.DestroyCommandPool(vk.device, pool, NULL);
    test_vk_buffer_free(&vk, &buf);
    q8conv_tensor_destroy(in);
    q8conv_tensor_destroy(out);
    q8conv_pw_destroy(op);
    test_op_free(&t);
    atomic_store(&fx.lose_on_submit, false);
    atomic_store(&fx.lose_on_wait, false);
    atomic_store(&fx.lose_on_status, false);
    device_env_destroy(&d);
}

/* How each wait mode waits, counted at the interposer around a run and a sequence run: BLOCK
 * never polls; POLL with a long bound polls until done and never blocks; POLL with a bound of
 * 1 us polls, then blocks (the run takes milliseconds on lavapipe). */
static void test_wait_modes(void)
{
    static const struct {
        const char *name;
        q8conv_wait_mode mode;
        uint32_t poll_us;
    } modes[] = {{"BLOCK", Q8CONV_WAIT_BLOCK, 0},
                 {"POLL, 1 s bound", Q8CONV_WAIT_POLL, Q8CONV_MAX_WAIT_POLL_US},
                 {"POLL, 1 us bound", Q8CONV_WAIT_POLL, 1}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; ++m) {
        device_env d;
        if (!device_env_create(&d, (q8conv_context_desc){.wait_mode = modes[m].mode, .wait_poll_us = modes[m].poll_us},
                               false))
            return;
        q8conv_context *ctx = d.ctx;
        test_op_params p = {.ic = 64, .oc = 64, .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4W4C};
        test_op t;
        test_op_random(&t, &rng, &p);
        const q8conv_tensor_desc td = {.n = 1, .c = 64, .h = 48, .w = 48};
        const size_t count = 64 * 48 * 48;
        int8_t *x = malloc(count), *ref = malloc(count), *got = malloc(count);
        test_rng_fill(&rng, x, count);
        q8conv_pw *op = NULL;
        q8conv_tensor *in = NULL, *out = NULL;
        q8conv_sequence *seq = NULL;
        CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
        CHECK_OK(q8conv_tensor_create(ctx, &td, &in));
        CHECK_OK(q8conv_tensor_create(ctx, &td, &out));
        CHECK_OK(q8conv_sequence_create(ctx, &seq));
        if (op && in && out && seq) {
            CHECK_OK(q8conv_tensor_write(in, x, Q8CONV_HOST_NCHW));
            CHECK_OK(q8conv_sequence_add(seq, op, in, out));
            CHECK_OK(q8conv_sequence_finalize(seq));
            atomic_store(&fx.wait_calls, 0);
            atomic_store(&fx.status_calls, 0);
            CHECK_OK(q8conv_pw_run(op, in, out));
            CHECK_OK(q8conv_sequence_run(seq));
            const long waits = atomic_load(&fx.wait_calls), polls = atomic_load(&fx.status_calls);
            if (modes[m].mode == Q8CONV_WAIT_BLOCK)
                CHECK(polls == 0 && waits == 2, "%s: %ld vkGetFenceStatus, %ld vkWaitForFences (want 0, 2)",
                      modes[m].name, polls, waits);
            else if (modes[m].poll_us == Q8CONV_MAX_WAIT_POLL_US)
                CHECK(polls >= 2 && waits == 0, "%s: %ld vkGetFenceStatus, %ld vkWaitForFences (want >= 2, 0)",
                      modes[m].name, polls, waits);
            else /* past a 1 us bound a wait blocks, unless its first poll already found the fence signaled */
                CHECK(polls >= 2 && (waits >= 1 || polls == 2),
                      "%s: %ld vkGetFenceStatus, %ld vkWaitForFences (want >= 2 and >= 1, or exactly 2 and 0)",
                      modes[m].name, polls, waits);
            CHECK_OK(q8conv_pw_reference(&t.desc, 1, 48, 48, x, ref));
            CHECK_OK(q8conv_tensor_read(out, got, Q8CONV_HOST_NCHW));
            CHECK(memcmp(ref, got, count) == 0, "%s: the output differs from the reference", modes[m].name);
            printf("wait mode %-16s: a run and a sequence run made %ld vkGetFenceStatus and %ld vkWaitForFences call(s)\n",
                   modes[m].name, polls, waits);
        }
        q8conv_sequence_destroy(seq);
        q8conv_tensor_destroy(in);
        q8conv_tensor_destroy(out);
        q8conv_pw_destroy(op);
        test_op_free(&t);
        free(x);
        free(ref);
        free(got);
        device_env_destroy(&d);
    }
}

/* q8conv_external_device.queue names the calls that use the caller's queue (pw_create, pw_run,
 * tensor read/write); a caller may use the queue from another thread during any other call, so
 * those must never submit. */
static void test_queue_users(void)
{
    device_env d;
    if (!device_env_create(&d, (q8conv_context_desc){0}, false))
        return;
    q8conv_context *ctx = d.ctx;
    test_op_params p = {.ic = 8, .oc = 8, .input_layout = Q8CONV_LAYOUT_4W4C, .output_layout = Q8CONV_LAYOUT_4W4C};
    test_op t;
    test_op_random(&t, &rng, &p);
    const q8conv_tensor_desc td = {.n = 1, .c = 8, .h = 2, .w = 4};
    q8conv_pw *op = NULL;
    q8conv_tensor *in = NULL, *out = NULL, *wrapped = NULL;
    q8conv_sequence *seq = NULL;
    test_vk vk;
    test_buffer buf = {0};
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    CHECK(test_vk_load_context(&vk, ctx) && test_vk_buffer(&vk, 4096, TEST_MEMORY_DEVICE, &buf) &&
              test_vk_begin(&vk, &pool, &cmd),
          "Vulkan objects of the test");
    const long before = atomic_load(&fx.submits);
    size_t size = 0;
    q8conv_context_info info;
    CHECK_OK(q8conv_tensor_create(ctx, &td, &in));
    CHECK_OK(q8conv_tensor_create(ctx, &td, &out));
    CHECK_OK(q8conv_tensor_wrap_sized(ctx, &td, buf.buffer, 0, 4096, &wrapped));
    if (op && in && out && cmd)
        CHECK_OK(q8conv_pw_record(op, cmd, in, out));
    CHECK_OK(q8conv_sequence_create(ctx, &seq));
    if (op && in && out && seq) {
        CHECK_OK(q8conv_sequence_add(seq, op, in, out));
        CHECK_OK(q8conv_sequence_finalize(seq));
    }
    q8conv_sequence_destroy(seq);
    CHECK_OK(q8conv_context_get_pipeline_cache(ctx, NULL, &size));
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    q8conv_tensor_destroy(wrapped);
    q8conv_tensor_destroy(in);
    q8conv_tensor_destroy(out);
    q8conv_pw_destroy(op);
    CHECK(atomic_load(&fx.submits) == before,
          "tensor create/wrap/destroy, pw_record, pw_destroy, sequence create/add/finalize/destroy or a context query "
          "submitted to the queue (%ld times)",
          atomic_load(&fx.submits) - before);
    printf("queue: tensor create/wrap/destroy, pw_record, pw_destroy, sequence create/add/finalize/destroy and "
           "queries never submit\n");
    if (pool)
        vk.DestroyCommandPool(vk.device, pool, NULL);
    test_vk_buffer_free(&vk, &buf);
    test_op_free(&t);
    device_env_destroy(&d);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A hang (the failure mode a lost device must not have) becomes a failed test. */
    alarm(600);
    rng = test_rng_seeded(test_seed());
    for (size_t i = 0; i < sizeof host_cases / sizeof host_cases[0]; ++i)
        run_host_case(&host_cases[i]);
    test_device_memory();
    test_device_lost(LOSS_RUN_SUBMIT);
    test_device_lost(LOSS_WRITE_WAIT);
    test_device_lost(LOSS_SEQUENCE_WAIT);
    test_device_lost(LOSS_SEQUENCE_POLL);
    test_wait_modes();
    test_queue_users();
    return test_finish("stress_faults");
}
