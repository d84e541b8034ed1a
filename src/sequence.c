/* Sequences: steps (op, input, output) recorded once into a command buffer of the sequence's own
 * and replayed with one submit and one wait, with a barrier only before a step that depends on a
 * step since the previous barrier. Also the membership that lets a sequence see that an op or a
 * tensor it names was destroyed. */
#include <string.h>

#include "internal.h"

typedef struct sequence_step {
    q8conv_pw *op;
    q8conv_tensor *in, *out;
} sequence_step;

struct q8conv_sequence {
    q8conv_context *ctx;
    sequence_step *steps;
    uint32_t count, capacity;
    VkCommandBuffer cmd;
    VkFence fence;
    /* An add, finalize or run is in progress: one sequence is one thread's at a time, and an
     * overlapping call is refused instead of corrupting the steps or the command buffer. */
    atomic_bool busy;
    bool recorded; /* cmd holds every step */
    uint32_t barriers, recordings;
};

void q8conv_sequence_member_retire(q8conv_context *ctx, q8conv_sequence_member *m, void *object)
{
    pthread_mutex_lock(&ctx->lock);
    const bool named = m->refs > 0;
    if (named)
        atomic_store(&m->destroyed, true);
    pthread_mutex_unlock(&ctx->lock);
    if (!named)
        q8conv_free(&ctx->allocator, object);
}

/* Under the context's lock: one step lets go of `object`, and the last one frees a destroyed one. */
static void member_release(q8conv_context *ctx, q8conv_sequence_member *m, void *object)
{
    if (--m->refs == 0 && atomic_load(&m->destroyed))
        q8conv_free(&ctx->allocator, object);
}

static bool step_member_destroyed(const sequence_step *s)
{
    return atomic_load_explicit(&s->op->member.destroyed, memory_order_relaxed) ||
           atomic_load_explicit(&s->in->member.destroyed, memory_order_relaxed) ||
           atomic_load_explicit(&s->out->member.destroyed, memory_order_relaxed);
}

q8conv_status q8conv_sequence_create(q8conv_context *ctx, q8conv_sequence **out)
{
    if (!ctx || !out)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = ctx->compile_only ? Q8CONV_ERROR_UNSUPPORTED : q8conv_ctx_check_lost(ctx);
    if (st != Q8CONV_SUCCESS)
        return st;
    q8conv_sequence *seq = q8conv_calloc(&ctx->allocator, 1, sizeof *seq);
    if (!seq)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    seq->ctx = ctx;
    atomic_init(&seq->busy, false);
    st = q8conv_ctx_create_replay(ctx, &seq->cmd, &seq->fence);
    if (st != Q8CONV_SUCCESS) {
        q8conv_free(&ctx->allocator, seq);
        return st;
    }
    *out = seq;
    return Q8CONV_SUCCESS;
}

static q8conv_status grow_steps(q8conv_sequence *seq)
{
    if (seq->capacity > UINT32_MAX / 2)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    const uint32_t cap = seq->capacity ? seq->capacity * 2 : 16;
    sequence_step *steps = q8conv_calloc(&seq->ctx->allocator, cap, sizeof *steps);
    if (!steps)
        return Q8CONV_ERROR_OUT_OF_HOST_MEMORY;
    if (seq->count)
        memcpy(steps, seq->steps, seq->count * sizeof *steps);
    q8conv_free(&seq->ctx->allocator, seq->steps);
    seq->steps = steps;
    seq->capacity = cap;
    return Q8CONV_SUCCESS;
}

q8conv_status q8conv_sequence_add(q8conv_sequence *seq, q8conv_pw *op, const q8conv_tensor *input,
                                  q8conv_tensor *output)
{
    if (!seq)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = q8conv_pw_check_step(op, input, output);
    if (st != Q8CONV_SUCCESS)
        return st;
    if (op->ctx != seq->ctx || atomic_exchange(&seq->busy, true))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (seq->count == seq->capacity)
        st = grow_steps(seq);
    if (st == Q8CONV_SUCCESS) {
        /* The input's membership count is the library's bookkeeping, not the tensor's contents,
         * which the sequence only reads. */
        q8conv_tensor *in = (q8conv_tensor *)input;
        pthread_mutex_lock(&seq->ctx->lock);
        op->member.refs++;
        in->member.refs++;
        output->member.refs++;
        pthread_mutex_unlock(&seq->ctx->lock);
        seq->steps[seq->count++] = (sequence_step){.op = op, .in = in, .out = output};
        seq->recorded = false;
    }
    atomic_store(&seq->busy, false);
    return st;
}

/* Whether step s must wait for one of the steps [first, s): it reads what one of them wrote, or
 * writes what one of them read or wrote. Steps before `first` are behind a barrier already. */
static bool step_depends(const sequence_step *steps, uint32_t first, uint32_t s)
{
    const sequence_step *b = &steps[s];
    for (uint32_t j = first; j < s; ++j) {
        const sequence_step *a = &steps[j];
        if (q8conv_tensors_overlap(b->in, a->out) || q8conv_tensors_overlap(b->out, a->out) ||
            q8conv_tensors_overlap(b->out, a->in))
            return true;
    }
    return false;
}

static q8conv_status record(q8conv_sequence *seq)
{
    q8conv_context *ctx = seq->ctx;
    seq->recorded = false;
    pthread_mutex_lock(&ctx->lock);
    q8conv_status st = q8conv_replay_begin(ctx, seq->cmd);
    if (st != Q8CONV_SUCCESS) {
        pthread_mutex_unlock(&ctx->lock);
        return st;
    }
    uint32_t first = 0, barriers = 0;
    for (uint32_t s = 0; s < seq->count && st == Q8CONV_SUCCESS; ++s) {
        if (step_depends(seq->steps, first, s)) {
            q8conv_cmd_run_between(ctx, seq->cmd);
            barriers++;
            first = s;
        }
        const sequence_step *step = &seq->steps[s];
        st = q8conv_pw_record(step->op, seq->cmd, step->in, step->out);
    }
    st = q8conv_replay_end(ctx, seq->cmd, st);
    pthread_mutex_unlock(&ctx->lock);
    if (st == Q8CONV_SUCCESS) {
        seq->recorded = true;
        seq->barriers = barriers;
        seq->recordings++;
    }
    return st;
}

/* What finalize and run share: refuse a lost device or a destroyed member, record if needed.
 * The caller holds seq->busy. */
static q8conv_status prepare(q8conv_sequence *seq)
{
    q8conv_status st = q8conv_ctx_check_lost(seq->ctx);
    for (uint32_t s = 0; s < seq->count && st == Q8CONV_SUCCESS; ++s)
        if (step_member_destroyed(&seq->steps[s]))
            st = Q8CONV_ERROR_INVALID_ARGUMENT;
    if (st == Q8CONV_SUCCESS && seq->count && !seq->recorded)
        st = record(seq);
    return st;
}

q8conv_status q8conv_sequence_finalize(q8conv_sequence *seq)
{
    if (!seq || atomic_exchange(&seq->busy, true))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = prepare(seq);
    atomic_store(&seq->busy, false);
    return st;
}

q8conv_status q8conv_sequence_run(q8conv_sequence *seq)
{
    if (!seq || atomic_exchange(&seq->busy, true))
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    q8conv_status st = prepare(seq);
    if (st == Q8CONV_SUCCESS && seq->count)
        st = q8conv_ctx_submit_wait(seq->ctx, seq->cmd, seq->fence);
    atomic_store(&seq->busy, false);
    return st;
}

void q8conv_sequence_destroy(q8conv_sequence *seq)
{
    if (!seq)
        return;
    q8conv_context *ctx = seq->ctx;
    q8conv_ctx_destroy_replay(ctx, seq->cmd, seq->fence);
    pthread_mutex_lock(&ctx->lock);
    for (uint32_t s = 0; s < seq->count; ++s) {
        sequence_step *step = &seq->steps[s];
        member_release(ctx, &step->op->member, step->op);
        member_release(ctx, &step->in->member, step->in);
        member_release(ctx, &step->out->member, step->out);
    }
    pthread_mutex_unlock(&ctx->lock);
    q8conv_free(&ctx->allocator, seq->steps);
    q8conv_free(&ctx->allocator, seq);
}

void q8conv_sequence_get_stats(const q8conv_sequence *seq, q8conv_sequence_stats *out)
{
    *out = (q8conv_sequence_stats){
        .steps = seq->count, .barriers = seq->barriers, .recordings = seq->recordings, .recorded = seq->recorded};
}
