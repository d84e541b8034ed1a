/* Host wall time of the public run paths, as a caller of the library sees it, beside the GPU
 * times the rest of the bench measures:
 * - q8conv_pw_run called again and again on one op and one pair of tensors (the op replays its
 *   recording: a submit and a wait per call), per GPU row;
 * - the network's layers (the shapes counted in its total, each `count` times, in file order) as
 *   one q8conv_sequence, per q8conv_sequence_run. The layers are chained through two buffers that
 *   every layer reads from and writes to in turn, as a runtime reuses activation memory, so each
 *   layer depends on the one before (a barrier between every pair) like a real network.
 * Both with the context's blocking wait and with a second context that polls
 * (Q8CONV_WAIT_POLL). */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The two activation buffers, on the device of one context (its own function pointers: the
 * polling context is a device of its own). */
typedef struct activation_buffers {
    PFN_vkDestroyBuffer destroy_buffer;
    PFN_vkFreeMemory free_memory;
    VkDevice device;
    VkBuffer buffer[2];
    VkDeviceMemory memory[2];
    VkDeviceSize size;
} activation_buffers;

static void buffers_destroy(activation_buffers *b)
{
    for (int i = 0; i < 2; ++i) {
        if (b->buffer[i])
            b->destroy_buffer(b->device, b->buffer[i], NULL);
        if (b->memory[i])
            b->free_memory(b->device, b->memory[i], NULL);
    }
    memset(b, 0, sizeof *b);
}

static int buffers_create(q8conv_context *ctx, VkDeviceSize size, activation_buffers *b)
{
    memset(b, 0, sizeof *b);
    q8conv_vulkan_handles h;
    if (q8conv_context_get_vulkan_handles(ctx, &h) != Q8CONV_SUCCESS)
        return -1;
    PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)h.get_instance_proc_addr(h.instance, "vkGetDeviceProcAddr");
    PFN_vkGetPhysicalDeviceMemoryProperties memory_props =
        (PFN_vkGetPhysicalDeviceMemoryProperties)h.get_instance_proc_addr(h.instance, "vkGetPhysicalDeviceMemoryProperties");
    if (!gdpa || !memory_props)
        return -1;
    PFN_vkCreateBuffer create_buffer = (PFN_vkCreateBuffer)gdpa(h.device, "vkCreateBuffer");
    PFN_vkGetBufferMemoryRequirements requirements =
        (PFN_vkGetBufferMemoryRequirements)gdpa(h.device, "vkGetBufferMemoryRequirements");
    PFN_vkAllocateMemory allocate = (PFN_vkAllocateMemory)gdpa(h.device, "vkAllocateMemory");
    PFN_vkBindBufferMemory bind = (PFN_vkBindBufferMemory)gdpa(h.device, "vkBindBufferMemory");
    b->destroy_buffer = (PFN_vkDestroyBuffer)gdpa(h.device, "vkDestroyBuffer");
    b->free_memory = (PFN_vkFreeMemory)gdpa(h.device, "vkFreeMemory");
    b->device = h.device;
    b->size = size;
    if (!create_buffer || !requirements || !allocate || !bind || !b->destroy_buffer || !b->free_memory)
        return -1;
    VkPhysicalDeviceMemoryProperties mp;
    memory_props(h.physical_device, &mp);
    const VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                    .size = size,
                                    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                             VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                    .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    for (int i = 0; i < 2; ++i) {
        if (create_buffer(h.device, &bci, NULL, &b->buffer[i]) != VK_SUCCESS) {
            b->buffer[i] = VK_NULL_HANDLE;
            return -1;
        }
        VkMemoryRequirements req;
        requirements(h.device, b->buffer[i], &req);
        /* Device-local where there is such a type, as the library's own tensors are. */
        uint32_t type = UINT32_MAX;
        for (int pass = 0; pass < 2 && type == UINT32_MAX; ++pass)
            for (uint32_t t = 0; t < mp.memoryTypeCount && type == UINT32_MAX; ++t)
                if ((req.memoryTypeBits & (1u << t)) &&
                    (pass || (mp.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)))
                    type = t;
        const VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                          .allocationSize = req.size,
                                          .memoryTypeIndex = type};
        if (type == UINT32_MAX || allocate(h.device, &mai, NULL, &b->memory[i]) != VK_SUCCESS) {
            b->memory[i] = VK_NULL_HANDLE;
            return -1;
        }
        if (bind(h.device, b->buffer[i], b->memory[i], 0) != VK_SUCCESS)
            return -1;
    }
    return 0;
}

/* One network on one context: its ops, the tensors wrapped on the two buffers, the sequence. */
typedef struct network {
    int layers;
    const bench_shape **shape; /* per layer */
    bench_op_data *data;
    q8conv_pw **op;
    q8conv_tensor **in, **out;
    activation_buffers buffers;
    q8conv_sequence *seq;
} network;

static void network_destroy(network *n)
{
    q8conv_sequence_destroy(n->seq);
    for (int i = 0; i < n->layers; ++i) {
        if (n->in)
            q8conv_tensor_destroy(n->in[i]);
        if (n->out)
            q8conv_tensor_destroy(n->out[i]);
        if (n->op)
            q8conv_pw_destroy(n->op[i]);
        if (n->data)
            test_op_free(&n->data[i]);
    }
    buffers_destroy(&n->buffers);
    free(n->shape);
    free(n->data);
    free(n->op);
    free(n->in);
    free(n->out);
    memset(n, 0, sizeof *n);
}

/* Layer i reads buffer i % 2 and writes the other one. */
static int network_create(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, int ns, network *n)
{
    memset(n, 0, sizeof *n);
    for (int i = 0; i < ns; ++i)
        if (shapes[i].in_total)
            n->layers += (int)shapes[i].count;
    if (n->layers == 0)
        return 0;
    n->shape = calloc((size_t)n->layers, sizeof *n->shape);
    n->data = calloc((size_t)n->layers, sizeof *n->data);
    n->op = calloc((size_t)n->layers, sizeof *n->op);
    n->in = calloc((size_t)n->layers, sizeof *n->in);
    n->out = calloc((size_t)n->layers, sizeof *n->out);
    if (!n->shape || !n->data || !n->op || !n->in || !n->out)
        return -1;
    VkDeviceSize largest = 0;
    int l = 0;
    for (int i = 0; i < ns; ++i)
        for (uint32_t c = 0; shapes[i].in_total && c < shapes[i].count; ++c) {
            const bench_shape *s = &shapes[i];
            n->shape[l++] = s;
            const q8conv_tensor_desc din = {s->n, s->ic, s->h, s->w, opt->layout, opt->dtype};
            const q8conv_tensor_desc dout = {s->n, s->oc, bench_out_h(s), bench_out_w(s), opt->layout, opt->dtype};
            const VkDeviceSize in_size = q8conv_tensor_size_bytes(&din), out_size = q8conv_tensor_size_bytes(&dout);
            if (in_size > largest)
                largest = in_size;
            if (out_size > largest)
                largest = out_size;
        }
    if (buffers_create(ctx, largest, &n->buffers) != 0)
        return -1;
    if (q8conv_sequence_create(ctx, &n->seq) != Q8CONV_SUCCESS)
        return -1;
    test_rng rng = test_rng_seeded(opt->seed ^ 0x4E45545755524Bull);
    for (int i = 0; i < n->layers; ++i) {
        const bench_shape *s = n->shape[i];
        const q8conv_tensor_desc din = {s->n, s->ic, s->h, s->w, opt->layout, opt->dtype};
        const q8conv_tensor_desc dout = {s->n, s->oc, bench_out_h(s), bench_out_w(s), opt->layout, opt->dtype};
        const VkBuffer from = n->buffers.buffer[i % 2], to = n->buffers.buffer[(i + 1) % 2];
        if (bench_make_desc(s, &n->data[i], &rng, Q8CONV_KERNEL_AUTO, opt) != 0)
            return -1;
        if (q8conv_pw_create(ctx, &n->data[i].desc, &n->op[i]) != Q8CONV_SUCCESS ||
            q8conv_tensor_wrap_sized(ctx, &din, from, 0, n->buffers.size, &n->in[i]) != Q8CONV_SUCCESS ||
            q8conv_tensor_wrap_sized(ctx, &dout, to, 0, n->buffers.size, &n->out[i]) != Q8CONV_SUCCESS ||
            q8conv_sequence_add(n->seq, n->op[i], n->in[i], n->out[i]) != Q8CONV_SUCCESS)
            return -1;
    }
    /* The first layer's input; later runs start from what the one before left in that buffer. */
    const bench_shape *s0 = n->shape[0];
    const size_t in_n = (size_t)s0->n * s0->ic * s0->h * s0->w;
    int8_t *x = malloc(in_n);
    if (!x)
        return -1;
    test_rng_fill(&rng, x, in_n);
    const q8conv_status st = q8conv_tensor_write(n->in[0], x, Q8CONV_HOST_NCHW);
    free(x);
    return st == Q8CONV_SUCCESS && q8conv_sequence_finalize(n->seq) == Q8CONV_SUCCESS ? 0 : -1;
}

/* The last layer against the reference: its input is what the layer before wrote (nothing has
 * written that buffer since), read back through the last layer's own input tensor. */
static int network_check(const network *n, int *exact)
{
    const int last = n->layers - 1;
    const bench_shape *s = n->shape[last];
    const size_t in_n = (size_t)s->n * s->ic * s->h * s->w, out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
    int8_t *x = malloc(in_n), *ref = malloc(out_n), *got = malloc(out_n);
    int rc = x && ref && got && q8conv_tensor_read(n->in[last], x, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS &&
                     q8conv_pw_reference(&n->data[last].desc, s->n, s->h, s->w, x, ref) == Q8CONV_SUCCESS &&
                     q8conv_tensor_read(n->out[last], got, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS
                 ? 0
                 : -1;
    if (rc == 0)
        *exact = memcmp(ref, got, out_n) == 0;
    free(x);
    free(ref);
    free(got);
    return rc;
}

/* Median host time of q8conv_sequence_run over the whole network; checks the last layer. */
static int network_us(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, int ns,
                      bench_host_network *result, double *us_out)
{
    network n;
    double us[BENCH_MAX_REPS];
    int rc = network_create(ctx, opt, shapes, ns, &n);
    for (int i = 0; i < BENCH_HOST_WARMUP + opt->reps && rc == 0; ++i) {
        const double t0 = bench_now_us();
        if (q8conv_sequence_run(n.seq) != Q8CONV_SUCCESS)
            rc = -1;
        if (i >= BENCH_HOST_WARMUP)
            us[i - BENCH_HOST_WARMUP] = bench_now_us() - t0;
    }
    if (rc == 0) {
        *us_out = bench_median(us, opt->reps);
        int exact = 0;
        rc = network_check(&n, &exact);
        result->layers = n.layers;
        result->kernel = q8conv_pw_get_kernel(n.op[0]);
        result->checked = 1;
        result->exact = result->exact && exact;
    }
    network_destroy(&n);
    return rc;
}

int bench_host_measure(q8conv_context *ctx, const q8conv_context_desc *desc, int have_device, const bench_options *opt,
                       const bench_shape *shapes, int ns, bench_report *r)
{
    bench_host_network *net = &r->network_host;
    *net = (bench_host_network){.block_us = NAN, .poll_us = NAN, .exact = 1};
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
    int layers = 0;
    for (int i = 0; i < ns; ++i)
        layers += shapes[i].in_total ? (int)shapes[i].count : 0;
    if (rc == 0 && layers > 0) {
        fprintf(stderr, "[host] the network as a sequence (%d layers)\n", layers);
        if (network_us(ctx, opt, shapes, ns, net, &net->block_us) != 0 ||
            network_us(poll, opt, shapes, ns, net, &net->poll_us) != 0) {
            fprintf(stderr, "the network as a sequence: a library call failed\n");
            rc = -1;
        } else if (!net->exact) {
            fprintf(stderr, "  MISMATCH: the network's last layer differs from the CPU reference\n");
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
