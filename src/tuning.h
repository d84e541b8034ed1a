/* The tuning room: everything a tuning build (-DQ8CONV_TUNING=ON, never a release) adds to the
 * library, behind one header. Q8CONV_TUNE_* environment variables override the dispatch picker's
 * constants and matrix tile, Q8CONV_TUNE_STATS prints the driver's statistics of each new pipeline
 * (captured where the device offers them, as q8conv_pw_statistics reads them),
 * and q8conv-bench flips two switches between ops to time variants in one run (--ablate, --tiles):
 * q8conv_tune_set_ablate and q8conv_tune_set_matrix_tile, exported by a tuning library only (they
 * are not in include/q8conv.h; the bench includes this header only when built for tuning).
 *
 * In a release build every hook here is an inline no-op that returns its fallback, src/tuning.c is
 * not compiled, and no tuning code reaches the objects: this header is the only place outside
 * src/tuning.c that tests Q8CONV_TUNING. */
#ifndef Q8CONV_TUNING_H
#define Q8CONV_TUNING_H

#include "q8conv.h"

#ifdef __cplusplus
extern "C" {
#endif

struct q8conv_matrix_tile;  /* src/core/pure.h */
struct q8conv_pipeline_key; /* src/vk/vk.h */

/* The picker's constants a tuning build may override (tiling.h stays their owner). */
typedef enum q8conv_tune_knob {
    Q8CONV_TUNE_KSPLIT_BELOW,     /* Q8CONV_TUNE_KSPLIT="below,max,min_steps[,invocations]" */
    Q8CONV_TUNE_KSPLIT_MAX,
    Q8CONV_TUNE_KSPLIT_MIN_STEPS,
    Q8CONV_TUNE_KSPLIT_INVOCATIONS,
    Q8CONV_TUNE_WG_INVOCATIONS,   /* Q8CONV_TUNE_WG=invocations */
    Q8CONV_TUNE_EARLY_PARAMS,     /* Q8CONV_TUNE_EARLY=1 never, 2 with split-K, 3 always (the
                                     picker reads the value minus 1) */
    Q8CONV_TUNE_UNROLL_SMALL      /* Q8CONV_TUNE_UNROLL=4|8|16: small grids' K steps per pass */
} q8conv_tune_knob;

#ifdef Q8CONV_TUNING
#include <stdio.h>
#include <stdlib.h>

/* ---- the bench's switches ---- */

/* Stage ablations: the specialization constant ABLATE (src/core/shader_abi.h) of the pipelines that
 * ops of this context record from now on. 0 = the real kernel. The packed-dot kernel
 * (shaders/q8conv_pw.comp): 1 = no K loop, 2 = no epilogue, 3 = no stores; the matrix kernel
 * (shaders/q8conv_pw_coopmat.comp) also 4 = products only, 5 = loads and staging only; the block
 * kernels also 6 = the skeleton (grid, addressing, one channel-constant load, the store). A kernel
 * runs levels it does not know as 0. Ablated outputs are wrong by design: never check them. Not
 * thread-safe: set them while no op records.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx is NULL or level > Q8CONV_TUNE_ABLATE_MAX */
#define Q8CONV_TUNE_ABLATE_MAX 6u
Q8CONV_API q8conv_status q8conv_tune_set_ablate(q8conv_context *ctx, uint32_t level);

/* Forces the cooperative-matrix tile of the runs this context records from now on: fields are
 * BM, BN, SG_M, SG_N, BK, STAGES (count 6; later fields may be added after these). count 0 (fields
 * may then be NULL) gives the choice back to the picker. A tile the device cannot run is refused
 * and the previous choice stays; *why (when why is not NULL) then gets a sentence saying why.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx is NULL, count is neither 0 nor 6, or the tile is malformed
 * @retval Q8CONV_ERROR_UNSUPPORTED the device cannot run the tile (no cooperative matrices, too many
 *         invocations or too much shared memory) */
#define Q8CONV_TUNE_TILE_FIELDS 6u
Q8CONV_API q8conv_status q8conv_tune_set_matrix_tile(q8conv_context *ctx, const uint32_t *fields, uint32_t count,
                                                     const char **why);

/* ---- the library's hooks ---- */

/* The context's tuning state (q8conv_context.tuning). */
typedef struct q8conv_tuning {
    uint32_t ablate;            /* q8conv_tune_set_ablate */
    bool tile_forced;           /* q8conv_tune_set_matrix_tile */
    uint32_t tile[Q8CONV_TUNE_TILE_FIELDS];
} q8conv_tuning;

/* The knob's value from the environment, else `fallback`. Inline, so that the picker (src/core/)
 * calls nothing outside its folder. */
static inline uint32_t q8conv_tune_u32(q8conv_tune_knob knob, uint32_t fallback)
{
    const bool single = knob == Q8CONV_TUNE_WG_INVOCATIONS || knob == Q8CONV_TUNE_EARLY_PARAMS ||
                        knob == Q8CONV_TUNE_UNROLL_SMALL;
    const int index = single ? 0 : (int)knob - (int)Q8CONV_TUNE_KSPLIT_BELOW;
    const char *v = getenv(knob == Q8CONV_TUNE_WG_INVOCATIONS ? "Q8CONV_TUNE_WG"
                           : knob == Q8CONV_TUNE_EARLY_PARAMS ? "Q8CONV_TUNE_EARLY"
                           : knob == Q8CONV_TUNE_UNROLL_SMALL ? "Q8CONV_TUNE_UNROLL"
                                                              : "Q8CONV_TUNE_KSPLIT");
    unsigned a[4];
    int n = v ? sscanf(v, "%u,%u,%u,%u", &a[0], &a[1], &a[2], &a[3]) : 0;
    return index < n && a[index] ? a[index] : fallback;
}
/* The tile that replaces the picker's: the one q8conv_tune_set_matrix_tile forced, else
 * Q8CONV_TUNE_CM_TILE="BM,BN,SG_M,SG_N,BK,STAGES" when the device can run it; false: the picker's
 * choice stands. */
bool q8conv_tune_matrix_tile(const q8conv_context *ctx, struct q8conv_matrix_tile *tile);
/* The ABLATE level of the pipelines recorded now. */
uint32_t q8conv_tune_ablate(const q8conv_context *ctx);
/* A new pipeline: its driver statistics to stderr under Q8CONV_TUNE_STATS (where the context
 * captures them, ctx->pipeline_statistics). */
void q8conv_tune_pipeline_created(q8conv_context *ctx, VkPipeline p, const struct q8conv_pipeline_key *key);

#else

typedef struct q8conv_tuning {
    char none; /* C has no empty struct */
} q8conv_tuning;

static inline uint32_t q8conv_tune_u32(q8conv_tune_knob knob, uint32_t fallback)
{
    (void)knob;
    return fallback;
}
static inline bool q8conv_tune_matrix_tile(const q8conv_context *ctx, struct q8conv_matrix_tile *tile)
{
    (void)ctx;
    (void)tile;
    return false;
}
static inline uint32_t q8conv_tune_ablate(const q8conv_context *ctx)
{
    (void)ctx;
    return 0;
}
static inline void q8conv_tune_pipeline_created(q8conv_context *ctx, VkPipeline p, const struct q8conv_pipeline_key *key)
{
    (void)ctx;
    (void)p;
    (void)key;
}

#endif

#ifdef __cplusplus
}
#endif
#endif
