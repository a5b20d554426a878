#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# fetch-debian-file.sh PACKAGE INNER_PATH DEST [INNER_PATH DEST ...]: downloads a Debian package once with
# `apt-get download` (no install, no root needed unless the package lists are stale), unpacks it, and
# moves each listed file out of it to its DEST (atomically: a DEST appears whole or not at all). Does
# nothing when every DEST already exists and is not empty. Runs "apt-get update" once if the download
# fails. Used for the real clips the tests and the shipped model's training set take from Debian
# (tests/data/fetch_cockatoo.sh, tools/fetch-train-data.sh).
set -euo pipefail
[ $# -ge 3 ] && [ $(($# % 2)) -eq 1 ] || { echo "usage: $0 PACKAGE INNER_PATH DEST [INNER_PATH DEST ...]" >&2; exit 2; }
pkg=$1; shift
missing=()
for ((i = 1; i < $#; i += 2)); do
    dest=${*:i+1:1}
    [ -s "$dest" ] || missing+=("${*:i:1}" "$dest")
done
[ ${#missing[@]} -eq 0 ] && exit 0
first_dest=${missing[1]}
mkdir -p "$(dirname "$first_dest")"
work=$(mktemp -d "$(dirname "$first_dest")/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current folder; as root it drops privileges to _apt, which needs write
# access there.
chmod 0777 "$work"
if ! (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1); then
    echo "fetch: apt-get download $pkg failed; running apt-get update" >&2
    apt-get update -q >/dev/null
    (cd "$work" && apt-get download -q "$pkg" >/dev/null)
fi
deb=$(ls "$work/${pkg}"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "fetch: no $pkg .deb downloaded" >&2; exit 1; }
dpkg -x "$deb" "$work/x"
for ((i = 0; i < ${#missing[@]}; i += 2)); do
    inner=${missing[i]#/} dest=${missing[i+1]}
    [ -s "$work/x/$inner" ] || { echo "fetch: $inner not found in $(basename "$deb")" >&2; exit 1; }
    mkdir -p "$(dirname "$dest")"
    mv "$work/x/$inner" "$dest.tmp"
    mv "$dest.tmp" "$dest"
done
