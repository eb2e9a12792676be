#!/bin/sh
# bf16 fidelity: albertc's bf16 features against Debian's torch bf16 run of
# tools/albert_ref.py on the same machine (tools/check_bf16_torch.py), at base
# size (random weights: `albertc init-model --config base --seed 0`) on real
# Banking77 test texts. Passes when >= 99.99% of the last-hidden values are
# bit-identical to torch's for each text alone (albertc's features do not
# depend on the batch; torch's do: the tool prints both, see its docstring).
# The requirement holds where bf16 runs natively (AVX512_BF16: albertc and
# torch use the same oneDNN brgemm kernels); elsewhere the numbers are only
# printed. BF16_TORCH_TEXTS (default 60) sets how many texts: torch takes
# ~0.5 s a text alone on 2 cores. Skipped where $PYTHON has no torch.
# Prints exactly "bf16-torch-oracle: N passed, N failed" last.
cd "$(dirname "$0")/../.." || exit 2
ORACLE=bf16-torch-oracle SCRIPT=check_bf16_torch
. tests/oracle/common.sh
need_python_modules torch numpy
need_albertc
TEXTS=${BF16_TORCH_TEXTS:-60}
make_tmp
"$ALBERTC" init-model --config base --seed 0 --out "$tmp/model" 2>"$tmp/err" ||
    fail_setup "init-model: $(head -c 300 "$tmp/err")"
head -n "$TEXTS" "$DATA/test.jsonl" | "$ALBERTC" tokenize --jsonl --model "$SPIECE" >"$tmp/ids.jsonl" 2>"$tmp/err" ||
    fail_setup "tokenize: $(head -c 300 "$tmp/err")"
OMP_NUM_THREADS=2 "$ALBERTC" embed --model "$tmp/model" --input "$tmp/ids.jsonl" --output "$tmp/out.safetensors" \
    --all-tokens --dtype bfloat16 2>"$tmp/err" || fail_setup "embed: $(tail -c 300 "$tmp/err")"
min=0.9999
if ! grep -qw avx512_bf16 /proc/cpuinfo || [ -n "${ONEDNN_MAX_CPU_ISA:-}" ] || [ -n "${ALBERTC_MATMUL:-}" ]; then
    echo "check_bf16_torch: bf16 is not native here (no AVX512_BF16, or limited): the shares are reported, not required"
    min=0
fi
"$PYTHON" tools/check_bf16_torch.py "$tmp/model" "$tmp/ids.jsonl" "$tmp/out.safetensors" --min-identical "$min"
