/* Shared declarations of q8conv-bench's files: the program and its measurement loop
 * (q8conv-bench.c) sit above the shared helpers (util.c), the GPU timer (gpu_timer.c), the device
 * ceilings (roofline.c), the CPU peers (cpu.c) and the output formats (report.c). */
#ifndef Q8CONV_BENCH_H
#define Q8CONV_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <volk.h>

#include "q8conv.h"

#define BENCH_MAX_REPS 512
#define BENCH_MAX_SETS 64
#define BENCH_MAX_SHAPES 128

typedef struct bench_shape {
    char name[48];
    uint32_t n, h, w, ic, oc;
    uint32_t count; /* layers of the network with this shape (mobilenet suite) */
    int in_total;   /* counted in the weighted whole-network total (MobileNetV2 list, user files) */
} bench_shape;

typedef struct bench_options {
    int reps;
    double warmup_ms;    /* GPU busy time before the reported batch */
    double rotate_bytes; /* bytes of input+output sets to rotate over */
    q8conv_layout layout;
    uint64_t seed;
    int threads;         /* CPU peers' multi-threaded runs; 0 = all cores */
    int roofline, cpu, no_check;
    const char *json_path, *svg_path;
} bench_options;

typedef struct bench_row {
    bench_shape shape;
    q8conv_kernel kernel;  /* AUTO for CPU rows */
    char variant[32];
    int sets;
    int batches;           /* timed batches run, the last one reported */
    double gpu_us;         /* median GPU time (CPU rows: median wall time) */
    double run_us;         /* q8conv_pw_run end to end, host wall clock (record+submit+wait) */
    double record_us;      /* host time of one q8conv_pw_record */
    double gops, gbps;
    int exact, checked, skipped, cpu;
    /* A peer whose bytes are not claimed to match (XNNPACK's own requantization): compared with
     * the reference anyway, for information. */
    int compared, max_abs_diff;
    double diff_frac;      /* fraction of output bytes that differ */
    /* host_time.c: q8conv_pw_run again on the same op and tensors, median host wall time, on a
     * blocking and on a polling context (NAN: not measured) */
    double host_run_us, host_run_poll_us;
} bench_row;

typedef struct bench_roof {
    int valid;
    double dot_tops;      /* packed int8 dot-product throughput, tera-ops/s (2 ops per MAC) */
    double copy_gbps;     /* device-to-device copy, bytes read + written per second: the better
                           * of the two methods below, the ceiling rows are judged against */
    double copy_shader_gbps; /* the same, by a compute shader (bench/shaders/roof_copy.comp) */
    double copy_cmd_gbps;    /* the same, by vkCmdCopyBuffer */
} bench_roof;

/* host_time.c: the network's layers as one q8conv_sequence. */
typedef struct bench_host_network {
    int layers;              /* 0: the shapes name no network */
    q8conv_kernel kernel;    /* what AUTO resolved to */
    double block_us, poll_us; /* median host wall time of q8conv_sequence_run */
    int checked, exact;      /* the last layer against the reference, on both contexts */
} bench_host_network;

typedef struct bench_report {
    const bench_options *opt;
    const char *suite;
    q8conv_context_info info;
    bench_roof roof;
    bench_row *rows;
    int count;
    bench_host_network network_host;
} bench_report;

typedef struct bench_op_data {
    q8conv_pw_desc desc;
    int8_t *weights;
    float *scales;
    float *bias;
} bench_op_data;

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
/* The shapes' data: the same seed gives the same weights and inputs to every variant and peer. */
uint64_t bench_shape_seed(const bench_options *opt, const bench_shape *s);
void bench_fill_random(int8_t *p, size_t n, uint64_t *state);
/* A MobileNetV2-like descriptor (per-channel weight scales, float bias); 0, or -1 out of memory. */
int bench_make_desc(const bench_shape *s, bench_op_data *d, uint64_t *rng, q8conv_kernel kernel,
                    q8conv_layout layout);
void bench_free_desc(bench_op_data *d);

/* gpu_timer.c: the bench's command buffer, with timestamp pairs around what it records. 0 on
 * success, -1 on a Vulkan failure (init: also when the queue has no timestamps). */
int bench_gpu_init(bench_gpu *g, q8conv_context *ctx);
void bench_gpu_destroy(bench_gpu *g);
int bench_gpu_begin(bench_gpu *g);
void bench_gpu_barrier(bench_gpu *g);
void bench_gpu_stamp(bench_gpu *g, uint32_t query);
int bench_gpu_submit(bench_gpu *g);
int bench_gpu_durations(bench_gpu *g, int n, double *us);

/* roofline.c: measures the device's ceilings with small Vulkan microkernels. 0 on success. */
int bench_roofline(bench_gpu *g, const bench_options *opt, bench_roof *roof);
/* cpu.c: CPU peers for one shape (reference; XNNPACK QC8 when built with it); returns rows added. */
int bench_cpu(const bench_options *opt, const bench_shape *s, bench_row *rows);
/* host_time.c: host wall time of q8conv_pw_run for every GPU row and of the network (the shapes
 * counted in its total) as one q8conv_sequence, on `ctx` and on a second context made from `desc`
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
