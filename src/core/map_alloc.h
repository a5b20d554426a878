// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// map_alloc.h: memory for feature maps and other large work buffers. From 2 MB up a buffer is aligned to
// 2 MB and marked for transparent huge pages (madvise MADV_HUGEPAGE), so that where the kernel allows them
// ("madvise" or "always" in /sys/kernel/mm/transparent_hugepage/enabled) first touches fault once per
// 2 MB instead of once per 4 KB page, and the convs' passes over whole maps miss the TLB far less (in a
// virtual machine each fault and TLB miss costs more). Smaller buffers: 64-byte aligned.
#pragma once
#include <stddef.h>

// bytes (0 taken as 64) not zeroed; NULL when out of memory. Release with free().
void *sv_map_alloc(size_t bytes);
