/* The objects a user holds (src/tensor.c, src/pw.c and src/pw_run.c, src/sequence.c), the pipeline
 * statistics of an op or a kernel (src/statistics.c) and the lifetime room
 * (src/lifetime.c) that keeps what a sequence names alive. One section per file, each declaring
 * what that file exports. The arrows run one way: sequence -> op -> tensor -> lifetime, and all of
 * them -> src/vk/ -> src/core/ (tools/check_layout.py checks it). */
#ifndef Q8CONV_OBJECTS_H
#define Q8CONV_OBJECTS_H

#include "vk.h"

/* ---- lifetime (src/lifetime.c) ---- */

/* Kept in every op and tensor: how many sequence steps name it, and whether it was destroyed
 * meanwhile. Destroying such an object releases its Vulkan objects at once but keeps its host
 * struct, so that a sequence can see it is gone without touching freed memory; the last sequence
 * step that names it frees the struct. `refs` changes under the context's lock. */
typedef struct q8conv_lifetime {
    uint32_t refs;
    atomic_bool destroyed;
} q8conv_lifetime;

/* A sequence step names the object (takes the context's lock). */
void q8conv_lifetime_hold(q8conv_context *ctx, q8conv_lifetime *m);
/* Under the context's lock: one step lets go of `object`, and the last one frees a destroyed one. */
void q8conv_lifetime_release(q8conv_context *ctx, q8conv_lifetime *m, void *object);
/* The last step of destroying an op or tensor whose Vulkan objects are released: frees `object`
 * (allocated from ctx) unless a sequence names it, in which case it is only marked destroyed. */
void q8conv_lifetime_retire(q8conv_context *ctx, q8conv_lifetime *m, void *object);
/* Whether the object was destroyed while a sequence names it. */
bool q8conv_lifetime_gone(const q8conv_lifetime *m);

/* ---- tensor (src/tensor.c) ---- */

/* A tensor is bound in windows of whole rows, each no larger than maxStorageBufferRange and
 * starting at an aligned offset, so tensors beyond the device's binding range still run. */
struct q8conv_tensor {
    q8conv_context *ctx;
    q8conv_tensor_desc desc;
    uint64_t id;          /* unique per process: identifies aliasing without pointer games */
    VkDeviceSize size;    /* packed bytes */
    VkDeviceSize row_bytes;
    uint32_t rows;        /* n * h */
    VkBuffer buffer;
    VkDeviceMemory memory; /* VK_NULL_HANDLE when wrapped */
    VkDeviceSize offset;
    uint32_t rows_per_window;
    uint32_t window_count;
    VkDescriptorSet *sets;
    VkDescriptorPool *set_pools;
    q8conv_lifetime member;
};

/* Whether two tensors are the same memory: the same tensor, or byte ranges of one VkBuffer that
 * intersect. */
bool q8conv_tensors_overlap(const q8conv_tensor *a, const q8conv_tensor *b);

/* ---- pipeline statistics (src/statistics.c) ---- */

/* The distinct pipelines one recording of an op bound, in the order first bound (the first
 * Q8CONV_PW_STAT_PIPELINES of them): what q8conv_pw_statistics reports. */
#define Q8CONV_PW_STAT_PIPELINES 4
typedef struct q8conv_used_pipelines {
    VkPipeline pipelines[Q8CONV_PW_STAT_PIPELINES];
    uint32_t count;
} q8conv_used_pipelines;

static inline void q8conv_used_pipelines_add(q8conv_used_pipelines *u, VkPipeline p)
{
    for (uint32_t i = 0; i < u->count; ++i)
        if (u->pipelines[i] == p)
            return;
    if (u->count < Q8CONV_PW_STAT_PIPELINES)
        u->pipelines[u->count++] = p;
}

/* Every statistic of every executable of a pipeline created with CAPTURE_STATISTICS, count-then-fill
 * as q8conv_pw_statistics (the caller checks ctx->pipeline_statistics). */
q8conv_status q8conv_pipeline_statistics(q8conv_context *ctx, VkPipeline pipeline, q8conv_statistic *out,
                                         uint32_t capacity, uint32_t *count);
/* Makes `used` (a complete recording's) the op's most recent recording, under the context's lock. */
void q8conv_pw_note_recording(q8conv_pw *op, const q8conv_used_pipelines *used);

/* One pipeline of the kernel table, as q8conv_kernel_statistics compiles it. Zero-initialized:
 * line 0, 4W4C in and out, int8 input, no bias, local size Q8CONV_WORKGROUP_INVOCATIONS x 1 x 1,
 * no split-K, the menu's first matrix tile. */
typedef struct q8conv_kernel_pipeline {
    uint32_t line;                        /* index into q8conv_kernel_lines (src/core/kernels.def) */
    q8conv_layout in_layout, out_layout;
    q8conv_dtype input_type;              /* INPUT_XOR as q8conv_input_read_for gives it for the line */
    q8conv_bias_mode bias_mode;
    uint32_t local[3];                    /* BLOCKS lines; 0 = {Q8CONV_WORKGROUP_INVOCATIONS, 1, 1} */
    uint32_t k_split;                     /* BLOCKS lines; 0 = 1 (local[1] must then equal it) */
    uint32_t tile;                        /* MATRIX lines: index into q8conv_matrix_tiles; the local size
                                             is its subgroups x the device's subgroup size */
} q8conv_kernel_pipeline;

/* Compiles the pipeline `p` describes on ctx (through its pipeline table and cache, so a
 * pipeline an op holds is reused) and returns every statistic the driver reports for it, for
 * all its executables, under the driver's names. Runs nothing, allocates no device memory and
 * uses no queue: it works on a q8conv_context_create_compile_only context. The pipeline is
 * released again (destroyed unless an op holds it). Count-then-fill: out NULL sets *count to
 * the number of statistics; else capacity must be at least that (else INVALID_ARGUMENT with
 * *count set to it and nothing written).
 * @retval Q8CONV_SUCCESS
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT NULLs, line, layout, dtype, bias mode or tile out of range,
 *         capacity too small
 * @retval Q8CONV_ERROR_UNSUPPORTED the device cannot run the line, or reports no statistics
 *         (VK_KHR_pipeline_executable_properties not enabled)
 * @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
q8conv_status q8conv_kernel_statistics(q8conv_context *ctx, const q8conv_kernel_pipeline *p, q8conv_statistic *out,
                                       uint32_t capacity, uint32_t *count);

/* AUTO's rule refined by the compiler's own figures (q8conv_auto_refine): where the driver reports
 * pipeline statistics and a dot product is accelerated, compiles FALLBACK, then (where its figures
 * are ones the rule reads) each dot kernel still marked accelerated, and clears the
 * accelerated bit of a dot kernel the compiler made worse than FALLBACK (spills, fewer subgroups
 * per SIMD), then re-resolves ctx->info.default_kernel. Failures change nothing. */
void q8conv_auto_from_statistics(q8conv_context *ctx);

/* ---- operator (src/pw.c: create, destroy; src/pw_run.c: run, record) ---- */

/* q8conv_pw_run's own recording of the op for one pair of tensors, replayed while the pair stays
 * the same: a repeated run is a submit and a wait. One run at a time holds it (busy); a run of the
 * op on another thread meanwhile takes the context's one-shot path. cmd and fence are made by the
 * first run. */
typedef struct q8conv_pw_replay {
    atomic_bool busy;
    VkCommandBuffer cmd;
    VkFence fence;
    uint64_t input_id, output_id; /* the tensors cmd holds (ids are never 0); 0: none */
    uint32_t recordings;          /* how often cmd was recorded: tests watch it */
} q8conv_pw_replay;

struct q8conv_pw {
    q8conv_context *ctx;
    uint32_t ic, oc, c4_in, c4_out;
    q8conv_layout input_layout, output_layout;
    q8conv_dtype input_type, output_type; /* tensors must match them */
    uint32_t stride_h, stride_w; /* >= 1 */
    bool weight_zp;      /* q8conv_desc_has_weight_zero_point: the pipeline key's WEIGHT_ZP */
    uint32_t xsum_tail;  /* 0x01010101 masked to the real channels of the last K block (IC % 4) */
    q8conv_bias_mode bias_mode;
    q8conv_kernel kernel; /* what q8conv_pw_get_kernel reports: variants[0]'s */
    q8conv_requant rq;
    q8conv_buffer params; /* each variant's packed weights and channel params */
    /* The kernel-table lines the op runs with, each with its weights and descriptor set: one; or,
     * for AUTO on a device with cooperative matrices, the matrix kernel and the block kernel that
     * the picker takes instead for shapes where the matrix units do not pay (q8conv_matrix_pays). */
    struct q8conv_pw_variant {
        uint32_t line;
        uint32_t module;
        q8conv_input_read input; /* how the line reads input_type: the pipeline key's INPUT_XOR */
        VkDescriptorSet set;
        VkDescriptorPool set_pool;
    } variants[2];
    uint32_t variant_count;
    q8conv_pipeline_holds pipelines; /* under the context's lock */
    q8conv_used_pipelines last_recording; /* under the context's lock: q8conv_pw_statistics */
    q8conv_pw_replay replay;
    q8conv_lifetime member;
};

/* What the sequence room needs of the operator: q8conv_pw_run's checks of a step (arguments,
 * shapes, layouts, context, aliasing, a lost device). Recording a step is the public
 * q8conv_pw_record. */
q8conv_status q8conv_pw_check_step(const q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out);

/* ---- sequence (src/sequence.c) ---- */

/* What a test can observe of a sequence's last recording. */
typedef struct q8conv_sequence_stats {
    uint32_t steps;
    uint32_t barriers;   /* recorded between steps (the prologue and epilogue are not counted) */
    uint32_t recordings; /* how often the command buffer was recorded */
    bool recorded;       /* it holds every step now */
} q8conv_sequence_stats;

void q8conv_sequence_get_stats(const q8conv_sequence *seq, q8conv_sequence_stats *out);

#endif
