// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// map_alloc.c: see map_alloc.h.
#include "core/map_alloc.h"

#include <stdlib.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2 << 20, PAGE = 4096 };

void *sv_map_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes < HUGE_PAGE) return posix_memalign(&p, 64, bytes ? bytes : 64) ? NULL : p;
    if (posix_memalign(&p, HUGE_PAGE, bytes)) return NULL;
    (void)madvise(p, (bytes + PAGE - 1) / PAGE * PAGE, MADV_HUGEPAGE);  // advice: where refused, 4 KB pages
    return p;
}
