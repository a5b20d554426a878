#!/usr/bin/env bash
# check_license.sh: every source file the repository tracks (C, shell, Python, the Makefile) carries the
# licence line `SPDX-License-Identifier: Apache-2.0` in its first three lines, and LICENSE is the
# Apache License 2.0. One PASS/FAIL line each.
set -u
cd "$(dirname "$0")/.."
missing=$(git ls-files -co --exclude-standard -- '*.c' '*.h' '*.sh' '*.py' Makefile |
    while read -r f; do
        [ -f "$f" ] && ! head -3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' && echo "$f"
    done)
[ -z "$missing" ] && echo "PASS license_line_in_every_source" || echo "FAIL license_line_in_every_source: $(echo $missing | head -c 600)"
grep -q 'Apache License' LICENSE 2>/dev/null && grep -q 'Version 2.0, January 2004' LICENSE \
    && echo "PASS license_file_apache_2" || echo "FAIL license_file_apache_2: LICENSE is missing or not Apache-2.0"
