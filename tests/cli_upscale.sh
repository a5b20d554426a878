#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 (LICENSE)
# cli_upscale.sh: end-to-end tests of the command line on a real video and on bad input.
# Prints PASS/FAIL lines (counted by tests/run.sh). Needs $SLIMVSR, $FRAMETOOL, $SLIMVSR_COCKATOO.
set -u
cd "$(dirname "$0")/.."
MODEL=tests/data/tiny/tiny_basicvsr.pth
. tests/lib_cli.sh
cli_setup cli

# no_leftovers NAME DIR: nothing but the listed entries in DIR (no partial output, no temporaries)
no_leftovers() {
    local name=$1 dir=$2; shift 2
    local extra; extra=$(ls -A "$dir" | grep -vxF -f <(printf '%s\n' "$@") || true)
    if [ -n "$extra" ]; then ko "$name" "left behind in $dir: $extra"; else ok "$name"; fi
}

if [ -z "${SLIMVSR_COCKATOO:-}" ] || [ ! -s "$SLIMVSR_COCKATOO" ]; then
    ko video_setup "SLIMVSR_COCKATOO is not set; run tests/data/fetch_cockatoo.sh"
else
    # LR clip: the first 6 frames of cockatoo.mp4 (1280x720, 20 fps) box-downscaled by 20 -> 64x36,
    # stored losslessly (.mkv keeps the frame rate) and as PNG frames.
    "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "$T/lr.mkv" 6 20 && "$FRAMETOOL" downscale "$SLIMVSR_COCKATOO" "$T/lr" 6 20 \
        && ok video_setup || ko video_setup "downscale failed"
    read -r n_in w_in h_in fps_in < <("$FRAMETOOL" probe "$SLIMVSR_COCKATOO")
    if "$SLIMVSR" upscale -q -m "$MODEL" "$T/lr.mkv" "$T/sr.mp4" && "$SLIMVSR" upscale -q -m "$MODEL" "$T/lr.mkv" "$T/sr_png"; then
        read -r n w h fps < <("$FRAMETOOL" probe "$T/sr.mp4")
        [ "$n $w $h $fps" = "6 256 144 $fps_in" ] && ok video_mp4_count_size_rate || ko video_mp4_count_size_rate "got '$n $w $h $fps', want '6 256 144 $fps_in'"
        read -r n w h fps < <("$FRAMETOOL" probe "$T/sr_png")
        [ "$n $w $h" = "6 256 144" ] && ok video_png_count_size || ko video_png_count_size "got '$n $w $h'"
        [ -f "$T/sr_png/00000000.png" ] && [ -f "$T/sr_png/00000005.png" ] && ok video_png_names || ko video_png_names "$(ls "$T/sr_png" | head -3)"
        read -r p n < <("$FRAMETOOL" psnr "$T/sr.mp4" "$T/sr_png")
        awk -v p="$p" 'BEGIN { exit !(p > 35) }' && ok "video_mp4_matches_png (worst PSNR $p dB)" || ko video_mp4_matches_png "worst PSNR $p dB"
    else
        ko video_upscale "upscale failed"
    fi
    # The same frames as a PNG folder give the same output, with the input's names.
    "$SLIMVSR" upscale -q -m "$MODEL" "$T/lr" "$T/sr_from_png"
    read -r p n < <("$FRAMETOOL" psnr "$T/sr_png" "$T/sr_from_png")
    [ "$p" = "99.00" ] && [ "$n" = 6 ] && ok folder_input_equals_video_input || ko folder_input_equals_video_input "PSNR $p over $n frames"
    # Chunking: the forward state is carried across chunks, so with a lookahead that reaches the end the
    # chunked result equals the single pass exactly; without lookahead it runs and stays close.
    "$SLIMVSR" upscale -q -m "$MODEL" --chunk 2 --lookahead 4 "$T/lr" "$T/sr_chunk"
    read -r p n < <("$FRAMETOOL" psnr "$T/sr_png" "$T/sr_chunk")
    [ "$p" = "99.00" ] && [ "$n" = 6 ] && ok chunked_with_lookahead_is_exact || ko chunked_with_lookahead_is_exact "PSNR $p over $n frames"
    "$SLIMVSR" upscale -q -m "$MODEL" --chunk 2 --lookahead 0 "$T/lr" "$T/sr_chunk0"
    read -r p n < <("$FRAMETOOL" psnr "$T/sr_png" "$T/sr_chunk0")
    awk -v p="$p" 'BEGIN { exit !(p > 30) }' && [ "$n" = 6 ] && ok "chunked_without_lookahead_close (PSNR $p dB)" || ko chunked_without_lookahead_close "PSNR $p over $n frames"
fi

# convert: the native file runs identically and numpy can read it with json + frombuffer
"$SLIMVSR" convert "$MODEL" "$T/tiny.safetensors" 2>/dev/null && ok convert || ko convert "convert failed"
if [ -d "$T/lr" ]; then
    "$SLIMVSR" upscale -q -m "$T/tiny.safetensors" "$T/lr" "$T/sr_st"
    read -r p n < <("$FRAMETOOL" psnr "$T/sr_png" "$T/sr_st")
    [ "$p" = "99.00" ] && ok safetensors_runs_identically || ko safetensors_runs_identically "PSNR $p"
fi
"$PY" - "$T/tiny.safetensors" tests/data/tiny/weights.bin tests/data/tiny/manifest.json <<'PY' && ok safetensors_readable_with_numpy || ko safetensors_readable_with_numpy "numpy check failed"
import json, struct, sys
import numpy as np
st, wb, man = sys.argv[1:]
raw = open(st, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
meta = json.loads(hdr['__metadata__']['slimvsr'])
assert meta['num_feat'] == 16 and meta['num_block'] == 2, meta
data = raw[8 + n:]
ref = open(wb, 'rb').read()
for t in json.load(open(man))['weights']['tensors']:
    a, b = hdr[t['name']]['data_offsets']
    got = np.frombuffer(data[a:b], dtype='<f4').reshape(hdr[t['name']]['shape'])
    exp = np.frombuffer(ref[t['offset']:t['offset'] + t['nbytes']], dtype='<f4').reshape(t['shape'])
    assert hdr[t['name']]['dtype'] == 'F32' and np.array_equal(got, exp), t['name']
PY

# info --json: parameter count against the manifest, FLOPs recomputed from the layer list
"$SLIMVSR" info "$MODEL" --size 36x64 --json >"$T/info.json" && "$PY" - "$T/info.json" tests/data/tiny/manifest.json <<'PY' && ok info_json || ko info_json "info --json check failed"
import json, sys
info = json.load(open(sys.argv[1])); man = json.load(open(sys.argv[2]))
params = 0
for t in man['weights']['tensors']:
    if t['name'] in ('spynet.mean', 'spynet.std'): continue
    n = 1
    for s in t['shape']: n *= s
    params += n
assert info['params'] == params, (info['params'], params)
assert info['params_spynet'] == sum(l['cin'] * l['cout'] * l['k'] ** 2 + l['cout'] for l in info['layers'] if l['name'].startswith('spynet'))
# trunk/recon convs at 36x64 (upconv2 at 2x, conv_hr/conv_last at 4x); SPyNet twice per frame at 64x64/2^k
def at(name, lvl=None):
    if name.startswith('spynet'): return (64 >> (5 - lvl), 64 >> (5 - lvl), 2)
    if name == 'upconv2': return (72, 128, 1)
    if name in ('conv_hr', 'conv_last'): return (144, 256, 1)
    return (36, 64, 1)
flops = fs = 0
for l in info['layers']:
    lvl = int(l['name'].split('.')[2]) if l['name'].startswith('spynet') else None
    h, w, calls = at(l['name'], lvl)
    f = 2 * l['cin'] * l['cout'] * l['k'] ** 2 * h * w * calls
    flops += f
    fs += f if lvl is not None else 0
assert abs(info['flops'] - flops) < 1 and abs(info['flops_spynet'] - fs) < 1, (info['flops'], flops)
assert len(info['layers']) == 30 + 2 * (1 + 2 * 2) + 5
PY

# frames smaller than PyTorch's SPyNet accepts (it fails at <= 32 px): supported
mkdir -p "$T/small"
"$FRAMETOOL" png "$T/small/a.png" 20 12 && "$FRAMETOOL" png "$T/small/b.png" 20 12
if "$SLIMVSR" upscale -q -m "$MODEL" "$T/small" "$T/small_sr" && read -r n w h fps < <("$FRAMETOOL" probe "$T/small_sr") && [ "$n $w $h" = "2 80 48" ]; then
    ok small_frames_supported
else
    ko small_frames_supported "20x12 frames did not upscale to 2 frames of 80x48"
fi

# ---- bad input: one-line error naming the file, non-zero exit, no partial output ----
mkdir -p "$T/bad" && cd "$T/bad" || exit 1
head -c 100000 "$OLDPWD/$MODEL" >trunc.pth
expect_error truncated_pth trunc.pth "$SLIMVSR" upscale -m trunc.pth "$T/lr" out
expect_error other_network_pth other_network.pth "$SLIMVSR" upscale -m "$OLDPWD/tests/data/cli/other_network.pth" "$T/lr" out
expect_error other_network_convert other_network.pth "$SLIMVSR" convert "$OLDPWD/tests/data/cli/other_network.pth" out.safetensors
head -c 20000 /dev/urandom >garbage.mp4
expect_error garbage_mp4 garbage.mp4 "$SLIMVSR" upscale -m "$OLDPWD/$MODEL" garbage.mp4 out.mp4
mkdir -p empty
expect_error empty_folder empty "$SLIMVSR" upscale -m "$OLDPWD/$MODEL" empty out
mkdir -p mixed && "$FRAMETOOL" png mixed/a.png 24 16 && "$FRAMETOOL" png mixed/b.png 26 16
expect_error mixed_frame_sizes b.png "$SLIMVSR" upscale -m "$OLDPWD/$MODEL" mixed out
# a corrupt frame in the middle: frames before it were already upscaled, yet nothing is published
mkdir -p midbad && for i in 0 1 2; do "$FRAMETOOL" png midbad/f$i.png 24 16; done && head -c 60 midbad/f1.png >midbad/f2.png
expect_error corrupt_frame_midway f2.png "$SLIMVSR" upscale -q -m "$OLDPWD/$MODEL" --chunk 1 --lookahead 0 midbad out
expect_error missing_output_dir nope "$SLIMVSR" upscale -m "$OLDPWD/$MODEL" mixed nope/out.mp4
expect_error missing_model missing.pth "$SLIMVSR" upscale -m missing.pth mixed out
expect_error missing_input no_such_clip.mp4 "$SLIMVSR" upscale -m "$OLDPWD/$MODEL" no_such_clip.mp4 out.mp4
no_leftovers bad_inputs_leave_nothing "$T/bad" trunc.pth garbage.mp4 empty mixed midbad out.txt err.txt

# ---- memory: a job that cannot fit is refused before anything big is allocated (core/memory.h) ----
# Each run is capped so that a regression fails instead of taking the machine's RAM: ulimit -v (RLIMIT_AS),
# or under ASan, which maps terabytes of shadow address space, ASan's own RSS cap. Checks that need
# RLIMIT_AS itself are skipped under ASan.
mkdir -p "$T/mem" && cd "$T/mem" || exit 1
mem_asan=0; ldd "$SLIMVSR" 2>/dev/null | grep -q libasan && mem_asan=1
capped() {  # capped KB CMD...
    local kb=$1; shift
    if [ $mem_asan = 1 ]; then ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=$((kb / 1024)) "$@"
    else (ulimit -v "$kb" && "$@"); fi
}
# msg_names NAME TEXT...: the last expect_error message holds every TEXT
msg_names() {
    local name=$1 t; shift
    for t in "$@"; do grep -qF -- "$t" "$T/err.txt" || { ko "$name" "no '$t' in: $(cat "$T/err.txt")"; return; }; done
    ok "$name"
}
# a 69-byte PNG declaring 4096x4096 (its pixel data is cut short: only the header is read before the plan):
# about 15 GB for one frame with the shipped models. Under ulimit -v 3 GB the planner sees 3 GB available;
# under ASan it cannot see the RSS cap, so there the limit is --max-memory 2G (and the message names it)
mkdir -p huge && "$PY" - huge/f0.png <<'PY'
import struct, sys, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
ihdr = struct.pack('>IIBBBBB', 4096, 4096, 8, 2, 0, 0, 0)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\0' * 13)) + chunk(b'IEND', b''))
PY
huge_limit=() huge_names=("available (")
[ $mem_asan = 1 ] && huge_limit=(--max-memory 2G) huge_names=("--max-memory is 2")
expect_error mem_huge_frames_refused 4096x4096 capped 3000000 "$SLIMVSR" upscale -q -m ssl "${huge_limit[@]}" huge huge_sr
msg_names mem_huge_frames_message "huge:" "GB with this model even one frame at a time (--chunk 1)" "${huge_names[@]}" \
    "smaller model"
[ ! -e huge_sr ] && ok mem_huge_frames_no_output || ko mem_huge_frames_no_output "$(ls -A)"
# --max-memory: a budget below what one frame needs is refused naming it, before any frame is read (the
# header-only PNGs have no pixel data); --dry-run prints the plan and writes nothing; a frame whose
# reconstruction does not fit whole in the budget is planned in tiles.
mkdir -p big && "$PY" - big/f0.png <<'PY'
import struct, sys, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
ihdr = struct.pack('>IIBBBBB', 1024, 768, 8, 2, 0, 0, 0)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\0' * 13)) + chunk(b'IEND', b''))
PY
expect_error mem_max_memory_refused "--max-memory is 100 MB" "$SLIMVSR" upscale -q -m ssl --max-memory 100M big big_sr
msg_names mem_max_memory_message "big:" "1024x768" "one frame at a time" "larger --max-memory"
expect_error mem_max_memory_bad_size "--max-memory" "$SLIMVSR" upscale -q -m ssl --max-memory 3Q big big_sr
if "$SLIMVSR" upscale -m ssl --dry-run --max-memory 3G big big_sr >"$T/out.txt" 2>"$T/err.txt"; then
    grep -q "^tile rows   [0-9]* of 768$" "$T/out.txt" && grep -q "^chunk       1" "$T/out.txt" &&
        grep -q "^peak memory .* within 3.0 GB" "$T/out.txt" && [ ! -e big_sr ] && ok dry_run_plans_tiles_writes_nothing ||
        ko dry_run_plans_tiles_writes_nothing "$(cat "$T/out.txt"; ls -A)"
elif grep -q "available" "$T/err.txt"; then echo "SKIP dry_run_plans_tiles_writes_nothing: under 3 GB available"
else ko dry_run_plans_tiles_writes_nothing "$(cat "$T/err.txt")"; fi
# 300 frames of 256x256 (one PNG, hard-linked) and the bicubic baseline: its window (12 bytes a pixel a
# frame) is most of its memory. Under 450 MB of address space (about 230 MB left after the libraries)
# the whole clip in one window does not fit: an explicit --chunk 300 is refused naming one that fits, and
# the automatic chunk (its budget: half of what is available) runs in smaller chunks.
mkdir -p long && "$FRAMETOOL" png long/f000.png 256 256 && for i in $(seq -w 1 299); do ln long/f000.png long/f$i.png; done
if [ $mem_asan = 1 ]; then
    echo "SKIP mem_explicit_chunk_refused, mem_auto_chunk_within_rlimit: ASan cannot run under ulimit -v"
else
    expect_error mem_explicit_chunk_refused "use --chunk " capped 450000 "$SLIMVSR" upscale -q -m bicubic --chunk 300 --lookahead 0 long long_sr
    fit=$(sed -n 's/.*use --chunk \([0-9]*\) or less.*/\1/p' "$T/err.txt")
    [ -n "$fit" ] && [ "$fit" -ge 1 ] && [ "$fit" -lt 300 ] && msg_names mem_explicit_chunk_message "long:" "--chunk 300" "256x256" "RLIMIT_AS" \
        || ko mem_explicit_chunk_message "no chunk between 1 and 299 suggested: $(cat "$T/err.txt")"
    if capped 450000 "$SLIMVSR" upscale -q -m bicubic long long_sr 2>"$T/err.txt" && [ "$(ls long_sr | wc -l)" = 300 ]; then
        ok mem_auto_chunk_within_rlimit
    else ko mem_auto_chunk_within_rlimit "$(head -c 400 "$T/err.txt")"; fi
fi
# --lookahead 100000 on a 3-frame clip: the window is the clip (it was 100001 frames, 2.8 GB)
mkdir -p three && for i in 0 1 2; do "$FRAMETOOL" png three/f$i.png 64 36; done
if capped 1000000 "$SLIMVSR" upscale -q -m bicubic --lookahead 100000 three three_sr 2>"$T/err.txt" && [ "$(ls three_sr | wc -l)" = 3 ]; then
    ok mem_lookahead_clamped_to_clip
else ko mem_lookahead_clamped_to_clip "$(head -c 400 "$T/err.txt")"; fi
cd "$T" || exit 1
exit 0
