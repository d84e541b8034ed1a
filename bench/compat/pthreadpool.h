/* Used only when the real <pthreadpool.h> is missing: Debian 12's libxnnpack-dev includes it but
 * does not depend on libpthreadpool-dev, while libpthreadpool0 (which libXNNPACK.so needs) is
 * always there. These are the declarations xnnpack.h and bench/cpu.c use, matching the C ABI of
 * libpthreadpool.so.0; install libpthreadpool-dev to build against the real header instead. */
#ifndef Q8CONV_BENCH_PTHREADPOOL_COMPAT_H
#define Q8CONV_BENCH_PTHREADPOOL_COMPAT_H

#include <stddef.h>

typedef struct pthreadpool *pthreadpool_t;

pthreadpool_t pthreadpool_create(size_t threads_count);
void pthreadpool_destroy(pthreadpool_t threadpool);

#endif
