#!/bin/sh
# The run report (albertc report, and report.html at the end of train) and the
# eval summary in the TensorBoard files. A tiny random encoder trained on 4
# Banking77 intents from text (so train evaluates: eval/ exists), then:
#   - report.html: self-contained (no URL in any src/href/url(), no <link>,
#     no import), its data block is valid JSON with the curves of
#     metrics.jsonl, the 4x4 confusion matrix, the errors sample; the random
#     encoder warning; three SVG curves beside it that parse as XML;
#   - tensorboard/: eval/accuracy and eval/macro_f1 equal eval/summary.json's;
#   - `albertc report` on a made-up run of 1,000,000 logged steps: the page
#     stays under 3 MB (curves downsampled to REPORT_MAX_POINTS points);
#   - where chromium is installed: it loads both pages headless, every chart
#     is drawn (5 with eval) and no script error is reported.
# Prints exactly "report-oracle: N passed, N failed" last (KEEP=1 keeps its files).
cd "$(dirname "$0")/../.." || exit 2
ORACLE=report-oracle SCRIPT=check_report
. tests/oracle/common.sh
make_tmp
tiny_classifier 20 10 5
mkdir -p "$tmp/big"
"$PYTHON" - "$tmp/big/metrics.jsonl" <<'PY' || fail_setup "cannot write the big run"
import sys
# A made-up run of a million logged steps (report only: no training).
with open(sys.argv[1], "w") as f:
    for s in range(1, 1000001):
        f.write('{"step": %d, "train/loss": %.17g}\n' % (s, 1.0 / s ** 0.5))
        if s % 1000 == 0:
            f.write('{"step": %d, "val/loss": %.17g, "val/accuracy": %.17g}\n' % (s, 1.1 / s ** 0.5, 1 - 1 / s ** 0.5))
PY
"$ALBERTC" report "$tmp/big" --out "$tmp/big/big.html" 2>"$tmp/err" || fail_setup "report: $(cat "$tmp/err")"
# The same run, as if its encoder had random weights: the page must say so.
cp -r "$tmp/run" "$tmp/random"
sed -i 's/"random_encoder": false/"random_encoder": true/' "$tmp/random/run.json"
"$ALBERTC" report "$tmp/random" --out "$tmp/random.html" 2>"$tmp/err" || fail_setup "report: $(cat "$tmp/err")"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
for page in run/report.html big/big.html random.html; do
    [ -n "$CHROMIUM" ] || break
    # --dump-dom prints the DOM after the page's scripts ran; the page marks <body> with what it drew.
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
        --virtual-time-budget=5000 --dump-dom "file://$tmp/$page" >"$tmp/$page.dom" 2>/dev/null || true
done
"$PYTHON" - "$tmp" "${CHROMIUM:-}" <<'PY'
import json, os, re, struct, sys, xml.etree.ElementTree as ET
sys.path.insert(0, "tools")
from oracle_checks import Checks
tmp, chromium = sys.argv[1], sys.argv[2]
check = Checks("check_report", "report-oracle")

def page_data(path):
    html = open(path, encoding="utf-8").read()
    m = re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S)
    return html, json.loads(m.group(1)) if m else None

html, d = page_data(f"{tmp}/run/report.html")
check(d is not None, "the data block parses as JSON")
d = d or {}
refs = re.findall(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//|url\(\s*["\']?(?:https?:)?//|<link\b|@import|\bimport\s*\(', html)
check(not refs, f"no network reference: {refs[:3]}")
check(html.count("<script") == 5, "scripts: error hook, Chart.js, matrix plugin, data, page")
check("Released under the MIT License" in html, "the inlined library keeps its licence banner")
metrics = [json.loads(l) for l in open(f"{tmp}/run/metrics.jsonl")]
for tag in ("train/loss", "val/loss", "val/accuracy"):
    want = [[m["step"], m[tag]] for m in metrics if tag in m]
    check(d.get("curves", {}).get(tag, {}).get("points") == want, f"{tag} curve equals metrics.jsonl")
ev = d.get("eval", {})
conf = ev.get("confusion") or {}
check(len(conf.get("labels", [])) == 4 and len(conf.get("matrix", [])) == 4 and sum(map(sum, conf["matrix"])) == 40,
      "4x4 confusion matrix over 40 examples")
summary = json.load(open(f"{tmp}/run/eval/summary.json"))
check(ev.get("summary") == summary, "eval summary as in eval/summary.json")
n_err = sum(1 for _ in open(f"{tmp}/run/eval/errors.jsonl"))
check(ev.get("errors", {}).get("count") == n_err and len(ev["errors"]["sample"]) == min(25, n_err), "errors sample")
run = d.get("run") or {}
check(run.get("random_encoder") is False and summary["random_encoder"] is False, "run.json: encoder from a directory, not random")
check(run.get("dataset", {}).get("train_rows") == 80 and run.get("dataset", {}).get("eval_rows") == 40, "dataset sizes")
check(all(k in run.get("seconds", {}) for k in ("features", "training", "evaluation", "total")), "timings")
check(run.get("config", {}).get("learning_rate") == 0.01 and run.get("hardware", {}).get("logical_cpus", 0) > 0, "config, hardware")
for name in ("loss", "val_accuracy", "learning_rate"):
    path = f"{tmp}/run/report.{name}.svg"
    try:
        root = ET.parse(path).getroot()
        check(root.tag.endswith("svg") and len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 1, f"{name} SVG")
    except Exception as e:
        check(False, f"{path}: {e}")
check(os.path.exists(f"{tmp}/random.html") and os.path.exists(f"{tmp}/random.loss.svg"), "albertc report --out")

import tb_events
def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]
tb = {}
for path in tb_events.event_files(f"{tmp}/run/tensorboard"):
    for e in tb_events.events(path)[0]:
        for tag, v in e.get("scalars", {}).items():
            tb[tag] = (e["step"], v)
check(tb.get("eval/accuracy", (0, None))[1] == f32(summary["accuracy"]) and
      tb.get("eval/macro_f1", (0, None))[1] == f32(summary["macro_f1"]) and
      tb["eval/accuracy"][0] == metrics[-1]["step"], f"eval scalars in TensorBoard: {tb.get('eval/accuracy')}")

size = os.path.getsize(f"{tmp}/big/big.html")
big = page_data(f"{tmp}/big/big.html")[1]
check(size < 3_000_000, f"1,000,000 steps: {size} bytes")
c = big["curves"]["train/loss"]
check(c["logged"] == 1000000 and len(c["points"]) <= 2000, f"downsampled: {c['logged']} -> {len(c['points'])}")
check(c["points"][0][0] == 1 and c["points"][0][1] == 1.0, "the first (highest) point survives downsampling")

if chromium:
    doms = {}
    for page, charts in (("run/report.html", "5"), ("big/big.html", "3"), ("random.html", "5")):
        dom = open(f"{tmp}/{page}.dom", encoding="utf-8", errors="replace").read() if os.path.exists(f"{tmp}/{page}.dom") else ""
        doms[page] = dom
        body = re.findall(r"<body[^>]*>", dom)
        attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', body[-1])) if body else {}
        check(attrs.get("rendered") == "1" and attrs.get("errors") == "0" and attrs.get("charts") == charts,
              f"chromium renders {page}: {attrs}")
    check('id="random-warning"' in doms["random.html"] and 'id="random-warning"' not in doms["run/report.html"],
          "the random-encoder warning: shown when random, only then")
else:
    print("check_report: chromium not installed: the browser checks are skipped (apt-get install chromium)")
check.finish()
PY
