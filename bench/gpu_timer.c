/* The bench's GPU timer: its own command buffer, timestamp queries and fence on the context's
 * device and queue, reached through q8conv_context_get_vulkan_handles. */
#include <string.h>

#include <volk.h>

#include "bench.h"

int bench_gpu_init(bench_gpu *g, q8conv_context *ctx)
{
    memset(g, 0, sizeof *g);
    g->ctx = ctx;
    if (q8conv_context_get_vulkan_handles(ctx, &g->vk) != Q8CONV_SUCCESS)
        return -1;
    volkInitializeCustom(g->vk.get_instance_proc_addr);
    volkLoadInstanceOnly(g->vk.instance);
    volkLoadDevice(g->vk.device);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(g->vk.physical_device, &props);
    g->timestamp_period_ns = props.limits.timestampPeriod;
    uint32_t nfam = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(g->vk.physical_device, &nfam, NULL);
    VkQueueFamilyProperties fam[64];
    if (nfam > 64)
        nfam = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(g->vk.physical_device, &nfam, fam);
    if (g->vk.queue_family_index >= nfam)
        return -1;
    const uint32_t bits = fam[g->vk.queue_family_index].timestampValidBits;
    if (bits == 0 || g->timestamp_period_ns <= 0)
        return -1; /* no timestamps on this queue: nothing to measure GPU time with */
    g->timestamp_mask = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = g->vk.queue_family_index};
    if (vkCreateCommandPool(g->vk.device, &cpci, NULL, &g->pool) != VK_SUCCESS)
        return -1;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = g->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    if (vkAllocateCommandBuffers(g->vk.device, &ai, &g->cmd) != VK_SUCCESS)
        return -1;
    VkQueryPoolCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                 .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                 .queryCount = 2 * BENCH_MAX_REPS};
    if (vkCreateQueryPool(g->vk.device, &qci, NULL, &g->queries) != VK_SUCCESS)
        return -1;
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if (vkCreateFence(g->vk.device, &fci, NULL, &g->fence) != VK_SUCCESS)
        return -1;
    return 0;
}

void bench_gpu_destroy(bench_gpu *g)
{
    if (!g->vk.device)
        return;
    vkDeviceWaitIdle(g->vk.device);
    if (g->fence)
        vkDestroyFence(g->vk.device, g->fence, NULL);
    if (g->queries)
        vkDestroyQueryPool(g->vk.device, g->queries, NULL);
    if (g->pool)
        vkDestroyCommandPool(g->vk.device, g->pool, NULL);
}

static int begin(bench_gpu *g, VkCommandBufferUsageFlags flags)
{
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = flags};
    if (vkResetCommandBuffer(g->cmd, 0) != VK_SUCCESS || vkBeginCommandBuffer(g->cmd, &bi) != VK_SUCCESS)
        return -1;
    /* Inside the command buffer, so that a resubmission (bench_gpu_chain) resets them too. */
    vkCmdResetQueryPool(g->cmd, g->queries, 0, 2 * BENCH_MAX_REPS);
    return 0;
}

int bench_gpu_begin(bench_gpu *g) { return begin(g, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT); }

void bench_gpu_barrier(bench_gpu *g)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vkCmdPipelineBarrier(g->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0,
                         NULL);
}

/* The barrier a runtime records between two dependent layers: the next dispatch reads what the
 * last one wrote (or overwrites it), nothing else. Narrower than bench_gpu_barrier, which also
 * orders transfers and is not what a chain of convolutions pays. */
void bench_gpu_compute_barrier(bench_gpu *g)
{
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(g->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
}

void bench_gpu_stamp(bench_gpu *g, uint32_t query)
{
    vkCmdWriteTimestamp(g->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, g->queries, query);
}

/* Submits the ended command buffer and waits for it. */
static int submit_wait(bench_gpu *g)
{
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &g->cmd};
    if (vkResetFences(g->vk.device, 1, &g->fence) != VK_SUCCESS ||
        vkQueueSubmit(g->vk.queue, 1, &si, g->fence) != VK_SUCCESS ||
        vkWaitForFences(g->vk.device, 1, &g->fence, VK_TRUE, UINT64_MAX) != VK_SUCCESS)
        return -1;
    return 0;
}

int bench_gpu_submit(bench_gpu *g)
{
    if (vkEndCommandBuffer(g->cmd) != VK_SUCCESS)
        return -1;
    return submit_wait(g);
}

/* Durations (us) between query pairs (2i, 2i+1), i < n. */
int bench_gpu_durations(bench_gpu *g, int n, double *us)
{
    uint64_t ts[2 * BENCH_MAX_REPS];
    if (n < 1 || n > BENCH_MAX_REPS ||
        vkGetQueryPoolResults(g->vk.device, g->queries, 0, (uint32_t)(2 * n), sizeof ts, ts, sizeof(uint64_t),
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
        return -1;
    for (int i = 0; i < n; ++i)
        us[i] = (double)((ts[2 * i + 1] - ts[2 * i]) & g->timestamp_mask) * g->timestamp_period_ns * 1e-3;
    return 0;
}

/* Chained timing. The chain is recorded once and the same command buffer submitted again until the
 * GPU has been busy for warmup_ms: re-recording thousands of dispatches between submissions would
 * leave the GPU idle (and its clocks dropping) for as long as the host records. */
int bench_gpu_chain(bench_gpu *g, const bench_chain *c, double warmup_ms, double *batch_us, int *submissions)
{
    if (c->steps < 1 || c->batches < 1 || c->batches > BENCH_MAX_BATCHES || !c->record)
        return -1;
    if (begin(g, 0) != 0)
        return -1;
    int step = 0;
    for (int b = 0; b < c->batches; ++b) {
        /* Each batch starts on a drained queue (the last batch, earlier submissions, the library's
         * uploads), so no earlier work runs inside its timestamps. */
        bench_gpu_barrier(g);
        bench_gpu_stamp(g, (uint32_t)(2 * b));
        for (int i = 0; i < c->steps; ++i, ++step) {
            if (c->barrier)
                bench_gpu_compute_barrier(g);
            /* A failed recording leaves the command buffer half recorded: the next begin resets it. */
            if (c->record(c->user, g->cmd, step) != 0)
                return -1;
        }
        bench_gpu_stamp(g, (uint32_t)(2 * b + 1));
    }
    if (vkEndCommandBuffer(g->cmd) != VK_SUCCESS)
        return -1;
    double busy_us = 0;
    int n = 0;
    do {
        if (submit_wait(g) != 0 || bench_gpu_durations(g, c->batches, batch_us) != 0)
            return -1;
        for (int b = 0; b < c->batches; ++b)
            busy_us += batch_us[b];
        n++;
    } while (busy_us < warmup_ms * 1e3 && n < 100000);
    *submissions = n;
    return 0;
}
