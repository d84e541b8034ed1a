/* Packing tests: every byte of a packed tensor is checked against SEMANTICS.md's layout formulas
 * (recomputed here independently), padding must be zero, round trips must be lossless, and the
 * size functions must match hand-computed values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "pure.h"

static const char *layout_name(q8conv_layout l) { return l == Q8CONV_LAYOUT_4W4C ? "4W4C" : "4C1W"; }
static const char *host_name(q8conv_host_layout h) { return h == Q8CONV_HOST_NCHW ? "NCHW" : "NHWC"; }

/* Index of logical element (n, c, h, w) in a host array. */
static size_t host_index(const q8conv_tensor_desc *d, q8conv_host_layout host, size_t n, size_t c, size_t h,
                         size_t w)
{
    if (host == Q8CONV_HOST_NCHW)
        return ((n * d->c + c) * d->h + h) * d->w + w;
    return ((n * d->h + h) * d->w + w) * d->c + c;
}

/* Walks every device byte in address order, naming the logical element it holds (or padding).
 * Built from SEMANTICS.md's block/word/byte formulas, not from packing.c. Returns the number of
 * bytes visited; `visit` sees (offset, n, c, h, w, is_padding). */
typedef void (*byte_visitor)(void *ctx, size_t offset, size_t n, size_t c, size_t h, size_t w, int padding);

static size_t walk_device_bytes(const q8conv_tensor_desc *d, byte_visitor visit, void *ctx)
{
    size_t C4 = (d->c + 3) / 4, W4 = (d->w + 3) / 4, expected = 0;
    for (size_t n = 0; n < d->n; n++)
        for (size_t h = 0; h < d->h; h++) {
            if (d->layout == Q8CONV_LAYOUT_4W4C) {
                for (size_t w4 = 0; w4 < W4; w4++)
                    for (size_t c4 = 0; c4 < C4; c4++)
                        for (size_t j = 0; j < 4; j++)
                            for (size_t i = 0; i < 4; i++) {
                                size_t block = ((n * d->h + h) * W4 + w4) * C4 + c4;
                                size_t off = block * 16 + j * 4 + i;
                                size_t w = 4 * w4 + j, c = 4 * c4 + i;
                                CHECK(off == expected, "4W4C walk out of order");
                                visit(ctx, off, n, c, h, w, w >= d->w || c >= d->c);
                                expected++;
                            }
            } else {
                for (size_t w = 0; w < d->w; w++)
                    for (size_t c4 = 0; c4 < C4; c4++)
                        for (size_t i = 0; i < 4; i++) {
                            size_t word = ((n * d->h + h) * d->w + w) * C4 + c4;
                            size_t off = word * 4 + i;
                            size_t c = 4 * c4 + i;
                            CHECK(off == expected, "4C1W walk out of order");
                            visit(ctx, off, n, c, h, w, c >= d->c);
                            expected++;
                        }
            }
        }
    return expected;
}

typedef struct pack_check {
    const q8conv_tensor_desc *d;
    q8conv_host_layout host;
    const int8_t *src;
    const uint8_t *packed;
    int reported;
} pack_check;

static void check_byte(void *ctx, size_t off, size_t n, size_t c, size_t h, size_t w, int padding)
{
    pack_check *k = ctx;
    uint8_t want = padding ? 0 : (uint8_t)k->src[host_index(k->d, k->host, n, c, h, w)];
    if (k->packed[off] != want && !k->reported) {
        k->reported = 1;
        CHECK(0, "%s from %s, shape n%u c%u h%u w%u: byte %zu (n%zu c%zu h%zu w%zu%s) is %u, want %u",
              layout_name(k->d->layout), host_name(k->host), k->d->n, k->d->c, k->d->h, k->d->w, off, n, c, h, w,
              padding ? " padding" : "", k->packed[off], want);
    }
}

/* Sets padding bytes to garbage: unpacking must ignore them. */
static void poison_padding(void *ctx, size_t off, size_t n, size_t c, size_t h, size_t w, int padding)
{
    (void)n, (void)c, (void)h, (void)w;
    if (padding)
        ((uint8_t *)ctx)[off] = 0xC3;
}

static size_t expected_size(const q8conv_tensor_desc *d)
{
    size_t C4 = (d->c + 3) / 4, W4 = (d->w + 3) / 4;
    if (d->layout == Q8CONV_LAYOUT_4W4C)
        return (size_t)d->n * d->h * W4 * C4 * 16;
    return (size_t)d->n * d->h * d->w * C4 * 4;
}

static void round_trip(const q8conv_tensor_desc *d, q8conv_host_layout host)
{
    size_t elems = (size_t)d->n * d->c * d->h * d->w, size = expected_size(d);
    CHECK(q8conv_packed_size(d) == size, "packed size %llu want %zu", (unsigned long long)q8conv_packed_size(d),
          size);
    CHECK(q8conv_packed_row_bytes(d) * d->n * d->h == size, "row bytes");
    int8_t *src = malloc(elems), *back = malloc(elems), *other = malloc(elems);
    uint8_t *packed = malloc(size + 8);
    for (size_t i = 0; i < elems; i++)
        src[i] = (int8_t)test_below(256);
    memset(packed, 0xAB, size + 8); /* poison: every byte must be written, padding with zero */
    q8conv_pack_tensor(d, src, host, packed);
    pack_check k = {d, host, src, packed, 0};
    CHECK(walk_device_bytes(d, check_byte, &k) == size, "walk size");
    for (size_t i = size; i < size + 8; i++)
        CHECK(packed[i] == 0xAB, "wrote past the end at %zu", i);

    walk_device_bytes(d, poison_padding, packed);
    memset(back, 0x11, elems);
    q8conv_unpack_tensor(d, packed, host, back);
    CHECK(memcmp(src, back, elems) == 0, "round trip %s via %s n%u c%u h%u w%u", host_name(host),
          layout_name(d->layout), d->n, d->c, d->h, d->w);

    /* Cross layout: pack from one host order, unpack into the other. */
    q8conv_host_layout flip = host == Q8CONV_HOST_NCHW ? Q8CONV_HOST_NHWC : Q8CONV_HOST_NCHW;
    q8conv_unpack_tensor(d, packed, flip, other);
    int mismatch = 0;
    for (size_t n = 0; n < d->n; n++)
        for (size_t c = 0; c < d->c; c++)
            for (size_t h = 0; h < d->h; h++)
                for (size_t w = 0; w < d->w; w++)
                    mismatch += other[host_index(d, flip, n, c, h, w)] != src[host_index(d, host, n, c, h, w)];
    CHECK(mismatch == 0, "cross unpack %s -> %s via %s: %d mismatches", host_name(host), host_name(flip),
          layout_name(d->layout), mismatch);
    free(src);
    free(back);
    free(other);
    free(packed);
}

static void test_random_round_trips(void)
{
    for (int t = 0; t < 3000; t++) {
        q8conv_tensor_desc d = {.n = 1 + test_below(3), .c = 1 + test_below(13), .h = 1 + test_below(4), .w = 1 + test_below(11)};
        if (t % 7 == 0) /* some wider rows, to reach the multi-block paths */
            d.c = 1 + test_below(70), d.w = 1 + test_below(40);
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++) {
                d.layout = (q8conv_layout)l;
                round_trip(&d, (q8conv_host_layout)h);
            }
        if (test_failures > 20)
            return;
    }
}

/* A few bytes placed by hand from the formulas in SEMANTICS.md, on n2 c6 h3 w5 (C4 = 2, W4 = 2). */
static void test_fixed_positions(void)
{
    q8conv_tensor_desc d = {.n = 2, .c = 6, .h = 3, .w = 5, .layout = Q8CONV_LAYOUT_4W4C};
    int8_t src[2 * 6 * 3 * 5];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (int8_t)(i + 1); /* NCHW: element (n,c,h,w) holds 1 + ((n*6+c)*3+h)*5+w */
    uint8_t packed[2 * 3 * 2 * 2 * 16];
    q8conv_pack_tensor(&d, src, Q8CONV_HOST_NCHW, packed);
    /* (n1, c5, h2, w4): block ((1*3+2)*2+1)*2+1 = 23, word j = 0, byte i = 1 -> 369; value
     * 1 + ((1*6+5)*3+2)*5+4 = 180. */
    CHECK(packed[369] == 180, "4W4C byte 369 = %u", packed[369]);
    /* (n0, c0, h0, w3): block 0, word 3, byte 0 -> 12; value 1 + 3 = 4. */
    CHECK(packed[12] == 4, "4W4C byte 12 = %u", packed[12]);
    /* Byte 371 is (n1, c7, h2, w4): channel padding. Byte 16*22 + 4 is (w5): width padding. */
    CHECK(packed[371] == 0 && packed[16 * 22 + 4] == 0, "4W4C padding");

    d.layout = Q8CONV_LAYOUT_4C1W;
    uint8_t p2[2 * 3 * 5 * 2 * 4];
    q8conv_pack_tensor(&d, src, Q8CONV_HOST_NCHW, p2);
    /* (n1, c5, h2, w4): word ((1*3+2)*5+4)*2+1 = 59, byte 1 -> 237; value 180. */
    CHECK(p2[237] == 180, "4C1W byte 237 = %u", p2[237]);
    CHECK(p2[238] == 0 && p2[239] == 0, "4C1W padding");
}

static void test_weights(void)
{
    for (int t = 0; t < 500; t++) {
        uint32_t oc = 1 + test_below(20), ic = 1 + test_below(40);
        uint32_t oc4 = (oc + 3) / 4, ic4 = (ic + 3) / 4;
        size_t size = (size_t)oc4 * ic4 * 16;
        int8_t *w = malloc((size_t)oc * ic);
        uint8_t *packed = malloc(size + 4);
        for (size_t i = 0; i < (size_t)oc * ic; i++)
            w[i] = (int8_t)test_below(256);
        memset(packed, 0xAB, size + 4);
        /* Half the cases as uint8 weights: every real byte flipped to w - 128, padding still 0. */
        const uint8_t flip = (t & 1) ? 0x80u : 0u;
        q8conv_pack_weights(oc, ic, w, flip, packed);
        int bad = 0;
        for (uint32_t b_oc = 0; b_oc < oc4; b_oc++)
            for (uint32_t b_ic = 0; b_ic < ic4; b_ic++)
                for (uint32_t word = 0; word < 4; word++)
                    for (uint32_t byte = 0; byte < 4; byte++) {
                        uint32_t o = 4 * b_oc + word, i = 4 * b_ic + byte;
                        size_t off = ((size_t)b_ic * oc4 + b_oc) * 16 + word * 4 + byte;
                        uint8_t want = (o < oc && i < ic) ? (uint8_t)((uint8_t)w[(size_t)o * ic + i] ^ flip) : 0;
                        bad += packed[off] != want;
                    }
        CHECK(bad == 0, "weights oc%u ic%u: %d wrong bytes", oc, ic, bad);
        CHECK(packed[size] == 0xAB, "weights oc%u ic%u: wrote past the end", oc, ic);
        free(w);
        free(packed);
    }
}

/* The cooperative-matrix rows: row o holds output channel o's IC bytes, then zeros up to a
 * multiple of Q8CONV_CM_WEIGHT_K_ALIGN; rows up to ceil(C4_out*4 / CM_N) * CM_N, the extra ones zero. */
static void test_weights_coopmat(void)
{
    CHECK(q8conv_coopmat_weight_bytes(1, 1) == (uint64_t)Q8CONV_CM_N * Q8CONV_CM_WEIGHT_K_ALIGN, "1x1: %llu",
          (unsigned long long)q8conv_coopmat_weight_bytes(1, 1));
    /* OC 17 -> 20 padded channels -> 32 rows; IC 65 -> 68 -> 128 bytes a row. */
    CHECK(q8conv_coopmat_weight_bytes(17, 65) == 32u * 128u, "17x65: %llu",
          (unsigned long long)q8conv_coopmat_weight_bytes(17, 65));
    for (int t = 0; t < 300; t++) {
        uint32_t oc = 1 + test_below(70), ic = 1 + test_below(200);
        size_t size = (size_t)q8conv_coopmat_weight_bytes(oc, ic);
        size_t row = (((size_t)ic + 3) / 4 * 4 + Q8CONV_CM_WEIGHT_K_ALIGN - 1) / Q8CONV_CM_WEIGHT_K_ALIGN *
                     Q8CONV_CM_WEIGHT_K_ALIGN;
        size_t rows = (((size_t)oc + 3) / 4 * 4 + Q8CONV_CM_N - 1) / Q8CONV_CM_N * Q8CONV_CM_N;
        CHECK(size == row * rows, "oc%u ic%u: size %zu, want %zu", oc, ic, size, row * rows);
        int8_t *w = malloc((size_t)oc * ic);
        uint8_t *packed = malloc(size + 4);
        for (size_t i = 0; i < (size_t)oc * ic; i++)
            w[i] = (int8_t)(1 + test_below(255)); /* never 0, so a missing byte shows */
        memset(packed, 0xAB, size + 4);
        const uint8_t flip = (t & 1) ? 0x80u : 0u;
        q8conv_pack_weights_coopmat(oc, ic, w, flip, packed);
        int bad = 0;
        for (size_t o = 0; o < rows; o++)
            for (size_t i = 0; i < row; i++) {
                uint8_t want = (o < oc && i < ic) ? (uint8_t)((uint8_t)w[o * ic + i] ^ flip) : 0;
                bad += packed[o * row + i] != want;
            }
        CHECK(bad == 0, "coopmat weights oc%u ic%u: %d wrong bytes", oc, ic, bad);
        CHECK(packed[size] == 0xAB, "coopmat weights oc%u ic%u: wrote past the end", oc, ic);
        free(w);
        free(packed);
    }
}

static void test_sizes(void)
{
    CHECK(q8conv_tensor_size_bytes(NULL) == 0, "NULL");
    /* c3 -> C4 1; w5 -> W4 2: 4W4C 1*2 rows * 2 blocks * 16 = 64; 4C1W 2 rows * 5 words * 4 = 40. */
    q8conv_tensor_desc a = {.n = 1, .c = 3, .h = 2, .w = 5, .layout = Q8CONV_LAYOUT_4W4C};
    CHECK(q8conv_tensor_size_bytes(&a) == 64, "%llu", (unsigned long long)q8conv_tensor_size_bytes(&a));
    a.layout = Q8CONV_LAYOUT_4C1W;
    CHECK(q8conv_tensor_size_bytes(&a) == 40, "%llu", (unsigned long long)q8conv_tensor_size_bytes(&a));
    /* n2 c8 h3 w4: 6 rows * (1 * 2 blocks) * 16 = 192 either way (no padding at all). */
    q8conv_tensor_desc b = {.n = 2, .c = 8, .h = 3, .w = 4, .layout = Q8CONV_LAYOUT_4W4C};
    CHECK(q8conv_tensor_size_bytes(&b) == 192, "%llu", (unsigned long long)q8conv_tensor_size_bytes(&b));
    b.layout = Q8CONV_LAYOUT_4C1W;
    CHECK(q8conv_tensor_size_bytes(&b) == 192, "%llu", (unsigned long long)q8conv_tensor_size_bytes(&b));
    q8conv_tensor_desc one = {.n = 1, .c = 1, .h = 1, .w = 1, .layout = Q8CONV_LAYOUT_4W4C};
    CHECK(q8conv_tensor_size_bytes(&one) == 16, "1x1x1x1 4W4C");
    one.layout = Q8CONV_LAYOUT_4C1W;
    CHECK(q8conv_tensor_size_bytes(&one) == 4, "1x1x1x1 4C1W");
    /* MobileNet-like n1 c32 h112 w112 in 4W4C: 112 rows * 28 * 8 blocks * 16 = 401408. */
    q8conv_tensor_desc m = {.n = 1, .c = 32, .h = 112, .w = 112, .layout = Q8CONV_LAYOUT_4W4C};
    CHECK(q8conv_tensor_size_bytes(&m) == 401408, "%llu", (unsigned long long)q8conv_tensor_size_bytes(&m));

    q8conv_tensor_desc bad = one;
    bad.c = 0;
    CHECK(q8conv_tensor_size_bytes(&bad) == 0 && q8conv_validate_tensor_desc(&bad) == Q8CONV_ERROR_INVALID_ARGUMENT,
          "c = 0");
    bad = one;
    bad.layout = (q8conv_layout)7;
    CHECK(q8conv_tensor_size_bytes(&bad) == 0 && q8conv_validate_tensor_desc(&bad) == Q8CONV_ERROR_INVALID_ARGUMENT,
          "layout 7");
    bad.layout = (q8conv_layout)-1;
    CHECK(q8conv_validate_tensor_desc(&bad) == Q8CONV_ERROR_INVALID_ARGUMENT, "layout -1");
    CHECK(q8conv_validate_tensor_desc(NULL) == Q8CONV_ERROR_INVALID_ARGUMENT, "NULL");
    /* 2^40 bytes exactly is accepted; one row more is refused as UNSUPPORTED, and so is a size that
     * overflows 64 bits. 4C1W, c 4, w 2^20: 2^22 bytes per row; 2^18 rows = 2^40. */
    q8conv_tensor_desc huge = {.n = 1 << 9, .c = 4, .h = 1 << 9, .w = 1 << 20, .layout = Q8CONV_LAYOUT_4C1W};
    CHECK(q8conv_validate_tensor_desc(&huge) == Q8CONV_SUCCESS && q8conv_tensor_size_bytes(&huge) == (1ull << 40),
          "2^40");
    huge.h++;
    CHECK(q8conv_validate_tensor_desc(&huge) == Q8CONV_ERROR_UNSUPPORTED && q8conv_tensor_size_bytes(&huge) == 0,
          "2^40 + one row");
    q8conv_tensor_desc max = {.n = 0xFFFFFFFFu, .c = 0xFFFFFFFFu, .h = 0xFFFFFFFFu, .w = 0xFFFFFFFFu};
    for (int l = 0; l < 2; l++) {
        max.layout = (q8conv_layout)l;
        CHECK(q8conv_validate_tensor_desc(&max) == Q8CONV_ERROR_UNSUPPORTED, "all-max %s", layout_name(max.layout));
        CHECK(q8conv_packed_row_bytes(&max) == 0 && q8conv_tensor_size_bytes(&max) == 0, "all-max sizes");
    }
}

int main(void)
{
    test_seed();
    test_sizes();
    test_fixed_positions();
    test_weights();
    test_weights_coopmat();
    test_random_round_trips();
    return test_finish("test_packing");
}
