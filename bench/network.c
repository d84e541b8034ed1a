/* The whole network as a runtime runs it: every layer of the network's shapes (each shape `count`
 * times, each layer with its own weights) recorded in network order into one command buffer, the
 * compute barrier a runtime puts between dependent layers before each layer, --reps passes per
 * batch, timestamps at the two ends of each batch only (bench_gpu_chain). Each figure is the
 * median batch over --batches, divided by the passes. Two figures per kernel variant, with the
 * same operators:
 *
 * - cold (rotating sets): a layer reads its own input and writes its own output, and the sets of
 *   the whole network's tensors rotate across passes when the rotation budget (--rotate-mb) holds
 *   two or more, so a pass finds every activation in DRAM (with one set it may not: the table
 *   says which). This is each layer's cost with nothing cached but its weights.
 * - warm (runtime order): the activations chained through two buffers (pingpong.c), layer l
 *   reading what layer l - 1 has just written, as a runtime runs the network; what a layer reads
 *   is then in the GPU's caches wherever it fits. The layers' tensors differ in shape wherever a
 *   depthwise convolution sits between two pointwise ones: a layer reads the bytes its
 *   predecessor left, whatever they mean, and the barrier is what the chain pays.
 *
 * The weights are one per layer, as in a runtime, and may stay cached across passes in both.
 * Checks: the cold figure's last set of every layer is poisoned before the timed passes and
 * compared with the CPU reference after them; the warm figure's last layer is compared with the
 * reference computed from what the layer before it left in its input buffer. */
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
    q8conv_tensor *in[BENCH_MAX_SETS], *out[BENCH_MAX_SETS]; /* the cold figure's sets */
    int8_t *x;         /* the input, the same in every set (rotation is about addresses, not values) */
    int8_t *ref;       /* its reference output, computed at the first check */
} net_layer;

struct bench_net {
    bench_gpu *g;
    const bench_options *opt;
    int layers, sets;
    double set_bytes;
    net_layer *layer;
    bench_pingpong act; /* the warm figure's activations */
};

/* Distinct weights and inputs for every layer, also for layers of the same shape, the same for
 * every variant. */
static test_rng layer_rng(const bench_options *opt, const bench_shape *s, int layer)
{
    return bench_shape_rng(opt, s, (uint64_t)layer + 1);
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
    bench_pingpong_destroy(&net->act);
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
        const q8conv_tensor_desc din = bench_tensor_desc(opt, &y->shape, 0);
        const q8conv_tensor_desc dout = bench_tensor_desc(opt, &y->shape, 1);
        net->set_bytes += (double)q8conv_tensor_size_bytes(&din) + (double)q8conv_tensor_size_bytes(&dout);
    }
    int sets = pick_sets(g, opt, layers, net->set_bytes);
    int failed = 0;
    for (int i = 0; i < sets && !failed; ++i)
        for (int l = 0; l < layers; ++l) {
            net_layer *y = &net->layer[l];
            const q8conv_tensor_desc din = bench_tensor_desc(opt, &y->shape, 0);
            const q8conv_tensor_desc dout = bench_tensor_desc(opt, &y->shape, 1);
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
    test_rng rng = test_rng_seeded(opt->seed ^ 0x50494E47504F4E47ull);
    if (failed || sets == 0 || bench_pingpong_create(g->ctx, opt, shapes, order, layers, &rng, &net->act) != 0) {
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

/* The warm figure: every pass over the same two activation buffers. */
static int record_layer_warm(void *user, VkCommandBuffer cmd, int step)
{
    const bench_net *net = user;
    const int l = step % net->layers;
    return q8conv_pw_record(net->layer[l].op, cmd, net->act.in[l], net->act.out[l]) == Q8CONV_SUCCESS ? 0 : -1;
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
    if (rc == 0 && !res->skipped)
        rc = bench_pingpong_reset(&net->act);
    /* Cold first, then warm: the warm passes follow the cold ones on a GPU already busy. */
    for (int warm = 0; warm < 2 && rc == 0 && !res->skipped; ++warm) {
        double us[BENCH_MAX_BATCHES];
        const bench_chain c = {.steps = net->layers * opt->reps,
                               .batches = opt->batches,
                               .barrier = 1,
                               .record = warm ? record_layer_warm : record_layer,
                               .user = net};
        double *each = warm ? &res->warm_us : &res->us;
        rc = bench_gpu_chain(net->g, &c, opt->warmup_ms, us, warm ? &res->warm_submissions : &res->submissions);
        if (rc == 0) {
            *each = bench_median(us, opt->batches) / opt->reps;
            if (!(*each > 0)) {
                fprintf(stderr, "network %s (%s): the timestamps measured no time\n", variant, warm ? "warm" : "cold");
                rc = -1;
            }
        }
    }
    if (rc == 0 && !res->skipped && !opt->no_check) {
        const int differ = check_layers(net);
        int warm_exact = 0;
        if (differ < 0 || bench_pingpong_check(&net->act, &net->layer[net->layers - 1].d.desc, &warm_exact) != 0)
            rc = -1;
        else {
            res->checked = 1;
            res->exact = differ == 0;
            res->warm_exact = warm_exact;
            if (!warm_exact)
                fprintf(stderr, "  network %s in runtime order: the last layer differs from the CPU reference\n",
                        variant);
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
