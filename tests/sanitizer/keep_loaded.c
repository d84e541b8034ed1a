/* LD_PRELOAD helper for the sanitized test run: dlclose() becomes a no-op.
 *
 * libq8conv dlopens the Vulkan loader and closes it in q8conv_context_destroy; the loader in turn
 * closes the driver (Mesa) and the validation layer when an instance goes away. LeakSanitizer runs
 * at exit, after those libraries are unmapped, so a leak inside one of them is reported with
 * "<unknown module>" frames that no suppression can name, and it is indistinguishable from a leak
 * of libq8conv. With every library kept mapped, each frame names its module, third-party leaks are
 * suppressed by module (lsan.supp), and anything left is ours.
 *
 * Not a sanitizer build itself: it is preloaded into ctest and every test process alike. */
#include <stddef.h>

int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
