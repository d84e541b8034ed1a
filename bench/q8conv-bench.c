/* q8conv-bench: GPU time of libq8conv's kernels on real network shapes, each result checked byte
 * for byte against the CPU reference.
 *
 * GPU time comes from timestamp queries written at BOTTOM_OF_PIPE, two ways per (shape, kernel):
 *  - chained, the headline: --reps runs recorded back to back, each after the compute barrier a
 *    runtime puts between dependent layers, timestamps at the two ends of the batch only; the
 *    median over --batches batches, per run. This is what a layer costs inside a network.
 *  - per run: timestamps around each run, runs separated by a barrier so none overlaps the next;
 *    the median of --reps runs. Each run then also pays for its own timestamps, which on a small
 *    layer is a visible part of the figure (GPU.md: 5.0-7.6 us per run against 3.8-5.6 us chained
 *    for MobileNetV2's layers on the H100).
 * Both follow warm-up and rotate over the same input/output buffer sets, so that small shapes are
 * not flattered by a cache holding the previous run's data. The same run measures the dispatch
 * floor (roofline.c) and the whole network (network.c) the chained way.
 *
 * This file is the program: the command line, the shape lists and the measurement loop. It calls
 * down into util.c (clock, medians, data), gpu_timer.c (timestamps, chains), network.c (the whole
 * network), pingpong.c (activations through two buffers), roofline.c (ceilings, the dispatch and
 * layer floors), cpu.c (CPU peers), host_time.c (host wall time) and report.c (output formats);
 * none of them calls back into it. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "q8conv.h"
#ifdef Q8CONV_TUNING
#include "tuning.h" /* src/tuning.h: the switches of tuning builds (--ablate, --tiles) */
#endif

/* ---- shape lists (embedded at build time from the CSV files in bench/shapes) ---- */
extern const char q8conv_bench_mobilenet_csv[];
extern const char q8conv_bench_full_extra_csv[];

/* Appends the shapes of a CSV text to out[n..cap); in_total marks them as part of the network
 * whose weighted total is reported. Returns the new count. */
static int parse_shapes(const char *text, bench_shape *out, int cap, int n, int in_total)
{
    const char *p = text;
    while (*p && n < cap) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[256];
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = 0;
        p = eol ? eol + 1 : p + len;
        if (line[0] == '#' || line[0] == 0)
            continue;
        bench_shape s = {.count = 1, .in_total = in_total};
        int got = sscanf(line, "%47[^,],%u,%u,%u,%u,%u,%u,%u", s.name, &s.n, &s.h, &s.w, &s.ic, &s.oc, &s.count,
                         &s.stride);
        if (got < 6 || !s.n || !s.h || !s.w || !s.ic || !s.oc) {
            fprintf(stderr, "ignoring shape line '%s' (want name,N,H,W,IC,OC[,count[,stride]], all >= 1)\n", line);
            continue;
        }
        out[n++] = s;
    }
    if (*p)
        fprintf(stderr, "warning: only the first %d shapes are run\n", cap);
    return n;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size)
        buf[size] = 0;
    else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* ---- one measurement ---- */

static const char *variant_label(q8conv_kernel k)
{
    switch (k) {
    case Q8CONV_KERNEL_DOT: return "tile_n4=1 dot";
    case Q8CONV_KERNEL_DOT_MIXED: return "tile_n4=1 dot_mixed";
    case Q8CONV_KERNEL_LEGACY: return "tile_n4=2 legacy";
    case Q8CONV_KERNEL_FALLBACK: return "tile_n4=1 fallback";
    case Q8CONV_KERNEL_COOPMAT: return "coopmat";
    case Q8CONV_KERNEL_AUTO: return "auto";
    default: return "?";
    }
}

/* The reference output of one shape's set, kept across its kernel variants: they all get the same
 * weights and the same input for a set index, and the reference is the slow part of a big shape. */
typedef struct ref_cache {
    int set; /* -1: empty */
    size_t size;
    int8_t *out;
} ref_cache;

static void ref_cache_reset(ref_cache *c)
{
    free(c->out);
    c->out = NULL;
    c->size = 0;
    c->set = -1;
}

/* Whether `out`, set `set` of the shape, equals the reference of the op `d` on that set's input x:
 * 1 yes, 0 no, -1 when a call failed. got receives the output (NCHW). */
static int matches_reference(const bench_op_data *d, const bench_shape *s, const int8_t *x, int set,
                             const q8conv_tensor *out, int8_t *got, ref_cache *cache)
{
    const size_t out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
    if (cache->set != set || cache->size != out_n) {
        ref_cache_reset(cache);
        cache->out = malloc(out_n);
        if (!cache->out || q8conv_pw_reference(&d->desc, s->n, s->h, s->w, x, cache->out) != Q8CONV_SUCCESS)
            return -1;
        cache->set = set;
        cache->size = out_n;
    }
    if (q8conv_tensor_read(out, got, Q8CONV_HOST_NCHW) != Q8CONV_SUCCESS)
        return -1;
    return memcmp(got, cache->out, out_n) == 0;
}

/* The chained runs of one (shape, kernel), recorded by bench_gpu_chain. */
typedef struct chained_runs {
    q8conv_pw *op;
    q8conv_tensor *const *in, *const *out;
    int sets;
} chained_runs;

static int record_chained_run(void *user, VkCommandBuffer cmd, int step)
{
    const chained_runs *c = user;
    const int set = step % c->sets;
    return q8conv_pw_record(c->op, cmd, c->in[set], c->out[set]) == Q8CONV_SUCCESS ? 0 : -1;
}

/* The headline figure: --reps runs of the op recorded back to back, each after the barrier a
 * runtime records between dependent layers, over the same rotating sets as the per-run figure;
 * timestamps at the two ends of each batch only, so the figure holds no timestamp of its own per
 * run. The median batch over --batches, divided by --reps. The checked set is poisoned first: the
 * per-run batches wrote it already, and the check after this must see what the chained runs wrote
 * (every set is written: --batches x --reps runs over at most --reps sets). */
static int measure_chained(bench_gpu *g, const bench_options *opt, q8conv_pw *op, q8conv_tensor *const *in,
                           q8conv_tensor *const *out, int sets, bench_row *row)
{
    if (!test_poison_tensor(out[sets - 1]))
        return -1;
    chained_runs runs = {.op = op, .in = in, .out = out, .sets = sets};
    const bench_chain c = {
        .steps = opt->reps, .batches = opt->batches, .barrier = 1, .record = record_chained_run, .user = &runs};
    double us[BENCH_MAX_BATCHES];
    if (bench_gpu_chain(g, &c, opt->warmup_ms, us, &row->chain_submissions) != 0)
        return -1;
    row->chained_us = bench_median(us, opt->batches) / opt->reps;
    if (!(row->chained_us > 0)) {
        fprintf(stderr, "%s %s: the chained timestamps measured no time\n", row->shape.name, row->variant);
        return -1;
    }
    const bench_shape *s = &row->shape;
    const double macs = bench_macs(s);
    const double bytes = bench_min_bytes(s);
    row->gops = 2.0 * macs / row->chained_us * 1e-3;
    row->gbps = bytes / row->chained_us * 1e-3;
    return 0;
}

/* Measures one (shape, kernel). Returns 0 (the row says whether it was skipped or inexact), or -1
 * on an error that ends the benchmark. */
static int measure(bench_gpu *g, const bench_options *opt, const bench_shape *s, q8conv_kernel kernel,
                   ref_cache *cache, bench_row *row)
{
    memset(row, 0, sizeof *row);
    row->shape = *s;
    row->kernel = kernel;
    snprintf(row->variant, sizeof row->variant, "%s", variant_label(kernel));
    test_rng rng = bench_shape_rng(opt, s, 0);
    bench_op_data d;
    if (bench_make_desc(s, &d, &rng, kernel, opt) != 0) {
        fprintf(stderr, "%s: out of host memory\n", s->name);
        return -1;
    }

    q8conv_pw *op = NULL;
    q8conv_status st = q8conv_pw_create(g->ctx, &d.desc, &op);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "%s %s: pw_create: %s (skipped)\n", s->name, row->variant, q8conv_status_string(st));
        test_op_free(&d);
        row->skipped = 1;
        return 0;
    }
    const q8conv_tensor_desc din = {.n = s->n, .c = s->ic, .h = s->h, .w = s->w, .layout = opt->layout,
                                    .dtype = opt->dtype};
    const q8conv_tensor_desc dout = {.n = s->n, .c = s->oc, .h = bench_out_h(s), .w = bench_out_w(s),
                                     .layout = opt->layout, .dtype = opt->dtype};
    const double set_bytes = (double)q8conv_tensor_size_bytes(&din) + (double)q8conv_tensor_size_bytes(&dout);
    /* No more sets than timed runs: every set is then written by a timed run, the last set
     * included, which is the one checked. */
    int sets = bench_rotation_sets(opt, set_bytes);
    q8conv_tensor *in[BENCH_MAX_SETS] = {0}, *out[BENCH_MAX_SETS] = {0};
    const size_t in_n = (size_t)s->n * s->ic * s->h * s->w, out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
    int8_t *x = malloc(in_n), *got = malloc(out_n);
    int rc = x && got ? 0 : -1;
    for (int i = 0; i < sets && rc == 0; ++i) {
        if (q8conv_tensor_create(g->ctx, &din, &in[i]) != Q8CONV_SUCCESS ||
            q8conv_tensor_create(g->ctx, &dout, &out[i]) != Q8CONV_SUCCESS) {
            /* Fewer sets on a device short of memory. */
            q8conv_tensor_destroy(in[i]);
            in[i] = NULL;
            sets = i;
            break;
        }
        /* x ends up holding the last set's input: the check below relies on it. */
        test_rng_fill(&rng, x, in_n);
        if (q8conv_tensor_write(in[i], x, Q8CONV_HOST_NCHW) != Q8CONV_SUCCESS)
            rc = -1;
    }
    if (sets == 0)
        rc = -1;
    row->sets = sets;
    const int last = sets - 1;

    /* Poison the checked output first: freed memory of an earlier variant of this shape may hold
     * the right answer, and a kernel that wrote nothing must not pass on it. */
    if (rc == 0 && !test_poison_tensor(out[last]))
        rc = -1;

    /* Warm-up through the public run path, also timing it end to end on the host. */
    double run_us[8];
    for (int i = 0; i < 8 && rc == 0; ++i) {
        double t0 = bench_now_us();
        if (q8conv_pw_run(op, in[i % sets], out[i % sets]) != Q8CONV_SUCCESS)
            rc = -1;
        run_us[i] = bench_now_us() - t0;
    }
    if (rc == 0)
        row->run_us = bench_median(run_us, 8);

    /* Timed runs: one command buffer of --reps recordings, timestamps around each. Batches are
     * repeated until the GPU has been busy for --warmup-ms: a GPU left idle (between short
     * dispatches, or while the CPU computes a reference) drops its clocks, and on the H100 a batch
     * measured up to 5x slower than the same batch after sustained load. With 300 ms or more,
     * two passes of the full suite agreed within 3%. The last batch is reported. */
    double gpu_us[BENCH_MAX_REPS];
    const int reps = opt->reps;
    double record_total = 0, busy_us = 0;
    int batches = 0;
    do {
        record_total = 0;
        if (rc == 0 && bench_gpu_begin(g) != 0)
            rc = -1;
        for (int r = 0; r < reps && rc == 0; ++r) {
            bench_gpu_barrier(g);
            bench_gpu_stamp(g, (uint32_t)(2 * r));
            double t0 = bench_now_us();
            if (q8conv_pw_record(op, g->cmd, in[r % sets], out[r % sets]) != Q8CONV_SUCCESS)
                rc = -1;
            record_total += bench_now_us() - t0;
            bench_gpu_stamp(g, (uint32_t)(2 * r + 1));
        }
        if (rc == 0)
            rc = bench_gpu_submit(g);
        if (rc == 0)
            rc = bench_gpu_durations(g, reps, gpu_us);
        for (int r = 0; r < reps && rc == 0; ++r)
            busy_us += gpu_us[r];
        batches++;
    } while (rc == 0 && busy_us < opt->warmup_ms * 1e3 && batches < 100000);
    row->batches = batches;
    if (rc == 0) {
        row->gpu_us = bench_median(gpu_us, reps);
        row->record_us = record_total / reps;
        if (row->gpu_us <= 0) {
            fprintf(stderr, "%s %s: the timestamps measured no time\n", s->name, row->variant);
            rc = -1;
        }
    }

    /* Exactness of the last set, whose input x holds and whose output the timed runs wrote, after
     * the per-run batches and again after the chained ones. */
    int per_run_exact = 1, chained_exact = 1;
    if (rc == 0 && !opt->no_check && (per_run_exact = matches_reference(&d, s, x, last, out[last], got, cache)) < 0)
        rc = -1;
    if (rc == 0)
        rc = measure_chained(g, opt, op, in, out, sets, row);
    if (rc == 0 && !opt->no_check && (chained_exact = matches_reference(&d, s, x, last, out[last], got, cache)) < 0)
        rc = -1;
    if (rc == 0 && !opt->no_check) {
        row->exact = per_run_exact && chained_exact;
        row->checked = 1;
        if (per_run_exact != chained_exact)
            fprintf(stderr, "  %s %s: only the %s runs differ from the CPU reference\n", s->name, row->variant,
                    chained_exact ? "per-run" : "chained");
    }
    for (int i = 0; i < BENCH_MAX_SETS; ++i) {
        q8conv_tensor_destroy(in[i]);
        q8conv_tensor_destroy(out[i]);
    }
    q8conv_pw_destroy(op);
    free(x);
    free(got);
    test_op_free(&d);
    if (rc != 0)
        fprintf(stderr, "%s %s: a Vulkan or library call failed\n", s->name, row->variant);
    return rc;
}

/* measure() into the report's next row: counted unless skipped (*skipped counts those). 0, or -1
 * on an error that ends the benchmark. */
static int measure_row(bench_gpu *g, const bench_options *opt, const bench_shape *s, q8conv_kernel kernel,
                       ref_cache *cache, bench_report *rep, int *skipped)
{
    bench_row *row = &rep->rows[rep->count];
    if (measure(g, opt, s, kernel, cache, row) != 0)
        return -1;
    if (row->skipped) {
        (*skipped)++;
        return 0;
    }
    rep->count++;
    if (row->checked && !row->exact)
        fprintf(stderr, "  MISMATCH: %s %s differs from the CPU reference\n", s->name, row->variant);
    return 0;
}

/* ---- the whole network ---- */

static int kernel_available(const q8conv_context_info *info, q8conv_kernel k)
{
    return !((k == Q8CONV_KERNEL_DOT || k == Q8CONV_KERNEL_DOT_MIXED) && !info->integer_dot_product_supported) &&
           !(k == Q8CONV_KERNEL_COOPMAT && !info->cooperative_matrix_used);
}

/* The network of the shape list, once per kernel variant, into rep->networks. Returns 0 (also when
 * there is no network, or a variant was skipped), or -1 on an error that ends the benchmark. */
static int measure_networks(bench_gpu *g, const bench_options *opt, const bench_shape *shapes, int ns,
                            const q8conv_kernel *kernels, int nk, const int *floor_wg, bench_report *rep)
{
    static int order[BENCH_MAX_LAYERS];
    const int layers = bench_network_order(shapes, ns, order, &rep->network_chained_order);
    if (layers <= 0)
        return 0;
    bench_net *net = bench_network_create(g, opt, shapes, order, layers);
    if (!net)
        return -1;
    int rc = 0;
    for (int k = 0; k < nk && rc == 0 && rep->network_count < (int)(sizeof rep->networks / sizeof rep->networks[0]);
         ++k) {
        if (!kernel_available(&rep->info, kernels[k]))
            continue;
        fprintf(stderr, "[network] %d layers, %s\n", layers, variant_label(kernels[k]));
        bench_network *res = &rep->networks[rep->network_count];
        rc = bench_network_measure(net, kernels[k], variant_label(kernels[k]), res);
        if (rc == 0 && !res->skipped)
            rep->network_count++;
    }
    bench_network_destroy(net);
    /* The network of floors, beside the warm figures: a missing one is reported as not measured. */
    if (rc == 0 && rep->network_count) {
        fprintf(stderr, "[network] %d layers, their floors\n", layers);
        if (bench_floor_network(g, opt, shapes, order, layers, floor_wg, &rep->network_floors_us) != 0)
            fprintf(stderr, "warning: the network of floors was not measured\n");
    }
    return rc;
}

/* --list: the shapes and the network's layer order, without a device. */
static void list_shapes(const char *suite, const bench_shape *shapes, int ns)
{
    printf("suite %s: %d shape(s) (name N,H,W,IC,OC x count, * = a layer of the network)\n", suite, ns);
    for (int i = 0; i < ns; ++i)
    {
        char stride[24] = "";
        if (shapes[i].stride > 1)
            snprintf(stride, sizeof stride, " stride %u", shapes[i].stride);
        printf("  %-18s %u,%u,%u,%u,%u x%u%s%s\n", shapes[i].name, shapes[i].n, shapes[i].h, shapes[i].w, shapes[i].ic,
               shapes[i].oc, shapes[i].count, stride, shapes[i].in_total ? " *" : "");
    }
    static int order[BENCH_MAX_LAYERS];
    int chained = 0;
    const int layers = bench_network_order(shapes, ns, order, &chained);
    if (layers <= 0)
        return;
    printf("network: %d layers, %s:\n", layers,
           chained ? "chained by channels (each layer's IC is the previous layer's OC)"
                   : "in the list's order (no chain of channels covers every layer)");
    for (int l = 0; l < layers; ++l)
        printf("  %3d %s\n", l + 1, shapes[order[l]].name);
}

/* ---- CLI ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: q8conv-bench [--suite quick|mobilenet|full] [--shapes FILE] [--variants auto,coopmat,dot,dot_mixed,legacy,fallback]\n"
            "                    [--layout 4w4c|4c1w] [--dtype s8|u8] [--weights s8|u8] [--reps N] [--batches N] [--warmup-ms MS]\n"
            "                    [--rotate-mb MB] [--json FILE] [--svg FILE] [--roofline] [--cpu] [--threads N]\n"
            "                    [--no-check] [--layers-only] [--device N] [--seed S] [--validate] [--list]\n"
            "\n"
            "Times libq8conv's pointwise kernels on network shapes with GPU timestamps and checks every result\n"
            "byte for byte against the CPU reference (exit 1 on a mismatch). Per shape and kernel:\n"
            "  chained  (the headline) --reps runs recorded back to back in one command buffer, the barrier a\n"
            "           runtime puts between dependent layers before each, timestamps at the two ends only;\n"
            "           the median over --batches such batches, per run, after warm-up\n"
            "  per run  timestamps around each run (median of --reps): adds the timestamps' own cost\n"
            "The dispatch floor (an empty dispatch chained the same way, with and without the barrier) and\n"
            "the whole network (every layer, each shape count times, in network order, --reps passes per\n"
            "batch) are measured in the same run: cold (each layer its own tensors, sets rotating across\n"
            "passes) and warm, in runtime order (activations through two ping-pong buffers, each layer\n"
            "reading what the one before wrote), beside the network of the layers' floors recorded the warm\n"
            "way; then the host wall time of q8conv_pw_run per row and of the network's layers as one\n"
            "q8conv_sequence (runtime order), with a blocking and with a polling wait.\n"
            "  --suite       quick: 5 small shapes (a 6-layer network of them for CI); mobilenet (default):\n"
            "                MobileNetV2 224's 19 distinct pointwise shapes and its 34 layers as a network;\n"
            "                full: mobilenet + extra shapes (not part of the network)\n"
            "  --shapes      a CSV of 'name,N,H,W,IC,OC[,count[,stride]]' lines ('#' starts a comment); its\n"
            "                shapes, each count times, are the network; stride (along H and W) makes the\n"
            "                output (H - 1) / stride + 1 by (W - 1) / stride + 1\n"
            "  --variants    kernels to time (default coopmat,dot,legacy,fallback; also dot_mixed; auto: the\n"
            "                kernel AUTO picks per shape; coopmat, dot and dot_mixed are skipped where the\n"
            "                device lacks them)\n"
            "  --layout      device layout of input and output tensors (default 4w4c)\n"
            "  --dtype       activations: s8 (default) or u8 (uint8 in and out, U8S8, zero points + 128)\n"
            "  --weights     s8 (default, zero point 0) or u8 (uint8 weights with zero point " BENCH_STR(BENCH_WEIGHT_ZP) ": U8U8\n"
            "                with --dtype u8; the kernels' weight-zero-point term runs)\n"
            "  --reps        timed runs per batch (chained and per run) and network passes per batch,\n"
            "                20..%d (default 50)\n"
            "  --batches     chained batches whose median is reported, 1..%d (default 7)\n"
            "  --warmup-ms   GPU busy time per measurement before the reported batch(es) (default 500)\n"
            "  --rotate-mb   MB of input+output buffer sets rotated over so caches do not flatter small\n"
            "                shapes (default 256; at most min(--reps, %d) sets); the cold network rotates\n"
            "                whole sets of its layers' tensors across passes when two or more fit\n"
            "  --roofline    measure the device's packed-int8 dot and copy ceilings and report against them\n"
            "  --cpu         add the CPU peers: the reference, XNNPACK QC8 (QU8 for u8, on a one-weight-scale\n"
            "                twin of the op) (1 thread and --threads)\n"
            "  --threads     threads of the multi-threaded CPU peer (default 0 = all cores)\n"
            "  --json FILE   write the results as JSON; --svg FILE: a chart of them\n"
            "  --no-check    skip the comparison with the CPU reference (timing only)\n"
            "  --layers-only time the layers and their floors only: no network, no host wall times\n"
            "  --seed S      seed of the random weights and inputs\n"
            "  --device N    physical device index (default: env Q8CONV_DEVICE, else 0)\n"
            "  --validate    run under VK_LAYER_KHRONOS_validation; any error it reports fails the run\n"
            "  --list        print the shapes and the network's layer order, then exit (no device needed)\n"
            "Tuning builds only (cmake -DQ8CONV_TUNING=ON; a release build refuses them with status 2):\n"
            "  --ablate L    after each variant's real row, the same variant with each stage ablation of the\n"
            "                comma-separated levels L (1 no K loop, 2 no epilogue, 3 no stores; the matrix\n"
            "                kernel also 4 products only, 5 loads and staging only; 4 and 5 only for the\n"
            "                coopmat and auto variants; the block kernels also 6, the skeleton: grid,\n"
            "                addressing, one channel-constant load and the store), unchecked, beside the\n"
            "                real time with the difference\n"
            "  --tiles T     per shape, the cooperative-matrix kernel with each tile of the comma-separated\n"
            "                list forced, each checked: BMxBNxSG_MxSG_NxBKxSTAGES (e.g. 128x128x64x32x64x2);\n"
            "                a tile the shader or device cannot run is skipped with the reason; on a device\n"
            "                without cooperative matrices none is timed (a message; the exit status is not\n"
            "                changed by it)\n"
            "Every shape also gets its own floor: a copy of exactly its bytes (padded input and output, packed\n"
            "weights and channel constants), chained and rotated like its runs, in the same run.\n",
            BENCH_MAX_REPS, BENCH_MAX_BATCHES, BENCH_MAX_SETS);
}

/* s8 or u8, for an option that takes an element type. */
static int parse_dtype(const char *option, const char *v, q8conv_dtype *out)
{
    if (!strcmp(v, "s8"))
        *out = Q8CONV_DTYPE_INT8;
    else if (!strcmp(v, "u8"))
        *out = Q8CONV_DTYPE_UINT8;
    else {
        fprintf(stderr, "%s is s8 or u8, not '%s'\n", option, v);
        return -1;
    }
    return 0;
}

static int parse_variants(const char *s, q8conv_kernel *out)
{
    int n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        q8conv_kernel k;
        if (!strcmp(tok, "dot"))
            k = Q8CONV_KERNEL_DOT;
        else if (!strcmp(tok, "dot_mixed"))
            k = Q8CONV_KERNEL_DOT_MIXED;
        else if (!strcmp(tok, "legacy"))
            k = Q8CONV_KERNEL_LEGACY;
        else if (!strcmp(tok, "fallback"))
            k = Q8CONV_KERNEL_FALLBACK;
        else if (!strcmp(tok, "coopmat"))
            k = Q8CONV_KERNEL_COOPMAT;
        else if (!strcmp(tok, "auto"))
            k = Q8CONV_KERNEL_AUTO;
        else
            return -1;
        int dup = 0;
        for (int i = 0; i < n; ++i)
            dup |= out[i] == k;
        if (!dup)
            out[n++] = k;
    }
    return n;
}

/* A whole decimal number within [lo, hi], or -1 after a message. */
static int parse_int(const char *name, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "%s wants a whole number within %ld..%ld, not '%s'\n", name, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* ---- tuning builds: stage ablations and a tile sweep ---- */

#define BENCH_MAX_ABLATE 6
#ifdef Q8CONV_TUNING
#define BENCH_MAX_TILES 32
/* Fields of a --tiles entry: BM, BN, SG_M, SG_N, BK, STAGES, each 'x'-separated. Room for fields
 * a later kernel may add (a K split, say): an entry with more than the kernel knows is refused by
 * name, so the syntax can grow at the end without changing what today's entries mean. */
#define BENCH_TILE_FIELDS 6
#define BENCH_TILE_FIELDS_MAX 8

typedef struct bench_tile {
    uint32_t f[BENCH_TILE_FIELDS_MAX];
    int count;
    char name[40];
} bench_tile;

/* "1,2,3": levels 1..BENCH_MAX_ABLATE, each once; the count, or -1 after a message. */
static int parse_ablate(const char *v, int *levels)
{
    int n = 0;
    for (const char *p = v; *p;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < 1 || x > BENCH_MAX_ABLATE || (*end && *end != ',')) {
            fprintf(stderr, "--ablate wants levels 1..%d separated by commas (1 no K loop, 2 no epilogue, 3 no "
                            "stores; the matrix kernel also 4 products only, 5 loads only; the block kernels 6 the skeleton), not '%s'\n",
                    BENCH_MAX_ABLATE, v);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < n; ++i)
            dup |= levels[i] == (int)x;
        if (!dup)
            levels[n++] = (int)x;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* "128x128x64x32x64x2,256x128x64x64x64x1": the count, or -1 after a message. Only the shape of
 * each entry is checked here; the library checks it against the shader and the device. */
static int parse_tiles(const char *v, bench_tile *tiles)
{
    int n = 0;
    for (const char *p = v; *p;) {
        if (n == BENCH_MAX_TILES) {
            fprintf(stderr, "--tiles: at most %d tiles\n", BENCH_MAX_TILES);
            return -1;
        }
        bench_tile t = {.count = 0};
        const char *start = p;
        for (;;) {
            char *end;
            unsigned long x = strtoul(p, &end, 10);
            if (end == p || x == 0 || x > 65536 || t.count == BENCH_TILE_FIELDS_MAX) {
                fprintf(stderr, "--tiles: '%s' is not BMxBNxSG_MxSG_NxBKxSTAGES (numbers 1..65536)\n", start);
                return -1;
            }
            t.f[t.count++] = (uint32_t)x;
            p = end;
            if (*p != 'x')
                break;
            p++;
        }
        if (*p && *p != ',') {
            fprintf(stderr, "--tiles: unexpected '%c' in '%s'\n", *p, start);
            return -1;
        }
        if (t.count != BENCH_TILE_FIELDS) {
            fprintf(stderr, "--tiles: '%.*s' has %d fields; this kernel takes %d (BMxBNxSG_MxSG_NxBKxSTAGES)\n",
                    (int)(p - start), start, t.count, BENCH_TILE_FIELDS);
            return -1;
        }
        snprintf(t.name, sizeof t.name, "%.*s", (int)(p - start), start);
        tiles[n++] = t;
        p = *p ? p + 1 : p;
    }
    return n;
}
#endif

static void print_message(void *user_data, q8conv_message_severity severity, const char *message)
{
    (void)user_data;
    if (severity >= Q8CONV_MESSAGE_WARNING)
        fprintf(stderr, "validation %s: %s\n", severity == Q8CONV_MESSAGE_ERROR ? "error" : "warning", message);
}

int main(int argc, char **argv)
{
    bench_options opt = {.reps = 50, .batches = 7, .warmup_ms = 500, .rotate_bytes = 256.0 * (1 << 20),
                         .layout = Q8CONV_LAYOUT_4W4C, .seed = 0x5EED1234u, .threads = 0};
    const char *suite = "mobilenet", *shapes_file = NULL, *variants = "coopmat,dot,legacy,fallback";
    uint32_t device = 0;
    int have_device = 0, validate = 0, list = 0;
    int n_ablate = 0, n_tiles = 0;
#ifdef Q8CONV_TUNING
    int ablate[BENCH_MAX_ABLATE];
    static bench_tile tiles[BENCH_MAX_TILES];
#endif
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
#define ARG(name) (!strcmp(a, name) && v && (++i, 1))
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (ARG("--suite"))
            suite = v;
        else if (ARG("--shapes"))
            shapes_file = v;
        else if (ARG("--variants"))
            variants = v;
        else if (ARG("--layout")) {
            if (!strcmp(v, "4w4c"))
                opt.layout = Q8CONV_LAYOUT_4W4C;
            else if (!strcmp(v, "4c1w"))
                opt.layout = Q8CONV_LAYOUT_4C1W;
            else {
                fprintf(stderr, "--layout is 4w4c or 4c1w, not '%s'\n", v);
                return 2;
            }
        } else if (ARG("--dtype")) {
            if (parse_dtype(a, v, &opt.dtype) != 0)
                return 2;
        } else if (ARG("--weights")) {
            if (parse_dtype(a, v, &opt.weights) != 0)
                return 2;
        } else if (ARG("--reps")) {
            if (parse_int(a, v, 20, BENCH_MAX_REPS, &n) != 0)
                return 2;
            opt.reps = (int)n;
        } else if (ARG("--batches")) {
            if (parse_int(a, v, 1, BENCH_MAX_BATCHES, &n) != 0)
                return 2;
            opt.batches = (int)n;
        } else if (ARG("--warmup-ms")) {
            if (parse_int(a, v, 0, 10000, &n) != 0)
                return 2;
            opt.warmup_ms = (double)n;
        } else if (ARG("--rotate-mb")) {
            char *end;
            double mb = strtod(v, &end);
            if (end == v || *end || !(mb >= 0) || mb > 1e6) {
                fprintf(stderr, "--rotate-mb wants a number of MB >= 0, not '%s'\n", v);
                return 2;
            }
            opt.rotate_bytes = mb * (1 << 20);
        } else if (ARG("--json"))
            opt.json_path = v;
        else if (ARG("--svg"))
            opt.svg_path = v;
        else if (ARG("--threads")) {
            if (parse_int(a, v, 0, 4096, &n) != 0)
                return 2;
            opt.threads = (int)n;
        } else if (ARG("--device")) {
            if (parse_int(a, v, 0, 4096, &n) != 0)
                return 2;
            device = (uint32_t)n;
            have_device = 1;
        } else if (ARG("--seed"))
            opt.seed = strtoull(v, NULL, 0);
        else if (ARG("--ablate") || ARG("--tiles")) {
#ifdef Q8CONV_TUNING
            if (!strcmp(a, "--ablate") && (n_ablate = parse_ablate(v, ablate)) < 0)
                return 2;
            if (!strcmp(a, "--tiles") && (n_tiles = parse_tiles(v, tiles)) < 0)
                return 2;
#else
            fprintf(stderr, "%s needs a tuning build (cmake -DQ8CONV_TUNING=ON): a release build runs only the "
                            "kernels as shipped\n", a);
            return 2;
#endif
        } else if (!strcmp(a, "--roofline"))
            opt.roofline = 1;
        else if (!strcmp(a, "--cpu"))
            opt.cpu = 1;
        else if (!strcmp(a, "--layers-only"))
            opt.layers_only = 1;
        else if (!strcmp(a, "--no-check"))
            opt.no_check = 1;
        else if (!strcmp(a, "--validate"))
            validate = 1;
        else if (!strcmp(a, "--list"))
            list = 1;
        else {
            fprintf(stderr, "unknown or incomplete argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
#undef ARG
    }
    q8conv_kernel kernels[Q8CONV_KERNEL_COUNT_];
    int nk = parse_variants(variants, kernels);
    if (nk <= 0) {
        fprintf(stderr, "--variants is a comma-separated list of auto, coopmat, dot, dot_mixed, legacy, fallback\n");
        return 2;
    }

    static bench_shape shapes[BENCH_MAX_SHAPES];
    int ns = 0;
    if (shapes_file) {
        char *text = read_file(shapes_file);
        if (!text) {
            fprintf(stderr, "cannot read %s: %s\n", shapes_file, strerror(errno));
            return 2;
        }
        ns = parse_shapes(text, shapes, BENCH_MAX_SHAPES, 0, 1);
        free(text);
        suite = "custom";
    } else if (!strcmp(suite, "quick")) {
        /* Small shapes for CI on lavapipe: an expansion, a projection, a deep K, and one whose
         * every dimension needs padding. They are no real network, but CI runs the network
         * measurement on them: one shape twice, so that two layers share a shape. */
        static const bench_shape quick[] = {
            {"q_56_24_144", 1, 56, 56, 24, 144, 1, 1}, {"q_28_192_32", 1, 28, 28, 192, 32, 2, 1},
            {"q_14_64_384", 1, 14, 14, 64, 384, 1, 1}, {"q_7_960_160", 1, 7, 7, 960, 160, 1, 1},
            {"q_57_7_13", 1, 57, 33, 7, 13, 1, 1},
        };
        ns = (int)(sizeof quick / sizeof quick[0]);
        memcpy(shapes, quick, sizeof quick);
    } else if (!strcmp(suite, "mobilenet") || !strcmp(suite, "full")) {
        ns = parse_shapes(q8conv_bench_mobilenet_csv, shapes, BENCH_MAX_SHAPES, 0, 1);
        /* The extra shapes are not layers of MobileNetV2: they stay out of its weighted total. */
        if (!strcmp(suite, "full"))
            ns = parse_shapes(q8conv_bench_full_extra_csv, shapes, BENCH_MAX_SHAPES, ns, 0);
    } else {
        fprintf(stderr, "unknown suite '%s'\n", suite);
        usage(stderr);
        return 2;
    }
    if (ns == 0) {
        fprintf(stderr, "no shapes\n");
        return 2;
    }
    if (list) {
        list_shapes(suite, shapes, ns);
        return 0;
    }

    q8conv_context *ctx = NULL;
    q8conv_context_desc cdesc = {.device_index = device,
                                 .flags = validate ? Q8CONV_CONTEXT_VALIDATION : 0u,
                                 .message_callback = print_message};
    /* A NULL descriptor is what makes the library honour Q8CONV_DEVICE: keep it unless asked for
     * something the environment cannot say. */
    q8conv_status st = q8conv_context_create(have_device || validate ? &cdesc : NULL, &ctx);
    if (st != Q8CONV_SUCCESS) {
        fprintf(stderr, "q8conv_context_create: %s\n", q8conv_status_string(st));
        return 1;
    }
    bench_report rep = {.opt = &opt,
                        .suite = suite,
                        .network_name = !strcmp(suite, "custom")  ? "the shapes file, by its counts"
                                        : !strcmp(suite, "quick") ? "the quick suite's shapes, not a real network"
                                                                  : "MobileNetV2 224, batch 1"};
    q8conv_context_get_info(ctx, &rep.info);
    bench_gpu g;
    if (bench_gpu_init(&g, ctx) != 0) {
        fprintf(stderr, "cannot set up the command buffer and timestamp queries (does the queue have timestamps?)\n");
        bench_gpu_destroy(&g);
        q8conv_context_destroy(ctx);
        return 1;
    }
    fprintf(stderr, "device: %s\n", rep.info.device_name);
    if (opt.roofline && bench_roofline(&g, &opt, &rep.roof) != 0)
        fprintf(stderr, "warning: roofline microkernels failed; ceilings not reported\n");
    if (bench_floor_measure(&g, &opt, &rep.floor) != 0)
        fprintf(stderr, "warning: the dispatch floor was not measured\n");

    /* Each shape: up to nk GPU rows, each with its ablations, the tiles, and 3 CPU rows (reference,
     * XNNPACK 1 thread, N threads). */
    rep.rows = calloc((size_t)ns * (size_t)(nk * (1 + n_ablate) + n_tiles + 3), sizeof *rep.rows);
    if (!rep.rows) {
        bench_gpu_destroy(&g);
        q8conv_context_destroy(ctx);
        return 1;
    }
    int failed = 0, skipped = 0;
    ref_cache cache = {.set = -1};
    double floor_sum = 0;
    int floors_missing = 0;
    static int floor_wg[BENCH_MAX_SHAPES]; /* the workgroup size of each shape's floor */
    for (int i = 0; i < ns && !failed; ++i) {
        ref_cache_reset(&cache);
        /* The shape's own floor, before its kernels, with the rotation its runs get. */
        double floor_us = 0;
        uint64_t in_bytes, w_bytes, out_bytes;
        bench_layer_bytes(&opt, &shapes[i], &in_bytes, &w_bytes, &out_bytes);
        fprintf(stderr, "[%d/%d] %s floor\n", i + 1, ns, shapes[i].name);
        if (bench_floor_layer(&g, &opt, in_bytes, w_bytes, out_bytes,
                              bench_rotation_sets(&opt, (double)in_bytes + (double)out_bytes), &floor_us,
                              &floor_wg[i]) != 0)
            fprintf(stderr, "warning: %s: the layer's floor was not measured\n", shapes[i].name);
        if (shapes[i].in_total) {
            floor_sum += floor_us * shapes[i].count;
            floors_missing |= !(floor_us > 0);
        }
        const int first_row = rep.count;
        for (int k = 0; k < nk && !failed; ++k) {
            if (!kernel_available(&rep.info, kernels[k]))
                continue;
            fprintf(stderr, "[%d/%d] %s %s\n", i + 1, ns, shapes[i].name, variant_label(kernels[k]));
#ifdef Q8CONV_TUNING
            const int real = rep.count;
#endif
            failed = measure_row(&g, &opt, &shapes[i], kernels[k], &cache, &rep, &skipped) != 0;
#ifdef Q8CONV_TUNING
            /* Each ablation right after the real kernel, unchecked (wrong by design); levels 4 and 5
             * exist only in the matrix kernel. */
            for (int a = 0; a < n_ablate && !failed && rep.count > real; ++a) {
                const bool matrix = kernels[k] == Q8CONV_KERNEL_COOPMAT;
                if ((ablate[a] == 4 || ablate[a] == 5) && !matrix && kernels[k] != Q8CONV_KERNEL_AUTO)
                    continue;
                if (ablate[a] == 6 && matrix)
                    continue;
                fprintf(stderr, "[%d/%d] %s %s ablate=%d\n", i + 1, ns, shapes[i].name, variant_label(kernels[k]),
                        ablate[a]);
                bench_options unchecked = opt;
                unchecked.no_check = 1;
                const int at = rep.count;
                if (q8conv_tune_set_ablate(ctx, (uint32_t)ablate[a]) != Q8CONV_SUCCESS)
                    failed = 1;
                else
                    failed = measure_row(&g, &unchecked, &shapes[i], kernels[k], &cache, &rep, &skipped) != 0;
                q8conv_tune_set_ablate(ctx, 0);
                if (!failed && rep.count > at) {
                    bench_row *row = &rep.rows[at];
                    row->ablate = ablate[a];
                    row->real_chained_us = rep.rows[real].chained_us;
                    snprintf(row->variant, sizeof row->variant, "%s ablate=%d", variant_label(kernels[k]), ablate[a]);
                }
            }
#endif
        }
#ifdef Q8CONV_TUNING
        /* The tile sweep: the matrix kernel with each tile forced, every result checked. */
        for (int t = 0; t < n_tiles && !failed; ++t) {
            if (!kernel_available(&rep.info, Q8CONV_KERNEL_COOPMAT)) {
                if (i == 0 && t == 0)
                    fprintf(stderr, "--tiles: this device runs no cooperative-matrix kernel; no tile is timed\n");
                break;
            }
            const char *why = NULL;
            const q8conv_status ts = q8conv_tune_set_matrix_tile(ctx, tiles[t].f, (uint32_t)tiles[t].count, &why);
            if (ts != Q8CONV_SUCCESS) {
                if (i == 0)
                    fprintf(stderr, "--tiles: %s skipped: %s\n", tiles[t].name, why ? why : q8conv_status_string(ts));
                continue;
            }
            fprintf(stderr, "[%d/%d] %s coopmat tile %s\n", i + 1, ns, shapes[i].name, tiles[t].name);
            const int at = rep.count;
            failed = measure_row(&g, &opt, &shapes[i], Q8CONV_KERNEL_COOPMAT, &cache, &rep, &skipped) != 0;
            q8conv_tune_set_matrix_tile(ctx, NULL, 0, NULL);
            if (!failed && rep.count > at) {
                rep.rows[at].tile_forced = 1;
                snprintf(rep.rows[at].variant, sizeof rep.rows[at].variant, "coopmat %s", tiles[t].name);
            }
        }
#endif
        for (int r = first_row; r < rep.count; ++r)
            rep.rows[r].floor_layer_us = floor_us;

        if (opt.cpu && !failed) {
            fprintf(stderr, "[%d/%d] %s cpu peers\n", i + 1, ns, shapes[i].name);
            rep.count += bench_cpu(&opt, &shapes[i], &rep.rows[rep.count]);
        }
    }
    ref_cache_reset(&cache);
    rep.network_floor_us = floors_missing ? 0 : floor_sum;
    if (!failed && !opt.layers_only && measure_networks(&g, &opt, shapes, ns, kernels, nk, floor_wg, &rep) != 0)
        failed = 1;
    /* Host wall time of the run paths a caller uses, beside the GPU times. */
    if (!failed && !opt.layers_only && bench_host_measure(ctx, &cdesc, have_device, &opt, shapes, ns, &rep) != 0)
        failed = 1;
    bench_print_table(&rep);
    bench_print_host(&rep);
    if (opt.json_path && bench_write_json(&rep, opt.json_path) != 0) {
        fprintf(stderr, "cannot write %s\n", opt.json_path);
        failed = 1;
    }
    if (opt.svg_path && bench_write_svg(&rep, opt.svg_path) != 0) {
        fprintf(stderr, "cannot write %s\n", opt.svg_path);
        failed = 1;
    }
    int inexact = 0;
    for (int i = 0; i < rep.count; ++i)
        if (rep.rows[i].checked && !rep.rows[i].exact)
            inexact++;
    for (int i = 0; i < rep.network_count; ++i)
        if (rep.networks[i].checked)
            inexact += !rep.networks[i].exact + !rep.networks[i].warm_exact;
    if (inexact)
        fprintf(stderr, "FAILED: %d configuration(s) differ from the CPU reference\n", inexact);
    if (skipped)
        fprintf(stderr, "note: %d configuration(s) skipped (see above)\n", skipped);
    /* Errors reported while the bench's own objects and the library's are destroyed count too. */
    bench_gpu_destroy(&g);
    q8conv_context_info end_info;
    if (q8conv_context_get_info(ctx, &end_info) == Q8CONV_SUCCESS && end_info.validation_enabled) {
        fprintf(stderr, "validation: %u error(s), %u warning(s)\n", end_info.validation_errors,
                end_info.validation_warnings);
        if (end_info.validation_errors)
            failed = 1;
    }
    if (failed)
        fprintf(stderr, "FAILED: see the errors above\n");
    free(rep.rows);
    q8conv_context_destroy(ctx);
    return failed || inexact ? 1 : 0;
}
