/* The clamp bounds of SEMANTICS.md, written once: the output type's range, narrowed by the
 * activation. Used by the requantization constants (requant.c), the CPU reference (reference.c)
 * and, through the test-support library (tests/common), by the tests and the benchmark's CPU
 * peers, which hand the same bounds to XNNPACK. Header-only so that code outside the library can
 * include it; it needs only the public header. */
#ifndef Q8CONV_CLAMP_H
#define Q8CONV_CLAMP_H

#include <math.h>

#include "q8conv.h"

/* ReLU's lower bound is z_y; ReLU6's upper bound is min(top, roundEven(6 * (1 / s_y)) + z_y),
 * kept in float throughout: 6 / s_y can exceed every integer type (even reach +inf), and the
 * minimum clamps that to top. Every float operation is its own statement (-ffp-contract=off). */
static inline void q8conv_clamp_bounds(const q8conv_pw_desc *d, float *qmin, float *qmax)
{
    const bool u8 = d->output_type == Q8CONV_DTYPE_UINT8;
    const float bottom = u8 ? 0.0f : -128.0f, top = u8 ? 255.0f : 127.0f;
    const float z_y = (float)d->output_zero_point;
    *qmin = bottom;
    *qmax = top;
    if (d->activation == Q8CONV_ACTIVATION_NONE)
        return;
    *qmin = fmaxf(z_y, bottom);
    if (d->activation == Q8CONV_ACTIVATION_RELU6) {
        float inv = 1.0f / d->output_scale;
        float six = 6.0f * inv;
        float r = nearbyintf(six);
        float upper = r + z_y;
        *qmax = fminf(top, upper);
    }
}

#endif
