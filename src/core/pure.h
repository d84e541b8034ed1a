/* The pure core of libq8conv (src/core/): no Vulkan calls and no state, so testable without a
 * GPU. Only the CPU reference allocates: q8conv_pw_reference has no context, hence no caller's
 * allocator, and takes its two scratch arrays from malloc, freed before it returns.
 * tests/ link against these through the static library (they are hidden from the shared one). */
#ifndef Q8CONV_PURE_H
#define Q8CONV_PURE_H

#include "clamp.h"
#include "q8conv.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

#define Q8CONV_MAX_IC 16384u
#define Q8CONV_MAX_BIAS_I32 (1 << 30)

static inline uint32_t q8conv_div_up(uint32_t a, uint32_t b) { return (a + b - 1u) / b; }

/* ---- strides and weight zero points (SEMANTICS.md "The operator") ---- */

/* A desc's stride field as a stride: 0 means 1. */
static inline uint32_t q8conv_stride_of(uint32_t field) { return field ? field : 1u; }
/* Output extent of an input extent (>= 1) under a stride field: (in - 1) / s + 1. */
static inline uint32_t q8conv_strided_extent(uint32_t in, uint32_t field) { return (in - 1u) / q8conv_stride_of(field) + 1u; }
/* Whether a (validated) desc has a stride other than 1. */
static inline bool q8conv_desc_is_strided(const q8conv_pw_desc *d)
{
    return q8conv_stride_of(d->stride_h) != 1u || q8conv_stride_of(d->stride_w) != 1u;
}
/* Rows are (n, h) pairs, n * H + h. Output row r (of ho rows per image) reads input row
 * (r / ho) * h + s_h * (r % ho) (of h per image); the map is increasing. */
static inline uint64_t q8conv_input_row(uint64_t out_row, uint32_t h, uint32_t ho, uint32_t s_h)
{
    return out_row / ho * h + (uint64_t)s_h * (out_row % ho);
}
/* The first output row whose input row is at least in_row (ceil(h' / s_h) <= ho for h' < h). */
static inline uint64_t q8conv_first_output_row_from(uint64_t in_row, uint32_t h, uint32_t ho, uint32_t s_h)
{
    return in_row / h * ho + (in_row % h + s_h - 1u) / s_h;
}
/* What the weight bytes are XOR-ed with when packed: uint8 weights are stored as int8 w - 128, so
 * the kernels' K loops stay int8 x int8. */
static inline uint8_t q8conv_weight_xor(q8conv_dtype weight_type)
{
    return weight_type == Q8CONV_DTYPE_UINT8 ? 0x80u : 0u;
}
/* z_w'[oc]: the zero point of the stored int8 weights (z_w, or z_w - 128 for uint8 weights). */
int32_t q8conv_stored_weight_zero_point(const q8conv_pw_desc *d, uint32_t oc);
/* Whether some z_w'[oc] is not 0: only then do the kernels compute the per-pixel input sum. */
bool q8conv_desc_has_weight_zero_point(const q8conv_pw_desc *d);

/* ---- validation (src/core/validate.c) ---- */

/* SEMANTICS.md "Valid parameters" for an op descriptor (weights, scales, bias, zero points, enums). */
q8conv_status q8conv_validate_pw_desc(const q8conv_pw_desc *desc);
/* Dimensions >= 1, a known layout and dtype, and a size that fits in uint64 words. */
q8conv_status q8conv_validate_tensor_desc(const q8conv_tensor_desc *desc);
/* A finite, positive, normal float whose reciprocal is normal too. */
bool q8conv_scale_is_valid(float s);

/* ---- packing (src/core/packing.c) ---- */

/* Bytes of the device packing of desc (SEMANTICS.md layouts); 0 for an invalid desc. */
uint64_t q8conv_packed_size(const q8conv_tensor_desc *desc);
/* Bytes of one row (one (n, h) pair) of the device packing. */
uint64_t q8conv_packed_row_bytes(const q8conv_tensor_desc *desc);
/* Host array (NCHW or NHWC, N*C*H*W bytes) -> device packing (q8conv_packed_size bytes, all of it
 * written, padding zero). */
void q8conv_pack_tensor(const q8conv_tensor_desc *desc, const int8_t *src, q8conv_host_layout host, void *dst);
/* Device packing -> host array; padding ignored. */
void q8conv_unpack_tensor(const q8conv_tensor_desc *desc, const void *src, q8conv_host_layout host, int8_t *dst);
/* Bytes of q8conv_pack_weights_coopmat's output. */
uint64_t q8conv_coopmat_weight_bytes(uint32_t oc, uint32_t ic);
/* Weights [oc][ic] -> the cooperative-matrix kernel's rows: row o (output channel o) holds its IC
 * bytes, zero-padded to a multiple of Q8CONV_CM_WEIGHT_K_ALIGN; ceil(C4_out * 4 / Q8CONV_CM_N) *
 * Q8CONV_CM_N rows, the padded ones zero. dst has q8conv_coopmat_weight_bytes(oc, ic) bytes. */
void q8conv_pack_weights_coopmat(uint32_t oc, uint32_t ic, const int8_t *w, uint8_t weight_xor, void *dst);
/* Both weight packings XOR every weight byte with weight_xor (q8conv_weight_xor); padding stays 0. */
/* Weights [oc][ic] -> 16-byte blocks, block (oc4, ic4) at index ic4 * C4_out + oc4, word c = output
 * channel 4*oc4 + c, byte i = input channel 4*ic4 + i; padding 0. dst has C4_out*C4_in*16 bytes.
 * K-major: at one K step, invocations with consecutive channel blocks read consecutive 16-byte
 * blocks, so a warp's weight loads coalesce into whole cache lines. */
void q8conv_pack_weights(uint32_t oc, uint32_t ic, const int8_t *w, uint8_t weight_xor, void *dst);

/* ---- requantization constants (src/core/requant.c) ---- */

/* Per padded output channel, as the shader reads it (4 x 32-bit words). */
typedef struct q8conv_channel_params {
    int32_t offset;   /* (z_x + shift) * wsum[oc], wsum = sum_k (w - z_w), shift as q8conv_line_input_read
                         says (the kernel reads x + shift), minus bias_i32[oc] in INT32 mode */
    float eff;        /* s_x * s_w[oc] (NONE/FLOAT) or (s_x * s_w[oc]) / s_y (INT32) */
    float bias;       /* float bias (FLOAT mode) or 0 */
    int32_t weight_zp; /* z_w'[oc] (q8conv_stored_weight_zero_point): the kernels subtract z_w' * sum_k x' */
} q8conv_channel_params;

typedef struct q8conv_requant {
    float inv_y;      /* 1.0f / s_y */
    float z_y;        /* (float)z_y */
    float qmin, qmax; /* clamp bounds, SEMANTICS.md (q8conv_clamp_bounds) */
} q8conv_requant;

/* How a kernel reads the input bytes: it XORs every loaded word with `xor_word` (the pipeline's
 * INPUT_XOR), which turns each byte x into x + shift of the type its dot product multiplies.
 * Kernels that read int8 (every kernel but DOT_MIXED): uint8 input gets 0x80808080 (x - 128),
 * int8 input 0. Kernels that read uint8 (DOT_MIXED's OpSUDot): int8 input gets 0x80808080
 * (x + 128), uint8 input 0. */
typedef struct q8conv_input_read {
    uint32_t xor_word;
    int32_t shift; /* -128, 0 or 128 */
} q8conv_input_read;
q8conv_input_read q8conv_input_read_for(bool reads_unsigned, q8conv_dtype input_type);

/* Fills per-channel params for C4_out*4 channels (padding: zeros) and the per-op constants, for a
 * kernel that reads x + shift (q8conv_input_read.shift). Returns Q8CONV_ERROR_UNSUPPORTED if some
 * eff[oc] is subnormal or zero (a device may flush it). */
q8conv_status q8conv_compute_requant(const q8conv_pw_desc *desc, int32_t shift, q8conv_channel_params *channels,
                                     q8conv_requant *rq);

/* ---- the kernel table (src/core/kernels.def, src/core/kernels.c) ---- */

/* Device capabilities a kernel line may need (q8conv_context.caps). */
#define Q8CONV_CAP_DOT 0x1u     /* shaderIntegerDotProduct (SPV_KHR_integer_dot_product) */
#define Q8CONV_CAP_COOPMAT 0x2u /* VK_NV_cooperative_matrix with an s8 x s8 -> s32 16x16x32 subgroup shape,
                                   shaderInt8 and vulkanMemoryModel */
/* Properties, not features: no line needs them; AUTO's rule (q8conv_auto_kernel) reads them. Set
 * only beside Q8CONV_CAP_DOT. */
#define Q8CONV_CAP_DOT_SIGNED_FAST 0x4u /* integerDotProduct4x8BitPackedSignedAccelerated */
#define Q8CONV_CAP_DOT_MIXED_FAST 0x8u  /* integerDotProduct4x8BitPackedMixedSignednessAccelerated */

typedef enum q8conv_plan_kind {
    Q8CONV_PLAN_BLOCKS = 0, /* an invocation per output block (q8conv_pick_dispatch_plan) */
    Q8CONV_PLAN_MATRIX = 1  /* a workgroup per cooperative-matrix tile (q8conv_pick_matrix_plan) */
} q8conv_plan_kind;

typedef struct q8conv_kernel_line {
    q8conv_kernel kernel;
    const char *shader;
    const char *defines; /* the shader's defines, as CMake passes them */
    uint32_t needs; /* Q8CONV_CAP_* */
    q8conv_plan_kind plan;
    uint32_t tile_n4;
} q8conv_kernel_line;

enum {
    Q8CONV_KERNEL_LINE_COUNT = 0
#define Q8CONV_KERNEL_LINE(kernel, shader, defines, needs, plan, tile_n4) +1
#include "kernels.def"
#undef Q8CONV_KERNEL_LINE
};
/* One SPIR-V module per line and layout pair (input 4W4C, output 4W4C). */
#define Q8CONV_MODULE_COUNT (4 * Q8CONV_KERNEL_LINE_COUNT)

extern const q8conv_kernel_line q8conv_kernel_lines[Q8CONV_KERNEL_LINE_COUNT];

/* AUTO's kernel on a device with capabilities `caps` (the rule include/q8conv.h documents at
 * Q8CONV_KERNEL_AUTO): COOPMAT where the device can run it, else q8conv_auto_block_kernel. */
q8conv_kernel q8conv_auto_kernel(uint32_t caps);
/* The block kernel AUTO runs (alone, or beside COOPMAT for the shapes where the matrix units do not
 * pay): DOT where the signed packed dot product is usable and accelerated, else DOT_MIXED where the
 * mixed-signedness one is, else FALLBACK, even where the dot product is usable but emulated.
 * Evidence from the driver's compiler (pipeline statistics) refines it by clearing a candidate's
 * *_FAST bit before the call, never by setting one. */
q8conv_kernel q8conv_auto_block_kernel(uint32_t caps);
/* What a driver's compiler made of one block kernel's pipeline (VK_KHR_pipeline_executable_properties),
 * the evidence that refines AUTO's rule where the driver reports it. */
typedef struct q8conv_compiled_kernel {
    bool known;         /* the driver reported statistics for this pipeline */
    uint32_t spills;    /* registers spilled, of every kind the driver counts */
    uint32_t occupancy; /* subgroups (waves) per SIMD; 0 where the driver does not say */
} q8conv_compiled_kernel;
/* caps with the *_FAST bit of DOT (dot) and DOT_MIXED (mixed) cleared where the compiler made that
 * kernel worse than FALLBACK (fallback), as issue 16 saw emulated dot products do: it spills where
 * FALLBACK does not, or reaches fewer subgroups per SIMD. Only what both pipelines report is
 * compared, so unknown figures change nothing; a bit is never set. */
uint32_t q8conv_auto_refine(uint32_t caps, const q8conv_compiled_kernel *dot, const q8conv_compiled_kernel *mixed,
                            const q8conv_compiled_kernel *fallback);
/* Whether a line's kernel reads the activations as unsigned bytes (its defines hold MIXED=1). */
bool q8conv_line_reads_unsigned(uint32_t line);
/* The line that runs `asked` on a device with capabilities `caps`: for AUTO the first line of
 * q8conv_auto_kernel(caps), otherwise the first line of that kernel it can run.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT asked is not a q8conv_kernel
 * @retval Q8CONV_ERROR_UNSUPPORTED the device can run no line of it */
q8conv_status q8conv_kernel_resolve(q8conv_kernel asked, uint32_t caps, uint32_t *line);
/* The module of a line for a layout pair. */
static inline uint32_t q8conv_module_index(uint32_t line, q8conv_layout in, q8conv_layout out)
{
    return line * 4u + (in == Q8CONV_LAYOUT_4W4C ? 2u : 0u) + (out == Q8CONV_LAYOUT_4W4C ? 1u : 0u);
}

/* ---- dispatch picker (src/core/dispatch_picker.c) ---- */

#define Q8CONV_MAX_DISPATCHES 64

typedef struct q8conv_dispatch {
    uint32_t groups[3]; /* vkCmdDispatch counts */
    uint32_t base[3];   /* first invocation (global id offset) of this dispatch */
} q8conv_dispatch;

/* A workgroup tile of the cooperative-matrix kernel (tiling.h, Q8CONV_CM_TILE_MENU). */
typedef struct q8conv_matrix_tile {
    uint32_t bm, bn;     /* pixels x output channels per workgroup */
    uint32_t sg_m, sg_n; /* pixels x output channels per subgroup */
    uint32_t bk;         /* bytes of K staged per step */
    uint32_t stages;     /* shared-memory stages of the K loop: 2 (double-buffered) or 1 */
} q8conv_matrix_tile;

typedef struct q8conv_dispatch_plan {
    /* BLOCKS plans: invocations, ceil(C4_out / TILE_N4), ceil(W4 / TILE_M4), rows; split-K plans
     * (k_split > 1) count the width blocks of every row in y: ceil(C4_out / TILE_N4), W4 * rows, 1.
     * MATRIX plans: workgroups, channel tiles x pixel tiles x 1. */
    uint32_t global[3];
    uint32_t local[3];  /* workgroup size */
    uint32_t k_split;   /* invocations per output block (q8conv_pick_k_split); when > 1, local is
                           {lx, k_split, lw} and each workgroup covers lw width blocks (row
                           after row) */
    bool early_params;  /* BLOCKS plans: the kernel loads its channel constants before the K loop */
    uint32_t unroll;    /* BLOCKS plans: K steps per pass of the K loop (UNROLL_K) */
    q8conv_matrix_tile tile; /* MATRIX plans; zero for BLOCKS plans */
    uint32_t count;     /* dispatches */
    q8conv_dispatch dispatches[Q8CONV_MAX_DISPATCHES];
} q8conv_dispatch_plan;

/* global = { ceil(C4_out / tile_n4), ceil(W4 / TILE_M4), rows }. */
void q8conv_pick_global_wg_size(uint32_t c4_out, uint32_t w4, uint32_t rows, uint32_t tile_n4, uint32_t global[3]);
/* A local size of at most max_invocations (and Q8CONV_WORKGROUP_INVOCATIONS), x first, powers of
 * two, not wider than the (power-of-two rounded) global extent in each dimension. */
void q8conv_pick_local_wg_size(const uint32_t global[3], const uint32_t max_local[3], uint32_t max_invocations,
                        uint32_t local[3]);
/* How many invocations share one output block's K loop: 1 unless the grid has fewer than
 * Q8CONV_KSPLIT_BELOW invocations; then a power of two up to Q8CONV_KSPLIT_MAX that leaves each
 * slice at least Q8CONV_KSPLIT_MIN_STEPS of the c4_in K steps and fits max_local_y and
 * max_invocations alongside a local x of local_x (the narrowest x the plan may give the slices). */
uint32_t q8conv_pick_k_split(const uint32_t global[3], uint32_t c4_in, uint32_t local_x, uint32_t max_local_y,
                      uint32_t max_invocations);

/* The plan of a block kernel: global and local sizes, split-K where q8conv_pick_k_split asks for it
 * (c4_in: input channel blocks; with fewer than Q8CONV_KSPLIT_MIN_STEPS there is none), then each
 * dimension split into several dispatches where its group count exceeds max_count.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT a zero or NULL input
 * @retval Q8CONV_ERROR_UNSUPPORTED more than Q8CONV_MAX_DISPATCHES would be needed */
q8conv_status q8conv_pick_dispatch_plan(uint32_t c4_out, uint32_t w4, uint32_t rows, uint32_t c4_in, uint32_t tile_n4,
                                   const uint32_t max_count[3], const uint32_t max_local[3],
                                   uint32_t max_invocations, q8conv_dispatch_plan *plan);

/* Whether the cooperative-matrix kernel beats the packed-dot kernel on a shape (pixels counted as
 * the matrix kernel counts them): the picker's choice for AUTO ops that hold both. */
bool q8conv_matrix_pays(uint64_t pixels, uint32_t ic, uint32_t oc);
/* The menu of cooperative-matrix tiles, in tiling.h's order. */
extern const q8conv_matrix_tile q8conv_matrix_tiles[Q8CONV_CM_TILE_COUNT];
/* Subgroups of a tile's workgroup, and the shared memory its pipeline declares. */
uint32_t q8conv_matrix_tile_subgroups(const q8conv_matrix_tile *t);
uint32_t q8conv_matrix_tile_shared_bytes(const q8conv_matrix_tile *t);
/* Why a tile cannot run on a device (a static sentence), or NULL when it can: SG_M and SG_N
 * multiples of Q8CONV_CM_M/N, BM and BN multiples of them, BK a multiple of Q8CONV_CM_K dividing
 * Q8CONV_CM_WEIGHT_K_ALIGN, 1 or 2 stages, subgroups * subgroup_size within the workgroup limits,
 * q8conv_matrix_tile_shared_bytes within max_shared_bytes. */
const char *q8conv_matrix_tile_unfit(const q8conv_matrix_tile *t, uint32_t subgroup_size, const uint32_t max_local[3],
                                     uint32_t max_invocations, uint32_t max_shared_bytes);
/* The plan of the cooperative-matrix kernel for `pixels` output pixels (rows * the padded width
 * the kernel counts in), c4_out channel blocks and c4_in input channel blocks (K): a tile from the menu that the device's limits
 * allow (workgroup size = subgroups * subgroup_size, shared memory), then the grid of workgroups
 * {channel tiles, pixel tiles, 1}, split into several dispatches beyond max_count.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT a zero or NULL input
 * @retval Q8CONV_ERROR_UNSUPPORTED no tile fits the device, or more than Q8CONV_MAX_DISPATCHES */
q8conv_status q8conv_pick_matrix_plan(uint32_t pixels, uint32_t c4_out, uint32_t c4_in, uint32_t subgroup_size,
                                      const uint32_t max_count[3], const uint32_t max_local[3], uint32_t max_invocations,
                                      uint32_t max_shared_bytes, q8conv_dispatch_plan *plan);
/* The same grid for a given tile (pick_matrix_plan's last step; tuning builds force a tile with it).
 * The tile is not checked against the device: q8conv_matrix_tile_unfit does that.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT a zero or NULL input
 * @retval Q8CONV_ERROR_UNSUPPORTED more than Q8CONV_MAX_DISPATCHES */
q8conv_status q8conv_pick_matrix_plan_tile(uint32_t pixels, uint32_t c4_out, uint32_t subgroup_size,
                                    const uint32_t max_count[3], const q8conv_matrix_tile *tile,
                                    q8conv_dispatch_plan *plan);

#ifdef __cplusplus
}
#endif
#endif
