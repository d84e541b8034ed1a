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

/* Pixels transposed at a time: 64 rows of at most 32 KiB (int16 values) stay within a typical L2. */
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
    ref_channel *ch;
    float inv_y, z_y, qmin, qmax;
} ref_op;

/* Activations (as values: -128..127 or 0..255) times int8 weights. The fixed 16-wide inner loop is
 * what lets gcc -O2 vectorize it (a loop of unknown length needs an epilogue, which -O2's cost model
 * refuses). Exact in int32: |sum| <= 16384 * 255 * 128 < 2^29. */
static int32_t dot(const int16_t *a, const int8_t *b, size_t n)
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

static int32_t row_sum(const int8_t *row, uint32_t n)
{
    int32_t sum = 0;
    for (uint32_t k = 0; k < n; k++)
        sum += row[k];
    return sum;
}

static void init_channels(ref_op *op)
{
    const q8conv_pw_desc *d = op->d;
    for (uint32_t oc = 0; oc < op->oc; oc++) {
        op->ch[oc].wsum = row_sum(d->weights + (size_t)oc * op->ic, op->ic);
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

/* Copies pixels [m0, m0 + count) of one NCHW image into rows of ic contiguous values, each byte
 * read in the input type (SEMANTICS.md: uint8 x is 0..255, not shifted). */
static void transpose_chunk(const uint8_t *image, size_t hw, uint32_t ic, bool u8_in, size_t m0, size_t count,
                            int16_t *rows)
{
    for (uint32_t k = 0; k < ic; k++) {
        const uint8_t *src = image + (size_t)k * hw + m0;
        for (size_t j = 0; j < count; j++)
            rows[j * ic + k] = u8_in ? (int16_t)src[j] : (int16_t)(int8_t)src[j];
    }
}

static void run_image(const ref_op *op, const uint8_t *image, size_t hw, uint8_t *out, int16_t *rows)
{
    for (size_t m0 = 0; m0 < hw; m0 += PIXEL_CHUNK) {
        size_t count = hw - m0 < PIXEL_CHUNK ? hw - m0 : PIXEL_CHUNK;
        transpose_chunk(image, hw, op->ic, op->u8_in, m0, count, rows);
        for (uint32_t oc = 0; oc < op->oc; oc++) {
            const int8_t *w = op->d->weights + (size_t)oc * op->ic;
            uint8_t *dst = out + (size_t)oc * hw + m0;
            for (size_t j = 0; j < count; j++)
                dst[j] = requantize(op, oc, dot(rows + j * op->ic, w, op->ic));
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
                 .u8_in = desc->input_type == Q8CONV_DTYPE_UINT8};
    op.ch = malloc(sizeof(*op.ch) * op.oc);
    int16_t *rows = malloc(sizeof(*rows) * PIXEL_CHUNK * op.ic);
    if (op.ch == NULL || rows == NULL) {
        free(op.ch);
        free(rows);
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    }
    init_channels(&op);
    size_t hw = (size_t)h * w;
    const uint8_t *in_bytes = (const uint8_t *)input;
    uint8_t *out_bytes = (uint8_t *)output;
    for (size_t b = 0; b < n; b++)
        run_image(&op, in_bytes + b * op.ic * hw, hw, out_bytes + b * op.oc * hw, rows);
    free(op.ch);
    free(rows);
    return Q8CONV_SUCCESS;
}
