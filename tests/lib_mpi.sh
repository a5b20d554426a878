# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# lib_mpi.sh: what the data-parallel tests (tests/cli_mpi*.sh) share; sourced after lib_cli.sh and
# cli_setup:
#   mpi_setup NAME   without mpirun (Debian: openmpi-bin) or the MPI build (make MPI=1: build-mpi/slimvsr
#                    beside $BUILD, or $SLIMVSR_MPI), prints why and ends the script (skipped); else moves
#                    to $T, cuts data/a from $SLIMVSR_COCKATOO (NAME_setup passes or fails), and sets
#                    MPI_SLIMVSR and MPI (the command prefix of a job of 2 ranks).
#   same_run ONE TWO LR   two training run folders agree (below).
MPI_SLIMVSR=${SLIMVSR_MPI:-$(dirname "${BUILD:-$PWD/build}")/build-mpi/slimvsr}

mpi_setup() {
    if ! command -v mpirun >/dev/null; then
        echo "SKIP cli_$1: no mpirun (tools/install-deps.sh installs openmpi-bin)"; exit 0
    fi
    if [ ! -x "$MPI_SLIMVSR" ]; then
        echo "SKIP cli_$1: no MPI build at $MPI_SLIMVSR (make MPI=1)"; exit 0
    fi
    cd "$T" || exit 1
    if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
        ko "$1_setup" "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
        exit 0
    fi
    mkdir -p data
    "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" data/a 5 20 && ok "$1_setup" || ko "$1_setup" "frametool failed"
    # root in a container: mpirun refuses without these; one thread per rank on the 2 cores
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
    MPI=(mpirun --oversubscribe -np 2)
}

# same_run ONE TWO LR: the logged losses within 1e-5 relative (every other logged number, such as prune's
# l_tf, a mean |difference| of two hidden states, within 1e-5 relative plus 2e-6), the weights and every
# other trained tensor within LR / 100 (a hundredth of one Adam step: the order of the float sums differs,
# and Adam's step on a gradient near zero shows it), the sampler state (or the synthetic stream's) and the
# iteration equal
same_run() {
    "$PY" - "$1" "$2" "$3" <<'PY'
import json, struct, sys
import numpy as np
def log(d): return [json.loads(l) for l in open(d + "/log.jsonl")]
def tensors(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    t = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32)
         for k, v in h.items() if v["dtype"] == "F32"}
    return t, json.loads(meta.get("train") or meta["flowtrain"])
a, b = log(sys.argv[1]), log(sys.argv[2])
assert len(a) == len(b) and len(a) > 0, ("log lines", len(a), len(b))
rel = max(abs(x["loss"] - y["loss"]) / abs(x["loss"]) for x, y in zip(a, b))
assert rel < 1e-5, ("losses differ", rel, a, b)
for x, y in zip(a, b):
    assert x.keys() == y.keys(), (x, y)
    for k in x:
        if k != "seconds" and abs(x[k] - y[k]) > 1e-5 * abs(x[k]) + 2e-6:
            raise AssertionError((k, "differs at iteration", x["iter"], x[k], y[k]))
ta, ma = tensors(sys.argv[1] + "/state.safetensors")
tb, mb = tensors(sys.argv[2] + "/state.safetensors")
assert ta.keys() == tb.keys()
diff, worst = max((float(np.max(np.abs(ta[k] - tb[k]))), k) for k in ta if k.split(".")[0] not in ("train", "flowtrain"))
assert diff < float(sys.argv[3]) / 100, ("weights differ", worst, diff)
for k in ("data_state", "synth_rng", "iter"):  # the clips' sampler, train-flow --supervised's synthetic stream
    assert ma.get(k) == mb.get(k), (k, "differs")
print(f"losses within {rel:.2g} relative, weights within {diff:.2g}")
PY
}
