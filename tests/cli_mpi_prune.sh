#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_mpi_prune.sh: data-parallel `slimvsr prune` over MPI (issue 19, prune/prune.h): `mpirun -np 2` ranks
# with --batch 2 log the losses (l_tf, the penalty and the scale norms too) of one process with --batch 4
# and the same --seed, in every phase (ssl: sparsity learning with the scales' gradients averaged, the cut,
# temporal finetuning; l1-aligned: hold, then finetuning with a teacher through its channel map), and end
# with its weights, scales and kept channels (within float summation). A job killed with SIGKILL of one
# rank resumes to the bytes of an unbroken job; a resume on another number of ranks is refused; a rank
# that fails (rank 1 or rank 0) stops every rank with its message, before anything is written.
# Needs the MPI build and mpirun (tests/lib_mpi.sh); without them it prints why and skips.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
. tests/lib_mpi.sh
cli_setup mpi-prune
mpi_setup mpi_prune
"$SLIMVSR" train -q --data data --feat 8 --blocks 1 --batch 2 --seq 3 --patch 8 --iters 2 --seed 3 --out dense \
    || ko mpi_prune_dense_model "train failed"
# the penalty grows fast (a few iterations)
P=(-m dense/model.safetensors --data data --seq 3 --patch 8 --seed 5 --select layer --ratio 0.5 --val-every 3
   --lambda-step 0.01 --lambda-every 1)

# same_cut ONE TWO LR: the cut model and the final one have the same tensors, of the same shapes (the kept
# channels), with values within LR / 100; summary.json's counts equal
same_cut() {
    "$PY" - "$1" "$2" "$3" <<'PY'
import json, struct, sys
import numpy as np
def tensors(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: (v["shape"], np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                          np.float32 if v["dtype"] == "F32" else np.uint8)) for k, v in h.items()}
for f in ("pruned-init.safetensors", "model.safetensors"):
    a, b = tensors(sys.argv[1] + "/" + f), tensors(sys.argv[2] + "/" + f)
    assert a.keys() == b.keys(), f
    for k in a:
        assert a[k][0] == b[k][0], (f, k, "shapes", a[k][0], b[k][0])
        if a[k][1].dtype == np.float32:
            d = float(np.max(np.abs(a[k][1] - b[k][1]), initial=0))
            assert d < float(sys.argv[3]) / 100, (f, k, "differs by", d)
        else:
            assert np.array_equal(a[k][1], b[k][1]), (f, k)
sa, sb = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
print(f"{len(a)} tensors of the same shapes")
assert all(sa[k] == sb[k] for k in ("params", "flops_180x320", "ratio")), (sa, sb)
PY
}

# equal_prune NAME LR PHASE... -- ARGS: 1 process x --batch 4 and 2 ranks x --batch 2 with ARGS, compared
# by same_run (each phase) and same_cut with LR
equal_prune() {
    local name=$1 lr=$2 r="" ph; shift 2
    local phases=()
    while [ "$1" != -- ]; do phases+=("$1"); shift; done
    shift
    "$SLIMVSR" prune -q "${P[@]}" "$@" --batch 4 --out "$name-1"
    "${MPI[@]}" "$MPI_SLIMVSR" prune -q "${P[@]}" "$@" --batch 2 --out "$name-2" 2>err.txt || { ko "$name" "$(tail -c 600 err.txt)"; return; }
    for ph in "${phases[@]}"; do
        r="$r $ph: $(same_run "$name-1/$ph" "$name-2/$ph" $lr 2>&1)" || { ko "$name" "$r"; return; }
    done
    r="$r; $(same_cut "$name-1" "$name-2" $lr 2>&1)" && ok "$name ($r)" || ko "$name" "$r"
}

# ---- 2 ranks x --batch 2 = 1 process x --batch 4, in every phase ----
# The weights within a tenth of an Adam step at --lr 2e-4 for ssl (LR 2e-3), a hundredth for l1-aligned:
# ssl's student starts so close to its teacher that many hidden-state differences are near 0, where L_tf's
# gradient (their sign) flips with the order of the float sums (with --tf-weight 0: within a hundredth)
equal_prune mpi_prune_ssl_equals_one_process 2e-3 sparsity finetune -- --sparsity-iters 6 --finetune-iters 4
equal_prune mpi_prune_aligned_equals_one_process 2e-4 hold finetune -- --scheme l1-aligned --tf-weight 0.01 \
    --sparsity-iters 3 --finetune-iters 3

# ---- another number of ranks on --resume: refused, naming both ----
expect_error mpi_prune_resume_other_ranks "trained on 2 ranks" "$SLIMVSR" prune -q --out mpi_prune_ssl_equals_one_process-2 --resume

# ---- SIGKILL of one rank in sparsity learning: --resume on 2 ranks gives the bytes of an unbroken job ----
"${MPI[@]}" "$MPI_SLIMVSR" prune -q "${P[@]}" --sparsity-iters 6 --finetune-iters 4 --batch 2 --out killed 2>/dev/null &
pid=$!
wait_for $pid logged killed/sparsity 4
rank=$(pgrep -P $pid | tail -n 1)
[ -n "$rank" ] && kill -9 "$rank" 2>/dev/null
wait $pid 2>/dev/null
at=$(last_iter killed/sparsity)
if [ ! -e killed/model.safetensors ] && [ -e killed/sparsity/state.safetensors ]; then
    "${MPI[@]}" "$MPI_SLIMVSR" prune -q --out killed --resume 2>err.txt \
        && cmp -s killed/model.safetensors mpi_prune_ssl_equals_one_process-2/model.safetensors \
        && cmp -s killed/finetune/state.safetensors mpi_prune_ssl_equals_one_process-2/finetune/state.safetensors \
        && ok "mpi_prune_killed_rank_resumes_identically (killed at sparsity iteration $at)" \
        || ko mpi_prune_killed_rank_resumes_identically "the resumed job's files differ: $(tail -c 400 err.txt)"
else
    ko mpi_prune_killed_rank_resumes_identically "not killed in time"
fi

# ---- a rank that fails (its data path is missing) stops every rank with its message, nothing written ----
for bad in 1 0; do
    B=("${P[@]}"); B[3]=missing
    first=(-np 1 "$MPI_SLIMVSR" prune -q "${P[@]}" --batch 2 --out bad) second=(-np 1 "$MPI_SLIMVSR" prune -q "${B[@]}" --batch 2 --out bad)
    [ $bad = 0 ] && { t=("${first[@]}"); first=("${second[@]}"); second=("${t[@]}"); }
    timeout 120 mpirun --oversubscribe "${first[@]}" : "${second[@]}" >out.txt 2>err.txt
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "missing" err.txt && grep -q "rank $bad of 2 failed" err.txt && [ ! -e bad ]; then
        ok "mpi_prune_failing_rank_${bad}_stops_all"
    else
        ko "mpi_prune_failing_rank_${bad}_stops_all" "status $rc$([ -e bad ] && echo ', bad/ written'): $(tail -c 600 err.txt)"
    fi
done
