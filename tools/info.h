/* q8conv-info's parts. */
#ifndef Q8CONV_INFO_H
#define Q8CONV_INFO_H

#include <stdint.h>
#include <stdio.h>

/* --kernels (tools/info_kernels.c): prints the compiler statistics of every kernel pipeline on the
 * first device_count devices of the library's own instance, and writes them as JSON to `json`
 * (NULL: none). Returns how many devices or pipelines failed. */
int q8conv_info_kernels(uint32_t device_count, FILE *json);

#endif
