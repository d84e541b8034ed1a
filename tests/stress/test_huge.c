/* Huge shapes: tensors larger than the device's maxStorageBufferRange (128 MiB on lavapipe) run in
 * row windows and stay exact; what cannot be bound even in windows is refused with UNSUPPORTED
 * before anything is allocated or written. (N*H beyond the workgroup-count limit is gpu_split.)
 *
 * The windows are observed through the internal tensor struct, so that a device with a larger
 * range, where nothing needs windows, reports "nothing to window" instead of passing vacuously. */
#include <string.h>

#include "objects.h"
#include "common.h"
#include "test_device.h"

static test_rng rng;

/* Input and output sized so that both exceed the range with different window sizes: the run is
 * cut wherever either tensor's window ends. */
static void windowed_run(q8conv_context *ctx, uint64_t range, uint32_t ic, q8conv_layout in_layout, uint32_t oc,
                         q8conv_layout out_layout, uint32_t w, q8conv_kernel kernel, bool both, uint32_t stride)
{
    char err[512];
    const q8conv_tensor_desc row_in = {1, ic, 1, w, in_layout}, row_out = {1, oc, 1, w, out_layout};
    const uint64_t in_row = q8conv_tensor_size_bytes(&row_in), out_row = q8conv_tensor_size_bytes(&row_out);
    /* Enough rows, on two images, that the larger tensor (or, with `both`, the smaller too) is
     * about 10% over the range. */
    const uint64_t sizing = (in_row > out_row) == both ? out_row : in_row;
    const uint32_t h = (uint32_t)((range + range / 10) / sizing / 2 + 1), n = 2;
    test_op_params p = {.ic = ic, .oc = oc, .bias = (q8conv_bias_mode)test_rng_range(&rng, 0, 2),
                        .activation = (q8conv_activation)test_rng_range(&rng, 0, 2), .input_layout = in_layout,
                        .output_layout = out_layout, .kernel = kernel};
    /* Strided: the pieces follow the output's rows, and an input window may end at any input row,
     * between the rows a stride reads or inside an image. */
    if (stride > 1) {
        p.stride_h = p.stride_w = stride;
        p.weight_type = Q8CONV_DTYPE_UINT8;
        p.weight_zp = TEST_WZP_CHANNEL;
    }
    test_op t;
    test_op_random(&t, &rng, &p);
    q8conv_pw *op = NULL;
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    /* The windows the run will use, from tensors of the same shapes. */
    q8conv_tensor *probe_in = NULL, *probe_out = NULL;
    const q8conv_tensor_desc di = {n, ic, h, w, in_layout},
                             dout = {n, oc, test_strided_extent(h, stride), test_strided_extent(w, stride), out_layout};
    CHECK_OK(q8conv_tensor_create(ctx, &di, &probe_in));
    CHECK_OK(q8conv_tensor_create(ctx, &dout, &probe_out));
    if (probe_in && probe_out) {
        printf("windows: input %.1f MiB in %u window(s) of %u rows, output %.1f MiB in %u window(s) of %u rows "
               "(range %.1f MiB)\n",
               (double)probe_in->size / 1048576.0, probe_in->window_count, probe_in->rows_per_window,
               (double)probe_out->size / 1048576.0, probe_out->window_count, probe_out->rows_per_window,
               (double)range / 1048576.0);
        CHECK(both ? probe_in->window_count > 1 && probe_out->window_count > 1 &&
                         probe_in->rows_per_window != probe_out->rows_per_window
                   : probe_in->window_count > 1 || probe_out->window_count > 1,
              "the tensors are not windowed as the case needs");
        CHECK((uint64_t)probe_in->rows_per_window * probe_in->row_bytes <= range &&
                  (uint64_t)probe_out->rows_per_window * probe_out->row_bytes <= range,
              "a window exceeds maxStorageBufferRange");
    }
    q8conv_tensor_destroy(probe_in);
    q8conv_tensor_destroy(probe_out);
    if (op)
        CHECK(test_check_run(ctx, op, &t.desc, n, h, w, &rng, err, sizeof err), "windowed run: %s", err);
    q8conv_pw_destroy(op);
    test_op_free(&t);
}

/* Shapes no window can bind: refused before anything is allocated, written or recorded. */
static void refusals(q8conv_context *ctx, uint64_t range)
{
    char err[512];
    test_vk vk;
    CHECK(test_vk_load_context(&vk, ctx), "Vulkan functions of the context");
    /* A poisoned output of a small op: it must come out of everything below unchanged, and the op
     * must still run exactly afterwards. */
    test_op_params p = {.ic = 16, .oc = 8, .bias = Q8CONV_BIAS_FLOAT, .input_layout = Q8CONV_LAYOUT_4C1W,
                        .output_layout = Q8CONV_LAYOUT_4C1W};
    test_op t;
    test_op_random(&t, &rng, &p);
    q8conv_pw *op = NULL;
    q8conv_tensor *out = NULL;
    const q8conv_tensor_desc dout = {1, 8, 1, 64, Q8CONV_LAYOUT_4C1W};
    const size_t out_size = (size_t)q8conv_tensor_size_bytes(&dout);
    uint8_t *poison = malloc(out_size), *now = malloc(out_size);
    memset(poison, TEST_POISON, out_size);
    CHECK_OK(q8conv_pw_create(ctx, &t.desc, &op));
    CHECK_OK(q8conv_tensor_create(ctx, &dout, &out));
    CHECK_OK(q8conv_tensor_write_raw(out, poison, out_size));

    /* One row (N = H = 1) larger than the range, in either layout. */
    const uint32_t w_4c1w = (uint32_t)(range / 16 + 1);            /* 16 channels: 16 bytes per pixel */
    const uint32_t w_4w4c = (uint32_t)((range / 64 + 1) * 4);      /* 16 channels: 64 bytes per 4 pixels */
    const q8conv_tensor_desc rows[2] = {{1, 16, 1, w_4c1w, Q8CONV_LAYOUT_4C1W}, {1, 16, 1, w_4w4c, Q8CONV_LAYOUT_4W4C}};
    for (int i = 0; i < 2; ++i) {
        q8conv_tensor *t_in = (q8conv_tensor *)(uintptr_t)0x5E47;
        q8conv_status st = q8conv_tensor_create(ctx, &rows[i], &t_in);
        CHECK(st == Q8CONV_ERROR_UNSUPPORTED && t_in == (q8conv_tensor *)(uintptr_t)0x5E47,
              "tensor_create with one %llu-byte row (%s): %s", (unsigned long long)q8conv_tensor_size_bytes(&rows[i]),
              i ? "4W4C" : "4C1W", q8conv_status_string(st));
        /* The same through a caller's buffer of that size (never bound: it must not be touched). */
        test_buffer buf;
        const VkDeviceSize size = q8conv_tensor_size_bytes(&rows[i]);
        if (test_vk_buffer(&vk, size, TEST_MEMORY_NONE, &buf)) {
            st = q8conv_tensor_wrap_sized(ctx, &rows[i], buf.buffer, 0, size, &t_in);
            CHECK(st == Q8CONV_ERROR_UNSUPPORTED && t_in == (q8conv_tensor *)(uintptr_t)0x5E47,
                  "tensor_wrap_sized with one row beyond the range: %s", q8conv_status_string(st));
            test_vk_buffer_free(&vk, &buf);
        } else {
            printf("refusals: the device refuses a %llu-byte buffer itself; wrap not tried\n", (unsigned long long)size);
        }
    }
    printf("refusals: a single row of %llu (4C1W) / %llu (4W4C) bytes: UNSUPPORTED\n",
           (unsigned long long)q8conv_tensor_size_bytes(&rows[0]), (unsigned long long)q8conv_tensor_size_bytes(&rows[1]));

    /* Packed weights beyond the range: 16384 x 16384 int8 is 256 MiB. */
    if (range < ((uint64_t)256 << 20)) {
        test_op_params bp = {.ic = 16384, .oc = 16384};
        test_op big;
        test_op_random(&big, &rng, &bp);
        q8conv_pw *made = (q8conv_pw *)(uintptr_t)0x5E47;
        q8conv_status st = q8conv_pw_create(ctx, &big.desc, &made);
        CHECK(st == Q8CONV_ERROR_UNSUPPORTED && made == (q8conv_pw *)(uintptr_t)0x5E47,
              "pw_create with 256 MiB of packed weights: %s", q8conv_status_string(st));
        printf("refusals: 16384 x 16384 weights (256 MiB packed): UNSUPPORTED\n");
        test_op_free(&big);
    }
    /* More rows than a tensor indexes (N*H > 2^32), though only 64 GiB. */
    q8conv_tensor *t_rows = (q8conv_tensor *)(uintptr_t)0x5E47;
    const q8conv_tensor_desc many = {1u << 16, 1, 1u << 16, 1, Q8CONV_LAYOUT_4W4C};
    CHECK(q8conv_tensor_create(ctx, &many, &t_rows) == Q8CONV_ERROR_UNSUPPORTED, "tensor_create with 2^32 rows");

    CHECK(out && q8conv_tensor_read_raw(out, now, out_size) == Q8CONV_SUCCESS && memcmp(now, poison, out_size) == 0,
          "the poisoned output changed during the refusals");
    if (op)
        CHECK(test_check_run(ctx, op, &t.desc, 1, 1, 64, &rng, err, sizeof err), "after the refusals: %s", err);
    q8conv_tensor_destroy(out);
    q8conv_pw_destroy(op);
    test_op_free(&t);
    free(poison);
    free(now);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rng = test_rng_seeded(test_seed());
    q8conv_context *ctx = test_context(0);
    if (!ctx)
        return test_finish("stress_huge");
    q8conv_context_info info;
    CHECK_OK(q8conv_context_get_info(ctx, &info));
    const uint64_t range = info.max_storage_buffer_range;
    printf("device: %s, maxStorageBufferRange %llu bytes\n", info.device_name, (unsigned long long)range);
    if (range > ((uint64_t)1 << 30)) {
        /* Tensors past a range this large would not fit a test machine's memory. */
        printf("windows: the device binds %llu bytes at once; nothing to window here\n", (unsigned long long)range);
    } else {
        /* 4C1W in (12 B/pixel) -> 4W4C out (16 B/pixel): both windowed, windows of different sizes. */
        windowed_run(ctx, range, 12, Q8CONV_LAYOUT_4C1W, 16, Q8CONV_LAYOUT_4W4C, 2000,
                     (q8conv_kernel)test_rng_range(&rng, 1, 3), true, 1);
        /* A large 4C1W input with a small output (the case), legacy kernel. */
        windowed_run(ctx, range, 16, Q8CONV_LAYOUT_4C1W, 4, Q8CONV_LAYOUT_4C1W, 3000, Q8CONV_KERNEL_LEGACY, false, 1);
        /* Stride 3 from a windowed 4W4C input (its window ends inside an image), with uint8 weights
         * and zero points. */
        windowed_run(ctx, range, 12, Q8CONV_LAYOUT_4W4C, 8, Q8CONV_LAYOUT_4C1W, 2001,
                     (q8conv_kernel)test_rng_range(&rng, 1, 3), false, 3);
    }
    refusals(ctx, range);
    test_check_validation(ctx);
    q8conv_context_destroy(ctx);
    return test_finish("stress_huge");
}
