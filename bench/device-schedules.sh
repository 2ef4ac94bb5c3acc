#!/usr/bin/env bash
# Which tensor-core matmul schedule, and what Dawn's robustness and validation cost, in ONE device
# call (about 6 minutes, at most 9):
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/matmul.ts bench/train.ts
#   then with the device tool:         command: bash bench/device-schedules.sh   carry: [".device"]
# Steps:
#   1. bench/matmul.ts --schedules: every schedule on a training step's products (schedules.jsonl),
#      then the same with Dawn's disable_robustness toggle (schedules-unchecked.jsonl)
#   2. bench/train.ts, mixed, GPT2-XL shape cut to 2 and 4 layers, 16x128 and 1x128: as shipped and
#      with disable_robustness,skip_validation (train.jsonl; the toggles are
#      in each line's config)
# SKIP_TRAIN=1 stops after step 1.
# Into $OUT: machine.txt, schedules.jsonl, schedules-unchecked.jsonl, train.jsonl, *.err, steps.txt.
NAME=schedules
# shellcheck source=bench/device-call.sh
source "$(dirname "$0")/device-call.sh"
step "1. matmul schedules"
timeout 120 bash .device/run.sh matmul.mjs --schedules --iterations 20 > "$OUT/schedules.jsonl" 2> "$OUT/schedules.err"
echo "schedules exit status $? (124: timed out)" >> "$OUT/steps.txt"
timeout 100 bash .device/run.sh matmul.mjs --schedules --iterations 20 --dawn-toggles disable_robustness \
  > "$OUT/schedules-unchecked.jsonl" 2> "$OUT/schedules-unchecked.err"
echo "schedules (unchecked) exit status $? (124: timed out)" >> "$OUT/steps.txt"
grep summary "$OUT/schedules.jsonl" | head -5
[ -n "$SKIP_TRAIN" ] && { step "done (training steps skipped)"; exit 0; }
step "2. training steps with and without Dawn's checks"
for toggles in "" disable_robustness,skip_validation; do
  timeout 100 bash .device/run.sh train.mjs --precision mixed --dir "$ckpt" --eval-batches 1 --models xl:2,4 \
    --shapes 16x128,1x128 --steps 5 --warmup 2 ${toggles:+--dawn-toggles $toggles} \
    2>> "$OUT/train.err" | grep --line-buffered '^{' | sed "s/^{/{\"toggles\":\"$toggles\",/" | tee -a "$OUT/train.jsonl"
  echo "train ($toggles) exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
done
step "done"
cat "$OUT/steps.txt"
