#!/usr/bin/env bash
# Which split-K fill for the tensor-core matmul (schedule.fill, src/runtime/tensor-core-matmul.ts),
# measured on whole training steps, in ONE device call (about 6 minutes, at most 9):
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/gpu-suite.ts bench/matmul.ts bench/train.ts
#   then with the device tool:         command: bash bench/device-fill.sh   carry: [".device"]
# Steps:
#   1. npm run test:gpu's suite (gpu-suite.txt): the code being timed computes what it should
#   2. bench/train.ts, mixed, each fill on the same loaded cut, two rounds (the second reversed):
#      GPT-2 small 2 and 12 layers and GPT2-XL 2 and 4 at 16x128 (10 steps after 3); the same and
#      GPT2-XL 12 at 1x128 (20 steps after 100) (fill.jsonl)
#   3. --profile of GPT-2 small and GPT2-XL 2 layers at both batches: each kernel's GPU time for a
#      step beside the step's wall time (profile.jsonl): host-bound or GPU-bound
# Into $OUT: machine.txt, gpu-suite.txt, fill.jsonl, profile.jsonl, *.err, steps.txt.
NAME=fill
# shellcheck source=bench/device-call.sh
source "$(dirname "$0")/device-call.sh"
train() {
  local seconds=$1 file=$2; shift 2
  timeout "$seconds" bash .device/run.sh train.mjs --precision mixed --dir "$ckpt" --eval-batches 1 "$@" \
    2>> "$OUT/train.err" | grep --line-buffered '^{' | tee -a "$OUT/$file"
  echo "train $* exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
}
step "1. gpu suite"
timeout 110 bash .device/run.sh gpu-suite.mjs > "$OUT/gpu-suite.txt" 2> "$OUT/gpu-suite.err"
echo "gpu-suite exit status $? (124: timed out)" >> "$OUT/steps.txt"
tail -n 1 "$OUT/gpu-suite.txt"
step "2. fills on training steps"
train 200 fill.jsonl --fill 0,132,264,528 --rounds 2 --models small:2,12+xl:2,4 --shapes 16x128 --steps 10 --warmup 3
train 150 fill.jsonl --fill 0,132,264 --rounds 2 --models small:2,12+xl:2,4,12 --shapes 1x128 --steps 20 --warmup 100
step "3. per-kernel profiles"
train 70 profile.jsonl --fill 264 --profile --models small:2+xl:2 --shapes 16x128,1x128 --steps 20 --warmup 50
step "done"
cat "$OUT/steps.txt"
