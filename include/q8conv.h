/* libq8conv: quantized 8-bit pointwise (1x1) convolution on any Vulkan device: int8 or uint8
 * weights with per-channel zero points, int8 or uint8 activations, any stride. An ONNX
 * QLinearConv node with a 1x1 kernel, group 1, no padding and no dilation (any strides, any legal
 * zero points, per tensor or per channel) maps onto one q8conv_pw.
 *
 * The whole public API is this header. What is computed, bit for bit, is documented in
 * SEMANTICS.md (shipped with the sources); the CPU reference q8conv_pw_reference() is its
 * executable form and every GPU result equals it byte for byte.
 *
 * Life cycle: q8conv_context_create -> q8conv_pw_create (weights packed once) ->
 * q8conv_tensor_create / q8conv_tensor_wrap -> q8conv_pw_run, a q8conv_sequence of several runs,
 * or q8conv_pw_record -> destroy in reverse order.
 *
 * Conventions
 * - Every descriptor may be zero-initialized; a zero field means its documented default. Callers
 *   are expected to use designated initializers, so field order is not part of the API.
 * - A function that returns q8conv_status sets its `*out` parameter only on Q8CONV_SUCCESS.
 * - A function that fails with Q8CONV_ERROR_INVALID_ARGUMENT or Q8CONV_ERROR_UNSUPPORTED has
 *   changed nothing: no tensor was written and the context stays fully usable.
 * - The library never aborts, never writes to stdout/stderr, and keeps no pointer to caller
 *   memory after a call returns unless stated.
 * - q8conv_*_destroy(NULL) is a no-op.
 *
 * Thread safety
 * - A q8conv_context may be used from several threads at once: q8conv_pw_create, tensor
 *   create/wrap/destroy, q8conv_pw_run, sequences and tensor read/write serialize their use of the
 *   queue, the descriptor pool and the pipeline cache inside the context. Runs and sequence runs
 *   wait outside that lock, so runs of several threads overlap.
 * - A q8conv_pw may be run or recorded from several threads at once. Its weights and parameters
 *   are fixed at creation; what it gains later (a pipeline on the first use of a shape, the
 *   replayed recording of q8conv_pw_run) is guarded inside the library. q8conv_pw_destroy must
 *   not race with any other use of that op.
 * - A q8conv_tensor must not be written (q8conv_tensor_write, or as the output of a run) while
 *   another thread reads or writes it; that is the caller's data race, as with any buffer.
 * - A q8conv_sequence is used by one thread at a time; an add, finalize or run that overlaps
 *   another on the same sequence is refused (Q8CONV_ERROR_INVALID_ARGUMENT, nothing changed).
 *   Different sequences of one context may run from several threads at once. Two runs (of
 *   sequences or ops) that write one tensor at once race on it as above: on the queue each is
 *   ordered after the ones submitted before it, so the tensor ends up as one of them wrote it;
 *   the library neither crashes nor hangs.
 * - q8conv_context_destroy must be called after every sequence, op and tensor of the context is
 *   destroyed and no other call on it is in flight.
 */
#ifndef Q8CONV_H
#define Q8CONV_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <vulkan/vulkan_core.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(Q8CONV_SHARED_BUILD)
#define Q8CONV_API __declspec(dllexport)
#elif defined(__GNUC__)
#define Q8CONV_API __attribute__((visibility("default")))
#else
#define Q8CONV_API
#endif

#define Q8CONV_VERSION_MAJOR 0
#define Q8CONV_VERSION_MINOR 2
#define Q8CONV_VERSION_PATCH 0

/** Result of every fallible call. */
typedef enum q8conv_status {
    Q8CONV_SUCCESS = 0,               /**< The call did what it says. */
    Q8CONV_ERROR_INVALID_ARGUMENT,    /**< A NULL, an out-of-range value, mismatched tensors: nothing was changed. */
    Q8CONV_ERROR_UNSUPPORTED,         /**< Valid, but this device cannot run it (limits, features): nothing was changed. */
    Q8CONV_ERROR_NO_DEVICE,           /**< No Vulkan loader, no physical device, or device_index out of range. */
    Q8CONV_ERROR_OUT_OF_HOST_MEMORY,  /**< A host allocation failed (the library's or the driver's). */
    Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY,/**< A device allocation failed. */
    Q8CONV_ERROR_DEVICE_LOST,         /**< The device was lost; every later GPU call on the context returns this. */
    Q8CONV_ERROR_VULKAN               /**< Any other Vulkan failure. */
} q8conv_status;

/** Device packing of a tensor (SEMANTICS.md, "Device layouts"). */
typedef enum q8conv_layout {
    Q8CONV_LAYOUT_4W4C = 0, /**< 16-byte blocks of 4 widths x 4 channels, channel block innermost. */
    Q8CONV_LAYOUT_4C1W = 1  /**< NHWC with channels padded to a multiple of 4. */
} q8conv_layout;

/** Host-side layout of tensor_write/read arrays and of the CPU reference (no padding). */
typedef enum q8conv_host_layout {
    Q8CONV_HOST_NCHW = 0, /**< bytes [N][C][H][W] */
    Q8CONV_HOST_NHWC = 1  /**< bytes [N][H][W][C] */
} q8conv_host_layout;

/** Element type of an activation tensor, of each side of an op (SEMANTICS.md "uint8
 *  activations") and of its weights. The host calls take and give a tensor's bytes as they
 *  are, through `int8_t` pointers: pass a uint8 array with a cast, `(const int8_t *)u8` or
 *  `(int8_t *)u8` (every byte keeps its bits; C lets any object be accessed as such bytes). */
typedef enum q8conv_dtype {
    Q8CONV_DTYPE_INT8 = 0,  /**< int8, zero point in [-128, 127] (TFLite, ExecuTorch, XNNPACK QC8) */
    Q8CONV_DTYPE_UINT8 = 1  /**< uint8, zero point in [0, 255] (ONNX QLinearConv U8S8, PyTorch quint8, XNNPACK QU8) */
} q8conv_dtype;

typedef enum q8conv_bias_mode {
    Q8CONV_BIAS_NONE = 0,  /**< No bias; `bias` must be NULL. */
    Q8CONV_BIAS_FLOAT = 1, /**< float[OC], added in the real domain (ExecuTorch q8ta scheme). */
    Q8CONV_BIAS_INT32 = 2  /**< int32[OC] in units of s_x*s_w[oc] (XNNPACK QC8, ONNX QLinearConv, TFLite). */
} q8conv_bias_mode;

typedef enum q8conv_activation {
    Q8CONV_ACTIVATION_NONE = 0,
    Q8CONV_ACTIVATION_RELU = 1,
    Q8CONV_ACTIVATION_RELU6 = 2
} q8conv_activation;

/** Which compute kernel an op uses. Every kernel gives the same bytes (SEMANTICS.md).
 *
 *  AUTO's rule, from the best evidence the device gives (its q8conv_context_info says which):
 *  - COOPMAT where the device has int8 cooperative matrices, with the block kernel below kept
 *    beside it for the shapes where the matrix units do not pay;
 *  - else the block kernel: DOT where the 4x8-bit packed signed dot product is usable and
 *    accelerated (dot_signed_accelerated); else DOT_MIXED where the mixed-signedness one is
 *    (dot_mixed_accelerated); else FALLBACK, even where the dot product is usable but emulated.
 *  Why (issue 16's compiler figures, 2026-12-02, 4W4C, local size 64, float bias): where the
 *  dot product is emulated the DOT kernel costs more than plain math (AMD GFX9 without native
 *  dot4: 64 VGPRs / 4 waves per SIMD against FALLBACK's 48 / 5; Mali-G610: 2 spills against
 *  none), and the Adreno 740's native dp4acc serves only the mixed-signedness dot (as OpSUDot, a
 *  patched DOT module: 13 registers / 14 waves of 16 against DOT's 19 / 10). */
typedef enum q8conv_kernel {
    Q8CONV_KERNEL_AUTO = 0,     /**< The context's default, by the rule above. */
    Q8CONV_KERNEL_DOT = 1,      /**< TILE_N4 = 1 (4x4 block, 16 accumulators), packed int8 dot product. */
    Q8CONV_KERNEL_FALLBACK = 2, /**< TILE_N4 = 1 with plain integer math, for devices without integer dot product. */
    Q8CONV_KERNEL_LEGACY = 3,   /**< TILE_N4 = 2 (8 channels, 32 accumulators): the earlier kernel, kept to measure the trade.
                                     Uses dot product when the context does, plain math otherwise. */
    Q8CONV_KERNEL_COOPMAT = 4,  /**< Cooperative matrices (VK_NV_cooperative_matrix, int8 x int8 -> int32 16x16x32
                                     at subgroup scope): the GPU's matrix units. Same bytes as every other kernel. */
    Q8CONV_KERNEL_DOT_MIXED = 5, /**< DOT with the mixed-signedness packed dot product (OpSUDot): the activations
                                      are read as unsigned bytes (int8 input as x + 128, the shift folded into the
                                      per-channel constants; uint8 input as it is) times the signed weights. Needs
                                      integer dot product, like DOT. */
    Q8CONV_KERNEL_COUNT_ = 6
} q8conv_kernel;

#define Q8CONV_CONTEXT_VALIDATION     0x1u  /**< enable VK_LAYER_KHRONOS_validation (own instance only) */
#define Q8CONV_CONTEXT_FORCE_FALLBACK 0x2u  /**< use the kernel without integer dot product */

typedef struct q8conv_context q8conv_context;
typedef struct q8conv_tensor q8conv_tensor;
typedef struct q8conv_pw q8conv_pw;
typedef struct q8conv_sequence q8conv_sequence;

/** How a context waits for its GPU work (q8conv_context_desc.wait_mode). */
typedef enum q8conv_wait_mode {
    /** vkWaitForFences: the thread sleeps until the GPU is done. The default, because on phones
     *  and laptops a spinning core costs battery; some desktop drivers take tens of microseconds
     *  to wake the thread (an empty submit and wait: 35-46 us on an H100, against 12 us polling),
     *  which matters only for short runs. */
    Q8CONV_WAIT_BLOCK = 0,
    /** Low latency: poll the fence (vkGetFenceStatus) for up to wait_poll_us, then block as
     *  BLOCK does. A short run returns as soon as the fence is seen signaled, without the
     *  driver's wake-up, at the cost of one busy core while it waits. */
    Q8CONV_WAIT_POLL = 1
} q8conv_wait_mode;

/** Upper bound of q8conv_context_desc.wait_poll_us (one second). */
#define Q8CONV_MAX_WAIT_POLL_US 1000000u

/** Host memory hooks for every allocation the library itself makes (not the driver's).
 *  Zero-initialized (all NULL) means malloc/free. `alloc` returns memory aligned to at least
 *  `alignment` (a power of two <= 64) or NULL; `free` accepts NULL. */
typedef struct q8conv_allocator {
    void *(*alloc)(void *user_data, size_t size, size_t alignment);
    void (*free)(void *user_data, void *ptr);
    void *user_data;
} q8conv_allocator;

/** A device the caller already owns (VMA/VkFFT style), for q8conv_context_desc.external.
 *  libq8conv never destroys these handles and keeps no pointer into this struct or the feature
 *  chain after q8conv_context_create returns. `device` must come from `physical_device` with
 *  Vulkan >= 1.1, and `queue` from `queue_family_index`. Device entry points are loaded into a
 *  per-context table through get_instance_proc_addr / vkGetDeviceProcAddr (the caller's loader or
 *  volk); libq8conv defines no vk* symbol. The DOT kernel is used only if `enabled_features`
 *  turns shaderIntegerDotProduct on, the COOPMAT kernel only if it turns on cooperativeMatrix,
 *  shaderInt8 and vulkanMemoryModel (see q8conv_device_requirements2); otherwise the fallback. */
typedef struct q8conv_external_device {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;                      /**< used by q8conv_pw_create (weight upload), q8conv_pw_run,
                                             q8conv_sequence_run and tensor read/write only */
    uint32_t queue_family_index;        /**< must support compute */
    uint32_t api_version;               /**< the instance's apiVersion (>= 1.1) */
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
    const VkPhysicalDeviceFeatures2 *enabled_features; /**< the chain given to vkCreateDevice, or NULL */
} q8conv_external_device;

/** Severity of a message from the Vulkan validation layer. */
typedef enum q8conv_message_severity {
    Q8CONV_MESSAGE_INFO = 0,
    Q8CONV_MESSAGE_WARNING = 1,
    Q8CONV_MESSAGE_ERROR = 2
} q8conv_message_severity;

/** Receives validation-layer messages (Q8CONV_CONTEXT_VALIDATION). May be called from any thread
 *  that is inside a q8conv call on the context; `message` is valid for the call only. */
typedef void (*q8conv_message_fn)(void *user_data, q8conv_message_severity severity, const char *message);

typedef struct q8conv_context_desc {
    /** Physical device to use (own instance only). When q8conv_context_create gets desc == NULL,
     *  the environment variable Q8CONV_DEVICE, if set to a number, chooses it. */
    uint32_t device_index;
    uint32_t flags; /**< Q8CONV_CONTEXT_* */
    /** NULL: libq8conv loads the Vulkan loader and creates its own instance, device and queue.
     *  Otherwise the caller's device is used; the struct is copied, the handles must outlive the
     *  context. The queue is used only by q8conv_pw_create (weight upload), q8conv_pw_run,
     *  q8conv_sequence_run and tensor read/write; the caller must not use it from another thread
     *  during those calls (Vulkan's external-sync rule). */
    const q8conv_external_device *external;
    /** Serialized pipeline cache from q8conv_context_get_pipeline_cache() of an earlier run.
     *  Not kept. A blob reaches the driver only when its length and checksum match what a context
     *  wrote and its Vulkan header names this device and driver build (vendor, device, pipeline
     *  cache UUID); a corrupt, truncated or foreign blob is ignored (the context starts with an
     *  empty cache) and never an error. */
    const void *pipeline_cache_data;
    size_t pipeline_cache_size;
    /** Host allocation hooks; NULL means malloc/free. Copied. */
    const q8conv_allocator *allocator;
    /** Where validation messages go (the library never prints); NULL: counted only. */
    q8conv_message_fn message_callback;
    void *message_user_data;
    /** How every wait of the context is done: q8conv_pw_run, q8conv_sequence_run, tensor
     *  read/write and the weight upload of q8conv_pw_create. 0 = Q8CONV_WAIT_BLOCK. */
    q8conv_wait_mode wait_mode;
    /** Q8CONV_WAIT_POLL only: the longest time to poll before blocking, in microseconds, at most
     *  Q8CONV_MAX_WAIT_POLL_US; 0 = 1000. Must be 0 with Q8CONV_WAIT_BLOCK. */
    uint32_t wait_poll_us;
} q8conv_context_desc;

/** Capacity of q8conv_context_info.cooperative_matrix_shapes. */
#define Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES 8

/** What a context runs on, filled by q8conv_context_get_info(). */
typedef struct q8conv_context_info {
    char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    char driver_name[VK_MAX_DRIVER_NAME_SIZE];  /**< empty where the driver does not say */
    char driver_info[VK_MAX_DRIVER_INFO_SIZE];
    uint32_t vendor_id, device_id;
    uint32_t driver_version;                    /**< vendor-encoded */
    uint32_t api_version;                       /**< the Vulkan version the context uses */
    bool integer_dot_product_supported;         /**< shaderIntegerDotProduct is enabled on the device */
    bool integer_dot_product_accelerated;       /**< 4x8-bit packed signed dot and its accumulating saturating
                                                     form are both accelerated */
    bool external_device;                       /**< the context runs on a caller's device */
    uint32_t subgroup_size;
    uint32_t max_compute_workgroup_count[3];
    uint32_t max_compute_workgroup_invocations;
    uint64_t max_storage_buffer_range;
    uint64_t min_storage_buffer_offset_alignment;
    float timestamp_period_ns;                  /**< 0 when the queue has no timestamps */
    q8conv_kernel default_kernel;               /**< what Q8CONV_KERNEL_AUTO resolves to */
    bool validation_enabled;                    /**< VK_LAYER_KHRONOS_validation is active */
    uint32_t validation_errors;                 /**< error messages the layer has reported so far */
    uint32_t validation_warnings;               /**< warning (and performance-warning) messages so far */
    /** The device can run Q8CONV_KERNEL_COOPMAT: VK_NV_cooperative_matrix lists the int8 x int8 -> int32
     *  16x16x32 subgroup shape, and cooperativeMatrix, shaderInt8 and vulkanMemoryModel are there
     *  (on an imported device: enabled by the caller, see q8conv_device_requirements2). */
    bool cooperative_matrix_supported;
    bool cooperative_matrix_used;               /**< supported and not turned off by FORCE_FALLBACK: AUTO uses it */
    uint32_t cooperative_matrix_shape_count;    /**< int8 x int8 -> int32 subgroup shapes the device lists (at most
                                                     Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES kept) */
    uint32_t cooperative_matrix_shapes[Q8CONV_MAX_COOPERATIVE_MATRIX_SHAPES][3]; /**< M, N, K of each */
    /** integerDotProduct4x8BitPackedSignedAccelerated (the DOT kernel's OpSDot); false where the dot
     *  product is not supported. AUTO's rule reads it. */
    bool dot_signed_accelerated;
    /** integerDotProduct4x8BitPackedMixedSignednessAccelerated (DOT_MIXED's OpSUDot); false where the
     *  dot product is not supported. AUTO's rule reads it. */
    bool dot_mixed_accelerated;
} q8conv_context_info;

typedef struct q8conv_tensor_desc {
    uint32_t n, c, h, w;  /**< logical shape [N][C][H][W]; each >= 1 */
    q8conv_layout layout; /**< device packing; 0 = 4W4C */
    q8conv_dtype dtype;   /**< element type; 0 = INT8. An op takes only tensors of its side's type. */
} q8conv_tensor_desc;

typedef struct q8conv_pw_desc {
    uint32_t in_channels, out_channels; /**< 1..16384 and >= 1 */
    float input_scale;  int32_t input_zero_point;  /**< zero point in the input type's range */
    float output_scale; int32_t output_zero_point; /**< zero point in the output type's range */
    /** Element types of input and output (0 = INT8), independently: U8S8 (uint8 in and out), and
     *  mixed uint8 -> int8 or int8 -> uint8, are all valid. The clamp bounds of the activations
     *  follow the output type's range. */
    q8conv_dtype input_type, output_type;
    const int8_t *weights;        /**< [out_channels][in_channels] of weight_type (uint8: cast); copied by
                                       q8conv_pw_create */
    const float *weight_scales;   /**< [out_channels]; copied */
    q8conv_bias_mode bias_mode;
    const void *bias;             /**< float or int32_t [out_channels]; NULL exactly when BIAS_NONE; copied */
    q8conv_activation activation;
    q8conv_layout input_layout, output_layout;
    q8conv_kernel kernel;         /**< 0 = AUTO */
    /** How the weight bytes are read (0 = INT8; UINT8: ONNX QLinearConv U8U8, TFLite legacy uint8,
     *  XNNPACK QU8). */
    q8conv_dtype weight_type;
    /** [out_channels] weight zero points z_w[oc], each in weight_type's range (a per-tensor zero
     *  point is the same value in every entry); NULL = all 0. Copied. The accumulator is
     *  sum((x - z_x) * (w - z_w)), exact for every valid in_channels (SEMANTICS.md). */
    const int32_t *weight_zero_points;
    /** Stride along H and W (0 or 1 = 1; any value). Output pixel (h, w) reads input pixel
     *  (stride_h * h, stride_w * w): the output is (H - 1) / stride_h + 1 by (W - 1) / stride_w + 1. */
    uint32_t stride_h, stride_w;
} q8conv_pw_desc;

/** Creates a context: a device, a queue, and the library's pipelines and pools on it.
 *  @param desc NULL for defaults (device from env Q8CONV_DEVICE, else 0). Not kept.
 *  @param out  receives the context on success.
 *  @retval Q8CONV_SUCCESS
 *  @retval Q8CONV_ERROR_INVALID_ARGUMENT out NULL, unknown flag bits, an incomplete external device,
 *          pipeline_cache_size without data, an allocator with only one hook, an unknown wait_mode,
 *          wait_poll_us above Q8CONV_MAX_WAIT_POLL_US or given with Q8CONV_WAIT_BLOCK.
 *  @retval Q8CONV_ERROR_NO_DEVICE no loader, no Vulkan 1.1 device, or device_index out of range.
 *  @retval Q8CONV_ERROR_UNSUPPORTED the device lacks what every kernel needs (8-bit storage is not
 *          required; Vulkan 1.1 and a compute queue are), or VALIDATION was asked for and the layer is absent.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_context_create(const q8conv_context_desc *desc, q8conv_context **out);

/** Destroys the context and everything the library created on the device (waits for the device
 *  to go idle first when the context owns the device and has submitted work: a context that never
 *  submitted asks the device for nothing, so a failed q8conv_context_create on a device that can
 *  compile but not run, such as RADV's null devices, is cleaned up without touching its queue). Imported handles are left alone: the
 *  instance, device and queue stay valid and usable by the caller. On an imported device the
 *  library does not wait: the caller ensures no submitted work that used the context's ops is
 *  still pending. */
Q8CONV_API void q8conv_context_destroy(q8conv_context *ctx);

/** Fills `info` with what the context runs on (a copy; thread-safe, no device access).
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx or info NULL. */
Q8CONV_API q8conv_status q8conv_context_get_info(const q8conv_context *ctx, q8conv_context_info *info);

/** The Vulkan objects a context runs on (its own or the imported ones), for a caller that wants
 *  to record q8conv_pw_record into its own command buffers on the context's device. */
typedef struct q8conv_vulkan_handles {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;               /**< shared with q8conv_pw_create, q8conv_pw_run, q8conv_sequence_run and
                                      tensor read/write: do not use it from another thread while such a
                                      call is in flight */
    uint32_t queue_family_index;
    uint32_t api_version;
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
} q8conv_vulkan_handles;

/** Fills `out` with the context's Vulkan handles. They stay owned by the context (or by the
 *  caller, for an imported device) and live until q8conv_context_destroy. Thread-safe.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx or out NULL. */
Q8CONV_API q8conv_status q8conv_context_get_vulkan_handles(const q8conv_context *ctx, q8conv_vulkan_handles *out);

/** Serializes the context's pipeline cache for the caller to store (Vulkan two-call idiom), so
 *  that a later q8conv_context_create (pipeline_cache_data) skips shader compilation. The bytes
 *  are opaque: the driver's cache data in a frame of libq8conv's (length, checksum); store and
 *  return them whole. Thread-safe with every other call on the context.
 *  @param data NULL to query the size; else a buffer of *size bytes.
 *  @param size in: capacity of data; out: bytes needed (data NULL) or written.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx or size NULL, or *size too small
 *          (then *size is set to what is needed and nothing is written).
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_context_get_pipeline_cache(q8conv_context *ctx, void *data, size_t *size);

/** Device features libq8conv's faster kernels use, as q8conv_device_requirements2 reports them:
 *  each true member is a feature to turn on in the VkDeviceCreateInfo pNext chain (the struct
 *  named), whose chain is then passed as q8conv_external_device.enabled_features. */
typedef struct q8conv_device_features {
    /** shaderIntegerDotProduct (VkPhysicalDeviceShaderIntegerDotProductFeatures or
     *  VkPhysicalDeviceVulkan13Features): the DOT and DOT_MIXED kernels. */
    bool integer_dot_product;
    /** cooperativeMatrix (VkPhysicalDeviceCooperativeMatrixFeaturesNV): the COOPMAT kernel, which
     *  also needs the next two. */
    bool cooperative_matrix;
    /** shaderInt8 (VkPhysicalDeviceShaderFloat16Int8Features or VkPhysicalDeviceVulkan12Features). */
    bool shader_int8;
    /** vulkanMemoryModel (VkPhysicalDeviceVulkanMemoryModelFeatures or VkPhysicalDeviceVulkan12Features). */
    bool vulkan_memory_model;
} q8conv_device_features;

/** What a runtime must enable on its own VkDevice for libq8conv's fast paths, so that a context
 *  created on it with `external` can use the COOPMAT, DOT or DOT_MIXED kernel (AUTO by its rule).
 *  Call it before vkCreateDevice.
 *  Fills the counts and, where the arrays are not NULL, up to their capacity. Creates nothing and
 *  keeps nothing; thread-safe. Nothing is required beyond Vulkan 1.1 and a compute queue: without
 *  what this asks for, the context runs the fallback kernel.
 *  @param get_instance_proc_addr, instance, physical_device the caller's (instance >= Vulkan 1.1).
 *  @param extensions  receives static strings (device extensions, at most 4):
 *                     VK_KHR_shader_integer_dot_product whenever the physical device offers it (the
 *                     helper cannot know the instance's apiVersion, and the extension is valid under
 *                     any; on a 1.3 device that does not offer it, nothing: the 1.3 core feature then
 *                     needs a 1.3 instance); VK_NV_cooperative_matrix where the device can run the
 *                     COOPMAT kernel, with VK_KHR_shader_float16_int8 and VK_KHR_vulkan_memory_model
 *                     on a device older than Vulkan 1.2.
 *  @param extension_count in: capacity; out: how many are needed.
 *  @param features receives the features to enable (all false on a device that has none of them).
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT a required pointer is NULL, or the
 *          instance lacks the Vulkan 1.1 entry points.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY */
Q8CONV_API q8conv_status q8conv_device_requirements2(PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                                     VkInstance instance, VkPhysicalDevice physical_device,
                                                     const char **extensions, uint32_t *extension_count,
                                                     q8conv_device_features *features);

/** q8conv_device_requirements2 from before cooperative matrices: the same extensions, and only
 *  whether to enable shaderIntegerDotProduct (`*wants_integer_dot_product`). Kept for callers
 *  written against it; a device set up from it runs the DOT kernel, never COOPMAT.
 *  @retval as q8conv_device_requirements2 (wants_integer_dot_product NULL is INVALID_ARGUMENT). */
Q8CONV_API q8conv_status q8conv_device_requirements(PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                                    VkInstance instance, VkPhysicalDevice physical_device,
                                                    const char **extensions, uint32_t *extension_count,
                                                    bool *wants_integer_dot_product);

/** Bytes a tensor of this descriptor occupies on the device (the SEMANTICS.md layout, padding
 *  included); 0 when the descriptor is invalid. Pure function, no context needed. */
Q8CONV_API VkDeviceSize q8conv_tensor_size_bytes(const q8conv_tensor_desc *desc);

/** Creates a device tensor owned by the library. Its contents are undefined until written.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT NULLs, a zero dimension, a bad layout or dtype.
 *  @retval Q8CONV_ERROR_UNSUPPORTED the buffer would exceed what the device can bind in parts.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_tensor_create(q8conv_context *ctx, const q8conv_tensor_desc *desc, q8conv_tensor **out);

/** Wraps a caller's VkBuffer (created on the context's device with STORAGE_BUFFER usage, bound to
 *  memory, and TRANSFER_SRC/DST if tensor read/write will be used) as a tensor of `desc` whose
 *  bytes, in the SEMANTICS.md layout, start at `offset`. The caller keeps ownership of the buffer
 *  and its memory and must keep them alive until q8conv_tensor_destroy (which frees neither).
 *  The library allocates the tensor's descriptor sets here, so that recording later needs none.
 *  Thread-safe (the context serializes its descriptor pools).
 *  @param offset a multiple of minStorageBufferOffsetAlignment and of 16.
 *  The tensor must fit: without the creation size, the buffer's memory requirement (never below
 *  it) bounds offset + q8conv_tensor_size_bytes(desc); q8conv_tensor_wrap_sized checks exactly.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT NULLs, bad desc, misaligned offset, too small.
 *  @retval Q8CONV_ERROR_UNSUPPORTED the tensor is too large to bind even in row windows.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_tensor_wrap(q8conv_context *ctx, const q8conv_tensor_desc *desc,
                                            VkBuffer buffer, VkDeviceSize offset, q8conv_tensor **out);

/** q8conv_tensor_wrap with the buffer's size given, so that an undersized buffer is refused.
 *  @param buffer_size the size the buffer was created with (VkBufferCreateInfo::size); the call
 *         needs offset + q8conv_tensor_size_bytes(desc) <= buffer_size.
 *  @retval as q8conv_tensor_wrap. */
Q8CONV_API q8conv_status q8conv_tensor_wrap_sized(q8conv_context *ctx, const q8conv_tensor_desc *desc,
                                                  VkBuffer buffer, VkDeviceSize offset, VkDeviceSize buffer_size,
                                                  q8conv_tensor **out);

/** Copies a host array of the tensor's logical shape into the device packing, padding with zeros.
 *  @param src N*C*H*W bytes in `layout`, copied as they are (a uint8 tensor's array is passed
 *         cast to `const int8_t *`, see q8conv_dtype); not kept. Blocks until the copy is done.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT NULLs, bad host layout.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_tensor_write(q8conv_tensor *t, const int8_t *src, q8conv_host_layout layout);

/** Copies the tensor back into a host array of its logical shape (padding dropped). Blocks.
 *  @param dst N*C*H*W bytes in `layout` (a uint8 tensor's array cast to `int8_t *`).
 *  @retval as q8conv_tensor_write. */
Q8CONV_API q8conv_status q8conv_tensor_read(const q8conv_tensor *t, int8_t *dst, q8conv_host_layout layout);

/** Reads the tensor's raw device bytes (padding included, q8conv_tensor_size_bytes(desc) of them),
 *  for tests and debugging. @retval as q8conv_tensor_read. */
Q8CONV_API q8conv_status q8conv_tensor_read_raw(const q8conv_tensor *t, void *dst, size_t size);

/** Writes raw device bytes (e.g. to poison a tensor before a run). @retval as q8conv_tensor_write. */
Q8CONV_API q8conv_status q8conv_tensor_write_raw(q8conv_tensor *t, const void *src, size_t size);

/** The descriptor a tensor was created with. @retval Q8CONV_ERROR_INVALID_ARGUMENT on NULLs. */
Q8CONV_API q8conv_status q8conv_tensor_get_desc(const q8conv_tensor *t, q8conv_tensor_desc *desc);

/** Destroys the tensor (and its memory, unless wrapped). The caller ensures no pending GPU work
 *  uses it. A sequence that names the tensor keeps a small host record of it, so that the
 *  sequence can tell (q8conv_sequence_run refuses to run) until it is destroyed itself. */
Q8CONV_API void q8conv_tensor_destroy(q8conv_tensor *t);

/** Creates a pointwise convolution: validates the descriptor (SEMANTICS.md "Valid parameters"),
 *  packs the weights, computes the requantization constants and uploads them. Keeps no pointer
 *  into `desc`.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT any invalid parameter.
 *  @retval Q8CONV_ERROR_UNSUPPORTED the chosen kernel needs integer dot product (DOT, DOT_MIXED) or cooperative
 *          matrices (COOPMAT) the device lacks (nothing is created);
 *          or a constant a device may flush to zero would enter the arithmetic, so exactness could
 *          not be kept: s_x * s_w[oc] (or its quotient by s_y) subnormal; with a float bias, also
 *          s_x * s_w[oc] < 2^-100 or a subnormal bias value.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_pw_create(q8conv_context *ctx, const q8conv_pw_desc *desc, q8conv_pw **out);

/** Runs the op: N, H, W come from `input`, whose shape must be [N][IC][H][W] in the op's input
 *  layout and input_type; `output` must be [N][OC][Ho][Wo] (Ho = (H - 1) / stride_h + 1,
 *  Wo = (W - 1) / stride_w + 1; H, W for stride 1) in its output layout and output_type,
 *  from the same context, and not the same memory as `input`. Submits on the context's queue,
 *  waits (q8conv_context_desc.wait_mode), and returns once the output is written.
 *  The op keeps the command buffer it recorded for its last pair of tensors: called again with the
 *  same input and output (the same tensors, not others made since at the same address), a run is
 *  one submit and one wait, with no recording and no allocation. Another pair records it again;
 *  for several pairs, or several ops in a row, see q8conv_sequence. (While another thread runs the
 *  same op, a run records into the context's one-shot command buffer instead.)
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT NULLs, mismatched (shape, layout, dtype,
 *          context) or aliasing tensors (output untouched).
 *  @retval Q8CONV_ERROR_UNSUPPORTED the shape exceeds the device even when split (output untouched).
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_pw_run(q8conv_pw *op, const q8conv_tensor *input, q8conv_tensor *output);

/** Records the op's dispatch(es) into the caller's command buffer (of the context's device, in
 *  the recording state, from a pool of a queue family with compute)
 *  and nothing else: no submit, no wait, no barrier, not even between its own split dispatches of
 *  one recording (none are needed: they write disjoint output).
 *
 *  Barrier contract. Before the recorded commands execute, the caller makes the input's bytes
 *  available to VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT / VK_ACCESS_SHADER_READ_BIT and orders any
 *  earlier access to the output before COMPUTE_SHADER / SHADER_WRITE. After them, the output has
 *  been written at COMPUTE_SHADER / SHADER_WRITE and the input read at COMPUTE_SHADER / SHADER_READ:
 *  the caller adds the barrier that a later reader or writer needs. The op's own weights need
 *  nothing (uploaded and fenced at creation).
 *
 *  The command buffer binds the op's compute pipeline, descriptor sets and push constants: the
 *  caller must rebind its own state afterwards. Each tensor owns its descriptor sets, so
 *  recordings stay valid, with any tensors, any number of times, into one or several command
 *  buffers, until the op or a tensor used is destroyed; the caller keeps those alive until the
 *  command buffers have executed. The op's first recording or run of a shape that needs a new
 *  pipeline (kernel variant, workgroup shape) creates or finds it (a host allocation and, if no op
 *  of the context has it, a driver compile from the pipeline cache, under the context's lock) and
 *  holds it until q8conv_pw_destroy; after that, recording that shape allocates nothing and
 *  touches no pool (a constant-time lookup under the context's lock).
 *  Thread-safe: several threads may record the same op (or different ops of one context) into
 *  different command buffers at once; one command buffer is the caller's to synchronize (Vulkan's
 *  external-sync rule).
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT as q8conv_pw_run, or cmd NULL
 *          (nothing recorded).
 *  @retval Q8CONV_ERROR_UNSUPPORTED as q8conv_pw_run (nothing recorded).
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN creating
 *          the pipeline; the command buffer may hold part of the recording: reset it. */
Q8CONV_API q8conv_status q8conv_pw_record(q8conv_pw *op, VkCommandBuffer cmd,
                                          const q8conv_tensor *input, q8conv_tensor *output);

/** The kernel an op resolved to (AUTO replaced by the context's default); Q8CONV_KERNEL_AUTO for NULL. */
Q8CONV_API q8conv_kernel q8conv_pw_get_kernel(const q8conv_pw *op);

/** One statistic a driver's compiler reports for a pipeline (VK_KHR_pipeline_executable_properties),
 *  under the driver's own names: e.g. RADV's "VGPRs", "Spilled VGPRs", "Subgroups per SIMD",
 *  "Instructions"; which ones, and what they mean, is the driver's to say. */
typedef struct q8conv_statistic {
    /** The driver's name of the executable (shader stage) it belongs to, e.g. "Compute Shader";
     *  for the second and later pipeline of one recording, followed by " #2", " #3", ... */
    char executable[64];
    char name[64];     /**< the driver's name of the statistic (truncated to 63 bytes) */
    double value;      /**< its value: booleans as 0 or 1, integers and floats as they are */
} q8conv_statistic;

/** The compiler statistics of the pipelines that the op's most recent recording bound: the
 *  recording made by the last q8conv_pw_run that recorded (a run that replays its command
 *  buffer unchanged records nothing and so changes nothing here), q8conv_pw_record, or
 *  q8conv_sequence_finalize/run of a sequence naming the op, whichever finished last. That is
 *  one pipeline, except where a tensor is bound in row windows (beyond maxStorageBufferRange)
 *  whose pieces take different pipelines, or where AUTO's matrix and block kernels both ran:
 *  then the statistics of up to four pipelines follow each other, in the order the recording
 *  first bound them. For each pipeline, every executable in the driver's order, and for each
 *  executable every statistic the driver reports, in its order. A logging aid for a runtime
 *  ("what did this phone's compiler make of the kernel"): it reads what the driver kept when
 *  the pipeline was created, compiles and runs nothing, and may be called from any thread.
 *  The context's device must have VK_KHR_pipeline_executable_properties with
 *  pipelineExecutableInfo enabled: the library enables it on its own device wherever the driver
 *  offers it (pipelines are then created with VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR);
 *  on an imported device, where the caller enabled the extension and put
 *  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR{.pipelineExecutableInfo = VK_TRUE} in
 *  enabled_features (q8conv_device_requirements2 does not ask for it: it is optional).
 *  Count-then-fill, as Vulkan's queries: with out NULL, *count receives how many statistics there
 *  are (0 before the op's first recording); otherwise capacity must be at least that many, and
 *  *count receives how many were written.
 *  @param out      NULL, or an array of `capacity` entries.
 *  @param count    receives the count (NULL is INVALID_ARGUMENT).
 *  @retval Q8CONV_SUCCESS
 *  @retval Q8CONV_ERROR_INVALID_ARGUMENT op or count NULL, or out given with a capacity smaller than
 *          the number of statistics (then *count is set to that number and nothing is written).
 *  @retval Q8CONV_ERROR_UNSUPPORTED the device has no VK_KHR_pipeline_executable_properties enabled.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_VULKAN (the driver's query failed) */
Q8CONV_API q8conv_status q8conv_pw_statistics(q8conv_pw *op, q8conv_statistic *out, uint32_t capacity,
                                              uint32_t *count);

/** Destroys the op, and the pipelines that no other live op of the context holds: a long-lived
 *  context keeps only what its live ops use (beyond a fixed base: shader modules, layouts, the
 *  pipeline cache, a pipeline table of at least 16 slots, descriptor pools sized by the most
 *  tensors ever alive at once). The caller ensures no recorded command buffer that uses the op is
 *  still pending. A sequence that names the op keeps a small host record of it, as for
 *  q8conv_tensor_destroy. */
Q8CONV_API void q8conv_pw_destroy(q8conv_pw *op);

/* ---- sequences: many runs, one submit ----
 *
 * A sequence is a list of steps (op, input, output) that libq8conv records once into a command
 * buffer of its own and then replays: q8conv_sequence_run is one vkQueueSubmit and one wait, with
 * no recording, allocation, descriptor update or pipeline lookup, however many steps there are.
 * It is the way to run a network's layers without paying a submit and a wait per layer.
 *
 * Steps behave as if run one after another in the order added. A barrier goes before a step only
 * when that step reads or writes memory that a step since the previous barrier wrote, or writes
 * memory that such a step read (read-after-write, write-after-write, write-after-read); steps on
 * unrelated tensors share one barrier-free stretch and may overlap on the GPU. Tensors on one
 * VkBuffer are the same memory where their byte ranges intersect (wrapped tensors at offsets);
 * tensors on different VkBuffers are taken to be different memory, so a caller that binds two
 * VkBuffers to overlapping device memory must not put tensors of both into one sequence.
 *
 * The recording also orders the run after earlier work on the queue (tensor writes, other runs)
 * and makes every output readable by q8conv_tensor_read and by later runs, as q8conv_pw_run does.
 */

/** Creates an empty sequence on `ctx`, with its own command buffer and fence.
 *  @param out receives the sequence on success.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx or out NULL.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_OUT_OF_DEVICE_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_sequence_create(q8conv_context *ctx, q8conv_sequence **out);

/** Appends the step `op` from `input` to `output`. The tensors follow q8conv_pw_run's rules (shapes,
 *  layouts, element types, not the same memory), and the op and tensors must belong to the
 *  sequence's context.
 *  Any number of steps; an op or a tensor may appear in any number of them (the output of one step
 *  as the input of a later one makes a chain). Nothing is recorded here.
 *  The sequence keeps the three pointers until it is destroyed. Destroying one of those objects
 *  first is allowed: the sequence then refuses to run (see q8conv_sequence_run).
 *  Adding after a run or q8conv_sequence_finalize is allowed: the next run records the whole
 *  sequence again, once.
 *  @retval Q8CONV_SUCCESS
 *  @retval Q8CONV_ERROR_INVALID_ARGUMENT seq, op, input or output NULL; a step q8conv_pw_run would
 *          refuse; an op or tensor of another context; another thread's add, finalize or run of this
 *          sequence in progress. The sequence is unchanged.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY (the sequence is unchanged), Q8CONV_ERROR_DEVICE_LOST */
Q8CONV_API q8conv_status q8conv_sequence_add(q8conv_sequence *seq, q8conv_pw *op, const q8conv_tensor *input,
                                             q8conv_tensor *output);

/** Records the sequence now, creating the pipelines its steps need, so that even the first run is
 *  a submit and a wait. Optional: q8conv_sequence_run records when the sequence has changed since
 *  the last recording. Submits nothing.
 *  @retval Q8CONV_SUCCESS (also for an empty sequence)
 *  @retval Q8CONV_ERROR_INVALID_ARGUMENT seq NULL, an op or tensor of a step destroyed, or another
 *          thread's add, finalize or run of this sequence in progress.
 *  @retval Q8CONV_ERROR_UNSUPPORTED a step's shape exceeds the device even when split.
 *  @retval Q8CONV_ERROR_OUT_OF_HOST_MEMORY, Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN
 *  On failure the sequence keeps its steps and no recording; a later call records again. */
Q8CONV_API q8conv_status q8conv_sequence_finalize(q8conv_sequence *seq);

/** Runs every step: records first if needed (as q8conv_sequence_finalize), submits the recording
 *  once on the context's queue, waits (q8conv_context_desc.wait_mode), and returns once every
 *  output is written. An empty sequence submits nothing and returns Q8CONV_SUCCESS.
 *  If an op or a tensor of a step has been destroyed, the run is refused before anything is
 *  submitted: the library keeps the host record of such an object while a sequence names it, so
 *  this is detected exactly, without touching freed memory. Such a sequence can only be destroyed.
 *  @retval Q8CONV_SUCCESS
 *  @retval Q8CONV_ERROR_INVALID_ARGUMENT seq NULL, a destroyed op or tensor, or another thread's add,
 *          finalize or run of this sequence in progress: nothing was submitted, no tensor written.
 *  @retval Q8CONV_ERROR_UNSUPPORTED, Q8CONV_ERROR_OUT_OF_HOST_MEMORY as q8conv_sequence_finalize
 *          (nothing submitted).
 *  @retval Q8CONV_ERROR_DEVICE_LOST, Q8CONV_ERROR_VULKAN */
Q8CONV_API q8conv_status q8conv_sequence_run(q8conv_sequence *seq);

/** Destroys the sequence: its command buffer and fence, and what remains of ops and tensors that
 *  were destroyed while it named them. Not while a run of it is in flight on another thread. */
Q8CONV_API void q8conv_sequence_destroy(q8conv_sequence *seq);

/** The CPU reference (SEMANTICS.md as code): computes the op for host arrays, no device needed.
 *  @param input  [n][in_channels][h][w] bytes (NCHW) of the desc's input_type; a uint8 array is
 *                passed cast to `const int8_t *` (q8conv_dtype). Not kept.
 *  @param output [n][out_channels][ho][wo] bytes (NCHW) of its output_type (uint8: cast to `int8_t *`),
 *                ho = (h - 1) / stride_h + 1, wo = (w - 1) / stride_w + 1.
 *  The desc's layouts and kernel are ignored.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT the desc or a dimension is invalid
 *          (output untouched). Thread-safe. */
Q8CONV_API q8conv_status q8conv_pw_reference(const q8conv_pw_desc *desc, uint32_t n, uint32_t h, uint32_t w,
                                             const int8_t *input, int8_t *output);

/** Checks a descriptor as q8conv_pw_create would, without a device.
 *  @retval Q8CONV_SUCCESS  @retval Q8CONV_ERROR_INVALID_ARGUMENT */
Q8CONV_API q8conv_status q8conv_pw_validate_desc(const q8conv_pw_desc *desc);

/** A static, human-readable name for a status ("Q8CONV_SUCCESS", ...); "unknown status" otherwise. */
Q8CONV_API const char *q8conv_status_string(q8conv_status status);

/** A static name for a kernel ("dot", "fallback", "legacy", "coopmat", "dot_mixed", "auto"); "unknown" otherwise. */
Q8CONV_API const char *q8conv_kernel_name(q8conv_kernel kernel);

#ifdef __cplusplus
}
#endif
#endif /* Q8CONV_H */
