/* Descriptor validation: SEMANTICS.md "Valid parameters".
 *
 * Every enum is checked through its raw integer value: a descriptor filled from a fuzzer or a
 * foreign runtime may hold any bit pattern, and a comparison on the enum type itself could be
 * folded away by the compiler if it assumes only named values occur. */
#include <math.h>

#include "pure.h"

/* Upper bound on out_channels. SEMANTICS.md only bounds IC (for int32 exactness); OC is bounded
 * as well so that per-channel tables, weight packing and dispatch extents stay small and no size
 * computation derived from OC can overflow. */
#define Q8CONV_MAX_OC 16384u

/* Largest device tensor accepted. Far beyond what any device can bind, so refusing it costs
 * nothing, and it keeps every byte offset derived from a tensor size well inside 64 bits. */
#define Q8CONV_MAX_TENSOR_BYTES ((uint64_t)1 << 40)

bool q8conv_scale_is_valid(float s)
{
    if (fpclassify(s) != FP_NORMAL || !(s > 0.0f))
        return false;
    /* inv_y and the ReLU6 bound are computed as 1.0f / s; a scale near FLT_MAX has a subnormal
     * reciprocal that a device might flush, so exactness could not be promised. */
    float inv = 1.0f / s;
    return fpclassify(inv) == FP_NORMAL;
}

/* The side's type is checked first (enums_are_valid), so anything not INT8 here is UINT8. */
static bool zero_point_is_valid(int32_t z, q8conv_dtype type)
{
    if ((unsigned)type == (unsigned)Q8CONV_DTYPE_UINT8)
        return z >= 0 && z <= 255;
    return z >= -128 && z <= 127;
}

static bool enum_below(unsigned raw, unsigned count)
{
    return raw < count;
}

static bool enums_are_valid(const q8conv_pw_desc *d)
{
    return enum_below((unsigned)d->bias_mode, 3u) &&
           enum_below((unsigned)d->activation, 3u) &&
           enum_below((unsigned)d->input_layout, 2u) &&
           enum_below((unsigned)d->output_layout, 2u) &&
           enum_below((unsigned)d->input_type, 2u) &&
           enum_below((unsigned)d->output_type, 2u) &&
           enum_below((unsigned)d->weight_type, 2u) &&
           enum_below((unsigned)d->kernel, (unsigned)Q8CONV_KERNEL_COUNT_);
}

static bool weight_scales_are_valid(const float *scales, uint32_t oc)
{
    for (uint32_t i = 0; i < oc; i++)
        if (!q8conv_scale_is_valid(scales[i]))
            return false;
    return true;
}

static bool float_bias_is_valid(const float *bias, uint32_t oc)
{
    for (uint32_t i = 0; i < oc; i++)
        if (!isfinite(bias[i]))
            return false;
    return true;
}

/* The bound keeps adj + bias inside int32: |adj| <= 16384 * 255 * 255 < 2^30 (x - z_x and w - z_w
 * each span at most 255 in either type). */
static bool int32_bias_is_valid(const int32_t *bias, uint32_t oc)
{
    for (uint32_t i = 0; i < oc; i++) {
        int64_t b = bias[i];
        if (b < -(int64_t)Q8CONV_MAX_BIAS_I32 || b > (int64_t)Q8CONV_MAX_BIAS_I32)
            return false;
    }
    return true;
}

static bool bias_is_valid(const q8conv_pw_desc *d)
{
    unsigned mode = (unsigned)d->bias_mode;
    if (mode == (unsigned)Q8CONV_BIAS_NONE)
        return d->bias == NULL;
    if (d->bias == NULL)
        return false;
    if (mode == (unsigned)Q8CONV_BIAS_FLOAT)
        return float_bias_is_valid((const float *)d->bias, d->out_channels);
    return int32_bias_is_valid((const int32_t *)d->bias, d->out_channels);
}

/* NULL means all zero, which every weight type allows. Strides need no check: any value is valid
 * (SEMANTICS.md), and 0 means 1. */
static bool weight_zero_points_are_valid(const q8conv_pw_desc *d)
{
    if (d->weight_zero_points == NULL)
        return true;
    for (uint32_t i = 0; i < d->out_channels; i++)
        if (!zero_point_is_valid(d->weight_zero_points[i], d->weight_type))
            return false;
    return true;
}

static bool channels_are_valid(const q8conv_pw_desc *d)
{
    return d->in_channels >= 1u && d->in_channels <= Q8CONV_MAX_IC &&
           d->out_channels >= 1u && d->out_channels <= Q8CONV_MAX_OC;
}

q8conv_status q8conv_validate_pw_desc(const q8conv_pw_desc *desc)
{
    if (desc == NULL || desc->weights == NULL || desc->weight_scales == NULL)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    /* Cheap scalar checks first: the per-channel loops below trust the channel counts. */
    if (!channels_are_valid(desc) || !enums_are_valid(desc))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (!zero_point_is_valid(desc->input_zero_point, desc->input_type) ||
        !zero_point_is_valid(desc->output_zero_point, desc->output_type))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (!q8conv_scale_is_valid(desc->input_scale) || !q8conv_scale_is_valid(desc->output_scale))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (!weight_scales_are_valid(desc->weight_scales, desc->out_channels) || !bias_is_valid(desc) ||
        !weight_zero_points_are_valid(desc))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    return Q8CONV_SUCCESS;
}

Q8CONV_API q8conv_status q8conv_pw_validate_desc(const q8conv_pw_desc *desc)
{
    return q8conv_validate_pw_desc(desc);
}

/* a * b, or false when the product does not fit in 64 bits. */
static bool mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

static uint64_t div_up_u64(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* Bytes of the packed tensor, or false on 64-bit overflow. packing.c's q8conv_packed_size relies
 * on this check having passed before it multiplies without checks. */
static bool packed_bytes(const q8conv_tensor_desc *d, uint64_t *out)
{
    uint64_t c4 = div_up_u64(d->c, 4);
    /* Words of one (n, h) row: at most 2^32 * 2^30, so this product cannot overflow. */
    uint64_t row_words = (unsigned)d->layout == (unsigned)Q8CONV_LAYOUT_4W4C
                             ? div_up_u64(d->w, 4) * 4u * c4
                             : (uint64_t)d->w * c4;
    uint64_t rows = (uint64_t)d->n * d->h; /* < 2^64 */
    uint64_t words;
    return mul_u64(rows, row_words, &words) && mul_u64(words, 4u, out);
}

q8conv_status q8conv_validate_tensor_desc(const q8conv_tensor_desc *desc)
{
    if (desc == NULL)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (desc->n == 0 || desc->c == 0 || desc->h == 0 || desc->w == 0)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (!enum_below((unsigned)desc->layout, 2u) || !enum_below((unsigned)desc->dtype, 2u))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    uint64_t bytes;
    /* An overflowing or > 2^40 size is a well-formed descriptor that no device can hold, hence
     * UNSUPPORTED rather than INVALID_ARGUMENT (SEMANTICS.md: too large is refused as such). */
    if (!packed_bytes(desc, &bytes) || bytes > Q8CONV_MAX_TENSOR_BYTES)
        return Q8CONV_ERROR_UNSUPPORTED;
    return Q8CONV_SUCCESS;
}
