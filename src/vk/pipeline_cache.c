/* The pipeline cache: libq8conv's frame around the driver's bytes (checksum, device and driver
 * check), the VkPipelineCache started from a caller's blob, and q8conv_context_get_pipeline_cache. */
#include <string.h>

#include "vk.h"

/* A serialized cache is libq8conv's frame around the driver's bytes: magic, format, payload length
 * and a checksum of the payload. Drivers differ in how well they survive a damaged blob, so only
 * a payload whose length and checksum prove it is exactly what a context wrote reaches one. */
#define CACHE_MAGIC 0x43503851u /* "Q8PC" in little-endian byte order */
#define CACHE_FORMAT 1u
#define CACHE_FRAME_BYTES 24u   /* magic, format (u32 each), payload bytes, FNV-1a 64 (u64 each) */

static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void cache_frame_write(uint8_t *blob, size_t payload_size)
{
    const uint32_t magic = CACHE_MAGIC, format = CACHE_FORMAT;
    const uint64_t size = payload_size, sum = fnv1a64(blob + CACHE_FRAME_BYTES, payload_size);
    memcpy(blob, &magic, 4);
    memcpy(blob + 4, &format, 4);
    memcpy(blob + 8, &size, 8);
    memcpy(blob + 16, &sum, 8);
}

/* The driver's payload of a blob, or NULL. Beyond the frame, the payload's own header must name
 * this exact device and driver build (Vulkan's VkPipelineCacheHeaderVersionOne); anything else is
 * dropped rather than trusted. */
static const uint8_t *cache_blob_payload(const q8conv_context *ctx, const void *data, size_t size, size_t *payload_size)
{
    if (!data || size < CACHE_FRAME_BYTES + 16 + VK_UUID_SIZE)
        return NULL;
    const uint8_t *frame = data, *b = frame + CACHE_FRAME_BYTES;
    uint32_t magic, format;
    uint64_t n, sum;
    memcpy(&magic, frame, 4);
    memcpy(&format, frame + 4, 4);
    memcpy(&n, frame + 8, 8);
    memcpy(&sum, frame + 16, 8);
    if (magic != CACHE_MAGIC || format != CACHE_FORMAT || n != size - CACHE_FRAME_BYTES || sum != fnv1a64(b, (size_t)n))
        return NULL;
    uint32_t header_size, header_version, vendor, device;
    memcpy(&header_size, b, 4);
    memcpy(&header_version, b + 4, 4);
    memcpy(&vendor, b + 8, 4);
    memcpy(&device, b + 12, 4);
    if (header_size < 16 + VK_UUID_SIZE || header_size > n || header_version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
        vendor != ctx->props.vendorID || device != ctx->props.deviceID ||
        memcmp(b + 16, ctx->props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
        return NULL;
    *payload_size = (size_t)n;
    return b;
}

q8conv_status q8conv_pipeline_cache_create(q8conv_context *ctx, const q8conv_context_desc *desc)
{
    size_t payload_size = 0;
    const uint8_t *payload =
        desc ? cache_blob_payload(ctx, desc->pipeline_cache_data, desc->pipeline_cache_size, &payload_size) : NULL;
    bool use_blob = payload != NULL;
    VkPipelineCacheCreateInfo pcci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                      .initialDataSize = use_blob ? payload_size : 0,
                                      .pInitialData = payload};
    VkResult r = ctx->vk.vkCreatePipelineCache(ctx->device, &pcci, NULL, &ctx->pipeline_cache);
    if (r != VK_SUCCESS && use_blob) {
        /* The driver refused a blob that looked right: start empty instead. */
        pcci.initialDataSize = 0;
        pcci.pInitialData = NULL;
        r = ctx->vk.vkCreatePipelineCache(ctx->device, &pcci, NULL, &ctx->pipeline_cache);
    }
    return r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
}

void q8conv_pipeline_cache_destroy(q8conv_context *ctx)
{
    if (ctx->pipeline_cache)
        ctx->vk.vkDestroyPipelineCache(ctx->device, ctx->pipeline_cache, NULL);
}

q8conv_status q8conv_context_get_pipeline_cache(q8conv_context *ctx, void *data, size_t *size)
{
    if (!ctx || !size)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    /* The lock keeps pipeline creation out, so the driver's size cannot change between calls. */
    pthread_mutex_lock(&ctx->lock);
    size_t payload = 0;
    VkResult r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &payload, NULL);
    q8conv_status st = r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
    size_t needed = CACHE_FRAME_BYTES + payload;
    if (st == Q8CONV_SUCCESS && data) {
        if (*size < needed) {
            st = Q8CONV_ERROR_INVALID_ARGUMENT;
        } else {
            r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &payload,
                                               (uint8_t *)data + CACHE_FRAME_BYTES);
            st = r == VK_SUCCESS ? Q8CONV_SUCCESS : q8conv_status_from_vk(r);
            if (st == Q8CONV_SUCCESS) {
                cache_frame_write(data, payload);
                needed = CACHE_FRAME_BYTES + payload;
            }
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (st == Q8CONV_SUCCESS || (st == Q8CONV_ERROR_INVALID_ARGUMENT && data))
        *size = needed;
    return st;
}
