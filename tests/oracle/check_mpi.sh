#!/bin/sh
# albertc under mpirun (util/dist.h) against albertc alone: on a tiny random
# encoder and ~400 texts of skewed lengths, `mpirun -n 2` and `-n 3` (one
# OpenMP thread per rank, localhost) must give what one process gives, bit for
# bit: train's feature cache file, metrics.jsonl, checkpoints, model directory
# and eval/; predict's lines; eval's report and files (with and without the
# feature cache); embed's safetensors (--all-tokens). Then a rank killed in the
# middle of the feature pass: the job ends (non-zero, no hang, one line from
# rank 0), the cache keeps what was gathered, and a rerun with another N
# encodes only the rest and ends as the single-process run did. A text that
# one rank tokenizes to an id past the model's vocabulary stops every rank with
# the line one process prints (the ranks tokenize shares). Ranks that compute
# with different engines (rank 1 without AVX512_BF16, where this CPU has it)
# or load different weights stop with one line from rank 0. Also: commands
# that do not run as ranks, and inputs that differ between ranks (stdin), are
# refused with one line. Skipped (with a line saying so) without mpirun.
# Prints exactly "mpi-oracle: N passed, N failed" last.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=mpi-oracle SCRIPT=check_mpi
. tests/oracle/common.sh
command -v mpirun >/dev/null 2>&1 || skip "no mpirun: apt-get install openmpi-bin"
need_albertc
make_tmp
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "$SCRIPT: $1"; failed=$((failed + 1)); }
# check WHAT CMD...: one pass when CMD succeeds
check() {
    what=$1; shift
    if "$@" >"$tmp/check.out" 2>&1; then ok; else bad "$what: $(head -c 600 "$tmp/check.out")"; fi
}

# Under ASan the ranks' LeakSanitizer needs the slow unwinder to see past
# Open MPI's plugins, unloaded by MPI_Finalize (tests/lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}fast_unwind_on_malloc=0"
export OMP_NUM_THREADS=1
# the test hooks the ranks get (-x), unset: empty
export ALBERTC_TEST_KILL_RANK= ALBERTC_TEST_KILL_AFTER_BATCHES= ALBERTC_CACHE_SAVE_SECONDS= ALBERTC_MPI_TIMEOUT=
# mpirun APPS...: the ranks get this environment (-x), the timeout ends a hang
mpirun_() {
    timeout 300 mpirun --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS -x LSAN_OPTIONS \
        -x ALBERTC_TEST_KILL_RANK -x ALBERTC_TEST_KILL_AFTER_BATCHES -x ALBERTC_CACHE_SAVE_SECONDS \
        -x ALBERTC_MPI_TIMEOUT "$@"
}
# mpirun -n N ALBERTC ARGS...
mpi() {
    n=$1; shift
    mpirun_ -n "$n" "$ALBERTC" "$@"
}

"$PYTHON" - "$tmp" <<'PY' || fail_setup "cannot make the dataset"
import json, random, sys
out = sys.argv[1]
random.seed(12)
words = ("card account transfer money pending where is my refund why was I charged twice top up failed "
         "exchange rate cash withdrawal declined verify identity lost stolen pin blocked").split()
# a skewed length mix (many short texts, a tail of long ones), duplicates included
def text(i):
    n = random.choice([1, 2, 3, 4, 6, 8, 10, 14, 20, 30, 45, 70, 110])
    return f"{i % 290}: " + " ".join(random.choice(words) for _ in range(n))
with open(f"{out}/train.jsonl", "w") as f:
    for i in range(330):
        f.write(json.dumps({"text": text(i), "label": i % 3}) + "\n")
with open(f"{out}/test.jsonl", "w") as f:
    for i in range(60):
        f.write(json.dumps({"text": "t" + text(i), "label": i % 3}) + "\n")
with open(f"{out}/texts.jsonl", "w") as f:
    for i in range(90):
        f.write(json.dumps({"text": "p" + text(i)}) + "\n")
PY
mkdir -p "$tmp/data" "$tmp/vdata" && mv "$tmp/train.jsonl" "$tmp/test.jsonl" "$tmp/data/"
"$ALBERTC" init-model --config tiny --seed 3 --out "$tmp/encoder" --tokenizer "$SPIECE" 2>"$tmp/err" ||
    fail_setup "init-model: $(head -c 300 "$tmp/err")"

# train in $tmp/run (the same paths every time: checkpoints record the config), then keep it as $tmp/$1
train() {
    name=$1; shift
    rm -rf "$tmp/run"
    "$@" train --config configs/banking77.yaml --set model_name="$tmp/encoder" --set data_dir="$tmp/data" \
        --set num_labels=3 --set cache_dir="$tmp/run/cache" --set project_dir="$tmp/run/p" --set batch_size=8 \
        --set num_epochs=2 --set steps_freq=10 --set val_steps_freq=20 --set max_length=96 --set dtype=float32 \
        --set progress=false >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    mv "$tmp/run" "$tmp/$name"
    return $rc
}
# same_run A B: the two runs' files are the same bytes (checkpoint names and
# the model's record of one hold the time of day: compared with it masked)
same_run() {
    a=$tmp/$1 b=$tmp/$2
    cmp "$a"/cache/features-*.safetensors "$b"/cache/features-*.safetensors || return 1
    cmp "$a/p/metrics.jsonl" "$b/p/metrics.jsonl" || return 1
    ls "$a/p/checkpoints" | sed 's/_[0-9]\{8\}_[0-9]\{6\}//' >"$tmp/ca"
    ls "$b/p/checkpoints" | sed 's/_[0-9]\{8\}_[0-9]\{6\}//' >"$tmp/cb"
    cmp "$tmp/ca" "$tmp/cb" || return 1
    for f in "$a"/p/checkpoints/*.safetensors; do
        g=$(ls "$b"/p/checkpoints/$(basename "$f" | sed 's/_[0-9]\{8\}_[0-9]\{6\}/_*/')) && cmp "$f" "$g" || return 1
    done
    cmp "$a/p/model/model.safetensors" "$b/p/model/model.safetensors" || return 1
    cmp "$a/p/model/spiece.model" "$b/p/model/spiece.model" || return 1
    sed 's/_[0-9]\{8\}_[0-9]\{6\}//' "$a/p/model/config.json" >"$tmp/ja"
    sed 's/_[0-9]\{8\}_[0-9]\{6\}//' "$b/p/model/config.json" >"$tmp/jb"
    cmp "$tmp/ja" "$tmp/jb" || return 1
    diff -r "$a/p/eval" "$b/p/eval"
}

train alone "$ALBERTC" || fail_setup "train alone: $(tail -c 300 "$tmp/alone.err")"
for n in 2 3; do
    if train mpi$n mpi $n; then
        check "train -n $n: the files differ from one process's" same_run alone mpi$n
    else
        bad "train -n $n failed: $(tail -c 600 "$tmp/mpi$n.err")"
    fi
done
grep -q "encoded my share of" "$tmp/mpi3.err" && ok || bad "train -n 3: no rank reported its share"

# predict, eval (no cache, then a fresh cache: both ways are sharded), embed
model=$tmp/alone/p/model
"$ALBERTC" predict --model "$model" --input "$tmp/texts.jsonl" --top-k 0 >"$tmp/predict1" 2>"$tmp/err" ||
    fail_setup "predict: $(tail -c 300 "$tmp/err")"
"$ALBERTC" eval --model "$model" --data "$tmp/data/test.jsonl" --no-cache --output "$tmp/eval1" >"$tmp/report1" \
    2>"$tmp/err" || fail_setup "eval: $(tail -c 300 "$tmp/err")"
"$ALBERTC" embed --model "$tmp/encoder" --input "$tmp/texts.jsonl" --all-tokens --batch-size 7 \
    --output "$tmp/embed1.safetensors" 2>"$tmp/err" || fail_setup "embed: $(tail -c 300 "$tmp/err")"
for n in 2 3; do
    check "predict -n $n" mpi $n predict --model "$model" --input "$tmp/texts.jsonl" --top-k 0 \
        --output "$tmp/predict$n"
    check "predict -n $n: lines differ" cmp "$tmp/predict1" "$tmp/predict$n"
    mpi $n eval --model "$model" --data "$tmp/data/test.jsonl" --no-cache --output "$tmp/eval$n" \
        >"$tmp/report$n" 2>"$tmp/err" || bad "eval -n $n: $(tail -c 300 "$tmp/err")"
    check "eval -n $n: the report differs" cmp "$tmp/report1" "$tmp/report$n"
    check "eval -n $n: the files differ" diff -r "$tmp/eval1" "$tmp/eval$n"
    mpi $n eval --model "$model" --data "$tmp/data/test.jsonl" --cache-dir "$tmp/evalcache$n" \
        >"$tmp/creport$n" 2>"$tmp/err" || bad "eval -n $n --cache-dir: $(tail -c 300 "$tmp/err")"
    check "eval -n $n --cache-dir: the report differs" cmp "$tmp/report1" "$tmp/creport$n"
    check "embed -n $n" mpi $n embed --model "$tmp/encoder" --input "$tmp/texts.jsonl" --all-tokens --batch-size 7 \
        --output "$tmp/embed$n.safetensors"
    check "embed -n $n: the file differs" cmp "$tmp/embed1.safetensors" "$tmp/embed$n.safetensors"
done

# rank 1 of 2 SIGKILLs itself after its 3rd batch; the cache is saved after every gathered batch
export ALBERTC_TEST_KILL_RANK=1 ALBERTC_TEST_KILL_AFTER_BATCHES=3 ALBERTC_CACHE_SAVE_SECONDS=0
start=$(date +%s)
train killed mpi 2 && bad "a job with a killed rank exited 0"
end=$(date +%s)
ALBERTC_TEST_KILL_RANK= ALBERTC_TEST_KILL_AFTER_BATCHES= ALBERTC_CACHE_SAVE_SECONDS=
[ $((end - start)) -lt 60 ] && ok || bad "the job with a killed rank took $((end - start)) s to end"
grep -q "exited on signal 9" "$tmp/killed.err" && ok || bad "mpirun did not name the killed rank"
[ -e "$tmp/killed/p/metrics.jsonl" ] && bad "rank 0 trained although the feature pass failed" || ok
# the rerun, with 3 ranks, finds what was saved and computes only the rest
mv "$tmp/killed/cache" "$tmp/kept_cache" && rm -rf "$tmp/killed"
mkdir -p "$tmp/run" && cp -r "$tmp/kept_cache" "$tmp/run/cache"
rerun() {
    rm -rf "$tmp/run/p" "$tmp/resumed"
    "$@" train --config configs/banking77.yaml --set model_name="$tmp/encoder" --set data_dir="$tmp/data" \
        --set num_labels=3 --set cache_dir="$tmp/run/cache" --set project_dir="$tmp/run/p" --set batch_size=8 \
        --set num_epochs=2 --set steps_freq=10 --set val_steps_freq=20 --set max_length=96 --set dtype=float32 \
        --set progress=false >"$tmp/resumed.out" 2>"$tmp/resumed.err"
}
if rerun mpi 3; then
    found=$(sed -n 's/.* distinct: \([0-9]*\) found, \([0-9]*\) to compute.*/\1 \2/p' "$tmp/resumed.err")
    set -- $found
    [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ] && ok || bad "the rerun found '$found' (saved, to compute)"
    # whatever moment mpirun's SIGKILL caught rank 0 at: a save under way leaves only its
    # temporary file, which the rerun removes
    grep -q "feature cache ignored" "$tmp/resumed.err" && bad "the saved cache was not intact" || ok
    ls "$tmp"/run/cache/*.tmp.* >/dev/null 2>&1 && bad "a temporary file was left in the cache" || ok
    mv "$tmp/run" "$tmp/resumed"
    # the cache holds the same features per text (its layout: the saved part first)
    check "the resumed cache's features differ" "$PYTHON" - "$tmp/alone/cache" "$tmp/resumed/cache" <<'PY'
import glob, json, struct, sys
def entries(d):
    b = open(glob.glob(d + "/features-*.safetensors")[0], "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n]); base = 8 + n
    k, f = h["keys"], h["features"]
    keys = b[base + k["data_offsets"][0]:base + k["data_offsets"][1]]
    feats = b[base + f["data_offsets"][0]:base + f["data_offsets"][1]]
    rows, row = f["shape"][0], 4 * f["shape"][1]
    return {keys[16 * i:16 * i + 16]: feats[row * i:row * i + row] for i in range(rows)}
a, b = entries(sys.argv[1]), entries(sys.argv[2])
sys.exit(0 if a == b and len(a) > 0 else 1)
PY
    for f in p/metrics.jsonl p/model/model.safetensors; do
        check "the resumed run's $f differs" cmp "$tmp/alone/$f" "$tmp/resumed/$f"
    done
    check "the resumed run's eval/ differs" diff -r "$tmp/alone/p/eval" "$tmp/resumed/p/eval"
else
    bad "the rerun with 3 ranks failed: $(tail -c 600 "$tmp/resumed.err")"
fi

# a text the tokenizer cannot give the model (an id past vocab_size: a 1,000-id copy of the
# encoder with the 30,000-piece tokenizer), in the last rank's share of the tokenizing: every
# rank stops on it with the line one process prints, and nothing is trained
"$PYTHON" - "$tmp" <<'PY' || fail_setup "cannot make the small-vocabulary model's inputs"
import json, sys
out = sys.argv[1]
config = json.load(open(f"{out}/encoder/config.json"))
config["vocab_size"] = 1000
json.dump(config, open(f"{out}/small.json", "w"))
words = "the a of to and in is it my for".split()  # ids below 1000
with open(f"{out}/vdata/train.jsonl", "w") as f:
    for i in range(40):
        f.write(json.dumps({"text": " ".join(words[int(d)] for d in str(i + 10)), "label": i % 3}) + "\n")
with open(f"{out}/vdata/test.jsonl", "w") as f:
    for i in range(10):
        f.write(json.dumps({"text": "the " * (i + 1) + ("zebra" if i == 8 else "a"), "label": i % 3}) + "\n")
PY
"$ALBERTC" init-model --config "$tmp/small.json" --seed 3 --out "$tmp/small" >/dev/null 2>"$tmp/err" ||
    fail_setup "init-model small: $(head -c 300 "$tmp/err")"
cp "$SPIECE" "$tmp/small/"
vocab_run() {
    rm -rf "$tmp/vrun"
    "$@" train --config configs/banking77.yaml --set model_name="$tmp/small" --set data_dir="$tmp/vdata" \
        --set num_labels=3 --set cache_dir="$tmp/vrun/cache" --set project_dir="$tmp/vrun/p" --set dtype=float32 \
        --set progress=false
}
vocab_run "$ALBERTC" >/dev/null 2>"$tmp/valone.err" && bad "a text past the vocabulary was trained on alone"
line=$(grep "albertc train: text .*outside the model's vocabulary" "$tmp/valone.err")
[ -n "$line" ] || fail_setup "no vocabulary error alone: $(tail -c 300 "$tmp/valone.err")"
vocab_run mpi 3 >/dev/null 2>"$tmp/vmpi.err"
rc=$?
[ $rc = 1 ] && [ "$(grep -cxF "$line" "$tmp/vmpi.err")" = 3 ] && ok ||
    bad "a text past the vocabulary under -n 3: exit $rc, not '$line' from every rank: $(head -c 600 "$tmp/vmpi.err")"
[ -e "$tmp/vrun/p/metrics.jsonl" ] && bad "trained on although a text is past the vocabulary" || ok

# ranks that compute with different engines (heterogeneous machines) or load different weights:
# every rank stops before encoding, with one line from rank 0 naming the ranks and both engines
# (hashes), and nothing is written. Open MPI's MPMD form gives each rank its own command line.
if grep -q avx512_bf16 /proc/cpuinfo; then
    engines() {  # rank 1 without AVX512_BF16 in oneDNN: bf16 emulated
        rm -rf "$tmp/erun"
        set -- train --config configs/banking77.yaml --set model_name="$tmp/encoder" --set data_dir="$tmp/data" \
            --set num_labels=3 --set cache_dir="$tmp/erun/cache" --set project_dir="$tmp/erun/p" \
            --set dtype=bfloat16 --set progress=false
        mpirun_ -n 1 "$ALBERTC" "$@" : -n 1 env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$ALBERTC" "$@"
    }
    engines >/dev/null 2>"$tmp/engines.err"
    rc=$?
    [ $rc = 1 ] && [ "$(grep -c "different engines" "$tmp/engines.err")" = 1 ] &&
        grep -q "^albertc train: the ranks compute with different engines (rank 0: bfloat16/onednn-[a-z0-9_]*bf16; rank 1: bfloat16/emulated-onednn-avx512_core)" "$tmp/engines.err" &&
        ok || bad "ranks on different engines: exit $rc, not one line naming both: $(head -c 600 "$tmp/engines.err")"
    ls "$tmp"/erun/cache/features-* "$tmp/erun/p/metrics.jsonl" >/dev/null 2>&1 &&
        bad "ranks on different engines: features or metrics were written" || ok
else
    echo "$SCRIPT: ranks on different engines not checked (this CPU has no AVX512_BF16, so ONEDNN_MAX_CPU_ISA cannot give a rank another engine)"
fi
"$ALBERTC" init-model --config tiny --seed 4 --out "$tmp/encoder4" --tokenizer "$SPIECE" >/dev/null 2>"$tmp/err" ||
    fail_setup "init-model --seed 4: $(head -c 300 "$tmp/err")"
mpirun_ -n 1 "$ALBERTC" embed --model "$tmp/encoder" --input "$tmp/texts.jsonl" --output "$tmp/weights.safetensors" : \
    -n 2 "$ALBERTC" embed --model "$tmp/encoder4" --input "$tmp/texts.jsonl" --output "$tmp/weights.safetensors" \
    >/dev/null 2>"$tmp/weights.err"
rc=$?
[ $rc = 1 ] && [ "$(grep -c "different encoder weights" "$tmp/weights.err")" = 1 ] &&
    grep -q "^albertc embed: the ranks loaded different encoder weights (their hashes, rank 0: [0-9a-f]\{32\}; ranks 1-2: [0-9a-f]\{32\})" "$tmp/weights.err" &&
    ok || bad "ranks with different weights: exit $rc, not one line naming them: $(head -c 600 "$tmp/weights.err")"
[ -e "$tmp/weights.safetensors" ] && bad "ranks with different weights: the embeddings were written" || ok

# refused with one line: a command that does not run as ranks; ranks that read different inputs
mpi 2 tokenize --model "$tmp/encoder" --text hi >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "under mpirun only embed, train, predict and eval" "$tmp/err" && ok ||
    bad "tokenize under mpirun -n 2: exit $rc: $(head -c 300 "$tmp/err")"
mpi 2 predict --model "$model" --input - <"$tmp/texts.jsonl" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "stdin reaches rank 0 only" "$tmp/err" && ok ||
    bad "predict --input - under mpirun -n 2: exit $rc: $(head -c 300 "$tmp/err")"

echo "mpi-oracle: $passed passed, $failed failed"
[ "$failed" = 0 ]
