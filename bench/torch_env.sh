# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# torch_env.sh: PyTorch's set-ups for the benchmarks that time it (run.sh, train_speed.sh), sourced.
LIBDIR=/usr/lib/x86_64-linux-gnu
# PyTorch allocator configurations. glibc's malloc, as installed, returns every large tensor to the kernel
# (mmap/munmap) and page-faults it in again on the next use; the tuned one keeps freed memory in the heap.
GLIBC_TUNED="MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 MALLOC_ARENA_MAX=2"
# torch_env CONFIG: the environment of a PyTorch configuration (status 1: not available here). A
# configuration name may end in "+cl": the same, with the model run in channels_last (NHWC) memory format.
torch_env() {
    case "${1%+cl}" in
        installed) echo "" ;;
        glibc-tuned) echo "$GLIBC_TUNED" ;;
        jemalloc) [ -e $LIBDIR/libjemalloc.so.2 ] || return 1
                  echo "LD_PRELOAD=$LIBDIR/libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1" ;;
        tcmalloc) [ -e $LIBDIR/libtcmalloc_minimal.so.4 ] || return 1
                  echo "LD_PRELOAD=$LIBDIR/libtcmalloc_minimal.so.4" ;;
        *) return 1 ;;
    esac
}
torch_args() { case "$1" in *+cl) echo "--channels-last" ;; esac; }
