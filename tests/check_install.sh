#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# check_install.sh: `make install DESTDIR=... PREFIX=...` puts the CLI, the libraries, the header,
# slimvsr.pc, the man page and the shipped models in place; the installed CLI finds its models and
# answers --version in every command; examples/upscale_frames.c compiles against the installed tree
# through pkg-config alone, links the shared library and gives the frames the in-tree build gives; and
# `make uninstall` leaves no file behind. Needs $BUILD (a built tree).
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup install
BUILD=$(realpath "${BUILD:-build}")
D=$T/dest PREFIX=/opt/slimvsr-test
P=$D$PREFIX

if make -s install BUILD="$BUILD" DESTDIR="$D" PREFIX="$PREFIX" >"$T/make.txt" 2>&1; then ok install_runs
else ko install_runs "$(tail -5 "$T/make.txt")"; exit 0; fi
missing=""
for f in bin/slimvsr lib/libslimvsr.a lib/libslimvsr.so lib/libslimvsr.so.0 lib/pkgconfig/slimvsr.pc \
         include/slimvsr.h share/man/man1/slimvsr.1 share/slimvsr/models/basicvsr-ssl.safetensors \
         share/slimvsr/models/basicvsr-dense.safetensors lib/python3/dist-packages/slimvsr/__init__.py; do
    [ -e "$P/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok install_files || ko install_files "missing:$missing"
grep -q "^prefix=$PREFIX\$" "$P/lib/pkgconfig/slimvsr.pc" && ok install_pc_prefix || ko install_pc_prefix "$(head -1 "$P/lib/pkgconfig/slimvsr.pc")"

# the installed CLI: its models beside it (share/slimvsr/models), --version after every command
if env -u SLIMVSR_MODELS "$P/bin/slimvsr" info ssl >"$T/info.txt" 2>&1; then ok installed_cli_finds_models
else ko installed_cli_finds_models "$(head -3 "$T/info.txt")"; fi
want="slimvsr $(sed -n 's/^#define SLIMVSR_VERSION_STRING "\(.*\)"/\1/p' include/slimvsr.h)"
bad=""
for c in "" upscale info convert eval train train-flow prune; do
    got=$("$P/bin/slimvsr" $c --version 2>&1)
    [ "$got" = "$want" ] || bad="$bad '$c': '$got';"
done
[ -z "$bad" ] && ok version_in_every_command || ko version_in_every_command "$bad"
sections=$(grep -c '^\.SH "slimvsr ' "$P/share/man/man1/slimvsr.1")
[ "$sections" = 7 ] && ok man_page_has_every_command || ko man_page_has_every_command "$sections command sections"

# the example against the installed tree only: a copy outside the checkout, flags from pkg-config
cp examples/upscale_frames.c "$T/"
export PKG_CONFIG_PATH=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D
if (cd "$T" && cc -std=c11 -o ex upscale_frames.c $(pkg-config --cflags --libs slimvsr)) >"$T/cc.txt" 2>&1; then
    ok example_builds_with_pkg_config
else
    ko example_builds_with_pkg_config "$(head -5 "$T/cc.txt")"
fi
# the installed header alone, as strict C89 and as C++ (an application's own language)
printf '#include <slimvsr.h>\nint main(void) { return slimvsr_version() ? 0 : 1; }\n' >"$T/h.c"
cp "$T/h.c" "$T/h.cpp"
if cc -std=c89 -pedantic -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags slimvsr) "$T/h.c" >"$T/cc.txt" 2>&1 &&
   { ! command -v c++ >/dev/null || c++ -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags slimvsr) "$T/h.cpp" >>"$T/cc.txt" 2>&1; }; then
    ok header_is_c89_and_cxx
else
    ko header_is_c89_and_cxx "$(head -3 "$T/cc.txt")"
fi
readelf -d "$T/ex" 2>/dev/null | grep -q 'NEEDED.*\[libslimvsr.so.0\]' && ok example_links_shared_library \
    || ko example_links_shared_library "no NEEDED libslimvsr.so.0"
"$PY" -c "import random; random.seed(3); open('$T/lr.rgb', 'wb').write(bytes(random.randrange(256) for _ in range(4 * 20 * 12 * 3)))"
MODEL=tests/data/tiny/tiny_basicvsr.pth
san_preload "$BUILD/libslimvsr.so"
if LD_LIBRARY_PATH=$P/lib "${PRE[@]}" "$T/ex" "$MODEL" 20 12 <"$T/lr.rgb" >"$T/installed.rgb" 2>"$T/err.txt" &&
   "$BUILD/examples/upscale_frames" "$MODEL" 20 12 <"$T/lr.rgb" >"$T/tree.rgb" &&
   [ "$(stat -c %s "$T/installed.rgb")" = $((4 * 20 * 12 * 48)) ] && cmp -s "$T/installed.rgb" "$T/tree.rgb"; then
    ok installed_example_equals_tree_build
else
    ko installed_example_equals_tree_build "$(head -3 "$T/err.txt") $(stat -c %s "$T/installed.rgb")"
fi

# the installed Python binding finds the installed library by itself (no SLIMVSR_LIBRARY); it writes
# __pycache__ there as it would for a user, which uninstall must remove too
if "${PRE[@]}" env -u SLIMVSR_LIBRARY -u PYTHONDONTWRITEBYTECODE PYTHONPATH="$P/lib/python3/dist-packages" "$PY" - "$T" "$MODEL" "$P" <<'PY' 2>"$T/err.txt"
import sys, numpy as np, slimvsr
T, model, prefix = sys.argv[1:]
assert slimvsr._lib._name.startswith(prefix), slimvsr._lib._name
lr = np.fromfile(f"{T}/lr.rgb", np.uint8).reshape(4, 12, 20, 3)
hr = np.stack(list(slimvsr.Upscaler(slimvsr.Model(model), 20, 12).upscale(lr)))
assert (hr.ravel() == np.fromfile(f"{T}/tree.rgb", np.uint8)).all(), "other frames"
PY
then ok installed_python_equals_tree_build; else ko installed_python_equals_tree_build "$(tail -2 "$T/err.txt")"; fi

make -s uninstall BUILD="$BUILD" DESTDIR="$D" PREFIX="$PREFIX" >"$T/make.txt" 2>&1 || ko uninstall_runs "$(tail -3 "$T/make.txt")"
left=$(find "$D" -not -type d; find "$D" -depth -type d -name '*slimvsr*' -not -path "$P")
[ -z "$left" ] && ok uninstall_leaves_nothing || ko uninstall_leaves_nothing "left: $(echo $left | head -c 400)"
