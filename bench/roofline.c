/* The device's own ceilings, measured with Vulkan microkernels on the bench's queue, so the
 * table can say how close a kernel runs to what this device and driver actually deliver rather
 * than to a datasheet figure:
 *  - packed int8 dot product: bench/shaders/roof_dot.comp, long chains of OpSDot + add (the library kernel's form);
 *  - bandwidth: a copy between two device-local buffers, counting bytes read + written (a
 *    pointwise convolution reads its input and writes its output once, like a copy), two ways:
 *    bench/shaders/roof_copy.comp and vkCmdCopyBuffer. The ceiling is the faster of the two:
 *    vkCmdCopyBuffer alone can sit far below what shaders reach (an H100 measured 850 GB/s with it
 *    where a CUDA copy reaches 3.0 TB/s, and the library's kernels 715 GB/s), which would make
 *    it no ceiling at all for the library's compute kernels.
 *  - the dispatch floor: bench/shaders/floor_empty.comp, an empty dispatch chained the way the
 *    layers' runs are chained (bench_gpu_chain), with and without the barrier between them: the
 *    least a layer of a chain of dependent layers can cost.
 *  - a layer's floor: bench/shaders/floor_layer.comp, a copy of exactly the bytes one layer moves,
 *    chained and rotated like the layer's runs: the least that layer can cost in a chain.
 *  - the network of floors: every layer's floor copy recorded in network order in runtime order
 *    (activations through two regions, as network.c's warm figure): the least the network can
 *    cost as a runtime runs it.
 * All are timed with the bench's timestamp queries, median of several runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "floor_empty_spv.h"
#include "floor_layer_spv.h"
#include "roof_copy_spv.h"
#include "roof_dot_spv.h"
#include "roof_coopmat_spv.h"

#define ROOF_REPS 7
/* A run this long dwarfs launch overhead and clock ramp-up, yet the whole calibration stays well
 * under a second on lavapipe. */
#define ROOF_TARGET_US 20000.0
#define ROOF_WG_SIZE 256u         /* local_size_x of roof_dot.comp and roof_copy.comp */
#define ROOF_DOTS_PER_ITER 64.0   /* packed dots per loop iteration of roof_dot.comp */
/* Workgroups before the calibration grows the per-invocation work instead: an H100 runs 132 SMs x
 * 8 such groups at once, so this is some 30 waves and a partly filled last wave costs little. */
#define ROOF_MIN_FILL_GROUPS 32768u
/* roof_copy.comp: 16-byte blocks, ROOF_COPY_UNROLL (1: what saturated an H100's HBM best, see the
 * shader) of them per invocation, so one workgroup copies a 4 KiB tile; keep the two in step. */
#define ROOF_COPY_BLOCK 16u
#define ROOF_COPY_BLOCKS_PER_GROUP (1u * ROOF_WG_SIZE)
/* Untimed copies before the timed ones, in the same submission so the device does not idle in
 * between: the first run of a pipeline pays for its warm-up, and caches/TLBs start cold. */
#define ROOF_COPY_WARMUP 3

static int vk_ok(VkResult r, const char *what)
{
    if (r == VK_SUCCESS)
        return 1;
    fprintf(stderr, "roofline: %s failed (VkResult %d)\n", what, (int)r);
    return 0;
}

/* ---- buffers ---- */

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

/* Memory of the first type with all of `props`. Returns VK_SUCCESS or the failing call's result; a
 * failure leaves *b empty. */
static VkResult buffer_create(const bench_gpu *g, VkDeviceSize size, VkBufferUsageFlags usage,
                              VkMemoryPropertyFlags props, roof_buffer *b)
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
            (mp.memoryTypes[i].propertyFlags & props) == props)
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

/* ---- a compute pipeline over storage buffers ---- */

#define ROOF_MAX_BINDINGS 2

typedef struct roof_pipeline {
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    VkDescriptorPool pool;
    VkDescriptorSet set; /* freed with the pool */
} roof_pipeline;

static void pipeline_destroy(VkDevice dev, roof_pipeline *p)
{
    if (p->pool)
        vkDestroyDescriptorPool(dev, p->pool, NULL);
    if (p->pipeline)
        vkDestroyPipeline(dev, p->pipeline, NULL);
    if (p->layout)
        vkDestroyPipelineLayout(dev, p->layout, NULL);
    if (p->set_layout)
        vkDestroyDescriptorSetLayout(dev, p->set_layout, NULL);
    if (p->module)
        vkDestroyShaderModule(dev, p->module, NULL);
    memset(p, 0, sizeof *p);
}

/* The shader `code` with storage buffer bindings 0..nbuf-1 = bufs[] in set 0 (no set at all for
 * nbuf 0) and `push_size` bytes of push constants; local_size, when not 0, is specialization
 * constant 0 (a shader's local_size_x_id). On failure the objects made so far stay in *p for
 * pipeline_destroy. */
static int pipeline_create_sized(const bench_gpu *g, const uint32_t *code, size_t code_size, uint32_t nbuf,
                                 const VkDescriptorBufferInfo *bufs, uint32_t push_size, uint32_t local_size,
                                 roof_pipeline *p)
{
    VkDevice dev = g->vk.device;
    memset(p, 0, sizeof *p);
    if (nbuf > ROOF_MAX_BINDINGS)
        return -1;
    VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                     .codeSize = code_size,
                                     .pCode = code};
    if (!vk_ok(vkCreateShaderModule(dev, &smci, NULL, &p->module), "vkCreateShaderModule"))
        return -1;
    VkDescriptorSetLayoutBinding bindings[ROOF_MAX_BINDINGS];
    const uint32_t nsets = nbuf ? 1 : 0;
    for (uint32_t i = 0; i < nbuf; ++i)
        bindings[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                                     .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                     .descriptorCount = 1,
                                                     .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dslci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                             .bindingCount = nbuf,
                                             .pBindings = bindings};
    if (nsets && !vk_ok(vkCreateDescriptorSetLayout(dev, &dslci, NULL, &p->set_layout), "vkCreateDescriptorSetLayout"))
        return -1;
    VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = push_size};
    VkPipelineLayoutCreateInfo plci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                       .setLayoutCount = nsets,
                                       .pSetLayouts = &p->set_layout,
                                       .pushConstantRangeCount = push_size ? 1 : 0,
                                       .pPushConstantRanges = push_size ? &pcr : NULL};
    if (!vk_ok(vkCreatePipelineLayout(dev, &plci, NULL, &p->layout), "vkCreatePipelineLayout"))
        return -1;
    const VkSpecializationMapEntry entry = {.constantID = 0, .offset = 0, .size = sizeof local_size};
    const VkSpecializationInfo spec = {.mapEntryCount = 1, .pMapEntries = &entry, .dataSize = sizeof local_size,
                                       .pData = &local_size};
    VkComputePipelineCreateInfo cpci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = p->module,
                  .pName = "main",
                  .pSpecializationInfo = local_size ? &spec : NULL},
        .layout = p->layout};
    if (!vk_ok(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, NULL, &p->pipeline),
               "vkCreateComputePipelines"))
        return -1;
    if (!nsets)
        return 0;
    VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = nbuf};
    VkDescriptorPoolCreateInfo dpci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .maxSets = 1,
                                       .poolSizeCount = 1,
                                       .pPoolSizes = &ps};
    if (!vk_ok(vkCreateDescriptorPool(dev, &dpci, NULL, &p->pool), "vkCreateDescriptorPool"))
        return -1;
    VkDescriptorSetAllocateInfo dsai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                        .descriptorPool = p->pool,
                                        .descriptorSetCount = 1,
                                        .pSetLayouts = &p->set_layout};
    if (!vk_ok(vkAllocateDescriptorSets(dev, &dsai, &p->set), "vkAllocateDescriptorSets"))
        return -1;
    VkWriteDescriptorSet w[ROOF_MAX_BINDINGS];
    for (uint32_t i = 0; i < nbuf; ++i)
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = p->set,
                                      .dstBinding = i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &bufs[i]};
    vkUpdateDescriptorSets(dev, nbuf, w, 0, NULL);
    return 0;
}

static int pipeline_create(const bench_gpu *g, const uint32_t *code, size_t code_size, uint32_t nbuf,
                           const VkDescriptorBufferInfo *bufs, uint32_t push_size, roof_pipeline *p)
{
    return pipeline_create_sized(g, code, code_size, nbuf, bufs, push_size, 0, p);
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

/* ---- (a) packed int8 dot product ---- */

typedef struct dot_kernel {
    roof_pipeline p;
    roof_buffer sink;
} dot_kernel;

typedef struct dot_params {
    uint32_t iters, seed;
    int32_t magic;
} dot_params;

static void dot_destroy(VkDevice dev, dot_kernel *k)
{
    pipeline_destroy(dev, &k->p);
    buffer_destroy(dev, &k->sink);
}

/* Runs `reps` timed dispatches of groups_x * groups_y workgroups; durations in us. */
static int dot_time(bench_gpu *g, const dot_kernel *k, uint32_t groups_x, uint32_t groups_y, uint32_t iters,
                    int reps, double *us)
{
    if (bench_gpu_begin(g) != 0)
        return -1;
    const dot_params p = {.iters = iters, .seed = 0x9E3779B9u, .magic = 0x7FFFFFF1};
    vkCmdBindPipeline(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->p.pipeline);
    vkCmdBindDescriptorSets(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k->p.layout, 0, 1, &k->p.set, 0, NULL);
    vkCmdPushConstants(g->cmd, k->p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof p, &p);
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

/* Calibrates and times a throughput microkernel (push constants {iters, seed, magic}, one sink
 * buffer): grows the grid until it fills the device, then the per-invocation work, until one
 * dispatch takes ROOF_TARGET_US; then the median of ROOF_REPS dispatches: *us_median, and the
 * workgroups times iterations it ran (*groups_iters, its grid and iterations beside). 0 on success. */
static int time_throughput(bench_gpu *g, const q8conv_context_info *info, const uint32_t *code, size_t code_size,
                           double *groups_iters, double *us_median, uint32_t *gx_out, uint32_t *gy_out,
                           uint32_t *iters_out)
{
    dot_kernel k;
    memset(&k, 0, sizeof k);
    int rc = vk_ok(buffer_create(g, 256, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                 &k.sink),
                   "sink buffer")
                 ? 0
                 : -1;
    VkDescriptorBufferInfo dbi = {.buffer = k.sink.buf, .offset = 0, .range = VK_WHOLE_SIZE};
    if (rc == 0)
        rc = pipeline_create(g, code, code_size, 1, &dbi, sizeof(dot_params), &k.p);
    const uint32_t max_x = info->max_compute_workgroup_count[0];
    const uint32_t max_y = info->max_compute_workgroup_count[1];
    uint64_t groups = 64;
    uint32_t iters = 16;
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
        if (rc != 0 || two[1] >= ROOF_TARGET_US)
            break;
        /* Grow by the missing factor, at most 8x at a time (the first runs are dominated by
         * launch overhead and understate how long a larger one takes). */
        double f = two[1] > 0 ? ROOF_TARGET_US / two[1] : 8.0;
        f = f > 8.0 ? 8.0 : f < 1.25 ? 1.25 : f;
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
        *us_median = bench_median(us, ROOF_REPS);
        *groups_iters = (double)gx * gy * iters;
        *gx_out = gx;
        *gy_out = gy;
        *iters_out = iters;
    }
    dot_destroy(g->vk.device, &k);
    return rc;
}

static int measure_dot(bench_gpu *g, const q8conv_context_info *info, double *tops)
{
    double groups_iters = 0, med = 0;
    uint32_t gx, gy, iters;
    if (time_throughput(g, info, roof_dot_spv, sizeof roof_dot_spv, &groups_iters, &med, &gx, &gy, &iters) != 0)
        return -1;
    const double dots = groups_iters * ROOF_WG_SIZE * ROOF_DOTS_PER_ITER;
    /* 4 multiply-adds per packed dot, 2 ops each. */
    *tops = med > 0 ? dots * 8.0 / (med * 1e-6) * 1e-12 : 0;
    fprintf(stderr, "roofline: dot %u x %u groups x %u iters: %.1f us median -> %.3f TOPS\n", gx, gy, iters, med,
            *tops);
    return *tops > 0 ? 0 : -1;
}

/* ---- (a') int8 cooperative matrices ---- */

/* roof_coopmat.comp: workgroups of 128 invocations, each subgroup running 4 products of
 * 16 x 16 x 32 (8192 multiply-adds each) per iteration. */
#define ROOF_CM_WG_SIZE 128u
#define ROOF_CM_MACS_PER_SUBGROUP_ITER (4.0 * 16.0 * 16.0 * 32.0)

static int measure_coopmat(bench_gpu *g, const q8conv_context_info *info, double *tops)
{
    double groups_iters = 0, med = 0;
    uint32_t gx, gy, iters;
    if (time_throughput(g, info, roof_coopmat_spv, sizeof roof_coopmat_spv, &groups_iters, &med, &gx, &gy, &iters) != 0)
        return -1;
    const double subgroups_per_group = ROOF_CM_WG_SIZE / (info->subgroup_size ? info->subgroup_size : 32u);
    *tops = med > 0 ? groups_iters * subgroups_per_group * ROOF_CM_MACS_PER_SUBGROUP_ITER * 2.0 / (med * 1e-6) * 1e-12
                    : 0;
    fprintf(stderr, "roofline: cooperative matrices %u x %u groups x %u iters: %.1f us median -> %.1f TOPS\n", gx, gy,
            iters, med, *tops);
    return *tops > 0 ? 0 : -1;
}

/* ---- (b) copy bandwidth ---- */

/* GB/s of a copy of `bytes` (read + written) from its durations; 0 when the timestamps measured
 * no time. */
static double copy_gbps(double *us, double bytes)
{
    double med = bench_median(us, ROOF_REPS);
    return med > 0 ? 2.0 * bytes / (med * 1e-6) * 1e-9 : 0;
}

/* vkCmdCopyBuffer of the whole of src to dst, ROOF_COPY_WARMUP untimed then ROOF_REPS timed. */
static int time_copy_cmd(bench_gpu *g, const roof_buffer *src, const roof_buffer *dst, VkDeviceSize size,
                         double *us)
{
    if (bench_gpu_begin(g) != 0)
        return -1;
    VkBufferCopy region = {.srcOffset = 0, .dstOffset = 0, .size = size};
    for (int i = 0; i < ROOF_COPY_WARMUP; ++i) {
        bench_gpu_barrier(g);
        vkCmdCopyBuffer(g->cmd, src->buf, dst->buf, 1, &region);
    }
    for (int i = 0; i < ROOF_REPS; ++i) {
        bench_gpu_barrier(g);
        bench_gpu_stamp(g, (uint32_t)(2 * i));
        vkCmdCopyBuffer(g->cmd, src->buf, dst->buf, 1, &region);
        bench_gpu_stamp(g, (uint32_t)(2 * i + 1));
    }
    if (bench_gpu_submit(g) != 0 || bench_gpu_durations(g, ROOF_REPS, us) != 0)
        return -1;
    return 0;
}

/* roof_copy.comp over the first `bytes` of src and dst (a multiple of ROOF_COPY_BLOCK), ROOF_REPS
 * timed runs after ROOF_COPY_WARMUP untimed ones. dst must hold none of src's bytes beforehand:
 * afterwards its first, middle and last blocks are read back through `probe` (host-visible,
 * 3 blocks) and must equal src's fill word, so a shader that copied nothing (a wrong binding, a
 * grid that missed the data) fails here instead of reporting an impossible bandwidth. */
static int time_copy_shader(bench_gpu *g, const q8conv_context_info *info, const roof_buffer *src,
                            const roof_buffer *dst, VkDeviceSize bytes, const roof_buffer *probe,
                            const void *probe_map, uint32_t fill, double *us)
{
    VkDevice dev = g->vk.device;
    const uint64_t blocks = bytes / ROOF_COPY_BLOCK;
    const uint64_t groups = (blocks + ROOF_COPY_BLOCKS_PER_GROUP - 1) / ROOF_COPY_BLOCKS_PER_GROUP;
    uint32_t gx, gy;
    split_groups(groups, info->max_compute_workgroup_count[0], &gx, &gy);
    /* The shader indexes blocks with 32-bit uints; maxStorageBufferRange (a uint32_t) keeps
     * `blocks` far below that, and the grid must fit the device's limits. */
    if (blocks == 0 || blocks > UINT32_MAX / 2 || gy > info->max_compute_workgroup_count[1]) {
        fprintf(stderr, "roofline: shader copy of %llu blocks does not fit the device's grid\n",
                (unsigned long long)blocks);
        return -1;
    }
    const uint32_t push = (uint32_t)blocks;
    VkDescriptorBufferInfo dbi[2] = {{.buffer = src->buf, .offset = 0, .range = bytes},
                                     {.buffer = dst->buf, .offset = 0, .range = bytes}};
    roof_pipeline k;
    int rc = pipeline_create(g, roof_copy_spv, sizeof roof_copy_spv, 2, dbi, sizeof push, &k);
    if (rc == 0)
        rc = bench_gpu_begin(g);
    if (rc == 0) {
        vkCmdBindPipeline(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k.pipeline);
        vkCmdBindDescriptorSets(g->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, k.layout, 0, 1, &k.set, 0, NULL);
        vkCmdPushConstants(g->cmd, k.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, &push);
        for (int i = 0; i < ROOF_COPY_WARMUP; ++i) {
            bench_gpu_barrier(g);
            vkCmdDispatch(g->cmd, gx, gy, 1);
        }
        for (int i = 0; i < ROOF_REPS; ++i) {
            bench_gpu_barrier(g);
            bench_gpu_stamp(g, (uint32_t)(2 * i));
            vkCmdDispatch(g->cmd, gx, gy, 1);
            bench_gpu_stamp(g, (uint32_t)(2 * i + 1));
        }
        /* The probe: shader writes -> transfer reads, then transfer writes -> host reads. */
        bench_gpu_barrier(g);
        const VkDeviceSize last = (blocks - 1) * ROOF_COPY_BLOCK;
        VkBufferCopy regions[3] = {
            {.srcOffset = 0, .dstOffset = 0, .size = ROOF_COPY_BLOCK},
            {.srcOffset = (blocks / 2) * ROOF_COPY_BLOCK, .dstOffset = ROOF_COPY_BLOCK, .size = ROOF_COPY_BLOCK},
            {.srcOffset = last, .dstOffset = 2 * ROOF_COPY_BLOCK, .size = ROOF_COPY_BLOCK}};
        vkCmdCopyBuffer(g->cmd, dst->buf, probe->buf, 3, regions);
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(g->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL,
                             0, NULL);
        rc = bench_gpu_submit(g);
    }
    if (rc == 0)
        rc = bench_gpu_durations(g, ROOF_REPS, us);
    if (rc == 0) {
        uint32_t words[3 * ROOF_COPY_BLOCK / 4];
        memcpy(words, probe_map, sizeof words);
        for (size_t i = 0; i < sizeof words / sizeof words[0]; ++i)
            if (words[i] != fill) {
                fprintf(stderr, "roofline: the shader copy left word %zu of the probe at 0x%08X (want 0x%08X)\n",
                        i, words[i], fill);
                rc = -1;
                break;
            }
    }
    pipeline_destroy(dev, &k);
    return rc;
}

/* Both copy methods over the same two buffers; copy_gbps is the faster, the ceiling. */
static int measure_copy(bench_gpu *g, const q8conv_context_info *info, bench_roof *roof)
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

    roof_buffer src = {0}, dst = {0}, probe = {0};
    const VkBufferUsageFlags usage =
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    VkResult r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    for (; size >= (16ull << 20); size /= 2) {
        r = buffer_create(g, size, usage, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &src);
        if (r == VK_SUCCESS)
            r = buffer_create(g, size, usage, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &dst);
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

    /* Untimed fills first: they make both buffers resident (first touch costs page faults on a
     * CPU device and may on a GPU too), give the copies defined bytes to move, and leave dst
     * without src's word for the shader copy's check. */
    const uint32_t fill = 0x5A5A5A5Au;
    int rc = bench_gpu_begin(g);
    if (rc == 0) {
        vkCmdFillBuffer(g->cmd, src.buf, 0, VK_WHOLE_SIZE, fill);
        vkCmdFillBuffer(g->cmd, dst.buf, 0, VK_WHOLE_SIZE, 0);
        rc = bench_gpu_submit(g);
    }
    double us[ROOF_REPS];

    /* The shader first, while dst still holds zeros. Its descriptors cover at most
     * maxStorageBufferRange (128 MiB in the worst case the spec allows: still far past any L2),
     * so it may copy less than the whole buffers; its GB/s counts what it copied. */
    VkDeviceSize shader_bytes = size;
    if (shader_bytes > info->max_storage_buffer_range)
        shader_bytes = info->max_storage_buffer_range / ROOF_COPY_BLOCK * ROOF_COPY_BLOCK;
    void *map = NULL;
    if (rc == 0 && vk_ok(buffer_create(g, 3 * ROOF_COPY_BLOCK, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                       &probe),
                         "probe buffer") &&
        vk_ok(vkMapMemory(dev, probe.mem, 0, VK_WHOLE_SIZE, 0, &map), "vkMapMemory") &&
        time_copy_shader(g, info, &src, &dst, shader_bytes, &probe, map, fill, us) == 0) {
        roof->copy_shader_gbps = copy_gbps(us, (double)shader_bytes);
        fprintf(stderr, "roofline: shader copy %llu MiB: %.1f us median -> %.1f GB/s (read + write)\n",
                (unsigned long long)(shader_bytes >> 20), bench_median(us, ROOF_REPS), roof->copy_shader_gbps);
    }
    if (map)
        vkUnmapMemory(dev, probe.mem);
    buffer_destroy(dev, &probe);

    if (rc == 0 && time_copy_cmd(g, &src, &dst, size, us) == 0) {
        roof->copy_cmd_gbps = copy_gbps(us, (double)size);
        fprintf(stderr, "roofline: vkCmdCopyBuffer %llu MiB: %.1f us median -> %.1f GB/s (read + write)\n",
                (unsigned long long)(size >> 20), bench_median(us, ROOF_REPS), roof->copy_cmd_gbps);
    }
    buffer_destroy(dev, &src);
    buffer_destroy(dev, &dst);

    /* Kernels are judged against the best copy this device does, whichever way it does it. */
    roof->copy_gbps = roof->copy_shader_gbps > roof->copy_cmd_gbps ? roof->copy_shader_gbps : roof->copy_cmd_gbps;
    return roof->copy_gbps > 0 ? 0 : -1;
}

/* ---- (c) the dispatch floor ---- */

/* One empty dispatch. The pipeline is bound at the first step only: a bind is state, and what the
 * floor measures is what every dispatch of a chain pays. */
static int record_empty(void *user, VkCommandBuffer cmd, int step)
{
    const roof_pipeline *p = user;
    if (step == 0)
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdDispatch(cmd, 1, 1, 1);
    return 0;
}

/* ---- (d) a layer's floor: bench/shaders/floor_layer.comp ---- */

/* Workgroup sizes the layer floor is timed with; the faster is its floor. 256 saturated an H100's
 * HBM on large copies (roof_copy.comp); 64 spreads a small layer's few blocks over more SMs. */
static const uint32_t floor_layer_wg[] = {64u, 256u};
#define FLOOR_LAYER_WGS ((int)(sizeof floor_layer_wg / sizeof floor_layer_wg[0]))

typedef struct floor_params {
    uint32_t in_base, in_blocks, w_base, w_blocks, out_base, out_blocks, never;
} floor_params;

typedef struct floor_layer {
    roof_pipeline p;
    floor_params pc;
    int sets;
    uint32_t gx, gy;
} floor_layer;

/* Step `step` moves set step % sets, as the layer's chained runs do; the pipeline and the buffers
 * are bound at the first step only, each step pushes its set's offsets. */
static int record_floor_layer(void *user, VkCommandBuffer cmd, int step)
{
    const floor_layer *c = user;
    if (step == 0) {
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->p.pipeline);
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->p.layout, 0, 1, &c->p.set, 0, NULL);
    }
    floor_params pc = c->pc;
    const uint32_t set = (uint32_t)(step % c->sets);
    pc.in_base = set * pc.in_blocks;
    pc.out_base = set * pc.out_blocks;
    vkCmdPushConstants(cmd, c->p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
    vkCmdDispatch(cmd, c->gx, c->gy, 1);
    return 0;
}

static uint64_t blocks_of(uint64_t bytes) { return (bytes + 15u) / 16u; }

/* Workgroup size k of the floor copy, within the device's limit. */
static uint32_t floor_wg_size(const q8conv_context_info *info, int k)
{
    return floor_layer_wg[k] < info->max_compute_workgroup_invocations ? floor_layer_wg[k]
                                                                       : info->max_compute_workgroup_invocations;
}

/* A device-local buffer for the floor copies, filled with zeros: defined bytes to move, never equal
 * to the shader's pc.never; the fill also makes it resident before the timed copies. */
static int floor_buffer(bench_gpu *g, uint64_t bytes, const char *what, roof_buffer *b)
{
    if (!vk_ok(buffer_create(g, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, b), what) ||
        bench_gpu_begin(g) != 0)
        return -1;
    vkCmdFillBuffer(g->cmd, b->buf, 0, VK_WHOLE_SIZE, 0);
    return bench_gpu_submit(g);
}

int bench_floor_layer(bench_gpu *g, const bench_options *opt, uint64_t in_bytes, uint64_t weight_bytes,
                      uint64_t out_bytes, int sets, double *us_each, int *best_wg)
{
    *us_each = 0;
    if (best_wg)
        *best_wg = 0;
    if (sets < 1)
        sets = 1;
    const uint64_t in_blocks = blocks_of(in_bytes), w_blocks = blocks_of(weight_bytes), out_blocks = blocks_of(out_bytes);
    const uint64_t src_blocks = in_blocks * (uint64_t)sets + w_blocks, dst_blocks = out_blocks * (uint64_t)sets;
    const uint64_t lanes = in_blocks + w_blocks > out_blocks ? in_blocks + w_blocks : out_blocks;
    q8conv_context_info info;
    if (q8conv_context_get_info(g->ctx, &info) != Q8CONV_SUCCESS)
        return -1;
    if (src_blocks == 0 || dst_blocks == 0 || src_blocks * 16u > info.max_storage_buffer_range ||
        dst_blocks * 16u > info.max_storage_buffer_range) {
        fprintf(stderr, "floor: a layer of %llu + %llu -> %llu bytes x %d sets does not fit one binding\n",
                (unsigned long long)in_bytes, (unsigned long long)weight_bytes, (unsigned long long)out_bytes, sets);
        return -1;
    }
    roof_buffer src, dst;
    memset(&src, 0, sizeof src);
    memset(&dst, 0, sizeof dst);
    int rc = floor_buffer(g, src_blocks * 16u, "floor source", &src);
    if (rc == 0)
        rc = floor_buffer(g, dst_blocks * 16u, "floor destination", &dst);
    VkDescriptorBufferInfo dbi[2] = {{.buffer = src.buf, .offset = 0, .range = VK_WHOLE_SIZE},
                                     {.buffer = dst.buf, .offset = 0, .range = VK_WHOLE_SIZE}};
    double best = 0;
    for (int k = 0; k < FLOOR_LAYER_WGS && rc == 0; ++k) {
        floor_layer c;
        memset(&c, 0, sizeof c);
        c.sets = sets;
        c.pc = (floor_params){.in_blocks = (uint32_t)in_blocks, .w_base = (uint32_t)(in_blocks * (uint64_t)sets),
                              .w_blocks = (uint32_t)w_blocks, .out_blocks = (uint32_t)out_blocks, .never = 1u};
        const uint32_t wg = floor_wg_size(&info, k);
        split_groups((lanes + wg - 1u) / wg, info.max_compute_workgroup_count[0], &c.gx, &c.gy);
        rc = pipeline_create_sized(g, floor_layer_spv, sizeof floor_layer_spv, 2, dbi, sizeof c.pc, wg, &c.p);
        double us[BENCH_MAX_BATCHES];
        int submissions = 0;
        const bench_chain chain = {
            .steps = opt->reps, .batches = opt->batches, .barrier = 1, .record = record_floor_layer, .user = &c};
        /* The first size warms the GPU up; the second follows it at once. */
        if (rc == 0)
            rc = bench_gpu_chain(g, &chain, k == 0 ? opt->warmup_ms : opt->warmup_ms / 10, us, &submissions);
        if (rc == 0) {
            const double each = bench_median(us, opt->batches) / opt->reps;
            if (best == 0 || each < best) {
                best = each;
                if (best_wg)
                    *best_wg = k;
            }
        }
        pipeline_destroy(g->vk.device, &c.p);
    }
    buffer_destroy(g->vk.device, &src);
    buffer_destroy(g->vk.device, &dst);
    if (rc == 0 && !(best > 0)) {
        fprintf(stderr, "floor: the layer copy's timestamps measured no time\n");
        rc = -1;
    }
    *us_each = rc == 0 ? best : 0;
    return rc;
}

/* ---- (e) the network of floors: every layer's floor copy in network order, runtime order ---- */

typedef struct floor_net_step {
    floor_params pc;
    uint32_t gx, gy;
    int wg; /* index into floor_layer_wg */
} floor_net_step;

typedef struct floor_net {
    roof_pipeline p[FLOOR_LAYER_WGS];
    const floor_net_step *step;
    int layers;
} floor_net;

/* Each layer binds its pipeline and the buffer as a library layer binds its own (pw_run.c does it
 * at every record), then pushes its offsets. */
static int record_floor_net(void *user, VkCommandBuffer cmd, int step)
{
    const floor_net *c = user;
    const floor_net_step *l = &c->step[step % c->layers];
    const roof_pipeline *p = &c->p[l->wg];
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &p->set, 0, NULL);
    vkCmdPushConstants(cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof l->pc, &l->pc);
    vkCmdDispatch(cmd, l->gx, l->gy, 1);
    return 0;
}

int bench_floor_network(bench_gpu *g, const bench_options *opt, const bench_shape *shapes, const int *order, int layers,
                        const int *wg_of_shape, double *us)
{
    *us = 0;
    q8conv_context_info info;
    floor_net_step *steps = calloc((size_t)layers, sizeof *steps);
    if (!steps || q8conv_context_get_info(g->ctx, &info) != Q8CONV_SUCCESS) {
        free(steps);
        return -1;
    }
    /* One buffer, bound as both the source and the destination: two activation regions of the
     * largest layer's blocks (layer l reads region l % 2 and writes the other, as pingpong.c's
     * buffers), then every layer's own weights. A layer's reads and writes never overlap. */
    uint64_t act = 0, weights = 0;
    for (int l = 0; l < layers; ++l) {
        uint64_t in_bytes, w_bytes, out_bytes;
        bench_layer_bytes(opt, &shapes[order[l]], &in_bytes, &w_bytes, &out_bytes);
        const uint64_t in_blocks = blocks_of(in_bytes), w_blocks = blocks_of(w_bytes), out_blocks = blocks_of(out_bytes);
        act = in_blocks > act ? in_blocks : act;
        act = out_blocks > act ? out_blocks : act;
        steps[l].pc = (floor_params){.in_blocks = (uint32_t)in_blocks, .w_base = (uint32_t)weights,
                                     .w_blocks = (uint32_t)w_blocks, .out_blocks = (uint32_t)out_blocks,
                                     /* The buffer holds zeros and lane indices (what lanes past a
                                      * layer's reads write), never this. */
                                     .never = UINT32_MAX};
        weights += w_blocks;
        const int k = wg_of_shape && wg_of_shape[order[l]] >= 0 && wg_of_shape[order[l]] < FLOOR_LAYER_WGS
                          ? wg_of_shape[order[l]]
                          : 0;
        const uint32_t wg = floor_wg_size(&info, k);
        const uint64_t lanes = in_blocks + w_blocks > out_blocks ? in_blocks + w_blocks : out_blocks;
        split_groups((lanes + wg - 1u) / wg, info.max_compute_workgroup_count[0], &steps[l].gx, &steps[l].gy);
        steps[l].wg = k;
    }
    const uint64_t total = 2 * act + weights;
    if (total == 0 || total * 16u > info.max_storage_buffer_range) {
        fprintf(stderr, "floor network: %llu bytes do not fit one binding\n", (unsigned long long)(total * 16u));
        free(steps);
        return -1;
    }
    for (int l = 0; l < layers; ++l) {
        steps[l].pc.in_base = (uint32_t)((uint64_t)(l % 2) * act);
        steps[l].pc.out_base = (uint32_t)((uint64_t)((l + 1) % 2) * act);
        steps[l].pc.w_base += (uint32_t)(2 * act);
    }
    roof_buffer buf;
    floor_net c = {.step = steps, .layers = layers};
    int rc = floor_buffer(g, total * 16u, "floor network buffer", &buf);
    const VkDescriptorBufferInfo dbi[2] = {{.buffer = buf.buf, .offset = 0, .range = VK_WHOLE_SIZE},
                                           {.buffer = buf.buf, .offset = 0, .range = VK_WHOLE_SIZE}};
    for (int k = 0; k < FLOOR_LAYER_WGS && rc == 0; ++k)
        rc = pipeline_create_sized(g, floor_layer_spv, sizeof floor_layer_spv, 2, dbi, sizeof(floor_params),
                                   floor_wg_size(&info, k), &c.p[k]);
    double batch_us[BENCH_MAX_BATCHES];
    int submissions = 0;
    const bench_chain chain = {.steps = layers * opt->reps,
                               .batches = opt->batches,
                               .barrier = 1,
                               .record = record_floor_net,
                               .user = &c};
    if (rc == 0)
        rc = bench_gpu_chain(g, &chain, opt->warmup_ms, batch_us, &submissions);
    if (rc == 0) {
        *us = bench_median(batch_us, opt->batches) / opt->reps;
        if (!(*us > 0)) {
            fprintf(stderr, "floor network: the timestamps measured no time\n");
            rc = -1;
        }
    }
    for (int k = 0; k < FLOOR_LAYER_WGS; ++k)
        pipeline_destroy(g->vk.device, &c.p[k]);
    buffer_destroy(g->vk.device, &buf);
    free(steps);
    if (rc != 0)
        *us = 0;
    return rc;
}

int bench_floor_measure(bench_gpu *g, const bench_options *opt, bench_floor *floor)
{
    memset(floor, 0, sizeof *floor);
    roof_pipeline p;
    int rc = pipeline_create(g, floor_empty_spv, sizeof floor_empty_spv, 0, NULL, 0, &p);
    double us[BENCH_MAX_BATCHES];
    /* With the barrier first: it is the figure the layers are compared with. */
    for (int barrier = 1; barrier >= 0 && rc == 0; --barrier) {
        const bench_chain c = {
            .steps = opt->reps, .batches = opt->batches, .barrier = barrier, .record = record_empty, .user = &p};
        int submissions = 0;
        rc = bench_gpu_chain(g, &c, opt->warmup_ms, us, &submissions);
        if (rc != 0)
            break;
        const double each = bench_median(us, opt->batches) / opt->reps;
        if (barrier)
            floor->us = each;
        else
            floor->nobarrier_us = each;
        fprintf(stderr, "floor: empty dispatch %s: %.3f us each (%d chained, median of %d batches, %d submissions)\n",
                barrier ? "+ compute barrier" : "without barrier", each, opt->reps, opt->batches, submissions);
    }
    pipeline_destroy(g->vk.device, &p);
    /* A layer's worth of memory: the layer floor's copy of BENCH_FLOOR_COPY_BYTES, one set. */
    if (rc == 0 && bench_floor_layer(g, opt, BENCH_FLOOR_COPY_BYTES, 0, BENCH_FLOOR_COPY_BYTES, 1, &floor->copy_us, NULL) == 0)
        fprintf(stderr, "floor: %u KiB copy + compute barrier: %.3f us each (%d chained, median of %d batches)\n",
                BENCH_FLOOR_COPY_BYTES / 1024u, floor->copy_us, opt->reps, opt->batches);
    else
        floor->copy_us = 0;
    /* A floor of 0 would be a timestamp that measured nothing, not a free dispatch. */
    floor->valid = rc == 0 && floor->us > 0 && floor->nobarrier_us > 0;
    return floor->valid ? 0 : -1;
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
    if (!info.cooperative_matrix_used)
        fprintf(stderr, "roofline: no cooperative matrices used on this device; their ceiling not measured\n");
    else if (measure_coopmat(g, &info, &roof->coopmat_tops) != 0)
        roof->coopmat_tops = 0;
    if (measure_copy(g, &info, roof) != 0)
        roof->copy_gbps = roof->copy_shader_gbps = roof->copy_cmd_gbps = 0;
    /* Valid when either was measured; a missing ceiling stays 0, which the report shows as not
     * measured rather than as a percentage of nothing. */
    roof->valid = roof->dot_tops > 0 || roof->copy_gbps > 0;
    return roof->valid ? 0 : -1;
}
