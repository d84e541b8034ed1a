/* Host allocation through the caller's hooks (q8conv_allocator) or malloc. */
#include <stdlib.h>
#include <string.h>

#include "vk.h"

void *q8conv_alloc(const q8conv_allocator *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (a && a->alloc)
        return a->alloc(a->user_data, size, 16);
    return malloc(size);
}

void *q8conv_calloc(const q8conv_allocator *a, size_t count, size_t size)
{
    if (count != 0 && size > SIZE_MAX / count)
        return NULL;
    const size_t bytes = count * size;
    void *p = q8conv_alloc(a, bytes);
    if (p && bytes > 0)
        memset(p, 0, bytes);
    return p;
}

void q8conv_free(const q8conv_allocator *a, void *p)
{
    if (!p)
        return;
    if (a && a->free)
        a->free(a->user_data, p);
    else
        free(p);
}
