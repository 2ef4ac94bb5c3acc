#!/usr/bin/env bash
# The GPU-speed issue's bench/summary.json, from ONE device call of at most 9 minutes (each step
# has its own time limit, cut to what is left of the 9 minutes):
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/train.ts
#   then with the device tool:         command: bash bench/device-summary.sh   carry: [".device"]   timeout_s: 600
#   then here, from the files in $OUT:  node --import tsx bench/train.ts --table layercut.jsonl pytorch.jsonl
#                                       (markdown for bench/RESULTS.md; writes bench/summary.json)
# Steps, in this order (JSON lines are kept as each run ends, so a step cut short keeps its rows):
#   1. layercut fp32 and mixed on each loaded cut: GPT2-XL shape cut to 1, 2, 4, 12 layers and GPT-2
#      small's to 2 and 12, batch 16x128 (10 timed steps after 30) and 1x128 (20 timed steps after
#      100: a batch-1 step is host-bound, and the host code runs 2-4x slower in its first 100-200
#      steps, while V8 compiles it, than in a fine-tuning run's thousands) (writes the random
#      checkpoints, GPT2-XL's 6.2 GB first)
#   2. PyTorch (bench/train_peer.py) fp32 and bf16 on the same checkpoints and token ids, every cut
#      above and the full 48 layers, both batches (10 timed steps after 10)
#   3. layercut fp32 and mixed on the full GPT2-XL (48 layers): 16x128 5 timed steps after 3, 1x128
#      20 after 60 (fewer steps time the host code before V8 has optimized it)
# Left out to fit: evaluation timings (1 batch each), --compare-plain accuracy, --profile.
# Into $OUT: machine.txt, layercut.jsonl, pytorch.jsonl, layercut.err, pytorch.err, steps.txt.
cd "$(dirname "$0")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/summary-out}
mkdir -p "$OUT"
ckpt=/tmp/layercut-summary-checkpoints
budget=${SUMMARY_SECONDS:-530} # seconds for the three steps, within the call's 9 minutes
started=$(date +%s)
left() { echo $((budget - ($(date +%s) - started))); }
# limit SECONDS: the smaller of SECONDS and what is left (at least 1)
limit() { local l; l=$(left); [ "$l" -lt "$1" ] && echo $((l > 1 ? l : 1)) || echo "$1"; }
step() { echo "== $1 ($(($(date +%s) - started)) s in, $(left) s left)" | tee -a "$OUT/steps.txt" >&2; }
layercut() {
  local seconds=$1; shift
  timeout "$seconds" bash .device/run.sh train.mjs --precision fp32,mixed --dir "$ckpt" --eval-batches 1 "$@" \
    2>> "$OUT/layercut.err" | grep --line-buffered '^{' | tee -a "$OUT/layercut.jsonl"
  echo "layercut exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/machine.txt"
step "1. layercut fp32 + mixed: GPT2-XL shape 1, 2, 4, 12 layers; GPT-2 small 2, 12; 16x128 and 1x128"
layercut "$(limit 150)" --models xl:1,2,4,12+small:2,12 --shapes 16x128 --steps 10 --warmup 30
layercut "$(limit 150)" --models xl:1,2,4,12+small:2,12 --shapes 1x128 --steps 20 --warmup 100
step "2. PyTorch fp32 + bf16 on the same checkpoints (48 layers too)"
PYTHONUNBUFFERED=1 timeout "$(limit 120)" python3 bench/train_peer.py --models xl:1,2,4,12,48+small:2,12 \
  --shapes 16x128,1x128 --dir "$ckpt" --eval-batches 1 --steps 10 --warmup 10 2> "$OUT/pytorch.err" | grep '^{' | tee "$OUT/pytorch.jsonl"
echo "pytorch exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
step "3. layercut fp32 + mixed: full GPT2-XL (48 layers), 16x128 and 1x128"
layercut "$(limit 120)" --models xl:48 --shapes 16x128 --steps 5 --warmup 3
layercut "$(limit 80)" --models xl:48 --shapes 1x128 --steps 20 --warmup 60
grep -m1 '^backend' "$OUT/layercut.err" >> "$OUT/machine.txt"
step "done"
cat "$OUT/steps.txt"
