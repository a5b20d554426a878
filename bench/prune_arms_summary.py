# SPDX-License-Identifier: Apache-2.0 (LICENSE)
"""prune_arms_summary.py OUT [TF_W]: the tables of bench/prune_arms.sh (Markdown, stdout) from OUT/eval.jsonl
and the runs' summary.json: per operating point, each arm's size and mean PSNR/SSIM (Y) over seeds; then the
paired differences against arm a (by seed) with 95% t-intervals, the primary comparison first; then the
Temporal Finetuning weight chosen on the validation clip (OUT/tf_choice.jsonl) and the drift along the
held-out clip without and with TF (OUT/drift-w*.json, bench/tf_drift.c) in quarters of the clip."""
import glob
import json
import math
import os
import sys

ARMS = {"a": "ssl", "b": "ssl, no sparsity learning", "c": "l1-keep-last, matched", "d": "l1-aligned, matched",
        "e": "dense + the same iterations"}
CLIPS = ("davis-selfie", "temple")
# two-sided 95% quantiles of Student's t, by degrees of freedom
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t975(df):
    k = max(d for d in T975 if d <= df)
    return T975[k]


def interval(xs):
    """mean and half-width of the 95% t-interval (None with fewer than 2 values)"""
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, None
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, t975(n - 1) * sd / math.sqrt(n)


def main(out):
    ev = {}
    if not os.path.exists(os.path.join(out, "eval.jsonl")):
        print("(no eval.jsonl: the eval stage has not run)")
        return
    for line in open(os.path.join(out, "eval.jsonl")):
        r = json.loads(line)
        ev[(r["run"], r["clip"])] = r
    seeds = sorted({p.split("/")[-1] for p in glob.glob(os.path.join(out, "s*"))}, key=lambda s: int(s[1:]))
    points = sorted({os.path.basename(p) for p in glob.glob(os.path.join(out, "s*", "[rf]*"))})
    dense = {c: ev.get(("dense", c)) for c in CLIPS}
    print("dense model: " + ", ".join("%s %.3f / %.4f" % (c, d["psnr"], d["ssim"]) for c, d in dense.items() if d))
    for pt in points:
        print("\n### %s (%d seeds)\n" % (pt, len(seeds)))
        print("| arm | params kept | FLOPs kept | " + " | ".join("%s PSNR / SSIM" % c for c in CLIPS) + " |")
        print("|---|---:|---:|" + "---:|" * len(CLIPS))
        for arm, what in ARMS.items():
            runs = ["%s/%s" % (s, arm) if arm == "e" else "%s/%s/%s" % (s, pt, arm) for s in seeds]
            cells = []
            for c in CLIPS:
                rs = [ev[(r, c)] for r in runs if (r, c) in ev]
                cells.append("%.3f / %.4f" % (sum(r["psnr"] for r in rs) / len(rs), sum(r["ssim"] for r in rs) / len(rs))
                             if rs else "-")
            sums = [json.load(open(os.path.join(out, r, "summary.json"))) for r in runs
                    if os.path.exists(os.path.join(out, r, "summary.json"))]
            size = ("%.3f" % (sum(s["params"] / s["dense_params"] for s in sums) / len(sums)),
                    "%.3f" % (sum(s["flops_180x320"] / s["dense_flops_180x320"] for s in sums) / len(sums))) \
                if sums else ("1", "1")
            if any(c != "-" for c in cells):
                print("| %s: %s | %s | %s | %s |" % (arm, what, size[0], size[1], " | ".join(cells)))
        print("\nPaired differences against a (PSNR dB, mean over seeds, 95% t-interval):\n")
        for other in "cbde":
            for c in CLIPS:
                d = []
                for s in seeds:
                    ra, ro = "%s/%s/a" % (s, pt), ("%s/e" % s if other == "e" else "%s/%s/%s" % (s, pt, other))
                    if (ra, c) in ev and (ro, c) in ev:
                        d.append(ev[(ra, c)]["psnr"] - ev[(ro, c)]["psnr"])
                if not d:
                    continue
                m, h = interval(d)
                primary = pt == "r50" and other == "c" and c == "davis-selfie"
                ci = "[%+.3f, %+.3f]" % (m - h, m + h) if h is not None else "(one seed: no interval)"
                verdict = "" if h is None else (" excludes 0" if m - h > 0 or m + h < 0 else " includes 0")
                print("- %sa - %s on %s: %+.3f %s%s (n = %d)%s" % ("**PRIMARY** " if primary else "", other, c, m, ci,
                                                                 verdict, len(d), "" if not primary else ""))


def quarters(frames, key):
    """the mean of key over each quarter of the clip's frames"""
    n = len(frames)
    qs = [frames[n * q // 4:n * (q + 1) // 4] for q in range(4)]
    return ["%.4f" % (sum(f[key] for f in fs) / len(fs)) if fs else "-" for fs in qs]


def tf_report(out, chosen):
    path = os.path.join(out, "tf_choice.jsonl")
    if os.path.exists(path):
        print("\n### Temporal Finetuning\n")
        print("Weight chosen on cutie-judo (validation): " + ", ".join(
            "%g: %.3f dB" % (r["weight"], r["val_psnr"]) for r in map(json.loads, open(path))) + "; chosen %s." % chosen)
    drifts = sorted(glob.glob(os.path.join(out, "drift-w*.json")))
    if not drifts:
        return
    print("\nAlong davis-selfie (held out), against the dense model, mean over each quarter of the frames:\n")
    print("| TF weight | hidden error, forward | hidden error, backward | PSNR drop (dB) |")
    print("|---|---|---|---|")
    for p in drifts:
        fr = json.load(open(p))["per_frame"]
        w = os.path.basename(p)[len("drift-w"):-len(".json")]
        print("| %s | %s | %s | %s |" % (w, " / ".join(quarters(fr, "hidden_err_forward")),
                                         " / ".join(quarters(fr, "hidden_err_backward")),
                                         " / ".join(quarters(fr, "psnr_drop"))))


if __name__ == "__main__":
    main(sys.argv[1])
    tf_report(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "?")
