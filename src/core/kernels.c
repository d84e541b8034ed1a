/* The kernel table (src/core/kernels.def) and the choice of the line that runs an op. Pure. */
#include "pure.h"

const q8conv_kernel_line q8conv_kernel_lines[Q8CONV_KERNEL_LINE_COUNT] = {
#define Q8CONV_KERNEL_LINE(kernel, shader, defines, needs, plan, tile_n4, rank) \
    {Q8CONV_KERNEL_##kernel, #shader, (needs), Q8CONV_PLAN_##plan, (tile_n4), (rank)},
#include "kernels.def"
#undef Q8CONV_KERNEL_LINE
};

q8conv_status q8conv_kernel_resolve(q8conv_kernel asked, uint32_t caps, uint32_t *line)
{
    /* The raw value: a descriptor may hold any bit pattern (see validate.c). */
    if ((unsigned)asked >= (unsigned)Q8CONV_KERNEL_COUNT_ || !line)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < Q8CONV_KERNEL_LINE_COUNT; i++) {
        const q8conv_kernel_line *l = &q8conv_kernel_lines[i];
        if ((l->needs & ~caps) != 0)
            continue;
        if (asked == Q8CONV_KERNEL_AUTO) {
            if (l->rank > 0 && (best == UINT32_MAX || l->rank > q8conv_kernel_lines[best].rank))
                best = i;
        } else if (l->kernel == asked) {
            best = i;
            break;
        }
    }
    if (best == UINT32_MAX)
        return Q8CONV_ERROR_UNSUPPORTED;
    *line = best;
    return Q8CONV_SUCCESS;
}
