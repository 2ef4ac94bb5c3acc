#!/usr/bin/env bash
# The session's last GPU call (2026-12-06), at most ~8 minutes: correctness first, then the figures
# that matter most for the GPU-speed and healing issues, layercut and PyTorch in the same call.
#   pack (development machine):  bash ../shared/device/pack.sh bench/gpu-suite.ts bench/train.ts
#   device:                      command: bash bench/device-final.sh   carry: [".device"]
#   then here:                   node --import tsx bench/train.ts --table layercut.jsonl pytorch.jsonl
# Steps, each with its own limit (JSON lines are kept as each run ends):
#   A. npm run test:gpu (bench/gpu-suite.ts): every fused program, flash attention, the tensor-core
#      matmul, matMulBias, the gather gradient, parity of every fixture, fine-tunes vs the cpu backend
#   B. the full GPT2-XL (48 layers) at 16x128: layercut fp32 and mixed (peak memory, ms per step)
#   C. the same step training LoRA r=8 adapters only (mixed), for the memory of healing by adapters
#   D. PyTorch fp32 and bf16 on the same checkpoints: GPT2-XL cut to 2, 4 and 48, GPT-2 small cut to
#      2, at 16x128 and 1x128
#   E. layercut fp32 and mixed on GPT2-XL cut to 2 and 4 and GPT-2 small cut to 2, 16x128 and 1x128
# Left out (device time): the 1- and 12-layer cuts, small 12, 48 layers at 1x128, evaluation
# timings (1 batch), --compare-plain, --profile, bench/matmul.ts.
cd "$(dirname "$0")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/final-out}
mkdir -p "$OUT"
ckpt=/tmp/layercut-final-checkpoints
started=$(date +%s)
step() { echo "== $1 ($(($(date +%s) - started)) s in)" | tee -a "$OUT/steps.txt" >&2; }
layercut() {
  local seconds=$1; shift
  timeout "$seconds" bash .device/run.sh train.mjs --dir "$ckpt" --eval-batches 1 "$@" \
    2>> "$OUT/layercut.err" | grep --line-buffered '^{' | tee -a "$OUT/layercut.jsonl"
  echo "layercut $* exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/machine.txt"
step "A. test:gpu"
timeout 110 bash .device/run.sh gpu-suite.mjs > "$OUT/gpu-suite.txt" 2> "$OUT/gpu-suite.err"
echo "gpu-suite exit status $? (124: timed out)" >> "$OUT/gpu-suite.txt"
tail -n 3 "$OUT/gpu-suite.txt"
step "B. layercut GPT2-XL 48 layers, 16x128, fp32 + mixed"
layercut 110 --models xl:48 --shapes 16x128 --precision fp32,mixed --steps 3 --warmup 1
step "C. layercut GPT2-XL 48 layers, 16x128, mixed, LoRA r=8"
layercut 50 --models xl:48 --shapes 16x128 --precision mixed --steps 3 --warmup 1 --lora 8
step "D. PyTorch fp32 + bf16"
PYTHONUNBUFFERED=1 timeout 80 python3 bench/train_peer.py --models xl:2,4,48+small:2 --shapes 16x128,1x128 \
  --dir "$ckpt" --eval-batches 1 2> "$OUT/pytorch.err" | grep '^{' | tee "$OUT/pytorch.jsonl"
echo "pytorch exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
step "E. layercut GPT2-XL 2 and 4 layers, GPT-2 small 2, 16x128 and 1x128, fp32 + mixed"
layercut 120 --models xl:2,4+small:2 --shapes 16x128,1x128 --precision fp32,mixed --steps 5 --warmup 2
grep -m1 '^backend' "$OUT/layercut.err" >> "$OUT/machine.txt"
step "done"
