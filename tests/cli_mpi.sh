#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_mpi.sh: data-parallel training over MPI (issue 19, train/dist.h): `mpirun -np 2` ranks with --batch 2
# log the losses and end with the weights of one process with --batch 4 and the same --seed (within float
# summation), and with its sampler state; train-flow the same, and train-flow --supervised (each rank
# renders its slice of the global synthetic batch). A job killed with SIGKILL of one rank, or
# stopped with Ctrl-C (all ranks after the same iteration, with a checkpoint), resumes to the bytes of an
# unbroken job; a resume on another number of ranks is refused; a rank that fails stops every rank with
# its message (prune: tests/cli_mpi_prune.sh). Needs the MPI build (make MPI=1: build-mpi/slimvsr beside
# $BUILD, or $SLIMVSR_MPI) and mpirun (Debian: openmpi-bin); without them it prints why and skips.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
. tests/lib_mpi.sh
cli_setup mpi
mpi_setup mpi
A=(--data data --feat 8 --blocks 1 --seq 3 --patch 8 --log-every 1 --seed 7)

# ---- 2 ranks x --batch 2 = 1 process x --batch 4 ----
"$SLIMVSR" train -q "${A[@]}" --batch 4 --iters 6 --val-every 3 --out one
r=""
"${MPI[@]}" "$MPI_SLIMVSR" train -q "${A[@]}" --batch 2 --iters 6 --val-every 3 --out two 2>err.txt
if [ $? -eq 0 ] && r=$(same_run one two 2e-4 2>&1); then ok "mpi_equals_one_process ($r)"
else ko mpi_equals_one_process "$(tail -c 600 err.txt) $r"; fi

# ---- train-flow: the same (default --lr 3e-3; train's is 2e-4) ----
F=(--data data --feat 8 --blocks 1 --seq 3 --patch 8 --log-every 1 --seed 7 --iters 4 --checkpoint-every 2)
r=""
"$SLIMVSR" train-flow -q "${F[@]}" --batch 4 --out flow1
"${MPI[@]}" "$MPI_SLIMVSR" train-flow -q "${F[@]}" --batch 2 --out flow2 2>err.txt
if [ $? -eq 0 ] && r=$(same_run flow1 flow2 3e-3 2>&1); then ok "mpi_flow_equals_one_process ($r)"
else ko mpi_flow_equals_one_process "$(tail -c 600 err.txt) $r"; fi

# ---- train-flow --supervised: the same, each rank rendering its slice of the one synthetic stream ----
mkdir -p photos/sub
"$FRAMETOOL" png photos/p0.png 120 90 && "$FRAMETOOL" png photos/sub/p1.png 90 120 \
    && "$FRAMETOOL" png photos/sub/p2.png 200 64 || ko mpi_sup_setup "frametool failed"
S=(--supervised --photos photos --feat 4 --blocks 1 --seq 2 --patch 32 --log-every 1 --eval-pairs 4 --seed 5 --iters 4
   --checkpoint-every 2)
r=""
"$SLIMVSR" train-flow -q "${S[@]}" --batch 4 --out sup1 2>/dev/null
"${MPI[@]}" "$MPI_SLIMVSR" train-flow -q "${S[@]}" --batch 2 --out sup2 2>err.txt
if [ $? -eq 0 ] && r=$(same_run sup1 sup2 3e-3 2>&1); then ok "mpi_flow_supervised_equals_one_process ($r)"
else ko mpi_flow_supervised_equals_one_process "$(tail -c 600 err.txt) $r"; fi

# ---- another number of ranks on --resume: refused, naming both ----
expect_error mpi_resume_other_ranks "trained on 2 ranks" "$SLIMVSR" train -q --out two --resume --iters 8

# ---- SIGKILL of one rank: the job stops; --resume on 2 ranks gives the bytes of an unbroken job ----
"${MPI[@]}" "$MPI_SLIMVSR" train -q "${A[@]}" --batch 2 --iters 30 --val-every 4 --out whole 2>/dev/null
"${MPI[@]}" "$MPI_SLIMVSR" train -q "${A[@]}" --batch 2 --iters 30 --val-every 4 --out killed 2>/dev/null &
pid=$!
wait_for $pid logged killed 9
rank=$(pgrep -P $pid | tail -n 1)
[ -n "$rank" ] && kill -9 "$rank" 2>/dev/null
wait $pid 2>/dev/null
last=$(last_iter killed)
if [ -n "$last" ] && [ "$last" -lt 30 ]; then
    "${MPI[@]}" "$MPI_SLIMVSR" train -q --out killed --resume 2>err.txt && [ "$(last_iter killed)" = 30 ] \
        && cmp -s killed/model.safetensors whole/model.safetensors && cmp -s killed/state.safetensors whole/state.safetensors \
        && ok "mpi_killed_rank_resumes_identically (killed at $last)" \
        || ko mpi_killed_rank_resumes_identically "the resumed job's files differ: $(tail -c 400 err.txt)"
else
    ko mpi_killed_rank_resumes_identically "not killed in time (log at '$last')"
fi

# ---- Ctrl-C to mpirun: every rank stops after the same iteration, with a checkpoint; --resume goes on ----
"${MPI[@]}" "$MPI_SLIMVSR" train -q "${A[@]}" --batch 2 --iters 30 --val-every 4 --out stopped 2>/dev/null &
pid=$!
wait_for $pid logged stopped 5
kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null
last=$(last_iter stopped)
if [ -n "$last" ] && [ "$last" -lt 30 ] && [ "$(well_formed stopped/state.safetensors)" = "$last" ]; then
    "${MPI[@]}" "$MPI_SLIMVSR" train -q --out stopped --resume 2>err.txt \
        && cmp -s stopped/model.safetensors whole/model.safetensors && cmp -s stopped/state.safetensors whole/state.safetensors \
        && ok "mpi_ctrl_c_stops_all_ranks (at $last)" || ko mpi_ctrl_c_stops_all_ranks "the resumed job's files differ: $(tail -c 400 err.txt)"
else
    ko mpi_ctrl_c_stops_all_ranks "log at '$last', checkpoint at '$(well_formed stopped/state.safetensors 2>&1)'"
fi

# ---- a rank that fails (its data path is missing) stops every rank with its message ----
B=("${A[@]}"); B[1]=missing
timeout 120 mpirun --oversubscribe -np 1 "$MPI_SLIMVSR" train -q "${A[@]}" --batch 2 --iters 4 --out bad : \
    -np 1 "$MPI_SLIMVSR" train -q "${B[@]}" --batch 2 --iters 4 --out bad >out.txt 2>err.txt
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "missing" err.txt && grep -q "rank 1 of 2 failed" err.txt; then
    ok mpi_failing_rank_stops_all
else
    ko mpi_failing_rank_stops_all "status $rc: $(tail -c 600 err.txt)"
fi
