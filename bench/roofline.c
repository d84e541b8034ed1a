/* The device's own ceilings, measured with two Vulkan microkernels on the bench's queue, so the
 * table can say how close a kernel runs to what this device and driver actually deliver rather
 * than to a datasheet figure:
 *  - packed int8 dot product: bench/shaders/roof_dot.comp, long chains of OpSDot + add (the library kernel's form);
 *  - bandwidth: vkCmdCopyBuffer between two device-local buffers, counting bytes read + written
 *    (a pointwise convolution reads its input and writes its output once, like a copy).
 * Both are timed with the bench's timestamp queries, median of several runs. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "roof_dot_spv.h"

#define ROOF_REPS 7
/* A run this long dwarfs launch overhead and clock ramp-up, yet the whole calibration stays well
 * under a second on lavapipe. */
#define ROOF_TARGET_US 20000.0
#define ROOF_WG_SIZE 256u         /* local_size_x of roof_dot.comp */
#define ROOF_DOTS_PER_ITER 64.0   /* packed dots per loop iteration of roof_dot.comp */
/* Workgroups before the calibration grows the per-invocation work instead: an H100 runs 132 SMs x
 * 8 such groups at once, so this is some 30 waves and a partly filled last wave costs little. */
#define ROOF_MIN_FILL_GROUPS 32768u

static int vk_ok(VkResult r, const char *what)
{
    if (r == VK_SUCCESS)
        return 1;
    fprintf(stderr, "roofline: %s failed (VkResult %d)\n", what, (int)r);
    return 0;
}

/* ---- device-local buffers ---- */

typedef struct roof_buffer {
    VkBuffer buf;
    VkDeviceMemory mem;
} roof_buffer;

static void buffer_destroy(VkDevice dev, roof_buffer *b)
{
    if (b->buf)
        vkDestroyBuffer(dev, b->buf, NULL);
    if (b->mem)
        vkFreeMemory(dev, b->mem, NULL);
    memset(b, 0, sizeof *b);
}

/* Returns VK_SUCCESS or the failing call's result; a failure leaves *b empty. */
static VkResult buffer_create(const bench_gpu *g, VkDeviceSize size, VkBufferUsageFlags usage, roof_buffer *b)
{
    VkDevice dev = g->vk.device;
    memset(b, 0, sizeof *b);
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size,
                              .usage = usage,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vkCreateBuffer(dev, &bci, NULL, &b->buf);
    if (r != VK_SUCCESS) {
        b->buf = VK_NULL_HANDLE;
        return r;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev, b->buf, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(g->vk.physical_device, &mp);
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < mp.memoryTypeCount && type == UINT32_MAX; ++i)
        if ((req.memoryTypeBits & (1u << i)) &&
            (mp.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            type = i;
    if (type == UINT32_MAX) {
        buffer_destroy(dev, b);
        return VK_ERROR_FEATURE_NOT_PRESENT;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    r = vkAllocateMemory(dev, &mai, NULL, &b->mem);
    if (r != VK_SUCCESS) {
        b->mem = VK_NULL_HANDLE;
        buffer_destroy(dev, b);
        return r;
    }
    r = vkBindBufferMemory(dev, b->buf, b->mem, 0);
    if (r != VK_SUCCESS)
        buffer_destroy(dev, b);
    return r;
}

/* ---- (a) packed int8 dot product ---- */

typedef struct dot_kernel {
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    VkDescriptorPool pool;
    VkDescriptorSet set;
    roof_buffer sink;
} dot_kernel;

typedef struct dot_params {
    uint32_t iters, seed;
    int32_t magic;
} dot_params;

static void dot_destroy(VkDevice dev, dot_kernel *k)
{
    if (k->pool)
        vkDestroyDescriptorPool(dev, k->pool, NULL);
    if (k->pipeline)
        vkDestroyPipeline(dev, k->pipeline, NULL);
    if (k->layout)
        vkDestroyPipelineLayout(dev, k->layout, NULL);
    if (k->set_layout)
        vkDestroyDescriptorSetLayout(dev, k->set_layout, NULL);
    if (k->module)
        vkDestroyShaderModule(dev, k->module, NULL);
    buffer_destroy(dev, &k->sink);
    memset(k, 0, sizeof *k);
}

static int dot_create(const bench_gpu *g, dot_kernel *k)
{
    VkDevice dev = g->vk.device;
    memset(k, 0, sizeof *k);
    if (!vk_ok(buffer_create(g, 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, &k->sink), "sink buffer"))
        return -1;
    VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                     .codeSize = sizeof roof_dot_spv,
                                     .pCode = roof_dot_spv};
    if (!vk_ok(vkCreateShaderModule(dev, &smci, NULL, &k->module), "vkCreateShaderModule"))
        return -1;
    VkDescriptorSetLayoutBinding binding = {.binding = 0,
                                            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                            .descriptorCount = 1,
                                            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dslci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                             .bindingCount = 1,
                                             .pBindings = &binding};
    if (!vk_ok(vkCreateDescriptorSetLayout(dev, &dslci, NULL, &k->set_layout), "vkCreateDescriptorSetLayout"))
        return -1;
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = sizeof(dot_params)};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = 1,
                                       .pSetLayouts = &k->set_layout,
                                       .pushConstantRangeCount = 1,
                                       .pPushConstantRanges = &pcr};
    if (!vk_ok(vkCreatePipelineLayout(dev, &plci, NULL, &k->layout), "vkCreatePipelineLayout"))
        return -1;
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = k->module,
                  .pName = "main"},
        .layout = k->layout};
    if (!vk_ok(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, NULL, &k->pipeline),
               "vkCreateComputePipelines"))
        return -1;
    VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1};
    VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = 1,
                                       .poolSizeCount = 1,
                                       .pPoolSizes = &ps};
    if (!vk_ok(vkCreateDescriptorPool(dev, &dpci, NULL, &k->pool), "vkCreateDescriptorPool"))
        return -1;
    VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                        .descriptorPool = k->pool,
                                        .descriptorSetCount = 1,
                                        .pSetLayouts = &k->set_layout};
    if (!vk_ok(vkAllocateDescriptorSets(dev, &dsai, &k->set), "vkAllocateDescriptorSets"))
        return -1;
    VkDescriptorBufferInfo dbi = {.buffer = k->sink.buf, .offset = 0, .range = VK_WHOLE_SIZE};
    VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                              .dstSet = k->set,
                              .dstBinding = 0,
                              .descriptorCount = 1,
                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                              .pBufferInfo = &dbi};
    vkUpdateDescriptorSets(dev, 1, &w, 0, NULL);
    return 0;
}

/* Runs `reps` timed dispatches of groups_x * groups_y workgroups; durations in us. */
static int dot_time(bench_gpu *g, const dot_kernel *k, uint32_t groups_x, uint32_t groups_y, uint32_t iters,
                    int reps, double *us)
{
    if (bench_gpu_begin(g) != 0)
        return -1;
    const dot_params p = {.iters = iters, .seed = 0x9E3779B9u, .magic = 0x7FFFFFF1};
    vkCmdBindPipeline(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
    vkCmdBindDescriptorSets(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &k->set, 0, NULL);
    vkCmdPushConstants(g->cmd, k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof p, &p);
    for (int r = 0; r < reps; ++r) {
        bench_gpu_barrier(g);
        bench_gpu_stamp(g, (uint32_t)(2 * r));
        vkCmdDispatch(g->cmd, groups_x, groups_y, 1);
        bench_gpu_stamp(g, (uint32_t)(2 * r + 1));
    }
    if (bench_gpu_submit(g) != 0 || bench_gpu_durations(g, reps, us) != 0)
        return -1;
    return 0;
}

/* Splits a workgroup count over x and y within the device's per-dimension limit. */
static void split_groups(uint64_t groups, uint32_t max_x, uint32_t *gx, uint32_t *gy)
{
    if (groups <= max_x) {
        *gx = (uint32_t)groups;
        *gy = 1;
    } else {
        *gx = max_x;
        *gy = (uint32_t)((groups + max_x - 1) / max_x);
    }
}

static int measure_dot(bench_gpu *g, const q8conv_context_info *info, double *tops)
{
    dot_kernel k;
    int rc = dot_create(g, &k);
    const uint32_t max_x = info->max_compute_workgroup_count[0];
    const uint32_t max_y = info->max_compute_workgroup_count[1];
    uint64_t groups = 64;
    uint32_t iters = 16;
    double t = 0;
    /* Calibration: grow the grid until it fills the device, then the per-invocation work, until
     * one dispatch takes ROOF_TARGET_US. */
    for (int step = 0; rc == 0 && step < 40; ++step) {
        uint32_t gx, gy;
        split_groups(groups, max_x, &gx, &gy);
        if (gy > max_y) {
            rc = -1;
            break;
        }
        /* Two dispatches, the second one counted: the first of a pipeline pays for its warm-up
         * (lavapipe's worker threads start, a GPU's clocks ramp). */
        double two[2];
        rc = dot_time(g, &k, gx, gy, iters, 2, two);
        if (rc != 0)
            break;
        t = two[1];
        if (t >= ROOF_TARGET_US)
            break;
        /* Grow by the missing factor, at most 8x at a time (the first runs are dominated by
         * launch overhead and understate how long a larger one takes). */
        double f = t > 0 ? ROOF_TARGET_US / t : 8.0;
        if (f > 8.0)
            f = 8.0;
        if (f < 1.25)
            f = 1.25;
        if (groups < ROOF_MIN_FILL_GROUPS)
            groups = (uint64_t)((double)groups * f + 1);
        else if (iters < (1u << 20))
            iters = (uint32_t)((double)iters * f + 1);
        else
            break;
    }
    double us[ROOF_REPS];
    uint32_t gx = 0, gy = 0;
    if (rc == 0) {
        split_groups(groups, max_x, &gx, &gy);
        rc = dot_time(g, &k, gx, gy, iters, ROOF_REPS, us);
    }
    if (rc == 0) {
        double med = bench_median(us, ROOF_REPS);
        double dots = (double)gx * gy * ROOF_WG_SIZE * iters * ROOF_DOTS_PER_ITER;
        /* 4 multiply-adds per packed dot, 2 ops each. */
        *tops = med > 0 ? dots * 8.0 / (med * 1e-6) * 1e-12 : 0;
        fprintf(stderr, "roofline: dot %u x %u groups x %u iters: %.1f us median -> %.3f TOPS\n", gx, gy, iters,
                med, *tops);
        if (*tops <= 0)
            rc = -1;
    }
    dot_destroy(g->vk.device, &k);
    return rc;
}

/* ---- (b) copy bandwidth ---- */

static int measure_copy(bench_gpu *g, double *gbps)
{
    VkDevice dev = g->vk.device;
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(g->vk.physical_device, &props);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(g->vk.physical_device, &mp);
    /* Large enough that no cache holds it (an H100 has 50 MiB of L2); a CPU device (lavapipe)
     * gets 64 MiB, which is past its caches and keeps the run short. */
    VkDeviceSize size = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 64ull << 20 : 512ull << 20;
    VkDeviceSize largest_heap = 0;
    for (uint32_t i = 0; i < mp.memoryHeapCount; ++i)
        if ((mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp.memoryHeaps[i].size > largest_heap)
            largest_heap = mp.memoryHeaps[i].size;
    while (size > (16ull << 20) && 2 * size > largest_heap / 4)
        size /= 2;

    roof_buffer src = {0}, dst = {0};
    const VkBufferUsageFlags usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkResult r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    for (; size >= (16ull << 20); size /= 2) {
        r = buffer_create(g, size, usage, &src);
        if (r == VK_SUCCESS)
            r = buffer_create(g, size, usage, &dst);
        if (r == VK_SUCCESS)
            break;
        buffer_destroy(dev, &src);
        if (r != VK_ERROR_OUT_OF_DEVICE_MEMORY && r != VK_ERROR_OUT_OF_HOST_MEMORY)
            break;
    }
    if (!vk_ok(r, "copy buffers")) {
        buffer_destroy(dev, &src);
        buffer_destroy(dev, &dst);
        return -1;
    }

    int rc = bench_gpu_begin(g);
    if (rc == 0) {
        /* Untimed fills first: they make both buffers resident (first touch costs page faults on a
         * CPU device and may on a GPU too) and give the copies defined bytes to move. */
        vkCmdFillBuffer(g->cmd, src.buf, 0, VK_WHOLE_SIZE, 0x5A5A5A5Au);
        vkCmdFillBuffer(g->cmd, dst.buf, 0, VK_WHOLE_SIZE, 0);
        VkBufferCopy region = {.srcOffset = 0, .dstOffset = 0, .size = size};
        for (int i = 0; i < ROOF_REPS; ++i) {
            bench_gpu_barrier(g);
            bench_gpu_stamp(g, (uint32_t)(2 * i));
            vkCmdCopyBuffer(g->cmd, src.buf, dst.buf, 1, &region);
            bench_gpu_stamp(g, (uint32_t)(2 * i + 1));
        }
        rc = bench_gpu_submit(g);
    }
    double us[ROOF_REPS];
    if (rc == 0)
        rc = bench_gpu_durations(g, ROOF_REPS, us);
    if (rc == 0) {
        double med = bench_median(us, ROOF_REPS);
        *gbps = med > 0 ? 2.0 * (double)size / (med * 1e-6) * 1e-9 : 0;
        fprintf(stderr, "roofline: copy %llu MiB: %.1f us median -> %.1f GB/s (read + write)\n",
                (unsigned long long)(size >> 20), med, *gbps);
        if (*gbps <= 0)
            rc = -1;
    }
    buffer_destroy(dev, &src);
    buffer_destroy(dev, &dst);
    return rc;
}

int bench_roofline(bench_gpu *g, const bench_options *opt, bench_roof *roof)
{
    (void)opt;
    memset(roof, 0, sizeof *roof);
    q8conv_context_info info;
    if (q8conv_context_get_info(g->ctx, &info) != Q8CONV_SUCCESS)
        return -1;
    if (!info.integer_dot_product_supported)
        fprintf(stderr, "roofline: no integer dot product on this device; dot ceiling not measured\n");
    else if (measure_dot(g, &info, &roof->dot_tops) != 0)
        roof->dot_tops = 0;
    if (measure_copy(g, &roof->copy_gbps) != 0)
        roof->copy_gbps = 0;
    /* Valid when either was measured; a missing ceiling stays 0, which the report shows as not
     * measured rather than as a percentage of nothing. */
    roof->valid = roof->dot_tops > 0 || roof->copy_gbps > 0;
    return roof->valid ? 0 : -1;
}
