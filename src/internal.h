/* Private structures shared by the Vulkan-facing files of libq8conv: one section per file, each
 * declaring what that file exports. */
#ifndef Q8CONV_INTERNAL_H
#define Q8CONV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <volk.h>

#include "pure.h"

/* ---- host allocation (src/alloc.c) ---- */

/* Every allocation of the library goes through these, so a caller's allocator (and the fault
 * injection tests) see all of them. */
void *q8conv_alloc(const q8conv_allocator *a, size_t size);
void *q8conv_calloc(const q8conv_allocator *a, size_t count, size_t size);
void q8conv_free(const q8conv_allocator *a, void *p);

/* ---- status (src/status.c) ---- */
q8conv_status q8conv_status_from_vk(VkResult r);

/* ---- shaders (generated q8conv_shaders.c) ---- */

/* One module per kernel-table line and layout pair: q8conv_module_index (src/pure.h). */
extern const uint32_t *const q8conv_shader_code[Q8CONV_MODULE_COUNT];
extern const size_t q8conv_shader_size[Q8CONV_MODULE_COUNT];

/* ---- instance (src/instance.c) ---- */

/* Instance-level entry points, loaded per context from the loader or the caller's
 * vkGetInstanceProcAddr (never process-wide globals). */
typedef struct q8conv_instance_fns {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
    PFN_vkDestroyInstance vkDestroyInstance;
    PFN_vkEnumeratePhysicalDevices vkEnumeratePhysicalDevices;
    PFN_vkGetPhysicalDeviceProperties vkGetPhysicalDeviceProperties;
    PFN_vkGetPhysicalDeviceProperties2 vkGetPhysicalDeviceProperties2;
    PFN_vkGetPhysicalDeviceFeatures2 vkGetPhysicalDeviceFeatures2;
    PFN_vkGetPhysicalDeviceMemoryProperties vkGetPhysicalDeviceMemoryProperties;
    PFN_vkGetPhysicalDeviceQueueFamilyProperties vkGetPhysicalDeviceQueueFamilyProperties;
    PFN_vkEnumerateDeviceExtensionProperties vkEnumerateDeviceExtensionProperties;
    PFN_vkCreateDevice vkCreateDevice;
    PFN_vkGetDeviceProcAddr vkGetDeviceProcAddr;
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
    PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV vkGetPhysicalDeviceCooperativeMatrixPropertiesNV;
} q8conv_instance_fns;

/* Loads *f through gipa; false when an entry point the library needs is missing. */
bool q8conv_instance_load_fns(q8conv_instance_fns *f, PFN_vkGetInstanceProcAddr gipa, VkInstance inst);
/* The library's own instance: opens the loader, enables validation (with synchronization
 * validation and a messenger counting into the context) when the context's flags ask for it. */
q8conv_status q8conv_instance_create(q8conv_context *ctx);
/* ctx->physical_device = the index-th physical device of the instance. */
q8conv_status q8conv_instance_pick_physical_device(q8conv_context *ctx, uint32_t index);
/* Destroys the messenger and the instance (own device only) and closes the loader. */
void q8conv_instance_destroy(q8conv_context *ctx);

/* ---- capabilities (src/capabilities.c) ---- */

/* Integer dot product is usable in SPIR-V when the feature is on: core in 1.3, else the KHR
 * extension (which is also what makes SPV_KHR_integer_dot_product legal). */
typedef struct q8conv_dot_support {
    bool feature;      /* shaderIntegerDotProduct is supported */
    bool needs_ext;    /* it comes from VK_KHR_shader_integer_dot_product */
    bool accelerated;  /* 4x8-bit packed signed (accumulating saturating) is accelerated */
    bool signed_accelerated; /* integerDotProduct4x8BitPackedSignedAccelerated: OpSDot, the DOT kernel's */
    bool mixed_accelerated;  /* ...MixedSignednessAccelerated: OpSUDot, the DOT_MIXED kernel's */
} q8conv_dot_support;

/* Cooperative matrices (the COOPMAT kernel) are usable where the device offers
 * VK_NV_cooperative_matrix with its cooperativeMatrix feature for compute shaders, lists the
 * s8 x s8 -> s32 Q8CONV_CM_M x Q8CONV_CM_N x Q8CONV_CM_K shape at subgroup scope, and has
 * shaderInt8 and vulkanMemoryModel, which the kernel's SPIR-V declares (Int8, the Vulkan memory
 * model). Those two are core in 1.2 and come from KHR extensions before. */
typedef struct q8conv_coopmat_support {
    bool usable;
    bool int8_ext, memory_model_ext; /* enable VK_KHR_shader_float16_int8 / VK_KHR_vulkan_memory_model */
    uint32_t shape_count;            /* s8 x s8 -> s32 subgroup shapes listed, for q8conv_context_info */
    uint32_t shapes[Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES][3];
} q8conv_coopmat_support;

typedef struct q8conv_device_caps {
    q8conv_dot_support dot;
    q8conv_coopmat_support coopmat;
    /* VK_KHR_pipeline_executable_properties with pipelineExecutableInfo: the driver reports each
     * pipeline's statistics (src/statistics.c) */
    bool executable_properties;
} q8conv_device_caps;

/* What the physical device offers (device_api: its apiVersion; ctx->api_version: the instance's). */
q8conv_status q8conv_caps_query(q8conv_context *ctx, VkPhysicalDevice pd, uint32_t device_api, q8conv_device_caps *out);
/* Keeps only what a caller's vkCreateDevice feature chain turned on. */
void q8conv_caps_restrict_to_chain(q8conv_device_caps *caps, const VkPhysicalDeviceFeatures2 *chain);
/* The feature structs and extensions that turn on everything in caps, for vkCreateDevice. The
 * returned pNext chain points into *e, which must outlive the call that uses it. */
typedef struct q8conv_caps_enabled {
    VkPhysicalDeviceShaderIntegerDotProductFeatures dot;
    VkPhysicalDeviceCooperativeMatrixFeaturesNV coopmat;
    VkPhysicalDeviceShaderFloat16Int8Features int8;
    VkPhysicalDeviceVulkanMemoryModelFeatures memory_model;
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR executable;
    const char *extensions[6];
    uint32_t extension_count;
} q8conv_caps_enabled;
const void *q8conv_caps_enable(const q8conv_device_caps *caps, q8conv_caps_enabled *e);

/* ---- device (src/device.c) ---- */

/* The library's own device on ctx->physical_device (integer dot product enabled where the device
 * has it), or the caller's: either way its function table, queue, properties and info. */
q8conv_status q8conv_device_create(q8conv_context *ctx);
q8conv_status q8conv_device_adopt(q8conv_context *ctx, const q8conv_external_device *ext);
/* DEVICE_LOST once any call has met the loss; SUCCESS otherwise. */
q8conv_status q8conv_ctx_check_lost(const q8conv_context *ctx);
q8conv_status q8conv_ctx_result(q8conv_context *ctx, VkResult r); /* maps and remembers DEVICE_LOST */

/* ---- pipeline cache (src/pipeline_cache.c) ---- */

/* ctx->pipeline_cache, started from desc's blob when its frame and header prove it was written by
 * a context on this very device and driver; otherwise (or if the driver refuses it) empty. */
q8conv_status q8conv_pipeline_cache_create(q8conv_context *ctx, const q8conv_context_desc *desc);
void q8conv_pipeline_cache_destroy(q8conv_context *ctx);

/* ---- pipelines (src/pipelines.c) ---- */

/* What makes two pipelines differ: the module and its specialization constants. Fields a kernel
 * does not use are 0. Compared with memcmp, so always zero-initialize it. */
typedef struct q8conv_pipeline_key {
    uint32_t module;
    uint32_t bias_mode;
    uint32_t local[3];
    uint32_t k_split;
    uint32_t tile[6];       /* cooperative-matrix tile: BM, BN, SG_M, SG_N, BK, stages */
    uint32_t subgroup_size; /* cooperative-matrix kernel */
    uint32_t input_xor;     /* q8conv_input_read.xor_word */
    uint32_t strided;       /* 1: a stride other than 1 (STRIDED, constant_id 14) */
    uint32_t weight_zp;     /* 1: some stored weight zero point is not 0 (WEIGHT_ZP, constant_id 15) */
#ifdef Q8CONV_TUNING
    uint32_t ablate;        /* src/tune.h: ABLATE, constant_id 13; release builds always run 0 */
#endif
} q8conv_pipeline_key;

/* A compute pipeline for one key, created when an op first needs it and destroyed when the last
 * op that used it is destroyed (its compiled code stays in the VkPipelineCache, so a later op
 * re-creates it cheaply). */
typedef struct q8conv_pipeline_entry {
    q8conv_pipeline_key key;
    uint64_t hash;
    VkPipeline pipeline;
    uint32_t holders; /* ops holding it (q8conv_pipeline_holds) */
} q8conv_pipeline_entry;

/* The pipelines an op holds: recorded at its first use of each, released with the op. */
typedef struct q8conv_pipeline_holds {
    q8conv_pipeline_entry **entries;
    uint32_t count, capacity;
} q8conv_pipeline_holds;

/* The descriptor set layouts, the pipeline layout and the shader modules the device can run. */
q8conv_status q8conv_pipelines_create(q8conv_context *ctx);
/* Destroys those and every pipeline still held. */
void q8conv_pipelines_destroy(q8conv_context *ctx);
/* The pipeline for a key, found in the context's hash table (constant expected time) or created,
 * and held by `holds` (an op's) from then on. Locks the context; allocates only when the pipeline
 * or the op's hold on it is new. */
q8conv_status q8conv_ctx_get_pipeline(q8conv_context *ctx, const q8conv_pipeline_key *key, q8conv_pipeline_holds *holds,
                                      VkPipeline *out);
/* Lets go of every pipeline in `holds`: those no op holds any more are destroyed. Locks the context. */
void q8conv_ctx_release_pipelines(q8conv_context *ctx, q8conv_pipeline_holds *holds);

/* ---- descriptor sets (src/descriptors.c) ---- */

/* Descriptor sets come from a chain of pools that grows when one is full. */
typedef struct q8conv_pool_chain {
    VkDescriptorPool *pools;
    uint32_t count, capacity;
} q8conv_pool_chain;

/* Allocates one descriptor set of `layout`, growing the chain if every pool is full (locks the
 * context); *from is the pool to give it back to. */
q8conv_status q8conv_ctx_alloc_set(q8conv_context *ctx, VkDescriptorSetLayout layout, VkDescriptorSet *set,
                                   VkDescriptorPool *from);
void q8conv_ctx_free_set(q8conv_context *ctx, VkDescriptorPool pool, VkDescriptorSet set);
/* Destroys every pool (and with them every set still allocated). */
void q8conv_descriptors_destroy(q8conv_context *ctx);

/* ---- submission (src/submit.c) ---- */

/* The command pool, its command buffer and the fence of one-shot submissions. */
q8conv_status q8conv_submit_create(q8conv_context *ctx);
void q8conv_submit_destroy(q8conv_context *ctx);
/* One-shot submission on the context's queue: begin returns the context's command buffer with
 * the lock held; end submits, waits and releases the lock (also on failure). */
q8conv_status q8conv_ctx_begin_commands(q8conv_context *ctx, VkCommandBuffer *cmd);
q8conv_status q8conv_ctx_end_commands(q8conv_context *ctx, q8conv_status recorded);

/* Replayed submissions: a command buffer (from the context's pool) and a fence owned by one user,
 * q8conv_pw_run's per op or a sequence's, recorded once and submitted many times. The pool is
 * externally synchronized, so create/destroy and begin..end run under the context's lock (create
 * and destroy take it; the caller holds it from begin to end). Destroyed pairs are kept as spares
 * (up to Q8CONV_SPARE_REPLAYS) and handed out again before new ones are allocated. */
q8conv_status q8conv_ctx_create_replay(q8conv_context *ctx, VkCommandBuffer *cmd, VkFence *fence);
void q8conv_ctx_destroy_replay(q8conv_context *ctx, VkCommandBuffer cmd, VkFence fence);
/* Resets and begins cmd (reusable, not one-time) and records the run prologue. */
q8conv_status q8conv_replay_begin(q8conv_context *ctx, VkCommandBuffer cmd);
/* Records the run epilogue and ends cmd; returns `recorded` if that already failed. */
q8conv_status q8conv_replay_end(q8conv_context *ctx, VkCommandBuffer cmd, q8conv_status recorded);
/* Submits cmd under the lock with the fence (reset first), then waits outside the lock, so that
 * runs of several threads overlap. */
q8conv_status q8conv_ctx_submit_wait(q8conv_context *ctx, VkCommandBuffer cmd, VkFence fence);

/* The barriers of a run's recording. Prologue: earlier transfer and compute work on the queue
 * (tensor writes, other runs) before the dispatches' reads and writes. Between: one step's
 * dispatches before the next one's (shader writes made visible to reads and writes, and reads
 * ordered before writes). Epilogue: the dispatches' writes before later transfer, compute and host
 * reads (tensor_read, the next run). */
void q8conv_cmd_run_prologue(const q8conv_context *ctx, VkCommandBuffer cmd);
void q8conv_cmd_run_between(const q8conv_context *ctx, VkCommandBuffer cmd);
void q8conv_cmd_run_epilogue(const q8conv_context *ctx, VkCommandBuffer cmd);

/* ---- context (src/context.c) ---- */

/* A context for compiling only, on the device_index-th physical device of the library's own
 * instance: the device (with what capabilities.c enables, pipeline statistics included), its
 * pipeline layout and shader modules, and nothing that allocates memory, submits or waits. It
 * serves q8conv_kernel_statistics on devices that compile but cannot run (RADV's null devices,
 * RADV_FORCE_FAMILY) and is destroyed with q8conv_context_destroy; no op, tensor or sequence may
 * be made on it (their create calls refuse it with UNSUPPORTED). */
q8conv_status q8conv_context_create_compile_only(uint32_t device_index, q8conv_context **out);

/* Replay command buffers and fences a context keeps for reuse (src/submit.c). */
#define Q8CONV_SPARE_REPLAYS 16

/* The context's fields, grouped by the room (file) that sets them. context.c creates the rooms in
 * this order (descriptor pools on first use) and destroys them in reverse. */
struct q8conv_context {
    /* context.c */
    q8conv_allocator allocator;
    uint32_t flags;
    bool owns_device;
    /* q8conv_context_create_compile_only: device and pipelines only, nothing that submits. */
    bool compile_only;
    q8conv_wait_mode wait_mode;
    uint64_t wait_poll_ns; /* Q8CONV_WAIT_POLL: how long to poll before blocking */
    /* Recursive. Guards the pipeline table, the descriptor pools, the one-shot command buffer and
     * vkQueueSubmit on `queue`. */
    pthread_mutex_t lock;

    /* instance.c */
    void *loader;          /* dlopen handle of the Vulkan loader (own instance only) */
    VkInstance instance;
    uint32_t api_version;
    q8conv_instance_fns vki;
    VkDebugUtilsMessengerEXT messenger;
    atomic_uint validation_errors, validation_warnings;
    q8conv_message_fn message_callback;
    void *message_user_data;
    VkPhysicalDevice physical_device;

    /* device.c */
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family_index;
    struct VolkDeviceTable vk;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties memory_props;
    q8conv_context_info info;
    bool use_dot;
    uint32_t caps;   /* Q8CONV_CAP_* the context may use (src/pure.h) */
    /* Pipelines are created with CAPTURE_STATISTICS and their statistics can be read
     * (VK_KHR_pipeline_executable_properties enabled, by us or by the caller). */
    bool pipeline_statistics;
#ifdef Q8CONV_TUNING
    /* src/tune.c: the stage ablation and forced matrix tile of the pipelines recorded next. */
    uint32_t tune_ablate;
    bool tune_tile_forced;
    q8conv_matrix_tile tune_tile;
#endif
    atomic_bool lost;

    /* pipeline_cache.c */
    VkPipelineCache pipeline_cache;

    /* pipelines.c */
    VkDescriptorSetLayout op_set_layout;     /* set 0: weights, channel params */
    VkDescriptorSetLayout tensor_set_layout; /* sets 1 and 2: one storage buffer */
    VkPipelineLayout pipeline_layout;
    VkShaderModule modules[Q8CONV_MODULE_COUNT];
    /* Under the lock: an open-addressing hash table of the live pipelines (slots NULL, a live
     * entry, or Q8CONV_PIPELINE_GONE), sized to a power of two that follows the live count. */
    q8conv_pipeline_entry **pipeline_slots;
    uint32_t pipeline_capacity, pipeline_count, pipeline_used; /* slots; live entries; live + gone */

    /* descriptors.c, under the lock */
    q8conv_pool_chain pools;

    /* submit.c, under the lock (replayed command buffers come from this pool too) */
    VkCommandPool command_pool;
    VkCommandBuffer command_buffer;
    VkFence fence;
    struct {
        VkCommandBuffer cmd;
        VkFence fence;
    } spare_replays[Q8CONV_SPARE_REPLAYS];
    uint32_t spare_replay_count;
    /* Set before the first vkQueueSubmit: a context that never submitted has nothing to wait
     * for when it is destroyed (and a device that cannot run, such as RADV's null device, is
     * never asked to wait). */
    atomic_bool submitted;
};

/* ---- memory (src/memory.c) ---- */

typedef struct q8conv_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped; /* host-visible buffers only */
    VkDeviceSize size;
} q8conv_buffer;

/* host_visible: a mapped, coherent staging buffer (preferring cached memory); else device-local. */
q8conv_status q8conv_buffer_create(q8conv_context *ctx, VkDeviceSize size, VkBufferUsageFlags usage,
                                   bool host_visible, q8conv_buffer *out);
void q8conv_buffer_destroy(q8conv_context *ctx, q8conv_buffer *b);
/* Copies size bytes between a host pointer and (buffer, offset) through a staging buffer. */
q8conv_status q8conv_upload(q8conv_context *ctx, VkBuffer dst, VkDeviceSize offset, const void *src, VkDeviceSize size);
q8conv_status q8conv_download(q8conv_context *ctx, VkBuffer src, VkDeviceSize offset, void *dst, VkDeviceSize size);

/* ---- sequence (src/sequence.c) ---- */

/* What a test can observe of a sequence's last recording. */
typedef struct q8conv_sequence_stats {
    uint32_t steps;
    uint32_t barriers;   /* recorded between steps (the prologue and epilogue are not counted) */
    uint32_t recordings; /* how often the command buffer was recorded */
    bool recorded;       /* it holds every step now */
} q8conv_sequence_stats;

void q8conv_sequence_get_stats(const q8conv_sequence *seq, q8conv_sequence_stats *out);

/* Kept in every op and tensor: how many sequence steps name it, and whether it was destroyed
 * meanwhile. Destroying such an object releases its Vulkan objects at once but keeps its host
 * struct, so that a sequence can see it is gone without touching freed memory; the last sequence
 * that names it frees the struct. `refs` changes under the context's lock. */
typedef struct q8conv_sequence_member {
    uint32_t refs;
    atomic_bool destroyed;
} q8conv_sequence_member;

/* The last step of destroying an op or tensor whose Vulkan objects are released: frees `object`
 * (allocated from ctx) unless a sequence names it, in which case it is only marked destroyed. */
void q8conv_sequence_member_retire(q8conv_context *ctx, q8conv_sequence_member *m, void *object);

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
    q8conv_sequence_member member;
};

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
    uint32_t line;                        /* index into q8conv_kernel_lines (src/kernels.def) */
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
 * pipeline statistics and a dot product is accelerated, compiles the DOT, DOT_MIXED and FALLBACK
 * pipelines once (the pipeline cache keeps them for the next context) and clears the
 * accelerated bit of a dot kernel the compiler made worse than FALLBACK (spills, fewer subgroups
 * per SIMD), then re-resolves ctx->info.default_kernel. Failures change nothing. */
void q8conv_auto_from_statistics(q8conv_context *ctx);

/* ---- operator (src/pw.c) ---- */

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
    q8conv_sequence_member member;
};

/* What the sequence room needs of the operator: q8conv_pw_run's checks of a step (arguments,
 * shapes, layouts, context, aliasing, a lost device), and whether two tensors are the same memory
 * (the same tensor, or byte ranges of one VkBuffer that intersect). */
q8conv_status q8conv_pw_check_step(const q8conv_pw *op, const q8conv_tensor *in, const q8conv_tensor *out);
bool q8conv_tensors_overlap(const q8conv_tensor *a, const q8conv_tensor *b);

/* Push constants of shaders/q8conv_pw.comp (and q8conv_pw_coopmat.comp), in their std430 order.
 * 88 bytes, within the 128 that every Vulkan device allows. rows, w and w4 are the output's;
 * the in_* fields, strides and xsum_tail are read only by STRIDED / WEIGHT_ZP pipelines. */
typedef struct q8conv_push {
    uint32_t base[3];
    uint32_t rows;
    uint32_t w, w4, c4_in, c4_out, oc;
    uint32_t in_row_offset, out_row_offset;
    uint32_t x_tiles;
    float z_y, qmin, qmax, inv_y;
    uint32_t in_w, in_h, out_h;
    uint32_t stride_h, stride_w;
    uint32_t xsum_tail;
} q8conv_push;
/* Vulkan guarantees maxPushConstantsSize >= 128 only. */
_Static_assert(sizeof(q8conv_push) <= 128, "push constants beyond the 128 bytes every device has");

#endif
