/* Host-side requantization constants (SEMANTICS.md "Requantization").
 *
 * Every float operation is its own statement so that, together with -ffp-contract=off, no
 * compiler can fuse a multiply and an add: the constants must be the exact binary32 results the
 * specification names, since the device uses them as given. */
#include <math.h>
#include <string.h>

#include "pure.h"

static int32_t weight_zero_point(const q8conv_pw_desc *d, uint32_t oc)
{
    return d->weight_zero_points ? d->weight_zero_points[oc] : 0;
}

int32_t q8conv_stored_weight_zero_point(const q8conv_pw_desc *d, uint32_t oc)
{
    return weight_zero_point(d, oc) - (d->weight_type == Q8CONV_DTYPE_UINT8 ? 128 : 0);
}

bool q8conv_desc_has_weight_zero_point(const q8conv_pw_desc *d)
{
    for (uint32_t oc = 0; oc < d->out_channels; oc++)
        if (q8conv_stored_weight_zero_point(d, oc) != 0)
            return true;
    return false;
}

/* wsum[oc] = sum_k (w - z_w), each w read in the weight type (equal to sum_k (w' - z_w') of the
 * stored int8 weights). |sum| <= 16384 * 255 < 2^22. */
static int32_t weight_row_sum(const q8conv_pw_desc *d, uint32_t oc)
{
    const uint8_t *row = (const uint8_t *)d->weights + (size_t)oc * d->in_channels;
    const bool u8 = d->weight_type == Q8CONV_DTYPE_UINT8;
    const int32_t z_w = weight_zero_point(d, oc);
    int32_t sum = 0;
    for (uint32_t k = 0; k < d->in_channels; k++)
        sum += (u8 ? (int32_t)row[k] : (int32_t)(int8_t)row[k]) - z_w;
    return sum;
}

q8conv_input_read q8conv_input_read_for(bool reads_unsigned, q8conv_dtype input_type)
{
    const bool flip = (input_type == Q8CONV_DTYPE_UINT8) != reads_unsigned;
    return (q8conv_input_read){.xor_word = flip ? 0x80808080u : 0u, .shift = !flip ? 0 : reads_unsigned ? 128 : -128};
}

/* The shader computes float(acc - offset) * eff. With offset = z_x * wsum - bias_i32 that is
 * float(adj + bias_i32) * eff, the INT32 formula, computed with one subtraction per element.
 * The input reaches the accumulator as x' = x + shift (q8conv_input_read), so its zero point is
 * shifted alike: x - z_x = x' - z_x' with z_x' = z_x + shift. The stored weights are w'
 * (q8conv_weight_xor) with w - z_w = w' - z_w'. The kernel's K loop gives acc = sum_k x' * w';
 * where some z_w' is not 0 it also sums the pixel's inputs, xsum = sum_k x' over the real
 * channels, and subtracts z_w'[oc] * xsum (channel_params.weight_zp). Then
 *   acc - z_w' * xsum - z_x' * wsum = sum_k x' (w' - z_w') - z_x' sum_k (w' - z_w')
 *                                   = sum_k (x' - z_x')(w' - z_w') = sum_k (x - z_x)(w - z_w) = adj.
 * No overflow: z_x' lies in [-128, 255] and |wsum| <= 16384 * 255, so |z_x' * wsum| < 2^30, and
 * |bias_i32| <= 2^30. The kernel's intermediate sums stay below 2^30 too (|x'| <= 255, |w'|,
 * |z_w'| <= 128), and their final value, adj + bias_i32, lies inside int32 (SEMANTICS.md). */
static int32_t channel_offset(const q8conv_pw_desc *d, int32_t shift, uint32_t oc)
{
    int32_t wsum = weight_row_sum(d, oc);
    int32_t z_x = d->input_zero_point + shift;
    int32_t offset = z_x * wsum;
    if (d->bias_mode == Q8CONV_BIAS_INT32)
        offset -= ((const int32_t *)d->bias)[oc];
    return offset;
}

static float channel_eff(const q8conv_pw_desc *d, uint32_t oc)
{
    float eff = d->input_scale * d->weight_scales[oc];
    if (d->bias_mode == Q8CONV_BIAS_INT32)
        eff = eff / d->output_scale;
    return eff;
}

q8conv_status q8conv_compute_requant(const q8conv_pw_desc *desc, int32_t shift, q8conv_channel_params *channels,
                                     q8conv_requant *rq)
{
    uint32_t oc_count = desc->out_channels;
    uint32_t padded = q8conv_div_up(oc_count, 4) * 4;
    /* Padded channels get all-zero params: the shader reads whole blocks of 4, and zero weights
     * with zero params make their results deterministic (and never stored). */
    memset(channels, 0, sizeof(*channels) * padded);
    for (uint32_t oc = 0; oc < oc_count; oc++) {
        float eff = channel_eff(desc, oc);
        /* A subnormal factor may be flushed to zero by a device, so it could not match the
         * reference; refuse rather than compute different bytes. */
        if (fpclassify(eff) != FP_NORMAL)
            return Q8CONV_ERROR_UNSUPPORTED;
        /* A device may flush subnormal float results. With eff >= 2^-100 every nonzero
         * adj * eff is >= 2^-100, so its sum with a float bias is either 0 or at least
         * ulp(2^-100) = 2^-123: never subnormal. A subnormal bias added to 0 would be. */
        if (desc->bias_mode == Q8CONV_BIAS_FLOAT &&
            (eff < 0x1p-100f || fpclassify(((const float *)desc->bias)[oc]) == FP_SUBNORMAL))
            return Q8CONV_ERROR_UNSUPPORTED;
        channels[oc].offset = channel_offset(desc, shift, oc);
        channels[oc].eff = eff;
        channels[oc].bias = desc->bias_mode == Q8CONV_BIAS_FLOAT ? ((const float *)desc->bias)[oc] : 0.0f;
        channels[oc].weight_zp = q8conv_stored_weight_zero_point(desc, oc);
    }
    rq->inv_y = 1.0f / desc->output_scale;
    rq->z_y = (float)desc->output_zero_point;
    q8conv_clamp_bounds(desc, &rq->qmin, &rq->qmax);
    return Q8CONV_SUCCESS;
}
