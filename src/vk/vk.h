/* The Vulkan plumbing of libq8conv (src/vk/): one section per file, each declaring what that file
 * exports, and the context's fields, which these rooms fill. Everything here may call into
 * src/core/ (pure.h) and nothing above it: the objects a user holds (src/objects.h) call down
 * into these rooms, never the reverse. */
#ifndef Q8CONV_VK_H
#define Q8CONV_VK_H

#include <pthread.h>
#include <stdatomic.h>
#include <volk.h>

#include "pure.h"
#include "shader_abi.h"
#include "tuning.h"

/* ---- host allocation (src/vk/alloc.c) ---- */

/* Every allocation of the library goes through these, so a caller's allocator (and the fault
 * injection tests) see all of them. */
void *q8conv_alloc(const q8conv_allocator *a, size_t size);
void *q8conv_calloc(const q8conv_allocator *a, size_t count, size_t size);
void q8conv_free(const q8conv_allocator *a, void *p);

/* ---- status (src/vk/status.c) ---- */
q8conv_status q8conv_status_from_vk(VkResult r);

/* ---- shaders (generated q8conv_shaders.c) ---- */

/* One module per kernel-table line and layout pair: q8conv_module_index (src/core/pure.h). */
extern const uint32_t *const q8conv_shader_code[Q8CONV_MODULE_COUNT];
extern const size_t q8conv_shader_size[Q8CONV_MODULE_COUNT];

/* ---- instance (src/vk/instance.c) ---- */

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

/* ---- capabilities (src/vk/capabilities.c) ---- */

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

/* Whether the physical device offers an extension; *st says whether the question could be answered. */
bool q8conv_device_has_extension(q8conv_context *ctx, VkPhysicalDevice pd, const char *name, q8conv_status *st);
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

/* ---- device (src/vk/device.c) ---- */

/* The library's own device on ctx->physical_device (integer dot product enabled where the device
 * has it), or the caller's: either way its function table, queue, properties and info. */
q8conv_status q8conv_device_create(q8conv_context *ctx);
q8conv_status q8conv_device_adopt(q8conv_context *ctx, const q8conv_external_device *ext);
/* DEVICE_LOST once any call has met the loss; SUCCESS otherwise (after struct q8conv_context). */
static inline q8conv_status q8conv_ctx_check_lost(const q8conv_context *ctx);
q8conv_status q8conv_ctx_result(q8conv_context *ctx, VkResult r); /* maps and remembers DEVICE_LOST */

/* ---- pipeline cache (src/vk/pipeline_cache.c) ---- */

/* ctx->pipeline_cache, started from desc's blob when its frame and header prove it was written by
 * a context on this very device and driver; otherwise (or if the driver refuses it) empty. */
q8conv_status q8conv_pipeline_cache_create(q8conv_context *ctx, const q8conv_context_desc *desc);
void q8conv_pipeline_cache_destroy(q8conv_context *ctx);

/* ---- pipelines (src/vk/pipelines.c) ---- */

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
    uint32_t strided;       /* 1: a stride other than 1 (STRIDED) */
    uint32_t weight_zp;     /* 1: some stored weight zero point is not 0 (WEIGHT_ZP) */
    uint32_t early_params;  /* block kernels: EARLY_PARAMS (q8conv_dispatch_plan.early_params) */
    uint32_t unroll;        /* block kernels: UNROLL_K, K steps per pass; 0 = the shader's 4 */
    uint32_t ablate;        /* ABLATE: 0 (the real kernel) but in a tuning build's ablations (src/tuning.h) */
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

/* ---- descriptor sets (src/vk/descriptors.c) ---- */

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

/* ---- submission (src/vk/submit.c) ---- */

/* The command pool, its command buffer and the fence of one-shot submissions. */
q8conv_status q8conv_submit_create(q8conv_context *ctx);
void q8conv_submit_destroy(q8conv_context *ctx);
/* The context's lock, settled here once (ctx->lock; src/context.c creates it).
 *
 * What it guards: the pipeline table (src/vk/pipelines.c), the descriptor pool chain
 * (src/vk/descriptors.c), the command pool with every command buffer allocated from it (Vulkan
 * makes the pool externally synchronized, so each begin..end of a recording is inside it), the
 * one-shot command buffer and its fence, the spare replays, vkQueueSubmit on `queue`, the pipeline
 * cache's data and the lifetime counts (src/lifetime.c).
 *
 * The protocol: every function that takes the lock releases it before it returns; no function
 * returns holding it. A recording is a callback run by q8conv_ctx_run_commands or
 * q8conv_ctx_record_replay below, which hold the lock from the command buffer's begin to its end;
 * the callback never takes or releases it itself. It is recursive because code a recording calls
 * takes it again while the recording holds it: a sequence step's q8conv_pw_record resolves its
 * pipelines (q8conv_ctx_get_pipeline), and every recording of an op notes the pipelines it bound
 * (q8conv_pw_note_recording). q8conv_pw_run resolves its pipelines before its recording starts. Only the one-shot path waits for the GPU under the lock (its command buffer and fence
 * are shared); replayed submissions wait outside it, so runs of several threads overlap. */

/* Records into cmd and returns the recording's status; run under the context's lock. */
typedef q8conv_status (*q8conv_record_fn)(void *arg, VkCommandBuffer cmd);

/* One-shot submission on the context's queue: under the lock, begins the context's command
 * buffer, lets `record` fill it, ends it, and (if the recording succeeded) submits and waits. */
q8conv_status q8conv_ctx_run_commands(q8conv_context *ctx, q8conv_record_fn record, void *arg);

/* Replayed submissions: a command buffer (from the context's pool) and a fence owned by one user,
 * q8conv_pw_run's per op or a sequence's, recorded once and submitted many times. Destroyed pairs
 * are kept as spares (up to Q8CONV_SPARE_REPLAYS) and handed out again before new ones are
 * allocated. */
q8conv_status q8conv_ctx_create_replay(q8conv_context *ctx, VkCommandBuffer *cmd, VkFence *fence);
void q8conv_ctx_destroy_replay(q8conv_context *ctx, VkCommandBuffer cmd, VkFence fence);
/* Creates the pair first if *cmd is VK_NULL_HANDLE (q8conv_pw_run's, on an op's first run). Then,
 * under the lock: resets and begins *cmd (reusable, not one-time), records the run prologue, lets
 * `record` fill it, records the run epilogue (unless the recording failed) and ends it. */
q8conv_status q8conv_ctx_record_replay(q8conv_context *ctx, VkCommandBuffer *cmd, VkFence *fence,
                                       q8conv_record_fn record, void *arg);
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

/* Replay command buffers and fences a context keeps for reuse (src/vk/submit.c). */
#define Q8CONV_SPARE_REPLAYS 16

/* The context's fields, grouped by the room (file) that sets them. They live here, not beside the
 * other objects a user holds (src/objects.h), because the rooms of src/vk/ are what fill them;
 * context.c creates those rooms in this order (descriptor pools on first use) and destroys them in
 * reverse. */
struct q8conv_context {
    /* context.c */
    q8conv_allocator allocator;
    uint32_t flags;
    bool owns_device;
    /* q8conv_context_create_compile_only: device and pipelines only, nothing that submits. */
    bool compile_only;
    q8conv_wait_mode wait_mode;
    uint64_t wait_poll_ns; /* Q8CONV_WAIT_POLL: how long to poll before blocking */
    /* Recursive; what it guards and how it is taken: "The context's lock" (submission section). */
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
    uint32_t caps;   /* Q8CONV_CAP_* the context may use (src/core/pure.h) */
    /* Pipelines are created with CAPTURE_STATISTICS and their statistics can be read
     * (VK_KHR_pipeline_executable_properties enabled, by us or by the caller). */
    bool pipeline_statistics;
    atomic_bool lost;

    /* src/tuning.c (tuning builds; a placeholder byte in release builds) */
    q8conv_tuning tuning;

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

static inline q8conv_status q8conv_ctx_check_lost(const q8conv_context *ctx)
{
    return atomic_load(&((q8conv_context *)ctx)->lost) ? Q8CONV_ERROR_DEVICE_LOST : Q8CONV_SUCCESS;
}

/* ---- memory (src/vk/memory.c) ---- */

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

#endif
