/* Host <-> device packing of tensors and weights (SEMANTICS.md "Device layouts").
 *
 * Work is done one (n, h) row at a time: a row is contiguous in both device layouts and, for either
 * host layout, its elements sit at fixed strides from one base. NHWC rows are copied in channel
 * runs; NCHW rows are transposed four channels at a time so that whole device words are written. */
#include <string.h>

#include "pure.h"

/* Where the elements of one (n, h) row of a host array sit, relative to the row's base. */
typedef struct host_row {
    size_t base_stride_n, base_stride_h; /* offset of row (n, h) = n * stride_n + h * stride_h */
    size_t c_stride;                     /* between channels in NCHW; NHWC rows are contiguous */
} host_row;

/* Shape quantities used by every row routine. */
typedef struct shape {
    size_t n, c, h, w, c4, w4;
    size_t row_bytes; /* device bytes of one row */
} shape;

static shape make_shape(const q8conv_tensor_desc *d)
{
    shape s;
    s.n = d->n;
    s.c = d->c;
    s.h = d->h;
    s.w = d->w;
    s.c4 = (s.c + 3) / 4;
    s.w4 = (s.w + 3) / 4;
    s.row_bytes = d->layout == Q8CONV_LAYOUT_4W4C ? s.w4 * s.c4 * 16 : s.w * s.c4 * 4;
    return s;
}

static host_row make_host_row(const shape *s, q8conv_host_layout host)
{
    host_row r;
    if (host == Q8CONV_HOST_NHWC) {
        r.base_stride_n = s->h * s->w * s->c;
        r.base_stride_h = s->w * s->c;
        r.c_stride = 1;
    } else {
        r.base_stride_n = s->c * s->h * s->w;
        r.base_stride_h = s->w;
        r.c_stride = s->h * s->w;
    }
    return r;
}

/* Only for a validated desc: validation proved the whole size fits (and is <= 2^40). */
static uint64_t row_bytes_of_valid(const q8conv_tensor_desc *desc)
{
    uint64_t c4 = ((uint64_t)desc->c + 3) / 4;
    if (desc->layout == Q8CONV_LAYOUT_4W4C)
        return ((uint64_t)desc->w + 3) / 4 * c4 * 16;
    return (uint64_t)desc->w * c4 * 4;
}

/* An oversized (UNSUPPORTED) desc also gives 0: no buffer of that size can exist. */
uint64_t q8conv_packed_size(const q8conv_tensor_desc *desc)
{
    if (q8conv_validate_tensor_desc(desc) != Q8CONV_SUCCESS)
        return 0;
    return row_bytes_of_valid(desc) * desc->n * desc->h;
}

uint64_t q8conv_packed_row_bytes(const q8conv_tensor_desc *desc)
{
    if (q8conv_validate_tensor_desc(desc) != Q8CONV_SUCCESS)
        return 0;
    return row_bytes_of_valid(desc);
}

Q8CONV_API VkDeviceSize q8conv_tensor_size_bytes(const q8conv_tensor_desc *desc)
{
    return (VkDeviceSize)q8conv_packed_size(desc);
}

/* Pixels with contiguous channels on both sides: one copy per pixel (or per row when there is no
 * channel padding), the common NHWC <-> 4C1W case. */
static void pack_row_nhwc_4c1w(const shape *s, const int8_t *src, uint8_t *dst)
{
    if (s->c == s->c4 * 4) {
        memcpy(dst, src, s->w * s->c);
        return;
    }
    size_t pad = s->c4 * 4 - s->c;
    for (size_t w = 0; w < s->w; w++) {
        memcpy(dst, src + w * s->c, s->c);
        memset(dst + s->c, 0, pad);
        dst += s->c4 * 4;
    }
}

static void unpack_row_nhwc_4c1w(const shape *s, const uint8_t *src, int8_t *dst)
{
    if (s->c == s->c4 * 4) {
        memcpy(dst, src, s->w * s->c);
        return;
    }
    for (size_t w = 0; w < s->w; w++)
        memcpy(dst + w * s->c, src + w * s->c4 * 4, s->c);
}

/* Host NHWC into 4W4C: each pixel's channels are contiguous, split into 4-byte words. */
static void pack_row_nhwc_4w4c(const shape *s, const int8_t *src, uint8_t *dst)
{
    size_t full = s->c & ~(size_t)3;
    for (size_t w = 0; w < s->w; w++) {
        const int8_t *px = src + w * s->c;
        uint8_t *word = dst + (w >> 2) * s->c4 * 16 + (w & 3) * 4;
        for (size_t c = 0; c < full; c += 4)
            memcpy(word + c * 4, px + c, 4);
        if (full < s->c)
            memcpy(word + full * 4, px + full, s->c - full);
    }
}

static void unpack_row_nhwc_4w4c(const shape *s, const uint8_t *src, int8_t *dst)
{
    size_t full = s->c & ~(size_t)3;
    for (size_t w = 0; w < s->w; w++) {
        int8_t *px = dst + w * s->c;
        const uint8_t *word = src + (w >> 2) * s->c4 * 16 + (w & 3) * 4;
        for (size_t c = 0; c < full; c += 4)
            memcpy(px + c, word + c * 4, 4);
        if (full < s->c)
            memcpy(px + full, word + full * 4, s->c - full);
    }
}

/* Byte offset of word (w, c4 = 0) inside a device row; channel block c4 adds c4 * c4_step. */
static size_t word_offset(const shape *s, q8conv_layout layout, size_t w)
{
    if (layout == Q8CONV_LAYOUT_4W4C)
        return (w >> 2) * s->c4 * 16 + (w & 3) * 4;
    return w * s->c4 * 4;
}

static size_t c4_step(q8conv_layout layout)
{
    return layout == Q8CONV_LAYOUT_4W4C ? 16 : 4;
}

/* Host NCHW: each channel's row is contiguous. Four channel rows are read side by side so that
 * each device word is filled at once (about 1.5x faster than scattering one channel row at a
 * time). A partial last block is written byte by byte into the already cleared row. */
static void pack_row_nchw(const shape *s, q8conv_layout layout, const int8_t *src, size_t c_stride,
                          uint8_t *dst)
{
    size_t step = c4_step(layout);
    for (size_t c4 = 0; c4 < s->c4; c4++) {
        const int8_t *in = src + c4 * 4 * c_stride;
        uint8_t *out = dst + c4 * step;
        size_t lanes = s->c - c4 * 4 < 4 ? s->c - c4 * 4 : 4;
        if (lanes == 4) {
            for (size_t w = 0; w < s->w; w++) {
                uint8_t *word = out + word_offset(s, layout, w);
                word[0] = (uint8_t)in[w];
                word[1] = (uint8_t)in[c_stride + w];
                word[2] = (uint8_t)in[2 * c_stride + w];
                word[3] = (uint8_t)in[3 * c_stride + w];
            }
        } else {
            for (size_t i = 0; i < lanes; i++)
                for (size_t w = 0; w < s->w; w++)
                    out[word_offset(s, layout, w) + i] = (uint8_t)in[i * c_stride + w];
        }
    }
}

static void unpack_row_nchw(const shape *s, q8conv_layout layout, const uint8_t *src, int8_t *dst,
                            size_t c_stride)
{
    size_t step = c4_step(layout);
    for (size_t c4 = 0; c4 < s->c4; c4++) {
        const uint8_t *in = src + c4 * step;
        int8_t *out = dst + c4 * 4 * c_stride;
        size_t lanes = s->c - c4 * 4 < 4 ? s->c - c4 * 4 : 4;
        if (lanes == 4) {
            for (size_t w = 0; w < s->w; w++) {
                const uint8_t *word = in + word_offset(s, layout, w);
                out[w] = (int8_t)word[0];
                out[c_stride + w] = (int8_t)word[1];
                out[2 * c_stride + w] = (int8_t)word[2];
                out[3 * c_stride + w] = (int8_t)word[3];
            }
        } else {
            for (size_t i = 0; i < lanes; i++)
                for (size_t w = 0; w < s->w; w++)
                    out[i * c_stride + w] = (int8_t)in[word_offset(s, layout, w) + i];
        }
    }
}

/* Whether a row of this layout has bytes that no host element maps to. */
static bool row_has_padding(const shape *s, q8conv_layout layout)
{
    if (s->c & 3)
        return true;
    return layout == Q8CONV_LAYOUT_4W4C && (s->w & 3);
}

void q8conv_pack_tensor(const q8conv_tensor_desc *desc, const int8_t *src, q8conv_host_layout host, void *dst)
{
    shape s = make_shape(desc);
    host_row hr = make_host_row(&s, host);
    q8conv_layout layout = desc->layout;
    /* The NHWC-into-4C1W path writes its own padding; the other paths write only bytes that hold
     * elements, so a row with padding is cleared first to give the padding its zeros. */
    bool clear = row_has_padding(&s, layout) && !(host == Q8CONV_HOST_NHWC && layout == Q8CONV_LAYOUT_4C1W);
    uint8_t *out = dst;
    for (size_t n = 0; n < s.n; n++) {
        for (size_t h = 0; h < s.h; h++, out += s.row_bytes) {
            const int8_t *in = src + n * hr.base_stride_n + h * hr.base_stride_h;
            if (clear)
                memset(out, 0, s.row_bytes);
            if (host == Q8CONV_HOST_NCHW)
                pack_row_nchw(&s, layout, in, hr.c_stride, out);
            else if (layout == Q8CONV_LAYOUT_4C1W)
                pack_row_nhwc_4c1w(&s, in, out);
            else
                pack_row_nhwc_4w4c(&s, in, out);
        }
    }
}

void q8conv_unpack_tensor(const q8conv_tensor_desc *desc, const void *src, q8conv_host_layout host, int8_t *dst)
{
    shape s = make_shape(desc);
    host_row hr = make_host_row(&s, host);
    q8conv_layout layout = desc->layout;
    const uint8_t *in = src;
    for (size_t n = 0; n < s.n; n++) {
        for (size_t h = 0; h < s.h; h++, in += s.row_bytes) {
            int8_t *out = dst + n * hr.base_stride_n + h * hr.base_stride_h;
            if (host == Q8CONV_HOST_NCHW)
                unpack_row_nchw(&s, layout, in, out, hr.c_stride);
            else if (layout == Q8CONV_LAYOUT_4C1W)
                unpack_row_nhwc_4c1w(&s, in, out);
            else
                unpack_row_nhwc_4w4c(&s, in, out);
        }
    }
}

void q8conv_pack_weights(uint32_t oc, uint32_t ic, const int8_t *w, uint8_t weight_xor, void *dst)
{
    const size_t c4_out = ((size_t)oc + 3) / 4, c4_in = ((size_t)ic + 3) / 4;
    uint8_t *out = dst;
    memset(out, 0, c4_out * c4_in * 16);
    for (size_t o = 0; o < oc; o++) {
        const int8_t *row = w + o * ic;
        uint8_t *word = out + (o / 4) * 16 + (o % 4) * 4;
        for (size_t i = 0; i < ic; i++)
            word[(i / 4) * c4_out * 16 + i % 4] = (uint8_t)row[i] ^ weight_xor;
    }
}

/* Row bytes and row count of the cooperative-matrix packing (see pure.h). */
static uint64_t coopmat_row_bytes(uint32_t ic)
{
    const uint64_t k = ((uint64_t)ic + 3) / 4 * 4;
    return (k + Q8CONV_CM_WEIGHT_K_ALIGN - 1) / Q8CONV_CM_WEIGHT_K_ALIGN * Q8CONV_CM_WEIGHT_K_ALIGN;
}

static uint64_t coopmat_rows(uint32_t oc)
{
    const uint64_t c = ((uint64_t)oc + 3) / 4 * 4;
    return (c + Q8CONV_CM_N - 1) / Q8CONV_CM_N * Q8CONV_CM_N;
}

uint64_t q8conv_coopmat_weight_bytes(uint32_t oc, uint32_t ic)
{
    return coopmat_rows(oc) * coopmat_row_bytes(ic);
}

void q8conv_pack_weights_coopmat(uint32_t oc, uint32_t ic, const int8_t *w, uint8_t weight_xor, void *dst)
{
    const size_t row = (size_t)coopmat_row_bytes(ic);
    uint8_t *out = dst;
    memset(out, 0, (size_t)q8conv_coopmat_weight_bytes(oc, ic));
    for (size_t o = 0; o < oc; o++) {
        memcpy(out + o * row, w + o * ic, ic);
        if (weight_xor)
            for (size_t i = 0; i < ic; i++)
                out[o * row + i] ^= weight_xor;
    }
}
