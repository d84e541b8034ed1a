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

/* Median host time of q8conv_sequence_run over the whole network; checks the last layer. */
static int network_us(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, const int *order,
                      int layers, bench_host_network *result, double *us_out)
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
        int exact = 0;
        rc = bench_pingpong_check(&n.act, &n.data[layers - 1].desc, &exact);
        result->layers = layers;
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
    static int order[BENCH_MAX_LAYERS];
    int chained = 0;
    const int layers = rc == 0 ? bench_network_order(shapes, ns, order, &chained) : 0;
    if (layers > 0) {
        fprintf(stderr, "[host] the network as a sequence (%d layers)\n", layers);
        if (network_us(ctx, opt, shapes, order, layers, net, &net->block_us) != 0 ||
            network_us(poll, opt, shapes, order, layers, net, &net->poll_us) != 0) {
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
