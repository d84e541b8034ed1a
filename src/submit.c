/* Submission on the context's queue: the command pool; its one-shot command buffer and fence,
 * with begin/end of a recording that is submitted and waited for; command buffers that are
 * recorded once and replayed (q8conv_pw_run's per op, a sequence's); the barriers every run
 * recording starts and ends with; and the wait, blocking or polling as the context asks. */
#include <time.h>

#include "internal.h"

q8conv_status q8conv_submit_create(q8conv_context *ctx)
{
    const VkDevice dev = ctx->device;
    VkResult r;
    VkCommandPoolCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = ctx->queue_family_index};
    r = ctx->vk.vkCreateCommandPool(dev, &cpci, NULL, &ctx->command_pool);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    VkCommandBufferAllocateInfo cbai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                        .commandPool = ctx->command_pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                        .commandBufferCount = 1};
    r = ctx->vk.vkAllocateCommandBuffers(dev, &cbai, &ctx->command_buffer);
    if (r != VK_SUCCESS)
        return q8conv_status_from_vk(r);
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = ctx->vk.vkCreateFence(dev, &fci, NULL, &ctx->fence);
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
}

void q8conv_submit_destroy(q8conv_context *ctx)
{
    for (uint32_t i = 0; i < ctx->spare_replay_count; ++i)
        ctx->vk.vkDestroyFence(ctx->device, ctx->spare_replays[i].fence, NULL);
    if (ctx->fence)
        ctx->vk.vkDestroyFence(ctx->device, ctx->fence, NULL);
    if (ctx->command_pool)
        ctx->vk.vkDestroyCommandPool(ctx->device, ctx->command_pool, NULL);
}

q8conv_status q8conv_ctx_begin_commands(q8conv_context *ctx, VkCommandBuffer *cmd)
{
    q8conv_status st = q8conv_ctx_check_lost(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    pthread_mutex_lock(&ctx->lock);
    VkResult r = ctx->vk.vkResetCommandBuffer(ctx->command_buffer, 0);
    if (r == VK_SUCCESS) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        r = ctx->vk.vkBeginCommandBuffer(ctx->command_buffer, &bi);
    }
    if (r != VK_SUCCESS) {
        pthread_mutex_unlock(&ctx->lock);
        return q8conv_ctx_result(ctx, r);
    }
    *cmd = ctx->command_buffer;
    return Q8CONV_SUCCESS;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Blocking costs the driver's wake-up (35-46 us measured on an H100 for an empty submit, against
 * 12 us polling), so POLL spins on the fence first; the bound keeps a long run from burning a
 * core for its whole length. */
static VkResult wait_fence(q8conv_context *ctx, VkFence fence)
{
    if (ctx->wait_mode == Q8CONV_WAIT_POLL) {
        const uint64_t start = monotonic_ns();
        for (;;) {
            VkResult r = ctx->vk.vkGetFenceStatus(ctx->device, fence);
            if (r != VK_NOT_READY)
                return r;
            if (monotonic_ns() - start >= ctx->wait_poll_ns)
                break;
        }
    }
    return ctx->vk.vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, UINT64_MAX);
}

q8conv_status q8conv_ctx_end_commands(q8conv_context *ctx, q8conv_status recorded)
{
    VkResult r = ctx->vk.vkEndCommandBuffer(ctx->command_buffer);
    q8conv_status st = recorded;
    if (st == Q8CONV_SUCCESS && r != VK_SUCCESS)
        st = q8conv_ctx_result(ctx, r);
    if (st == Q8CONV_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &ctx->command_buffer};
        r = ctx->vk.vkResetFences(ctx->device, 1, &ctx->fence);
        if (r == VK_SUCCESS) {
            atomic_store(&ctx->submitted, true);
            r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, ctx->fence);
        }
        if (r == VK_SUCCESS)
            r = wait_fence(ctx, ctx->fence);
        if (r != VK_SUCCESS)
            st = q8conv_ctx_result(ctx, r);
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

q8conv_status q8conv_ctx_create_replay(q8conv_context *ctx, VkCommandBuffer *cmd, VkFence *fence)
{
    VkCommandBufferAllocateInfo cbai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                        .commandPool = ctx->command_pool,
                                        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                        .commandBufferCount = 1};
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkCommandBuffer c = VK_NULL_HANDLE;
    VkFence f = VK_NULL_HANDLE;
    VkResult r = VK_SUCCESS;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->spare_replay_count) {
        const uint32_t i = --ctx->spare_replay_count;
        c = ctx->spare_replays[i].cmd;
        f = ctx->spare_replays[i].fence;
    } else {
        r = ctx->vk.vkAllocateCommandBuffers(ctx->device, &cbai, &c);
        if (r == VK_SUCCESS)
            r = ctx->vk.vkCreateFence(ctx->device, &fci, NULL, &f);
    }
    pthread_mutex_unlock(&ctx->lock);
    if (r != VK_SUCCESS) {
        q8conv_ctx_destroy_replay(ctx, c, VK_NULL_HANDLE);
        return q8conv_ctx_result(ctx, r);
    }
    *cmd = c;
    *fence = f;
    return Q8CONV_SUCCESS;
}

/* A runtime that creates and destroys ops and sequences (a model reloaded, a fuzzer) reuses their
 * command buffers instead of allocating new ones from the driver and any layer each time (the
 * validation layer with synchronization validation even keeps part of every command buffer ever
 * allocated: tests/sanitizer/lsan.supp). Kept ones are reset before they are recorded again; none
 * is pending, since every replayed submission is waited for. */
void q8conv_ctx_destroy_replay(q8conv_context *ctx, VkCommandBuffer cmd, VkFence fence)
{
    pthread_mutex_lock(&ctx->lock);
    if (cmd && fence && ctx->spare_replay_count < Q8CONV_SPARE_REPLAYS) {
        ctx->spare_replays[ctx->spare_replay_count].cmd = cmd;
        ctx->spare_replays[ctx->spare_replay_count].fence = fence;
        ctx->spare_replay_count++;
        cmd = VK_NULL_HANDLE;
        fence = VK_NULL_HANDLE;
    }
    if (cmd)
        ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &cmd);
    pthread_mutex_unlock(&ctx->lock);
    if (fence)
        ctx->vk.vkDestroyFence(ctx->device, fence, NULL);
}

q8conv_status q8conv_replay_begin(q8conv_context *ctx, VkCommandBuffer cmd)
{
    VkResult r = ctx->vk.vkResetCommandBuffer(cmd, 0);
    if (r == VK_SUCCESS) {
        /* No ONE_TIME_SUBMIT: the recording is submitted again and again. */
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        r = ctx->vk.vkBeginCommandBuffer(cmd, &bi);
    }
    if (r != VK_SUCCESS)
        return q8conv_ctx_result(ctx, r);
    q8conv_cmd_run_prologue(ctx, cmd);
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_replay_end(q8conv_context *ctx, VkCommandBuffer cmd, q8conv_status recorded)
{
    if (recorded == Q8CONV_SUCCESS)
        q8conv_cmd_run_epilogue(ctx, cmd);
    /* Ended even after a failed recording, so that the next begin finds it out of the recording state. */
    VkResult r = ctx->vk.vkEndCommandBuffer(cmd);
    if (recorded != Q8CONV_SUCCESS)
        return recorded;
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_ctx_result(ctx, r);
}

q8conv_status q8conv_ctx_submit_wait(q8conv_context *ctx, VkCommandBuffer cmd, VkFence fence)
{
    VkResult r = ctx->vk.vkResetFences(ctx->device, 1, &fence);
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
        pthread_mutex_lock(&ctx->lock);
        atomic_store(&ctx->submitted, true);
        r = ctx->vk.vkQueueSubmit(ctx->queue, 1, &si, fence);
        pthread_mutex_unlock(&ctx->lock);
    }
    if (r == VK_SUCCESS)
        r = wait_fence(ctx, fence);
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_ctx_result(ctx, r);
}

static void memory_barrier(const q8conv_context *ctx, VkCommandBuffer cmd, VkPipelineStageFlags src_stages,
                           VkAccessFlags src_access, VkPipelineStageFlags dst_stages, VkAccessFlags dst_access)
{
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src_access, .dstAccessMask = dst_access};
    ctx->vk.vkCmdPipelineBarrier(cmd, src_stages, dst_stages, 0, 1, &b, 0, NULL, 0, NULL);
}

void q8conv_cmd_run_prologue(const q8conv_context *ctx, VkCommandBuffer cmd)
{
    memory_barrier(ctx, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void q8conv_cmd_run_between(const q8conv_context *ctx, VkCommandBuffer cmd)
{
    /* The stage-to-stage dependency alone orders earlier reads before later writes (WAR); the
     * access masks carry earlier writes to later reads and writes (RAW, WAW). */
    memory_barrier(ctx, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void q8conv_cmd_run_epilogue(const q8conv_context *ctx, VkCommandBuffer cmd)
{
    memory_barrier(ctx, cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                   VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_HOST_READ_BIT);
}
