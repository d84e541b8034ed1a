/* Tuning builds only (-DQ8CONV_TUNING=ON, never a release): switches that q8conv-bench flips
 * between ops to time variants of the kernels in one run. Not part of the public API (they are
 * not in include/q8conv.h and a release library does not contain them); the bench includes this
 * header only when it is built for tuning. Not thread-safe: set them while no op records. */
#ifndef Q8CONV_TUNE_H
#define Q8CONV_TUNE_H

#include "q8conv.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef Q8CONV_TUNING
/* Stage ablations: the specialization constant ABLATE (constant_id 13) of the pipelines that ops
 * of this context record from now on. 0 = the real kernel. The packed-dot kernel
 * (shaders/q8conv_pw.comp): 1 = no K loop, 2 = no epilogue, 3 = no stores; the matrix kernel
 * (shaders/q8conv_pw_coopmat.comp) also 4 = products only, 5 = loads and staging only. A kernel
 * runs levels it does not know as 0. Ablated outputs are wrong by design: never check them.
 * @retval Q8CONV_ERROR_INVALID_ARGUMENT ctx is NULL or level > Q8CONV_TUNE_ABLATE_MAX */
#define Q8CONV_TUNE_ABLATE_MAX 5u
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
#endif

#ifdef __cplusplus
}
#endif
#endif
