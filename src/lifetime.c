/* Lifetime: what a sequence keeps alive. An op or a tensor that a sequence step names may be
 * destroyed before the sequence; its Vulkan objects go at once, its host struct stays (marked
 * destroyed) until the last step naming it lets go, so the sequence can refuse to run instead of
 * reading freed memory. Neither the op's nor the sequence's business, so both call it here. */
#include "objects.h"

void q8conv_lifetime_hold(q8conv_context *ctx, q8conv_lifetime *m)
{
    pthread_mutex_lock(&ctx->lock);
    m->refs++;
    pthread_mutex_unlock(&ctx->lock);
}

void q8conv_lifetime_retire(q8conv_context *ctx, q8conv_lifetime *m, void *object)
{
    pthread_mutex_lock(&ctx->lock);
    const bool named = m->refs > 0;
    if (named)
        atomic_store(&m->destroyed, true);
    pthread_mutex_unlock(&ctx->lock);
    if (!named)
        q8conv_free(&ctx->allocator, object);
}

void q8conv_lifetime_release(q8conv_context *ctx, q8conv_lifetime *m, void *object)
{
    if (--m->refs == 0 && atomic_load(&m->destroyed))
        q8conv_free(&ctx->allocator, object);
}

bool q8conv_lifetime_gone(const q8conv_lifetime *m)
{
    return atomic_load_explicit(&((q8conv_lifetime *)m)->destroyed, memory_order_relaxed);
}
