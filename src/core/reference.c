/* The CPU reference: SEMANTICS.md written out as code, the oracle every GPU result is compared
 * against. It deliberately follows the specification's formulas literally (acc, wsum, adj, then
 * the float steps in the stated order) and shares nothing with requant.c, whose offset folding is
 * an optimization the reference must be able to catch if it were wrong, except the clamp bounds
 * (clamp.h): those are the specification's formula itself, written once for the library, the
 * tests and the benchmark's CPU peers.
 *
 * Every float operation is its own statement; with -ffp-contract=off nothing is fused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pure.h"

/* Output pixels transposed at a time: 64 rows of at most 32 KiB (int16 values) stay within a typical L2. */
#define PIXEL_CHUNK 64u

/* Per output channel constants, computed once per call. */
typedef struct ref_channel {
    int32_t wsum;
    float eff;
} ref_channel;

typedef struct ref_op {
    const q8conv_pw_desc *d;
    uint32_t ic, oc;
    bool u8_in; /* input bytes are uint8 values */
    bool u8_w;  /* weight bytes are uint8 values */
    uint32_t h, w, ho, wo, s_h, s_w; /* input and output extents, strides */
    ref_channel *ch;
    float inv_y, z_y, qmin, qmax;
} ref_op;

/* Activations (as values: -128..127 or 0..255) times w - z_w (-255..255). The fixed 16-wide inner
 * loop is what lets gcc -O2 vectorize it (a loop of unknown length needs an epilogue, which -O2's
 * cost model refuses). Exact in int32: |sum| <= 16384 * 255 * 255 < 2^30. */
static int32_t dot(const int16_t *a, const int16_t *b, size_t n)
{
    int32_t sum = 0;
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        int32_t part = 0;
        for (size_t j = 0; j < 16; j++)
            part += a[k + j] * b[k + j];
        sum += part;
    }
    for (; k < n; k++)
        sum += a[k] * b[k];
    return sum;
}

static int32_t weight_zero_point(const q8conv_pw_desc *d, uint32_t oc)
{
    return d->weight_zero_points ? d->weight_zero_points[oc] : 0;
}

/* Output channel oc's weights as values w - z_w, each w read in the weight type. */
static void weight_row(const ref_op *op, uint32_t oc, int16_t *row)
{
    const uint8_t *w = (const uint8_t *)op->d->weights + (size_t)oc * op->ic;
    const int32_t z_w = weight_zero_point(op->d, oc);
    for (uint32_t k = 0; k < op->ic; k++)
        row[k] = (int16_t)((op->u8_w ? (int32_t)w[k] : (int32_t)(int8_t)w[k]) - z_w);
}

static int32_t row_sum(const int16_t *row, uint32_t n)
{
    int32_t sum = 0;
    for (uint32_t k = 0; k < n; k++)
        sum += row[k];
    return sum;
}

static void init_channels(ref_op *op, int16_t *wrow)
{
    const q8conv_pw_desc *d = op->d;
    for (uint32_t oc = 0; oc < op->oc; oc++) {
        weight_row(op, oc, wrow);
        op->ch[oc].wsum = row_sum(wrow, op->ic);
        float prod = d->input_scale * d->weight_scales[oc];
        if (d->bias_mode == Q8CONV_BIAS_INT32)
            prod = prod / d->output_scale;
        op->ch[oc].eff = prod;
    }
    op->inv_y = 1.0f / d->output_scale;
    op->z_y = (float)d->output_zero_point;
    q8conv_clamp_bounds(d, &op->qmin, &op->qmax); /* [qmin, qmax]: the type's range, narrowed by the activation */
}

/* One output element from its accumulator, exactly as SEMANTICS.md "Per output element": the
 * byte of the clamped value, in the output type (uint8 values 128..255 and int8 -128..-1 share
 * their bytes). */
static uint8_t requantize(const ref_op *op, uint32_t oc, int32_t acc)
{
    const q8conv_pw_desc *d = op->d;
    int32_t adj = acc - d->input_zero_point * op->ch[oc].wsum;
    float r;
    if (d->bias_mode == Q8CONV_BIAS_INT32) {
        int32_t biased = adj + ((const int32_t *)d->bias)[oc];
        float v = (float)biased;
        v = v * op->ch[oc].eff;
        r = nearbyintf(v);
    } else {
        float v = (float)adj;
        v = v * op->ch[oc].eff;
        if (d->bias_mode == Q8CONV_BIAS_FLOAT)
            v = v + ((const float *)d->bias)[oc];
        float scaled = v * op->inv_y;
        r = nearbyintf(scaled);
    }
    float y = r + op->z_y;
    y = y > op->qmin ? y : op->qmin;
    y = y < op->qmax ? y : op->qmax;
    return (uint8_t)(int32_t)y;
}

/* Copies the input pixels of output pixels [m0, m0 + count) of one NCHW image into rows of ic
 * contiguous values, each byte read in the input type (SEMANTICS.md: uint8 x is 0..255, not
 * shifted). Output pixel (h, w) reads input pixel (s_h * h, s_w * w). */
static void transpose_chunk(const ref_op *op, const uint8_t *image, size_t m0, size_t count, int16_t *rows)
{
    size_t src_index[PIXEL_CHUNK];
    for (size_t j = 0; j < count; j++) {
        const size_t m = m0 + j;
        src_index[j] = (size_t)op->s_h * (m / op->wo) * op->w + (size_t)op->s_w * (m % op->wo);
    }
    const size_t hw = (size_t)op->h * op->w;
    for (uint32_t k = 0; k < op->ic; k++) {
        const uint8_t *src = image + (size_t)k * hw;
        for (size_t j = 0; j < count; j++)
            rows[j * op->ic + k] = op->u8_in ? (int16_t)src[src_index[j]] : (int16_t)(int8_t)src[src_index[j]];
    }
}

static void run_image(const ref_op *op, const uint8_t *image, uint8_t *out, int16_t *rows, int16_t *wrow)
{
    const size_t out_hw = (size_t)op->ho * op->wo;
    for (size_t m0 = 0; m0 < out_hw; m0 += PIXEL_CHUNK) {
        size_t count = out_hw - m0 < PIXEL_CHUNK ? out_hw - m0 : PIXEL_CHUNK;
        transpose_chunk(op, image, m0, count, rows);
        for (uint32_t oc = 0; oc < op->oc; oc++) {
            weight_row(op, oc, wrow);
            uint8_t *dst = out + (size_t)oc * out_hw + m0;
            for (size_t j = 0; j < count; j++)
                dst[j] = requantize(op, oc, dot(rows + j * op->ic, wrow, op->ic));
        }
    }
}

Q8CONV_API q8conv_status q8conv_pw_reference(const q8conv_pw_desc *desc, uint32_t n, uint32_t h, uint32_t w,
                                             const int8_t *input, int8_t *output)
{
    if (q8conv_validate_pw_desc(desc) != Q8CONV_SUCCESS)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (n == 0 || h == 0 || w == 0 || input == NULL || output == NULL)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    ref_op op = {.d = desc, .ic = desc->in_channels, .oc = desc->out_channels,
                 .u8_in = desc->input_type == Q8CONV_DTYPE_UINT8, .u8_w = desc->weight_type == Q8CONV_DTYPE_UINT8,
                 .h = h, .w = w, .ho = q8conv_strided_extent(h, desc->stride_h),
                 .wo = q8conv_strided_extent(w, desc->stride_w), .s_h = q8conv_stride_of(desc->stride_h),
                 .s_w = q8conv_stride_of(desc->stride_w)};
    op.ch = malloc(sizeof(*op.ch) * op.oc);
    int16_t *rows = malloc(sizeof(*rows) * PIXEL_CHUNK * op.ic);
    int16_t *wrow = malloc(sizeof(*wrow) * op.ic);
    if (op.ch == NULL || rows == NULL || wrow == NULL) {
        free(op.ch);
        free(rows);
        free(wrow);
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    }
    init_channels(&op, wrow);
    const size_t in_hw = (size_t)h * w, out_hw = (size_t)op.ho * op.wo;
    const uint8_t *in_bytes = (const uint8_t *)input;
    uint8_t *out_bytes = (uint8_t *)output;
    for (size_t b = 0; b < n; b++)
        run_image(&op, in_bytes + b * op.ic * in_hw, out_bytes + b * op.oc * out_hw, rows, wrow);
    free(op.ch);
    free(rows);
    free(wrow);
    return Q8CONV_SUCCESS;
}
