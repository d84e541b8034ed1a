/* The kernel table (src/kernels.def), AUTO's rule and the choice of the line that runs an op. Pure. */
#include <string.h>

#include "pure.h"

const q8conv_kernel_line q8conv_kernel_lines[Q8CONV_KERNEL_LINE_COUNT] = {
#define Q8CONV_KERNEL_LINE(kernel, shader, defines, needs, plan, tile_n4) \
    {Q8CONV_KERNEL_##kernel, #shader, defines, (needs), Q8CONV_PLAN_##plan, (tile_n4)},
#include "kernels.def"
#undef Q8CONV_KERNEL_LINE
};

/* Issue 16's compiler figures (2026-12-02, 4W4C, local size 64, float bias) are why an emulated
 * dot product loses to the plain-math kernel: on AMD GFX9 (no native dot4) the DOT kernel took 64
 * VGPRs / 4 waves per SIMD against FALLBACK's 48 / 5, and on Mali-G610 it spilled (2:32) where
 * FALLBACK did not; on the Adreno 740, whose native dp4acc serves only the mixed-signedness dot,
 * a DOT module patched to OpSUDot took 13 registers / 14 waves against DOT's 19 / 10. The device's
 * ...Accelerated properties are the evidence every driver gives for that difference. */
q8conv_kernel q8conv_auto_block_kernel(uint32_t caps)
{
    if ((caps & Q8CONV_CAP_DOT) && (caps & Q8CONV_CAP_DOT_SIGNED_FAST))
        return Q8CONV_KERNEL_DOT;
    if ((caps & Q8CONV_CAP_DOT) && (caps & Q8CONV_CAP_DOT_MIXED_FAST))
        return Q8CONV_KERNEL_DOT_MIXED;
    return Q8CONV_KERNEL_FALLBACK;
}

/* Whether a dot kernel's pipeline came out worse than the plain-math one's. */
static bool compiled_worse(const q8conv_compiled_kernel *k, const q8conv_compiled_kernel *fallback)
{
    if (!k || !fallback || !k->known || !fallback->known)
        return false;
    if (k->spills > fallback->spills)
        return true;
    return k->occupancy && fallback->occupancy && k->occupancy < fallback->occupancy;
}

uint32_t q8conv_auto_refine(uint32_t caps, const q8conv_compiled_kernel *dot, const q8conv_compiled_kernel *mixed,
                            const q8conv_compiled_kernel *fallback)
{
    if (compiled_worse(dot, fallback))
        caps &= ~Q8CONV_CAP_DOT_SIGNED_FAST;
    if (compiled_worse(mixed, fallback))
        caps &= ~Q8CONV_CAP_DOT_MIXED_FAST;
    return caps;
}

q8conv_kernel q8conv_auto_kernel(uint32_t caps)
{
    return (caps & Q8CONV_CAP_COOPMAT) ? Q8CONV_KERNEL_COOPMAT : q8conv_auto_block_kernel(caps);
}

bool q8conv_line_reads_unsigned(uint32_t line)
{
    /* A whole space-separated token of the line's defines, as CMake splits them. */
    const char *d = q8conv_kernel_lines[line].defines;
    static const char token[] = "MIXED=1";
    for (const char *p = strstr(d, token); p; p = strstr(p + 1, token))
        if ((p == d || p[-1] == ' ') && (p[sizeof token - 1] == ' ' || p[sizeof token - 1] == 0))
            return true;
    return false;
}

q8conv_status q8conv_kernel_resolve(q8conv_kernel asked, uint32_t caps, uint32_t *line)
{
    /* The raw value: a descriptor may hold any bit pattern (see validate.c). */
    if ((unsigned)asked >= (unsigned)Q8CONV_KERNEL_COUNT_ || !line)
        return Q8CONV_ERROR_INVALID_ARGUMENT;
    if (asked == Q8CONV_KERNEL_AUTO)
        asked = q8conv_auto_kernel(caps);
    for (uint32_t i = 0; i < Q8CONV_KERNEL_LINE_COUNT; i++) {
        const q8conv_kernel_line *l = &q8conv_kernel_lines[i];
        if (l->kernel == asked && (l->needs & ~caps) == 0) {
            *line = i;
            return Q8CONV_SUCCESS;
        }
    }
    return Q8CONV_ERROR_UNSUPPORTED;
}
