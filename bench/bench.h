/* Shared declarations of q8conv-bench's files: the program and its measurement loop
 * (q8conv-bench.c) sit above the shared helpers (util.c), the GPU timer (gpu_timer.c), the device
 * ceilings (roofline.c), the CPU peers (cpu.c) and the output formats (report.c). */
#ifndef Q8CONV_BENCH_H
#define Q8CONV_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <volk.h>

#include "common.h"
#include "q8conv.h"

#define BENCH_MAX_REPS 512
#define BENCH_MAX_SETS 64
#define BENCH_MAX_SHAPES 128
/* Timestamp pairs of one chained submission (the query pool holds 2 * BENCH_MAX_REPS). */
#define BENCH_MAX_BATCHES 64
/* Layers of a network (the sum of its shapes' counts). */
#define BENCH_MAX_LAYERS 1024

typedef struct bench_shape {
    char name[48];
    uint32_t n, h, w, ic, oc;
    uint32_t count; /* layers of the network with this shape */
    int in_total;   /* a layer of the network: weighted in its total and recorded in it (MobileNetV2's
                     * list, user files, the quick suite's shapes for CI) */
    uint32_t stride; /* along H and W (the CSV's optional 8th column); 0 or 1: none. Last, so that
                      * the positional shape initializers keep their meaning */
} bench_shape;

typedef struct bench_options {
    int reps;            /* timed runs per batch; also the passes of a network per batch */
    int batches;         /* chained batches per submission, the median reported */
    double warmup_ms;    /* GPU busy time before the reported batch */
    double rotate_bytes; /* bytes of input+output sets to rotate over */
    q8conv_layout layout;
    q8conv_dtype dtype;  /* activations of input and output (--dtype) */
    q8conv_dtype weights; /* weight type (--weights); UINT8 comes with a weight zero point */
    uint64_t seed;
    int threads;         /* CPU peers' multi-threaded runs; 0 = all cores */
    int roofline, cpu, no_check;
    int layers_only; /* --layers-only: no network, no host wall times (short tuning runs) */
    const char *json_path, *svg_path;
} bench_options;

typedef struct bench_row {
    bench_shape shape;
    q8conv_kernel kernel;  /* AUTO for CPU rows */
    char variant[48];
    int sets;
    int batches;           /* timed batches run, the last one reported */
    double gpu_us;         /* median GPU time of one run, timestamps around each (the per-run figure);
                            * CPU rows: median wall time */
    double chained_us;     /* GPU time per run of --reps runs chained with the barrier between dependent
                            * layers, timestamps at the ends only: median over --batches batches */
    int chain_submissions; /* submissions of the chained batches (warm-up included) */
    double run_us;         /* q8conv_pw_run end to end, host wall clock (record+submit+wait) */
    double record_us;      /* host time of one q8conv_pw_record */
    double gops, gbps;     /* from the headline time: chained_us (CPU rows: gpu_us) */
    int exact, checked, skipped, cpu;
    /* A peer whose bytes are not claimed to match (XNNPACK's own requantization): compared with
     * the reference anyway, for information. */
    int compared, max_abs_diff;
    double diff_frac;      /* fraction of output bytes that differ */
    /* host_time.c: q8conv_pw_run again on the same op and tensors, median host wall time, on a
     * blocking and on a polling context (NAN: not measured) */
    double host_run_us, host_run_poll_us;
    /* The shape's own floor (bench_floor_layer), measured once per shape in the same run; 0: not
     * measured. */
    double floor_layer_us;
    /* Tuning builds: the stage ablation this row ran (src/tuning.h; 0: the real kernel), and for an
     * ablated row the chained time of the real kernel's row beside it. A forced matrix tile
     * (--tiles) names the row's variant. */
    int ablate, tile_forced;
    double real_chained_us;
} bench_row;

typedef struct bench_roof {
    int valid;
    double dot_tops;      /* packed int8 dot-product throughput, tera-ops/s (2 ops per MAC) */
    double coopmat_tops;  /* int8 cooperative-matrix throughput (16x16x32 products), same units; 0: not measured */
    double copy_gbps;     /* device-to-device copy, bytes read + written per second: the better
                           * of the two methods below, the ceiling rows are judged against */
    double copy_shader_gbps; /* the same, by a compute shader (bench/shaders/roof_copy.comp) */
    double copy_cmd_gbps;    /* the same, by vkCmdCopyBuffer */
} bench_roof;

/* The dispatch floor: an empty compute dispatch, --reps of them chained the way bench_gpu_chain
 * chains a layer's runs (bench/shaders/floor_empty.comp, pipeline bound once). No kernel of a chain of
 * dependent layers can cost less than `us`. */
typedef struct bench_floor {
    int valid;
    double us;           /* per dispatch, with the compute->compute barrier before each */
    double nobarrier_us; /* per dispatch, no barrier: what the dispatches alone cost when they may overlap */
    double copy_us;      /* a copy of BENCH_FLOOR_COPY_BYTES in place of the empty dispatch, with the
                          * barrier: what a layer that moves that much costs at least; 0: not measured */
} bench_floor;
/* Bytes read (and as many written) by the floor's copy: about a MobileNetV2 layer's. */
#define BENCH_FLOOR_COPY_BYTES (512u * 1024u)

/* One kernel variant's whole network: every layer recorded in network order into one command
 * buffer, the compute barrier before each, --reps passes per batch (network.c says more). */
typedef struct bench_network {
    q8conv_kernel kernel;
    char variant[32];
    int layers, passes, sets;
    double set_bytes;    /* device bytes of one set: every layer's input and output */
    double us;           /* cold: each layer its own tensors, sets rotating across passes; median GPU
                          * time of one pass over --batches batches */
    double warm_us;      /* warm (runtime order): the activations chained through two buffers, each
                          * layer reading what the one before wrote; the same median */
    int submissions, warm_submissions;
    int exact, checked, skipped; /* checked: both figures; exact: the cold one's every layer */
    int warm_exact;      /* the warm figure's last layer */
} bench_network;
/* host_time.c: the network's layers as one q8conv_sequence. */
typedef struct bench_host_network {
    int layers;              /* 0: the shapes name no network */
    q8conv_kernel kernel;    /* what AUTO resolved to */
    double block_us, poll_us; /* median host wall time of q8conv_sequence_run */
    double submit_floor_us, submit_floor_poll_us; /* an empty command buffer submitted and waited for */
    double one_layer_us, one_layer_poll_us;       /* the network's first layer alone as a sequence */
    bench_shape first;                            /* that layer */
    int checked, exact;      /* the last layer against the reference, on both contexts, network and one layer */
} bench_host_network;

typedef struct bench_report {
    const bench_options *opt;
    const char *suite;
    q8conv_context_info info;
    bench_roof roof;
    bench_row *rows;
    int count;
    bench_floor floor;
    bench_network networks[8]; /* one per kernel variant */
    int network_count;
    int network_chained_order; /* the layers follow each other by channels (see network.c) */
    double network_floor_us;   /* the sum of the network's layers' own floors (each x its count); 0: not all measured */
    double network_floors_us;  /* the network of floors (bench_floor_network), like the warm figure; 0: not measured */
    const char *network_name;  /* what the network is, for the table */
    bench_host_network network_host;
} bench_report;

/* An operator's descriptor and the arrays it points to: the test-support library's (common.h). */
typedef test_op bench_op_data;

/* A shape's output extent: (H - 1) / stride + 1 (SEMANTICS.md). */
static inline uint32_t bench_out_h(const bench_shape *s) { return s->stride > 1 ? (s->h - 1) / s->stride + 1 : s->h; }
static inline uint32_t bench_out_w(const bench_shape *s) { return s->stride > 1 ? (s->w - 1) / s->stride + 1 : s->w; }
/* Multiply-adds of one run, and the bytes it must move at least: the input pixels it reads (all
 * of them at stride 1, one in stride^2 otherwise), its output and the weights. */
static inline double bench_macs(const bench_shape *s)
{
    return (double)s->n * bench_out_h(s) * bench_out_w(s) * s->ic * s->oc;
}
static inline double bench_min_bytes(const bench_shape *s)
{
    return (double)s->n * bench_out_h(s) * bench_out_w(s) * (s->ic + s->oc) + (double)s->ic * s->oc;
}

/* The bench's own command buffer and timestamp queries on the context's device. */
typedef struct bench_gpu {
    q8conv_context *ctx;
    q8conv_vulkan_handles vk;
    float timestamp_period_ns;
    uint64_t timestamp_mask; /* the queue's timestampValidBits: counters wrap at this width */
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkQueryPool queries;
    VkFence fence;
} bench_gpu;

/* util.c: the clock, medians, the seeded data of a shape and its descriptor. */
double bench_now_us(void);
double bench_median(double *v, int n); /* sorts v */
/* The shapes' data: the same seed gives the same weights and inputs to every variant and peer.
 * The stream of a shape (and `salt`, e.g. a layer index, for shapes that repeat) comes from the
 * test-support library's generator. */
test_rng bench_shape_rng(const bench_options *opt, const bench_shape *s, uint64_t salt);
/* A MobileNetV2-like descriptor from the test-support library's builder (per-channel weight scales,
 * float bias, ReLU6 on expansions, the shape's stride) in opt's layout, both sides of opt's dtype
 * with zero points 3 and -5 (shifted by 128 for uint8, so that either type computes the same
 * values), and opt's weight type (uint8: zero point BENCH_WEIGHT_ZP); 0, or -1 out of memory. */
int bench_make_desc(const bench_shape *s, bench_op_data *d, test_rng *rng, q8conv_kernel kernel,
                    const bench_options *opt);
/* A layer's input tensor (out: its output tensor, of the strided size) in opt's layout and dtype. */
q8conv_tensor_desc bench_tensor_desc(const bench_options *opt, const bench_shape *s, int out);
/* Input/output sets a measurement rotates over for --rotate-mb, set_bytes each: at least 2, at
 * most BENCH_MAX_SETS and --reps (every set is then written by a timed run). */
int bench_rotation_sets(const bench_options *opt, double set_bytes);
/* The bytes a layer moves, in the device packing of --layout (padding included): input, output,
 * and the weights with the per-channel constants (the dot kernel's packing: C4_in x C4_out 16-byte
 * blocks, 16 bytes per padded output channel). */
void bench_layer_bytes(const bench_options *opt, const bench_shape *s, uint64_t *in, uint64_t *weights, uint64_t *out);
/* Outputs whose bytes are checked are poisoned first with test_poison_tensor (common.h). With
 * --weights u8 the weight bytes are read as uint8 with one zero point, BENCH_WEIGHT_ZP (not 128,
 * so that the kernels' weight-zero-point term runs). */
#define BENCH_WEIGHT_ZP 131
#define BENCH_STR_(x) #x
#define BENCH_STR(x) BENCH_STR_(x)

/* pingpong.c: a network's activations chained through two device buffers as a runtime chains them:
 * layer l reads buffer l % 2 and writes the other one; both sized for the largest tensor of any
 * layer, each layer's tensors wrapped on them (q8conv_tensor_wrap_sized). */
typedef struct bench_pingpong {
    PFN_vkDestroyBuffer destroy_buffer; /* the device's own: a context other than the bench's may own it */
    PFN_vkFreeMemory free_memory;
    VkDevice device;
    VkBuffer buffer[2];
    VkDeviceMemory memory[2];
    VkDeviceSize size;
    int layers;
    bench_shape *shape;       /* per layer */
    q8conv_tensor **in, **out; /* per layer: in on buffer l % 2, out on the other */
    int8_t *x0;               /* the first layer's input (x0_n bytes, NCHW), drawn at creation */
    size_t x0_n;
} bench_pingpong;
/* The buffers and tensors on ctx's device for the layers shapes[order[0..layers)]; x0 drawn from
 * rng. 0, or -1 (nothing left to destroy). */
int bench_pingpong_create(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, const int *order,
                          int layers, test_rng *rng, bench_pingpong *p);
void bench_pingpong_destroy(bench_pingpong *p);
/* Before a timed run: poisons the last layer's output, then writes x0 into the first layer's input. */
int bench_pingpong_reset(bench_pingpong *p);
/* After a run: the last layer's output against the CPU reference of `desc` (the last layer's
 * operator) computed from what the layer before left in its input buffer. 0 (*exact set), or -1
 * when a call failed. */
int bench_pingpong_check(const bench_pingpong *p, const q8conv_pw_desc *desc, int *exact);

/* gpu_timer.c: the bench's command buffer, with timestamp pairs around what it records. 0 on
 * success, -1 on a Vulkan failure (init: also when the queue has no timestamps). */
int bench_gpu_init(bench_gpu *g, q8conv_context *ctx);
void bench_gpu_destroy(bench_gpu *g);
int bench_gpu_begin(bench_gpu *g);
void bench_gpu_barrier(bench_gpu *g);
void bench_gpu_stamp(bench_gpu *g, uint32_t query);
int bench_gpu_submit(bench_gpu *g);
int bench_gpu_durations(bench_gpu *g, int n, double *us);
/* The barrier a runtime puts between dependent layers: compute -> compute, SHADER_WRITE ->
 * SHADER_READ | SHADER_WRITE. */
void bench_gpu_compute_barrier(bench_gpu *g);

/* A chain to time: `batches` batches of `steps` recordings, each recording preceded by
 * bench_gpu_compute_barrier when `barrier` is set, timestamps at the two ends of each batch only.
 * record() records step `step` (counted over all batches, from 0) into cmd; 0 on success. */
typedef int (*bench_record_fn)(void *user, VkCommandBuffer cmd, int step);
typedef struct bench_chain {
    int steps, batches, barrier;
    bench_record_fn record;
    void *user;
} bench_chain;
/* Records the chain once and submits it until the GPU has been busy for warmup_ms (once at least);
 * batch_us[0..batches) gets the durations of the last submission's batches, *submissions the
 * submissions made. 0 on success, -1 on a failed recording or Vulkan call. */
int bench_gpu_chain(bench_gpu *g, const bench_chain *c, double warmup_ms, double *batch_us, int *submissions);

/* roofline.c: measures the device's ceilings with small Vulkan microkernels. 0 on success. */
int bench_roofline(bench_gpu *g, const bench_options *opt, bench_roof *roof);
/* roofline.c: the dispatch floor, with and without the barrier. 0 on success. */
int bench_floor_measure(bench_gpu *g, const bench_options *opt, bench_floor *floor);
/* roofline.c: a layer's floor (bench/shaders/floor_layer.comp): a copy that reads in_bytes of input
 * and weight_bytes of weights and writes out_bytes, --reps of them chained with the barrier the
 * layers get, rotating over `sets` input/output sets, median of --batches; the faster of two
 * workgroup sizes (*best_wg, when not NULL: which, for bench_floor_network). *us_each: per copy.
 * 0 on success, -1 after a message. */
int bench_floor_layer(bench_gpu *g, const bench_options *opt, uint64_t in_bytes, uint64_t weight_bytes,
                      uint64_t out_bytes, int sets, double *us_each, int *best_wg);
/* roofline.c: the network of floors: the floor copy of each layer shapes[order[l]] (its bytes by
 * bench_layer_bytes, at the workgroup size wg_of_shape[order[l]] from bench_floor_layer; NULL: the
 * first) recorded in network order with the barrier, in runtime order (layer l reads activation
 * region l % 2 and writes the other, its own weights apart), --reps passes per batch, median of
 * --batches. *us: per pass. 0 on success, -1 after a message. */
int bench_floor_network(bench_gpu *g, const bench_options *opt, const bench_shape *shapes, const int *order, int layers,
                        const int *wg_of_shape, double *us);
/* cpu.c: CPU peers for one shape (reference; XNNPACK QC8, or QU8 for --dtype u8, when built with
 * it); returns rows added. */
int bench_cpu(const bench_options *opt, const bench_shape *s, bench_row *rows);
/* network.c: the whole network. bench_network_order fills order[BENCH_MAX_LAYERS] with the shape
 * index of each layer of the network (the shapes marked in_total, each `count` times) in network
 * order: a chain where each layer's IC is the previous layer's OC when one exists (*chained = 1),
 * else the list's order. Returns the number of layers (0: no network), or -1 when there are too many. */
int bench_network_order(const bench_shape *shapes, int ns, int *order, int *chained);
typedef struct bench_net bench_net;
/* The layers' weights, inputs and rotating buffer sets, shared by every variant; NULL on failure. */
bench_net *bench_network_create(bench_gpu *g, const bench_options *opt, const bench_shape *shapes, const int *order,
                                int layers);
/* Times one kernel variant over the whole network and checks every layer; 0 (res says whether it
 * was skipped or inexact), or -1 on an error that ends the benchmark. */
int bench_network_measure(bench_net *net, q8conv_kernel kernel, const char *variant, bench_network *res);
void bench_network_destroy(bench_net *net);
/* host_time.c: host wall time of q8conv_pw_run for every GPU row and of the network (the shapes
 * counted in its total) as one q8conv_sequence, beside its first layer alone and one empty
 * submission, on `ctx` and on a second context made from `desc`
 * (the same device: Q8CONV_DEVICE when !have_device) that polls. 0, or -1 after a message. */
#define BENCH_HOST_WARMUP 3
int bench_host_measure(q8conv_context *ctx, const q8conv_context_desc *desc, int have_device, const bench_options *opt,
                       const bench_shape *shapes, int ns, bench_report *r);
/* report.c */
void bench_print_table(const bench_report *r);
void bench_print_host(const bench_report *r);
int bench_write_json(const bench_report *r, const char *path);
int bench_write_svg(const bench_report *r, const char *path);

#endif
