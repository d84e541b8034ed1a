/* Host wall time of the public run paths, as a caller of the library sees it, beside the GPU
 * times the rest of the bench measures:
 * - q8conv_pw_run called again and again on one op and one pair of tensors (the op replays its
 *   recording: a submit and a wait per call), per GPU row;
 * - the network's layers (the shapes counted in its total, each `count` times, in the network
 *   order of bench_network_order) as one q8conv_sequence, per q8conv_sequence_run. The layers are
 *   chained through two buffers that every layer reads from and writes to in turn, as a runtime
 *   reuses activation memory (pingpong.c), so each layer depends on the one before (a barrier
 *   between every pair) like a real network: network.c's runtime-order GPU figure records the
 *   same.
 * - beside the network: the host floor of one submission (a recorded command buffer that does
 *   nothing, submitted and waited for as the library does it), and the network's first layer alone
 *   as a sequence, so that the sequence's time over the GPU's splits into what every submission
 *   costs and what the layers add.
 * Both with the context's blocking wait and with a second context that polls
 * (Q8CONV_WAIT_POLL). */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <volk.h>

#include "bench.h"

/* The context of the polling rows: the same device and flags as the blocking one. */
static q8conv_context *poll_context(const q8conv_context_desc *blocking, int have_device)
{
    q8conv_context_desc d = *blocking;
    if (!have_device) {
        /* The blocking context was made from a NULL descriptor, which honours Q8CONV_DEVICE. */
        const char *env = getenv("Q8CONV_DEVICE");
        d.device_index = env && *env ? (uint32_t)strtoul(env, NULL, 10) : 0;
    }
    d.wait_mode = Q8CONV_WAIT_POLL;
    q8conv_context *ctx = NULL;
    q8conv_status st = q8conv_context_create(&d, &ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "host time: a polling context: %s\n", q8conv_status_string(st));
        return NULL;
    }
    return ctx;
}

/* Median host time of `reps` calls of q8conv_pw_run on one op and one pair of tensors, after a
 * few untimed ones (the first records). NAN when a call fails. */
static double run_us(q8conv_context *ctx, const bench_options *opt, const bench_shape *s, q8conv_kernel kernel)
{
    test_rng rng = bench_shape_rng(opt, s, 0);
    bench_op_data d;
    if (bench_make_desc(s, &d, &rng, kernel, opt) != 0)
        return NAN;
    const q8conv_tensor_desc din = {.n = s->n, .c = s->ic, .h = s->h, .w = s->w, .layout = opt->layout,
                                    .dtype = opt->dtype};
    const q8conv_tensor_desc dout = {.n = s->n, .c = s->oc, .h = bench_out_h(s), .w = bench_out_w(s),
                                     .layout = opt->layout, .dtype = opt->dtype};
    const size_t in_n = (size_t)s->n * s->ic * s->h * s->w;
    q8conv_pw *op = NULL;
    q8conv_tensor *in = NULL, *out = NULL;
    int8_t *x = malloc(in_n);
    double us[BENCH_MAX_REPS];
    bool ok = x && q8conv_pw_create(ctx, &d.desc, &op) == Q8CONV_SUCCESS &&
              q8conv_tensor_create(ctx, &din, &in) == Q8CONV_SUCCESS &&
              q8conv_tensor_create(ctx, &dout, &out) == Q8CONV_SUCCESS;
    if (ok) {
        test_rng_fill(&rng, x, in_n);
        ok = q8conv_tensor_write(in, x, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS;
    }
    for (int i = 0; i < BENCH_HOST_WARMUP + opt->reps && ok; ++i) {
        const double t0 = bench_now_us();
        ok = q8conv_pw_run(op, in, out) == Q8CONV_SUCCESS;
        if (i >= BENCH_HOST_WARMUP)
            us[i - BENCH_HOST_WARMUP] = bench_now_us() - t0;
    }
    q8conv_tensor_destroy(in);
    q8conv_tensor_destroy(out);
    q8conv_pw_destroy(op);
    test_op_free(&d);
    free(x);
    return ok ? bench_median(us, opt->reps) : NAN;
}

/* ---- the network as a sequence ---- */

/* One network on one context: its ops on the two activation buffers, the sequence. */
typedef struct network {
    bench_op_data *data; /* per layer */
    q8conv_pw **op;
    bench_pingpong act;
    q8conv_sequence *seq;
} network;

static void network_destroy(network *n)
{
    q8conv_sequence_destroy(n->seq);
    for (int i = 0; i < n->act.layers; ++i) {
        if (n->op)
            q8conv_pw_destroy(n->op[i]);
        if (n->data)
            test_op_free(&n->data[i]);
    }
    bench_pingpong_destroy(&n->act);
    free(n->data);
    free(n->op);
    memset(n, 0, sizeof *n);
}

/* The layers in network order (the order network.c's GPU figures record them in), chained through
 * the two buffers. */
static int network_create(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, const int *order,
                          int layers, network *n)
{
    memset(n, 0, sizeof *n);
    test_rng rng = test_rng_seeded(opt->seed ^ 0x4E45545755524Bull);
    if (bench_pingpong_create(ctx, opt, shapes, order, layers, &rng, &n->act) != 0)
        return -1;
    n->data = calloc((size_t)layers, sizeof *n->data);
    n->op = calloc((size_t)layers, sizeof *n->op);
    if (!n->data || !n->op || q8conv_sequence_create(ctx, &n->seq) != Q8CONV_SUCCESS)
        return -1;
    for (int i = 0; i < layers; ++i) {
        if (bench_make_desc(&n->act.shape[i], &n->data[i], &rng, Q8CONV_KERNEL_AUTO, opt) != 0)
            return -1;
        if (q8conv_pw_create(ctx, &n->data[i].desc, &n->op[i]) != Q8CONV_SUCCESS ||
            q8conv_sequence_add(n->seq, n->op[i], n->act.in[i], n->act.out[i]) != Q8CONV_SUCCESS)
            return -1;
    }
    /* Later runs start from what the last layer left in the first layer's input buffer. */
    return bench_pingpong_reset(&n->act) == 0 && q8conv_sequence_finalize(n->seq) == Q8CONV_SUCCESS ? 0 : -1;
}

/* Median host time of q8conv_sequence_run over `layers` layers of `order`; checks the last layer
 * (*exact) and says what AUTO resolved the first to. */
static int network_us(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, const int *order,
                      int layers, double *us_out, int *exact, q8conv_kernel *kernel)
{
    network n;
    double us[BENCH_MAX_REPS];
    int rc = network_create(ctx, opt, shapes, order, layers, &n);
    for (int i = 0; i < BENCH_HOST_WARMUP + opt->reps && rc == 0; ++i) {
        const double t0 = bench_now_us();
        if (q8conv_sequence_run(n.seq) != Q8CONV_SUCCESS)
            rc = -1;
        if (i >= BENCH_HOST_WARMUP)
            us[i - BENCH_HOST_WARMUP] = bench_now_us() - t0;
    }
    if (rc == 0) {
        *us_out = bench_median(us, opt->reps);
        rc = bench_pingpong_check(&n.act, &n.data[layers - 1].desc, exact);
        *kernel = q8conv_pw_get_kernel(n.op[0]);
    }
    network_destroy(&n);
    return rc;
}

/* ---- the submission floor ---- */

/* How long the polling wait spins before it blocks: the polling context's bound (wait_poll_us 0,
 * the library's default). */
#define FLOOR_POLL_BOUND_US 1000.0

/* Median host time of one submission that does nothing, waited for the way q8conv_sequence_run
 * waits (src/vk/submit.c): reset the fence, submit a recorded command buffer (here an empty one),
 * then vkWaitForFences (blocking) or vkGetFenceStatus in a loop, bounded, then vkWaitForFences
 * (polling). An empty q8conv_sequence submits nothing, so this is the bench's own command buffer
 * and fence on the context's device and queue (its handles; the queue is not in use meanwhile).
 * Device functions through a table of that device: the polling context has a device of its own.
 * NAN on a Vulkan error. */
static double submit_floor_us(q8conv_context *ctx, const bench_options *opt, int poll)
{
    q8conv_vulkan_handles h;
    if (q8conv_context_get_vulkan_handles(ctx, &h) != Q8CONV_SUCCESS)
        return NAN;
    struct VolkDeviceTable t;
    volkLoadDeviceTable(&t, h.device);
    VkCommandPool pool = VK_NULL_HANDLE;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    const VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                          .queueFamilyIndex = h.queue_family_index};
    VkResult r = t.vkCreateCommandPool(h.device, &cpci, NULL, &pool);
    if (r == VK_SUCCESS) {
        const VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                                .commandPool = pool,
                                                .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                                .commandBufferCount = 1};
        r = t.vkAllocateCommandBuffers(h.device, &ai, &cmd);
    }
    if (r == VK_SUCCESS) {
        /* Recorded once and submitted again and again, as the library's replays (no ONE_TIME_SUBMIT). */
        const VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        r = t.vkBeginCommandBuffer(cmd, &bi);
        if (r == VK_SUCCESS)
            r = t.vkEndCommandBuffer(cmd);
    }
    if (r == VK_SUCCESS) {
        const VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        r = t.vkCreateFence(h.device, &fci, NULL, &fence);
    }
    const VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    double us[BENCH_MAX_REPS];
    for (int i = 0; i < BENCH_HOST_WARMUP + opt->reps && r == VK_SUCCESS; ++i) {
        const double t0 = bench_now_us();
        r = t.vkResetFences(h.device, 1, &fence);
        if (r == VK_SUCCESS)
            r = t.vkQueueSubmit(h.queue, 1, &si, fence);
        VkResult status = VK_NOT_READY;
        if (r == VK_SUCCESS && poll) {
            const double spin = bench_now_us();
            do
                status = t.vkGetFenceStatus(h.device, fence);
            while (status == VK_NOT_READY && bench_now_us() - spin < FLOOR_POLL_BOUND_US);
        }
        if (r == VK_SUCCESS)
            r = status == VK_NOT_READY ? t.vkWaitForFences(h.device, 1, &fence, VK_TRUE, UINT64_MAX) : status;
        if (i >= BENCH_HOST_WARMUP)
            us[i - BENCH_HOST_WARMUP] = bench_now_us() - t0;
    }
    if (fence)
        t.vkDestroyFence(h.device, fence, NULL);
    if (pool)
        t.vkDestroyCommandPool(h.device, pool, NULL);
    return r == VK_SUCCESS ? bench_median(us, opt->reps) : NAN;
}

int bench_host_measure(q8conv_context *ctx, const q8conv_context_desc *desc, int have_device, const bench_options *opt,
                       const bench_shape *shapes, int ns, bench_report *r)
{
    bench_host_network *net = &r->network_host;
    *net = (bench_host_network){.block_us = NAN, .poll_us = NAN, .submit_floor_us = NAN, .submit_floor_poll_us = NAN,
                                .one_layer_us = NAN, .one_layer_poll_us = NAN};
    for (int i = 0; i < r->count; ++i)
        r->rows[i].host_run_us = r->rows[i].host_run_poll_us = NAN;
    q8conv_context *poll = poll_context(desc, have_device);
    if (!poll)
        return -1;
    int rc = 0;
    for (int i = 0; i < r->count && rc == 0; ++i) {
        bench_row *w = &r->rows[i];
        /* Ablated and forced-tile rows are tuning builds' GPU measurements only. */
        if (w->cpu || w->ablate || w->tile_forced)
            continue;
        fprintf(stderr, "[host] %s %s\n", w->shape.name, w->variant);
        w->host_run_us = run_us(ctx, opt, &w->shape, w->kernel);
        w->host_run_poll_us = run_us(poll, opt, &w->shape, w->kernel);
        if (isnan(w->host_run_us) || isnan(w->host_run_poll_us)) {
            fprintf(stderr, "%s %s: q8conv_pw_run failed while timing it on the host\n", w->shape.name, w->variant);
            rc = -1;
        }
    }
    static int order[BENCH_MAX_LAYERS];
    int chained = 0;
    const int layers = rc == 0 ? bench_network_order(shapes, ns, order, &chained) : 0;
    if (layers > 0) {
        fprintf(stderr, "[host] the network as a sequence (%d layers), its first layer alone, an empty submission\n",
                layers);
        int exact[4] = {0, 0, 0, 0};
        q8conv_kernel first = Q8CONV_KERNEL_AUTO;
        if (network_us(ctx, opt, shapes, order, layers, &net->block_us, &exact[0], &net->kernel) != 0 ||
            network_us(poll, opt, shapes, order, layers, &net->poll_us, &exact[1], &net->kernel) != 0 ||
            network_us(ctx, opt, shapes, order, 1, &net->one_layer_us, &exact[2], &first) != 0 ||
            network_us(poll, opt, shapes, order, 1, &net->one_layer_poll_us, &exact[3], &first) != 0) {
            fprintf(stderr, "the network as a sequence: a library call failed\n");
            rc = -1;
        } else {
            net->layers = layers;
            net->first = shapes[order[0]];
            net->checked = 1;
            net->exact = exact[0] && exact[1] && exact[2] && exact[3];
            if (!net->exact) {
                fprintf(stderr, "  MISMATCH: the last layer of the network or of its first layer alone differs from the CPU reference\n");
                rc = -1;
            }
        }
        net->submit_floor_us = submit_floor_us(ctx, opt, 0);
        net->submit_floor_poll_us = submit_floor_us(poll, opt, 1);
        if (rc == 0 && (isnan(net->submit_floor_us) || isnan(net->submit_floor_poll_us))) {
            fprintf(stderr, "the submission floor: a Vulkan call failed\n");
            rc = -1;
        }
    }
    q8conv_context_info info;
    if (q8conv_context_get_info(poll, &info) == Q8CONV_SUCCESS && info.validation_enabled && info.validation_errors) {
        fprintf(stderr, "validation (polling context): %u error(s)\n", info.validation_errors);
        rc = -1;
    }
    q8conv_context_destroy(poll);
    return rc;
}
