#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_profile.sh: the per-layer profile on the command line: `slimvsr info MODEL --profile` on the shipped
# SSL-pruned model and the tiny dense one, its refusals, and SLIMVSR_PROFILE=2 on upscale.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR and $FRAMETOOL.
set -u
cd "$(dirname "$0")/.."
. tests/lib_cli.sh
cli_setup profile
SSL=models/basicvsr-ssl.safetensors
TINY=tests/data/tiny/tiny_basicvsr.pth

# has_rows NAME FILE PATTERN...: every pattern is the start of a line of FILE
has_rows() {
    local name=$1 file=$2; shift 2
    for p in "$@"; do
        if ! grep -q -- "^$p" "$file"; then ko "$name" "no line starting with '$p' in: $(head -c 600 "$file")"; return; fi
    done
    ok "$name"
}
GROUPS_=("spynet " "trunk conv_first " "block conv1 " "block conv2 " "gather/scatter " "warp " "fusion " "upconv1 "
         "upconv2 " "conv_hr " "conv_last " "other " "total ")

# --- info --profile on a pruned model: every layer, the RSC work, the groups ---
if "$SLIMVSR" info "$SSL" --profile --size 36x52 --frames 3 --threads 2 >"$T/ssl.txt" 2>"$T/err.txt"; then
    has_rows info_profile_pruned_groups "$T/ssl.txt" "${GROUPS_[@]}" "rsc gather " "rsc scatter-add " "hidden-state warp "
    # 8 blocks per branch: 2 x (1 + 16) trunk convs, 30 SPyNet convs, 5 of the reconstruction
    n=$(awk '$2 ~ /^(winograd|onednn|reference|rsc-)/' "$T/ssl.txt" | wc -l)
    [ "$n" = 69 ] && ok info_profile_pruned_layers || ko info_profile_pruned_layers "$n layer rows, want 69"
    # 3 frames: a trunk conv runs 3 times, a SPyNet conv 2 x (3 - 1) = 4 times
    awk '$1 == "forward_trunk.main.2.7.conv1" { c = $3 } $1 == "spynet.basic_module.5.basic_module.8" { s = $3 }
         END { exit !(c == 3 && s == 4) }' "$T/ssl.txt" && ok info_profile_calls || ko info_profile_calls "$(grep -E 'main.2.7.conv1|module.5.basic_module.8' "$T/ssl.txt")"
    grep -q "3 random frames of 36x52, 2 threads" "$T/ssl.txt" && ok info_profile_header || ko info_profile_header "$(head -1 "$T/ssl.txt")"
else
    ko info_profile_pruned "exit status $?: $(cat "$T/err.txt")"
fi

# --- a dense model (no RSC lists): no gather or scatter rows, default 5 frames ---
if "$SLIMVSR" info "$TINY" --profile --size 20x28 >"$T/tiny.txt" 2>"$T/err.txt"; then
    has_rows info_profile_dense "$T/tiny.txt" "${GROUPS_[@]}"
    ! grep -q "^rsc gather" "$T/tiny.txt" && grep -q "^5 random frames of 20x28" "$T/tiny.txt" \
        && ok info_profile_dense_no_rsc || ko info_profile_dense_no_rsc "$(grep -E '^rsc|random frames' "$T/tiny.txt")"
else
    ko info_profile_dense "exit status $?: $(cat "$T/err.txt")"
fi

# --- refusals: one line naming the option ---
expect_error info_profile_bad_size "--size" "$SLIMVSR" info "$SSL" --profile --size 0x52
expect_error info_profile_bad_size_text "--size" "$SLIMVSR" info "$SSL" --profile --size big
expect_error info_profile_size_missing "--size" "$SLIMVSR" info "$SSL" --profile --size
expect_error info_profile_bad_frames "--frames" "$SLIMVSR" info "$SSL" --profile --frames 0
expect_error info_profile_bad_threads "--threads" "$SLIMVSR" info "$SSL" --profile --threads x

# --- SLIMVSR_PROFILE=2 upscale: the one-line summary, then the per-layer table ---
mkdir -p "$T/lr"
for i in 0 1 2; do "$FRAMETOOL" png "$T/lr/0000000$i.png" 28 20 || ko upscale_setup "frametool png"; done
if SLIMVSR_PROFILE=2 "$SLIMVSR" upscale -q -m "$TINY" "$T/lr" "$T/sr" 2>"$T/prof.txt"; then
    grep -q "^profile: 3 frames, per frame: spynet" "$T/prof.txt" && ok upscale_profile_summary \
        || ko upscale_profile_summary "$(cat "$T/prof.txt")"
    if grep -q "^per-layer profile over 3 frames" "$T/prof.txt"; then
        has_rows upscale_profile_table "$T/prof.txt" "${GROUPS_[@]}" "forward_trunk.main.0 "
    else
        ko upscale_profile_table "no per-layer table: $(cat "$T/prof.txt")"
    fi
else
    ko upscale_profile "upscale failed: $(cat "$T/prof.txt")"
fi
SLIMVSR_PROFILE=1 "$SLIMVSR" upscale -q -y -m "$TINY" "$T/lr" "$T/sr" 2>"$T/prof1.txt"
[ "$(grep -c . "$T/prof1.txt")" = 1 ] && ok upscale_profile_1_one_line || ko upscale_profile_1_one_line "$(cat "$T/prof1.txt")"
