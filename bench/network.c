/* The whole network as a runtime runs it: every layer of the network's shapes (each shape `count`
 * times, each layer with its own weights and its own tensors) recorded in network order into one
 * command buffer, the compute barrier a runtime puts between dependent layers before each layer,
 * --reps passes per batch, timestamps at the two ends of each batch only (bench_gpu_chain). The
 * figure is the median batch over --batches, divided by the passes.
 *
 * A layer reads its own input, not its predecessor's output: the layers' tensors differ in shape
 * wherever a depthwise convolution sits between two pointwise ones, and the barrier is what a
 * chain pays, whatever the data. Buffer sets rotate across passes when the rotation budget
 * (--rotate-mb) holds two or more, so that a pass does not find the last pass's tensors in the
 * cache; with one set it may (the table says which). The weights are one per layer, as in a
 * runtime, and may stay cached across passes there as here.
 *
 * The last set of every layer is poisoned before the timed passes and compared with the CPU
 * reference after them. */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Nodes the search for a channel chain may visit before it settles for the list's order: far more
 * than MobileNetV2 needs (it never backtracks there), far less than a second of work. */
#define CHAIN_SEARCH_BUDGET 1000000L

/* Whether layer b can follow layer a in a MobileNet-style network: b reads a's channels, at a's
 * output size or at half of it (a depthwise convolution with stride 2 between them), at a's batch. */
static int follows(const bench_shape *a, const bench_shape *b)
{
    const uint32_t ah = bench_out_h(a), aw = bench_out_w(a);
    return b->n == a->n && b->ic == a->oc && (b->h == ah || b->h == (ah + 1) / 2) && (b->w == aw || b->w == (aw + 1) / 2);
}

/* Depth-first search for an order of all `total` layers (cand[i] has left[i] layers still to
 * place) in which every layer follows the one before it; candidates are tried in the list's order. */
static int chain_from(const bench_shape *shapes, const int *cand, int nc, uint32_t *left, int *order, int depth,
                      int total, long *budget)
{
    if (depth == total)
        return 1;
    if (--*budget < 0)
        return 0;
    for (int i = 0; i < nc; ++i) {
        const int j = cand[i];
        if (!left[i] || (depth > 0 && !follows(&shapes[order[depth - 1]], &shapes[j])))
            continue;
        left[i]--;
        order[depth] = j;
        if (chain_from(shapes, cand, nc, left, order, depth + 1, total, budget))
            return 1;
        left[i]++;
    }
    return 0;
}

int bench_network_order(const bench_shape *shapes, int ns, int *order, int *chained)
{
    int cand[BENCH_MAX_SHAPES], nc = 0;
    uint32_t left[BENCH_MAX_SHAPES];
    long total = 0;
    *chained = 0;
    for (int i = 0; i < ns && nc < BENCH_MAX_SHAPES; ++i)
        if (shapes[i].in_total && shapes[i].count > 0) {
            cand[nc] = i;
            left[nc++] = shapes[i].count;
            total += shapes[i].count;
        }
    if (total == 0)
        return 0;
    if (total > BENCH_MAX_LAYERS) {
        fprintf(stderr, "network: %ld layers, more than the %d the bench records; not measured\n", total,
                BENCH_MAX_LAYERS);
        return -1;
    }
    /* MobileNetV2's shape list is grouped by shape; the chain of channels (and sizes that only
     * shrink) recovers its real layer order, which is what the search finds first there. */
    long budget = CHAIN_SEARCH_BUDGET;
    if (chain_from(shapes, cand, nc, left, order, 0, (int)total, &budget)) {
        *chained = 1;
        return (int)total;
    }
    int n = 0;
    for (int i = 0; i < nc; ++i)
        for (uint32_t k = 0; k < shapes[cand[i]].count; ++k)
            order[n++] = cand[i];
    return n;
}

/* ---- the network's layers and buffers, shared by every kernel variant ---- */

typedef struct net_layer {
    bench_shape shape;
    bench_op_data d;   /* the layer's weights; its kernel is set per variant */
    q8conv_pw *op;     /* the variant being measured */
    q8conv_tensor *in[BENCH_MAX_SETS], *out[BENCH_MAX_SETS];
    int8_t *x;         /* the input, the same in every set (rotation is about addresses, not values) */
    int8_t *ref;       /* its reference output, computed at the first check */
} net_layer;

struct bench_net {
    bench_gpu *g;
    const bench_options *opt;
    int layers, sets;
    double set_bytes;
    net_layer *layer;
};

/* Distinct weights and inputs for every layer, also for layers of the same shape, the same for
 * every variant. */
static test_rng layer_rng(const bench_options *opt, const bench_shape *s, int layer)
{
    return bench_shape_rng(opt, s, (uint64_t)layer + 1);
}

/* The input tensor of a layer (out: its output tensor, of the strided size). */
static q8conv_tensor_desc tensor_desc(const bench_options *opt, const bench_shape *s, bool out)
{
    return (q8conv_tensor_desc){.n = s->n, .c = out ? s->oc : s->ic, .h = out ? bench_out_h(s) : s->h,
                                .w = out ? bench_out_w(s) : s->w, .layout = opt->layout, .dtype = opt->dtype};
}

void bench_network_destroy(bench_net *net)
{
    if (!net)
        return;
    for (int l = 0; l < net->layers; ++l) {
        net_layer *y = &net->layer[l];
        for (int i = 0; i < BENCH_MAX_SETS; ++i) {
            q8conv_tensor_destroy(y->in[i]);
            q8conv_tensor_destroy(y->out[i]);
        }
        q8conv_pw_destroy(y->op);
        test_op_free(&y->d);
        free(y->x);
        free(y->ref);
    }
    free(net->layer);
    free(net);
}

/* Sets of the whole network's tensors: as many as the rotation budget holds, at least one. */
static int pick_sets(bench_gpu *g, const bench_options *opt, int layers, double set_bytes)
{
    double fit = opt->rotate_bytes / set_bytes;
    int sets = fit >= BENCH_MAX_SETS ? BENCH_MAX_SETS : fit >= 1 ? (int)fit : 1;
    /* Every set written by every batch, the checked last one included. */
    if (sets > opt->reps)
        sets = opt->reps;
    /* Each tensor is one device allocation: keep them within half of maxMemoryAllocationCount
     * (4096 on many drivers), the rest for the library's weights and staging. */
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(g->vk.physical_device, &props);
    const long cap = (long)(props.limits.maxMemoryAllocationCount / 2) / (2L * layers);
    if (sets > cap)
        sets = cap > 1 ? (int)cap : 1;
    return sets;
}

bench_net *bench_network_create(bench_gpu *g, const bench_options *opt, const bench_shape *shapes, const int *order,
                                int layers)
{
    bench_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->g = g;
    net->opt = opt;
    net->layer = calloc((size_t)layers, sizeof *net->layer);
    if (!net->layer) {
        free(net);
        return NULL;
    }
    net->layers = layers;
    for (int l = 0; l < layers; ++l) {
        net_layer *y = &net->layer[l];
        y->shape = shapes[order[l]];
        test_rng rng = layer_rng(opt, &y->shape, l);
        const size_t in_n = (size_t)y->shape.n * y->shape.ic * y->shape.h * y->shape.w;
        if (bench_make_desc(&y->shape, &y->d, &rng, Q8CONV_KERNEL_AUTO, opt) != 0 || !(y->x = malloc(in_n))) {
            fprintf(stderr, "network: out of host memory\n");
            bench_network_destroy(net);
            return NULL;
        }
        test_rng_fill(&rng, y->x, in_n);
        const q8conv_tensor_desc din = tensor_desc(opt, &y->shape, false);
        const q8conv_tensor_desc dout = tensor_desc(opt, &y->shape, true);
        net->set_bytes += (double)q8conv_tensor_size_bytes(&din) + (double)q8conv_tensor_size_bytes(&dout);
    }
    int sets = pick_sets(g, opt, layers, net->set_bytes);
    int failed = 0;
    for (int i = 0; i < sets && !failed; ++i)
        for (int l = 0; l < layers; ++l) {
            net_layer *y = &net->layer[l];
            const q8conv_tensor_desc din = tensor_desc(opt, &y->shape, false);
            const q8conv_tensor_desc dout = tensor_desc(opt, &y->shape, true);
            if (q8conv_tensor_create(g->ctx, &din, &y->in[i]) != Q8CONV_SUCCESS ||
                q8conv_tensor_create(g->ctx, &dout, &y->out[i]) != Q8CONV_SUCCESS) {
                /* Fewer sets on a device short of memory: drop the incomplete one. */
                for (int k = 0; k <= l; ++k) {
                    q8conv_tensor_destroy(net->layer[k].in[i]);
                    q8conv_tensor_destroy(net->layer[k].out[i]);
                    net->layer[k].in[i] = net->layer[k].out[i] = NULL;
                }
                sets = i;
                break;
            }
            if (q8conv_tensor_write(y->in[i], y->x, Q8CONV_HOST_NCHW) != Q8CONV_SUCCESS) {
                failed = 1;
                break;
            }
        }
    net->sets = sets;
    if (failed || sets == 0) {
        fprintf(stderr, "network: cannot create or write the layers' tensors\n");
        bench_network_destroy(net);
        return NULL;
    }
    return net;
}

static int record_layer(void *user, VkCommandBuffer cmd, int step)
{
    const bench_net *net = user;
    const int pass = step / net->layers;
    const net_layer *y = &net->layer[step % net->layers];
    const int set = pass % net->sets;
    return q8conv_pw_record(y->op, cmd, y->in[set], y->out[set]) == Q8CONV_SUCCESS ? 0 : -1;
}

/* Compares every layer's last set with its reference; returns the number of layers that differ,
 * or -1 when a call failed. */
static int check_layers(bench_net *net)
{
    const int last = net->sets - 1;
    int differ = 0;
    for (int l = 0; l < net->layers; ++l) {
        net_layer *y = &net->layer[l];
        const bench_shape *s = &y->shape;
        const size_t out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
        if (!y->ref && (!(y->ref = malloc(out_n)) ||
                        q8conv_pw_reference(&y->d.desc, s->n, s->h, s->w, y->x, y->ref) != Q8CONV_SUCCESS))
            return -1;
        int8_t *got = malloc(out_n);
        if (!got || q8conv_tensor_read(y->out[last], got, Q8CONV_HOST_NCHW) != Q8CONV_SUCCESS) {
            free(got);
            return -1;
        }
        if (memcmp(got, y->ref, out_n) != 0) {
            fprintf(stderr, "  network layer %d (%s) differs from the CPU reference\n", l + 1, s->name);
            differ++;
        }
        free(got);
    }
    return differ;
}

int bench_network_measure(bench_net *net, q8conv_kernel kernel, const char *variant, bench_network *res)
{
    const bench_options *opt = net->opt;
    memset(res, 0, sizeof *res);
    res->kernel = kernel;
    snprintf(res->variant, sizeof res->variant, "%s", variant);
    res->layers = net->layers;
    res->passes = opt->reps;
    res->sets = net->sets;
    res->set_bytes = net->set_bytes;
    int rc = 0;
    for (int l = 0; l < net->layers && rc == 0 && !res->skipped; ++l) {
        net_layer *y = &net->layer[l];
        y->d.desc.kernel = kernel;
        const q8conv_status st = q8conv_pw_create(net->g->ctx, &y->d.desc, &y->op);
        if (st != Q8CONV_SUCCESS) {
            fprintf(stderr, "network %s: layer %d (%s): pw_create: %s (network skipped)\n", variant, l + 1,
                    y->shape.name, q8conv_status_string(st));
            y->op = NULL;
            res->skipped = 1;
        } else if (!test_poison_tensor(y->out[net->sets - 1]))
            rc = -1;
    }
    double us[BENCH_MAX_BATCHES];
    const bench_chain c = {.steps = net->layers * opt->reps,
                           .batches = opt->batches,
                           .barrier = 1,
                           .record = record_layer,
                           .user = net};
    if (rc == 0 && !res->skipped)
        rc = bench_gpu_chain(net->g, &c, opt->warmup_ms, us, &res->submissions);
    if (rc == 0 && !res->skipped) {
        res->us = bench_median(us, opt->batches) / opt->reps;
        if (!(res->us > 0)) {
            fprintf(stderr, "network %s: the timestamps measured no time\n", variant);
            rc = -1;
        }
    }
    if (rc == 0 && !res->skipped && !opt->no_check) {
        const int differ = check_layers(net);
        if (differ < 0)
            rc = -1;
        else {
            res->checked = 1;
            res->exact = differ == 0;
        }
    }
    for (int l = 0; l < net->layers; ++l) {
        q8conv_pw_destroy(net->layer[l].op);
        net->layer[l].op = NULL;
    }
    if (rc != 0)
        fprintf(stderr, "network %s: a Vulkan or library call failed\n", variant);
    return rc;
}
