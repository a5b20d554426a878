#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# make-man.sh SLIMVSR: prints the man page slimvsr.1 (roff), made from the --help texts of the binary and
# each of its commands, so the page says what the program says. `make` runs it (build/slimvsr.1).
set -eu
bin=$1
commands="upscale info convert eval train train-flow prune"
# --help text -> roff: backslashes escaped, lines kept as they are (no fill), a leading . or ' protected
roff() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
version=$("$bin" --version | sed 's/^slimvsr //')
echo ".TH SLIMVSR 1 \"\" \"slimvsr $version\" \"User Commands\""
echo ".SH NAME"
echo "slimvsr \\- BasicVSR x4 video super-resolution"
echo ".SH SYNOPSIS"
echo ".B slimvsr"
echo ".I command"
echo "[options]"
echo ".SH DESCRIPTION"
echo ".nf"
"$bin" --help | roff
echo ".fi"
for c in $commands; do
    echo ".SH \"slimvsr $c\""
    echo ".nf"
    "$bin" "$c" --help | roff
    echo ".fi"
done
echo ".SH FILES"
echo "The shipped models (\\fB-m ssl\\fR, \\fB-m dense\\fR) are looked up in \$SLIMVSR_MODELS, then in"
echo "models/ and share/slimvsr/models beside the folder of the binary."
echo ".SH SEE ALSO"
echo "The C library: slimvsr.h, \\fBpkg-config --cflags --libs slimvsr\\fR."
