#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# check_layers.sh: the include rule of docs/ARCHITECTURE.md. A folder of src/ may include its own headers
# and those of the folders below it, never one above:
#   core  <- io, ops  <- model  <- pipeline  <- train  <- prune  <- cli
#                                 pipeline, train, prune  <- api (the public C API; the cli includes only its header)
# (io and ops are side by side: neither includes the other). One PASS/FAIL line per folder.
set -u
cd "$(dirname "$0")/.."
declare -A allowed=(
    [core]="core"
    [io]="core io"
    [ops]="core ops"
    [model]="core io ops model"
    [pipeline]="core io ops model pipeline"
    [train]="core io ops model pipeline train"
    [prune]="core io ops model pipeline train prune"
    [cli]="core io ops model pipeline train prune cli"
    [api]="core io ops model pipeline train prune api"
)
for d in core io ops model pipeline train prune cli api; do
    bad=""
    for f in src/$d/*.[ch]; do
        for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
            case " ${allowed[$d]} " in *" $inc "*) ;; *) bad="$bad $f includes $inc/;" ;; esac
        done
    done
    if [ -z "$bad" ]; then echo "PASS include_rule_$d"; else echo "FAIL include_rule_$d:$bad"; fi
done
unknown=$(ls src | grep -vxE 'core|io|ops|model|pipeline|train|prune|cli|api' || true)
[ -z "$unknown" ] && echo "PASS include_rule_folders_known" || echo "FAIL include_rule_folders_known: src/$unknown has no place in the rule"
