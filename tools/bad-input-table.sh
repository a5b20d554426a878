#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# bad-input-table.sh [LOG]: the Markdown table of docs/bad-input.md, from the output of the test suite
# (tests/run.sh, or tools/test.sh): every expect_error check of the tests/cli_*.sh scripts, i.e. every bad
# input or bad option tried on the command line, with the one line slimvsr answered and whether the check
# passed (non-zero exit, exactly that one line, naming the file or option at fault, no crash, nothing left
# behind where the script checks it). Reads stdin without LOG.
#   BUILD=build tests/run.sh > /tmp/run.log; tools/bad-input-table.sh /tmp/run.log
set -euo pipefail
awk '
/^== / { script = $2; sub(".*/", "", script); next }
/^(PASS|FAIL) / { name = $2; sub(":$", "", name); status = $1; pending = (script ~ /^cli_/) ? 1 : 0; next }
/^    slimvsr/ && pending {
    msg = $0; sub(/^    /, "", msg); gsub(/\|/, "\\|", msg); gsub(/\/tmp\/slimvsr-[A-Za-z0-9-]*\//, "", msg)
    if (!(script in seen)) { order[++n] = script; seen[script] = 1 }
    rows[script] = rows[script] sprintf("| `%s` | %s | %s |\n", name, msg, status == "PASS" ? "yes" : "**no**")
    pending = 0
}
END {
    for (i = 1; i <= n; i++) {
        printf "\n### tests/%s\n\n| check | what slimvsr answered | passed |\n|---|---|---|\n%s", order[i], rows[order[i]]
    }
}' "${1:-/dev/stdin}"
