// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// memory.h: how much more memory this process can allocate, so that a job too big for the machine is
// refused before it starts instead of ending in the kernel's OOM killer. The answer is the least of:
//   - MemAvailable of /proc/meminfo (what the kernel can hand out without swapping);
//   - for the process's cgroup and each of its ancestors: its limit less its usage (page cache that can be
//     dropped, inactive_file, not counted as used): cgroup v2 memory.max - memory.current, v1
//     memory.limit_in_bytes - memory.usage_in_bytes;
//   - RLIMIT_AS less the address space mapped already (VmSize of /proc/self/status), RLIMIT_DATA less the
//     data segment (VmData), when those limits are finite.
// It reads /proc and /sys only: no environment, no output. The parsers take text, so that tests can feed
// them samples of every format.
#pragma once
#include <stddef.h>

typedef enum {
    SV_MEM_UNKNOWN = 0,  // nothing could be read: no limit known
    SV_MEM_AVAILABLE,    // /proc/meminfo MemAvailable
    SV_MEM_CGROUP,       // a cgroup's memory limit
    SV_MEM_RLIMIT_AS,    // ulimit -v
    SV_MEM_RLIMIT_DATA,  // ulimit -d
} sv_mem_bound;

typedef struct {
    size_t bytes;        // SIZE_MAX when bound is SV_MEM_UNKNOWN
    sv_mem_bound bound;  // the limit that gave bytes
} sv_mem_avail;

sv_mem_avail sv_mem_available(void);
// For messages: "MemAvailable", "the cgroup's memory limit", "RLIMIT_AS, ulimit -v", ...
const char *sv_mem_bound_name(sv_mem_bound b);
// bytes for a message: "38.2 GB" from 1 GB (2^30) up, else "412 MB"; returns buf
const char *sv_mem_format(size_t bytes, char *buf, size_t n);
// What is available, for a refusal: "21.5 GB are available (MemAvailable)"; returns buf
const char *sv_mem_describe(sv_mem_avail av, char *buf, size_t n);

// ---- parsers (text in, bytes out) ----

// "Key:   1234 kB" lines (/proc/meminfo, /proc/self/status): the value of key in bytes, or -1 when missing.
long long sv_mem_parse_kb(const char *text, const char *key);
// "key 1234" lines (cgroup memory.stat): the value, or -1 when missing.
long long sv_mem_parse_stat(const char *text, const char *key);
// A cgroup limit file: the number, or -1 for no limit ("max", v1's 9223372036854771712 and anything from
// 2^60 up), or -2 when it is not a number.
long long sv_mem_parse_limit(const char *text);
// /proc/self/cgroup: the process's path in the v2 hierarchy ("0::/a/b") or in the v1 hierarchy of the
// memory controller ("4:memory:/a/b", "4:cpu,memory:/a/b"). Returns 0, or -1 when there is none or it
// does not fit in n.
int sv_mem_parse_cgroup(const char *proc_cgroup, int v2, char *path, size_t n);
// /proc/self/mountinfo: where that hierarchy is mounted (mnt) and which of its folders the mount shows
// (root, "/" unless the mount is of a sub-folder, as in some containers). Returns 0 or -1.
int sv_mem_parse_mountinfo(const char *mountinfo, int v2, char *root, size_t nroot, char *mnt, size_t nmnt);
