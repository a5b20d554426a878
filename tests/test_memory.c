// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_memory.c: the memory this process can still use (core/memory.h) on samples of every format and on
// this machine, an RLIMIT_AS set in a child bounding it; and the upscale plan that depends on it
// (pipeline/upscale.h): frame-count margins near INT_MAX, a lookahead clamped to the clip, the runner's
// estimate against what a runner allocates.
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/memory.h"
#include "model/basicvsr.h"
#include "model/runner.h"
#include "pipeline/upscale.h"
#include "testutil.h"

#define MB(n) ((long long)(n) << 20)

static void test_parse_kb(void) {
    const char *meminfo = "MemTotal:       24683756 kB\nMemFree:        22000000 kB\n"
                          "MemAvailable:   24334284 kB\nHugePages_Total:       7\n";
    CHECK(sv_mem_parse_kb(meminfo, "MemAvailable") == 24334284LL * 1024);
    CHECK(sv_mem_parse_kb(meminfo, "MemTotal") == 24683756LL * 1024);
    CHECK(sv_mem_parse_kb(meminfo, "HugePages_Total") == 7);  // no unit: as it is
    CHECK(sv_mem_parse_kb(meminfo, "Mem") == -1);             // a key is a whole name
    CHECK(sv_mem_parse_kb(meminfo, "SwapFree") == -1);
    CHECK(sv_mem_parse_kb("VmPeak:\t  300000 kB\nVmSize:\t  296012 kB\n", "VmSize") == 296012LL * 1024);
    CHECK(sv_mem_parse_kb("VmSize:\tgarbage\n", "VmSize") == -1);
    CHECK(sv_mem_parse_kb("", "VmSize") == -1);
}

static void test_parse_limit_and_stat(void) {
    CHECK(sv_mem_parse_limit("max\n") == -1);                    // v2: no limit
    CHECK(sv_mem_parse_limit("9223372036854771712\n") == -1);    // v1: no limit
    CHECK(sv_mem_parse_limit("-1\n") == -1);
    CHECK(sv_mem_parse_limit("1073741824\n") == 1073741824LL);
    CHECK(sv_mem_parse_limit("0\n") == 0);
    CHECK(sv_mem_parse_limit("nonsense\n") == -2);
    CHECK(sv_mem_parse_limit("") == -2);
    CHECK(sv_mem_parse_limit("99999999999999999999999\n") == -1);  // saturates, no overflow
    const char *v1 = "cache 90456064\nrss 1863680\ninactive_file 42627072\ntotal_cache 90456064\n"
                     "total_inactive_file 52627072\n";
    CHECK(sv_mem_parse_stat(v1, "inactive_file") == 42627072);
    CHECK(sv_mem_parse_stat(v1, "total_inactive_file") == 52627072);
    CHECK(sv_mem_parse_stat(v1, "active_file") == -1);
    CHECK(sv_mem_parse_stat("anon 10\nfile 20\ninactive_file 5\n", "inactive_file") == 5);  // v2
}

static void test_parse_cgroup(void) {
    char p[256];
    // hybrid (v1 controllers + a v2 hierarchy without them), as on this machine
    const char *hybrid = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/5355\n3:cpuset:/\n0::/\n";
    CHECK(sv_mem_parse_cgroup(hybrid, 0, p, sizeof p) == 0 && !strcmp(p, "/process_api/5355"));
    CHECK(sv_mem_parse_cgroup(hybrid, 1, p, sizeof p) == 0 && !strcmp(p, "/"));
    CHECK(sv_mem_parse_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n", 1, p, sizeof p) == 0 &&
          !strcmp(p, "/user.slice/user-1000.slice/session-2.scope"));
    CHECK(sv_mem_parse_cgroup("0::/user.slice\n", 0, p, sizeof p) == -1);  // pure v2: no v1 memory
    CHECK(sv_mem_parse_cgroup("5:cpu,memory,cpuacct:/docker/abc\n", 0, p, sizeof p) == 0 && !strcmp(p, "/docker/abc"));
    CHECK(sv_mem_parse_cgroup("5:memory_x:/a\n6:blkio:/b\n", 0, p, sizeof p) == -1);  // a whole controller name
    CHECK(sv_mem_parse_cgroup("4:memory:/a/very/long/path\n", 0, p, 8) == -1);       // does not fit
    CHECK(sv_mem_parse_cgroup("", 1, p, sizeof p) == -1);
}

static void test_parse_mountinfo(void) {
    char root[256], mnt[256];
    const char *v1 = "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                     "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                     "34 30 0:31 /docker/abc /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
                     "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    CHECK(sv_mem_parse_mountinfo(v1, 0, root, sizeof root, mnt, sizeof mnt) == 0 && !strcmp(root, "/docker/abc") &&
          !strcmp(mnt, "/sys/fs/cgroup/memory"));
    CHECK(sv_mem_parse_mountinfo(v1, 1, root, sizeof root, mnt, sizeof mnt) == 0 && !strcmp(root, "/") &&
          !strcmp(mnt, "/sys/fs/cgroup/unified"));
    const char *v2 = "25 1 0:23 / / rw - ext4 /dev/sda1 rw\n"
                     "26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
                     "rw,nsdelegate,memory_recursiveprot\n";
    CHECK(sv_mem_parse_mountinfo(v2, 1, root, sizeof root, mnt, sizeof mnt) == 0 && !strcmp(mnt, "/sys/fs/cgroup"));
    CHECK(sv_mem_parse_mountinfo(v2, 0, root, sizeof root, mnt, sizeof mnt) == -1);  // no v1 memory hierarchy
    CHECK(sv_mem_parse_mountinfo("garbage line\n", 1, root, sizeof root, mnt, sizeof mnt) == -1);
}

static void test_format(void) {
    char b[32];
    CHECK(!strcmp(sv_mem_format((size_t)(38.2 * (1 << 30)), b, sizeof b), "38.2 GB"));
    CHECK(!strcmp(sv_mem_format((size_t)412 << 20, b, sizeof b), "412 MB"));
    CHECK(!strcmp(sv_mem_format((size_t)1 << 30, b, sizeof b), "1.0 GB"));
}

// A /proc file's "Key: N kB" in bytes (they report size 0: read to the end); -1 when unreadable
static long long proc_kb(const char *path, const char *key) {
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return n ? sv_mem_parse_kb(buf, key) : -1;
}

// On this machine: a known bound (MemAvailable at least), never more than the RAM
static void test_available_sane(void) {
    const sv_mem_avail a = sv_mem_available();
    const long long total = proc_kb("/proc/meminfo", "MemTotal");
    CHECKF(a.bound != SV_MEM_UNKNOWN && a.bytes > 0, "bound %d, %zu bytes", (int)a.bound, a.bytes);
    CHECKF(total > 0 && (long long)a.bytes <= total, "%zu bytes available, MemTotal %lld", a.bytes, total);
    CHECK(strlen(sv_mem_bound_name(a.bound)) > 0);
}

// In a child: RLIMIT_AS at VmSize + 200 MB bounds the answer to about 200 MB and is named as the bound
static void test_rlimit_as_bounds(void) {
    const sv_mem_avail before = sv_mem_available();
    if (before.bytes < (size_t)MB(400)) {
        CHECKF(0, "only %zu bytes available: cannot tell an RLIMIT_AS of 200 MB apart", before.bytes);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        const long long vm = proc_kb("/proc/self/status", "VmSize");
        if (vm <= 0) _exit(2);
        const struct rlimit rl = {(rlim_t)(vm + MB(200)), (rlim_t)(vm + MB(200))};
        if (setrlimit(RLIMIT_AS, &rl)) _exit(3);
        const sv_mem_avail a = sv_mem_available();
        // 200 MB less what the child mapped since it read VmSize (a few pages)
        _exit(a.bound == SV_MEM_RLIMIT_AS && a.bytes <= (size_t)MB(200) && a.bytes > (size_t)MB(150) ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d (1: not bounded by RLIMIT_AS)", status);
}

static void test_count_hint(void) {
    CHECK(sv_upscale_count_hint(100, 1) == 112);
    CHECK(sv_upscale_count_hint(100, 0) == 100);  // a folder's count is exact
    CHECK(sv_upscale_count_hint(-1, 1) == -1);
    CHECK(sv_upscale_count_hint(0, 1) == 0);
    CHECK(sv_upscale_count_hint(2000000000, 1) == INT_MAX);  // a container's ~2e9 frames: no overflow
    CHECK(sv_upscale_count_hint(INT_MAX, 1) == INT_MAX);
}

static int load_tiny(sv_model *m) {
    sv_err e;
    if (sv_model_load(m, tu_data("tiny/tiny_basicvsr.pth"), -1, &e)) {
        CHECKF(0, "%s", e.msg);
        return -1;
    }
    return 0;
}

static void test_plan_chunk(void) {
    sv_model m;
    if (load_tiny(&m)) return;
    sv_upscale_opts o;
    int ch, la;
    // counts near INT_MAX (a container's claim): sane, and the window chunk + lookahead fits an int
    const int counts[] = {INT_MAX, INT_MAX - 1, sv_upscale_count_hint(INT_MAX - 3, 1), 2000000000};
    const int chunks[] = {0, 1, 1000000}, looks[] = {-1, 0, 100000};
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < 3; k++)
            for (int l = 0; l < 3; l++) {
                sv_upscale_opts_default(&o);
                o.chunk = chunks[k], o.lookahead = looks[l];
                sv_upscale_plan_chunk(&m, 36, 64, counts[c], &o, &ch, &la);
                CHECKF(ch >= 1 && la >= 0 && (long long)ch + la <= counts[c], "count %d: chunk %d lookahead %d",
                       counts[c], ch, la);
            }
    // an explicit chunk near INT_MAX, clip length unknown: the window chunk + lookahead is still an int
    sv_upscale_opts_default(&o);
    o.chunk = INT_MAX - 5, o.lookahead = 100;
    sv_upscale_plan_chunk(&m, 36, 64, -1, &o, &ch, &la);
    CHECKF(ch == INT_MAX - 5 && la >= 0 && la <= 5, "chunk %d lookahead %d", ch, la);
    // --lookahead 100000 on a 3-frame clip: the window holds the clip, no more
    sv_upscale_opts_default(&o);
    o.lookahead = 100000;
    sv_upscale_plan_chunk(&m, 36, 64, 3, &o, &ch, &la);
    CHECKF(ch + la <= 3 && ch >= 1, "3 frames: chunk %d lookahead %d", ch, la);
    o.chunk = 1;
    sv_upscale_plan_chunk(&m, 36, 64, 3, &o, &ch, &la);
    CHECKF(ch == 1 && la == 2, "3 frames, --chunk 1: chunk %d lookahead %d", ch, la);
    // an automatic chunk fills its budget: the runner's estimate, its features per chunk frame, one float frame per window frame, the previous chunk's last frame and the decoded
    // 8-bit frame
    size_t fixed, per;
    sv_runner_estimate(&m, 180, 320, SV_EXEC_FAST, &fixed, &per);
    sv_upscale_opts_default(&o);
    const size_t frame = (size_t)3 * 180 * 320 * sizeof(float);
    o.mem_budget = fixed + 25 * (per + frame) + ((size_t)1 << 20);
    sv_upscale_plan_chunk(&m, 180, 320, -1, &o, &ch, &la);
    const size_t used = fixed + frame * (size_t)(ch + la + 1) + frame / 4 + per * (size_t)ch;
    CHECKF(ch >= 1 && la <= 10 && used <= o.mem_budget && used + per + frame > o.mem_budget,
           "budget for 25 frames: chunk %d lookahead %d (%zu of %zu bytes)", ch, la, used, o.mem_budget);
    sv_model_free(&m);
}

// --max-memory is a limit, not a target: with 64 GB allowed, an automatic window still holds at most the
// documented 1 GB of frames and features (upscale --help: a float frame per window frame, the features of
// each chunk frame), and fills it; one frame when a frame is larger.
static void test_plan_chunk_window_cap(void) {
    sv_model m;
    if (load_tiny(&m)) return;
    const size_t cap = (size_t)1 << 30;
    const int sizes[][2] = {{180, 320}, {720, 1280}, {2160, 3840}};
    for (int i = 0; i < 3; i++) {
        const int h = sizes[i][0], w = sizes[i][1];
        size_t fixed, per;
        sv_runner_estimate(&m, h, w, SV_EXEC_FAST, &fixed, &per);
        const size_t frame = (size_t)3 * h * w * sizeof(float);
        sv_upscale_opts o;
        sv_upscale_opts_default(&o);
        o.mem_budget = (size_t)64 << 30;
        int ch, la;
        sv_upscale_plan_chunk(&m, h, w, -1, &o, &ch, &la);
        const size_t win = frame * (size_t)(ch + la) + per * (size_t)ch;
        const int fits = win <= cap || (ch == 1 && la == 0), full = ch == 1 || win + frame + per > cap;
        CHECKF(ch >= 1 && fits && full, "%dx%d: chunk %d + lookahead %d hold %zu bytes (cap %zu)", w, h, ch, la,
               win, cap);
    }
    sv_model_free(&m);
}

// The estimate covers what a runner allocates (its buffers exactly; the plans within their bound)
static void test_runner_estimate(void) {
    sv_model m;
    if (load_tiny(&m)) return;
    const int sizes[][2] = {{36, 64}, {17, 23}, {96, 160}};
    for (int i = 0; i < 3; i++) {
        const int h = sizes[i][0], w = sizes[i][1], frames = 3;
        for (int mode = 0; mode < 2; mode++) {
            sv_err e;
            size_t fixed, per;
            sv_runner_estimate(&m, h, w, (sv_exec_mode)mode, &fixed, &per);
            sv_runner *r = sv_runner_create(&m, h, w, frames, (sv_exec_mode)mode, &e);
            CHECKF(r, "%s", e.msg);
            if (!r) continue;
            const size_t est = fixed + per * frames, got = sv_runner_bytes(r);
            const size_t plans = m.nparams * sizeof(float) * 8 + ((size_t)64 << 20);
            CHECKF(got <= est && est - got <= plans, "%dx%d mode %d: estimate %zu, buffers %zu", w, h, mode, est, got);
            sv_runner_free(r);
        }
    }
    sv_model_free(&m);
}

// The default budget is half of what is available (what is available moves between the calls: 10%)
static void test_default_budget(void) {
    const sv_mem_avail av = sv_mem_available();
    const size_t b = sv_upscale_default_budget();
    if (av.bound == SV_MEM_UNKNOWN) {
        CHECK(b == SV_MEM_FALLBACK_BUDGET);
        return;
    }
    const double want = (double)av.bytes / SV_DEFAULT_MEM_SHARE;
    CHECKF(b > 0 && (double)b > 0.9 * want && (double)b < 1.1 * want, "budget %zu, available %zu", b, av.bytes);
}

// Reconstruction tiles leave more of a budget to the chunk: a 360x640 frame's maps at x4 do not fit whole.
static void test_plan_chunk_tiles(void) {
    sv_model m;
    if (load_tiny(&m)) return;
    size_t whole, tiled, per;
    sv_runner_estimate_tiled(&m, 360, 640, SV_EXEC_FAST, 0, &whole, &per);
    sv_runner_estimate_tiled(&m, 360, 640, SV_EXEC_FAST, 24, &tiled, &per);
    CHECKF(tiled < whole / 3, "tiles of 24: %zu bytes, whole frame %zu", tiled, whole);
    sv_upscale_opts o;
    sv_upscale_opts_default(&o);
    o.mem_budget = whole, o.lookahead = 0, o.tile_rows = 360;  // the whole frame
    int ch0, ch1, la;
    sv_upscale_plan_chunk(&m, 360, 640, -1, &o, &ch0, &la);
    o.tile_rows = 24;
    sv_upscale_plan_chunk(&m, 360, 640, -1, &o, &ch1, &la);
    CHECKF(ch0 == 1 && ch1 > 10, "chunk %d whole, %d in tiles", ch0, ch1);
    sv_model_free(&m);
}

int main(void) {
    run_test("memory_parse_kb", test_parse_kb);
    run_test("memory_parse_limit_and_stat", test_parse_limit_and_stat);
    run_test("memory_parse_cgroup", test_parse_cgroup);
    run_test("memory_parse_mountinfo", test_parse_mountinfo);
    run_test("memory_format", test_format);
    run_test("memory_available_sane", test_available_sane);
    run_test("memory_rlimit_as_bounds", test_rlimit_as_bounds);
    run_test("upscale_count_hint_no_overflow", test_count_hint);
    run_test("upscale_plan_chunk_counts_and_lookahead", test_plan_chunk);
    run_test("runner_estimate_covers_buffers", test_runner_estimate);
    run_test("upscale_default_budget_half_available", test_default_budget);
    run_test("upscale_plan_chunk_counts_tiles", test_plan_chunk_tiles);
    run_test("upscale_auto_window_capped", test_plan_chunk_window_cap);
    return test_summary();
}
