/* A network's activations chained through two device buffers, as a runtime reuses activation
 * memory: layer l reads buffer l % 2 and writes the other one, so each layer reads what the one
 * before it has just written (still in the GPU's caches where it fits) and depends on it (a
 * barrier between every pair). Each buffer is sized for the largest tensor any layer reads or
 * writes; the layers' tensors are wrapped on them with q8conv_tensor_wrap_sized. Shared by the
 * sequence's host time (host_time.c) and the network's runtime-order GPU time (network.c). */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void bench_pingpong_destroy(bench_pingpong *p)
{
    for (int l = 0; l < p->layers; ++l) {
        if (p->in)
            q8conv_tensor_destroy(p->in[l]);
        if (p->out)
            q8conv_tensor_destroy(p->out[l]);
    }
    for (int i = 0; i < 2; ++i) {
        if (p->buffer[i])
            p->destroy_buffer(p->device, p->buffer[i], NULL);
        if (p->memory[i])
            p->free_memory(p->device, p->memory[i], NULL);
    }
    free(p->shape);
    free(p->in);
    free(p->out);
    free(p->x0);
    memset(p, 0, sizeof *p);
}

/* The two buffers on ctx's device, through its own function pointers: the host time's polling
 * context is a device of its own, not the one volk was loaded for. */
static int buffers_create(q8conv_context *ctx, VkDeviceSize size, bench_pingpong *p)
{
    q8conv_vulkan_handles h;
    if (q8conv_context_get_vulkan_handles(ctx, &h) != Q8CONV_SUCCESS)
        return -1;
    PFN_vkGetDeviceProcAddr gdpa = (PFN_vkGetDeviceProcAddr)h.get_instance_proc_addr(h.instance, "vkGetDeviceProcAddr");
    PFN_vkGetPhysicalDeviceMemoryProperties memory_props =
        (PFN_vkGetPhysicalDeviceMemoryProperties)h.get_instance_proc_addr(h.instance, "vkGetPhysicalDeviceMemoryProperties");
    if (!gdpa || !memory_props)
        return -1;
    PFN_vkCreateBuffer create_buffer = (PFN_vkCreateBuffer)gdpa(h.device, "vkCreateBuffer");
    PFN_vkGetBufferMemoryRequirements requirements =
        (PFN_vkGetBufferMemoryRequirements)gdpa(h.device, "vkGetBufferMemoryRequirements");
    PFN_vkAllocateMemory allocate = (PFN_vkAllocateMemory)gdpa(h.device, "vkAllocateMemory");
    PFN_vkBindBufferMemory bind = (PFN_vkBindBufferMemory)gdpa(h.device, "vkBindBufferMemory");
    p->destroy_buffer = (PFN_vkDestroyBuffer)gdpa(h.device, "vkDestroyBuffer");
    p->free_memory = (PFN_vkFreeMemory)gdpa(h.device, "vkFreeMemory");
    p->device = h.device;
    p->size = size;
    if (!create_buffer || !requirements || !allocate || !bind || !p->destroy_buffer || !p->free_memory)
        return -1;
    VkPhysicalDeviceMemoryProperties mp;
    memory_props(h.physical_device, &mp);
    const VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                    .size = size,
                                    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                             VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                    .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    for (int i = 0; i < 2; ++i) {
        if (create_buffer(h.device, &bci, NULL, &p->buffer[i]) != VK_SUCCESS) {
            p->buffer[i] = VK_NULL_HANDLE;
            return -1;
        }
        VkMemoryRequirements req;
        requirements(h.device, p->buffer[i], &req);
        /* Device-local where there is such a type, as the library's own tensors are. */
        uint32_t type = UINT32_MAX;
        for (int pass = 0; pass < 2 && type == UINT32_MAX; ++pass)
            for (uint32_t t = 0; t < mp.memoryTypeCount && type == UINT32_MAX; ++t)
                if ((req.memoryTypeBits & (1u << t)) &&
                    (pass || (mp.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)))
                    type = t;
        const VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                          .allocationSize = req.size,
                                          .memoryTypeIndex = type};
        if (type == UINT32_MAX || allocate(h.device, &mai, NULL, &p->memory[i]) != VK_SUCCESS) {
            p->memory[i] = VK_NULL_HANDLE;
            return -1;
        }
        if (bind(h.device, p->buffer[i], p->memory[i], 0) != VK_SUCCESS)
            return -1;
    }
    return 0;
}

int bench_pingpong_create(q8conv_context *ctx, const bench_options *opt, const bench_shape *shapes, const int *order,
                          int layers, test_rng *rng, bench_pingpong *p)
{
    memset(p, 0, sizeof *p);
    if (layers <= 0)
        return -1;
    p->shape = calloc((size_t)layers, sizeof *p->shape);
    p->in = calloc((size_t)layers, sizeof *p->in);
    p->out = calloc((size_t)layers, sizeof *p->out);
    if (!p->shape || !p->in || !p->out) {
        bench_pingpong_destroy(p);
        return -1;
    }
    p->layers = layers;
    VkDeviceSize largest = 0;
    for (int l = 0; l < layers; ++l) {
        p->shape[l] = shapes[order[l]];
        const q8conv_tensor_desc din = bench_tensor_desc(opt, &p->shape[l], 0);
        const q8conv_tensor_desc dout = bench_tensor_desc(opt, &p->shape[l], 1);
        const VkDeviceSize in_size = q8conv_tensor_size_bytes(&din), out_size = q8conv_tensor_size_bytes(&dout);
        largest = in_size > largest ? in_size : largest;
        largest = out_size > largest ? out_size : largest;
    }
    const bench_shape *s0 = &p->shape[0];
    p->x0_n = (size_t)s0->n * s0->ic * s0->h * s0->w;
    int rc = (p->x0 = malloc(p->x0_n)) ? buffers_create(ctx, largest, p) : -1;
    for (int l = 0; l < layers && rc == 0; ++l) {
        const q8conv_tensor_desc din = bench_tensor_desc(opt, &p->shape[l], 0);
        const q8conv_tensor_desc dout = bench_tensor_desc(opt, &p->shape[l], 1);
        if (q8conv_tensor_wrap_sized(ctx, &din, p->buffer[l % 2], 0, p->size, &p->in[l]) != Q8CONV_SUCCESS ||
            q8conv_tensor_wrap_sized(ctx, &dout, p->buffer[(l + 1) % 2], 0, p->size, &p->out[l]) != Q8CONV_SUCCESS)
            rc = -1;
    }
    if (rc != 0) {
        bench_pingpong_destroy(p);
        return -1;
    }
    test_rng_fill(rng, p->x0, p->x0_n);
    return 0;
}

int bench_pingpong_reset(bench_pingpong *p)
{
    /* The poison first: where the last layer's output shares a buffer with the first layer's
     * input (an even number of layers), the input written after it is what the first layer reads. */
    return test_poison_tensor(p->out[p->layers - 1]) &&
                   q8conv_tensor_write(p->in[0], p->x0, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS
               ? 0
               : -1;
}

int bench_pingpong_check(const bench_pingpong *p, const q8conv_pw_desc *desc, int *exact)
{
    /* Nothing writes the last layer's input buffer after the layer before it, so that layer's
     * output is what the last layer read, whatever the passes before computed. */
    const int last = p->layers - 1;
    const bench_shape *s = &p->shape[last];
    const size_t in_n = (size_t)s->n * s->ic * s->h * s->w, out_n = (size_t)s->n * s->oc * bench_out_h(s) * bench_out_w(s);
    int8_t *x = malloc(in_n), *ref = malloc(out_n), *got = malloc(out_n);
    const int rc = x && ref && got && q8conv_tensor_read(p->in[last], x, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS &&
                           q8conv_pw_reference(desc, s->n, s->h, s->w, x, ref) == Q8CONV_SUCCESS &&
                           q8conv_tensor_read(p->out[last], got, Q8CONV_HOST_NCHW) == Q8CONV_SUCCESS
                       ? 0
                       : -1;
    if (rc == 0)
        *exact = memcmp(ref, got, out_n) == 0;
    free(x);
    free(ref);
    free(got);
    return rc;
}
