# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""run_finished.py RUN_DIR: exit 0 when the training run in RUN_DIR (train or train-flow) reached its last
iteration, 1 when it did not (a run stopped by Ctrl-C or SIGTERM exits 0 with a checkpoint, so the exit
status alone does not say), 2 when RUN_DIR holds no readable state. Reads state.safetensors' metadata:
{"iter": done, "opts": {"iters": total, ...}} in the step's namespace."""
import json
import struct
import sys


def main(run):
    try:
        with open(run + "/state.safetensors", "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            meta = json.loads(f.read(n)).get("__metadata__", {})
    except (OSError, ValueError, struct.error) as e:
        print("run_finished.py: %s: no readable state (%s)" % (run, e), file=sys.stderr)
        return 2
    for v in meta.values():
        try:
            j = json.loads(v)
        except ValueError:
            continue
        if isinstance(j, dict) and "iter" in j and "iters" in j.get("opts", {}):
            return 0 if j["iter"] >= j["opts"]["iters"] else 1
    print("run_finished.py: %s: the state names no iteration count" % run, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
