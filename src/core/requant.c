/* Host-side requantization constants (SEMANTICS.md "Requantization").
 *
 * Every float operation is its own statement so that, together with -ffp-contract=off, no
 * compiler can fuse a multiply and an add: the constants must be the exact binary32 results the
 * specification names, since the device uses them as given. */
#include <math.h>
#include <string.h>

#include "pure.h"

static int32_t weight_row_sum(const int8_t *row, uint32_t ic)
{
    int32_t sum = 0; /* |sum| <= 16384 * 128 */
    for (uint32_t k = 0; k < ic; k++)
        sum += row[k];
    return sum;
}

q8conv_input_read q8conv_input_read_for(bool reads_unsigned, q8conv_dtype input_type)
{
    const bool flip = (input_type == Q8CONV_DTYPE_UINT8) != reads_unsigned;
    return (q8conv_input_read){.xor_word = flip ? 0x80808080u : 0u, .shift = !flip ? 0 : reads_unsigned ? 128 : -128};
}

/* The shader computes float(acc - offset) * eff. With offset = z_x * wsum - bias_i32 that is
 * float(adj + bias_i32) * eff, the INT32 formula, computed with one subtraction per element.
 * The input reaches the accumulator as x + shift (q8conv_input_read), so its zero point is
 * shifted alike: sum (x + shift) * w - (z_x + shift) * wsum = sum (x - z_x) * w.
 * No overflow: z_x + shift lies in [-128, 255], so |(z_x + shift) * wsum| <= 255 * 16384 * 128
 * < 2^29, and |bias_i32| <= 2^30. */
static int32_t channel_offset(const q8conv_pw_desc *d, int32_t shift, uint32_t oc)
{
    int32_t wsum = weight_row_sum(d->weights + (size_t)oc * d->in_channels, d->in_channels);
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
    }
    rq->inv_y = 1.0f / desc->output_scale;
    rq->z_y = (float)desc->output_zero_point;
    q8conv_clamp_bounds(desc, &rq->qmin, &rq->qmax);
    return Q8CONV_SUCCESS;
}
