/* The tuning room: everything a tuning build (-DQ8CONV_TUNING=ON, never the default) adds to the
 * library, behind one header. Q8CONV_TUNE_* environment variables override the dispatch picker's
 * constants and tile, and Q8CONV_TUNE_STATS prints the driver's statistics of each new pipeline,
 * so that variants can be timed without a rebuild.
 *
 * In a release build every function here is an inline no-op that returns its fallback, src/tuning.c
 * is not compiled, and no tuning code reaches the objects: this header is the only place outside
 * src/tuning.c that tests Q8CONV_TUNING. */
#ifndef Q8CONV_TUNING_H
#define Q8CONV_TUNING_H

#include "q8conv.h"

struct q8conv_matrix_tile;  /* src/core/pure.h */
struct q8conv_pipeline_key; /* src/vk/vk.h */

/* The picker's constants a tuning build may override (tiling.h stays their owner). */
typedef enum q8conv_tune_knob {
    Q8CONV_TUNE_KSPLIT_BELOW,     /* Q8CONV_TUNE_KSPLIT="below,max,min_steps" */
    Q8CONV_TUNE_KSPLIT_MAX,
    Q8CONV_TUNE_KSPLIT_MIN_STEPS,
    Q8CONV_TUNE_WG_INVOCATIONS    /* Q8CONV_TUNE_WG=invocations */
} q8conv_tune_knob;

#ifdef Q8CONV_TUNING

/* The context's tuning state (q8conv_context.tuning). */
typedef struct q8conv_tuning {
    bool executable_properties; /* VK_KHR_pipeline_executable_properties is offered */
    bool stats;                 /* and enabled on the context's own device */
    VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR feature;
} q8conv_tuning;

/* The knob's value from the environment, else `fallback`. */
uint32_t q8conv_tune_u32(q8conv_tune_knob knob, uint32_t fallback);
/* Q8CONV_TUNE_CM_TILE="BM,BN,SG_M,SG_N,BK,STAGES" in place of the picker's cooperative-matrix tile. */
bool q8conv_tune_matrix_tile(struct q8conv_matrix_tile *tile);
/* Whether the library's own device offers pipeline statistics. */
q8conv_status q8conv_tune_query_device(q8conv_context *ctx, VkPhysicalDevice pd);
/* Turns them on: the feature joins `chain` (returned) and the extension the list. */
const void *q8conv_tune_enable(q8conv_context *ctx, const void *chain, const char **extensions, uint32_t *count);
/* Flags for every compute pipeline, and what to do with a new one (print its statistics). */
VkPipelineCreateFlags q8conv_tune_pipeline_flags(const q8conv_context *ctx);
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
static inline bool q8conv_tune_matrix_tile(struct q8conv_matrix_tile *tile)
{
    (void)tile;
    return false;
}
static inline q8conv_status q8conv_tune_query_device(q8conv_context *ctx, VkPhysicalDevice pd)
{
    (void)ctx;
    (void)pd;
    return Q8CONV_SUCCESS;
}
static inline const void *q8conv_tune_enable(q8conv_context *ctx, const void *chain, const char **extensions,
                                             uint32_t *count)
{
    (void)ctx;
    (void)extensions;
    (void)count;
    return chain;
}
static inline VkPipelineCreateFlags q8conv_tune_pipeline_flags(const q8conv_context *ctx)
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
#endif
