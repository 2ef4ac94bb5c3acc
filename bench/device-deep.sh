#!/usr/bin/env bash
# The full GPT2-XL (48 layers) at batch 1 x 128, taken apart in ONE device call of at most 9
# minutes: is the step waiting on the host or on the GPU, and where does each one's time go?
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/train.ts bench/host-profile.ts
#   then with the device tool:         command: bash bench/device-deep.sh   carry: [".device"]
# Steps:
#   1. bench/host-profile.ts --gpu, GPT2-XL shape at 12 and 48 layers, fp32 and mixed, 200 warm-up
#      steps (V8's steady state): wall and main-thread ms per step, dispatches (host.jsonl)
#   2. the same 48-layer mixed step under node --cpu-prof, summarized by bench/cpu-profile-summary.py
#      (cpu-profile.txt)
#   3. bench/train.ts at 48 layers, 1x128, fp32 and mixed, 30 timed steps after 100, with --profile:
#      each kernel's GPU time beside the step's wall time (layercut.jsonl, profile.jsonl)
#   4. PyTorch (bench/train_peer.py) on the same checkpoint and token ids, 20 steps after 20
#      (pytorch.jsonl)
# Into $OUT: machine.txt, host.jsonl, cpu-profile.txt, layercut.jsonl, profile.jsonl, pytorch.jsonl,
# steps.txt, errors.txt (every run's stderr).
NAME=deep
# shellcheck source=bench/device-call.sh
source "$(dirname "$0")/device-call.sh"

step "1. host-profile --gpu, 12 and 48 layers"
for layers in 12 48; do
  for precision in fp32 mixed; do
    timeout 100 bash .device/run.sh host-profile.mjs --gpu --model xl --layers "$layers" --batch 1 \
      --precision "$precision" --warmup 200 --steps 20 --repeats 2 2>> "$OUT/errors.txt" \
      | grep '^{' | sed "s/^{/{\"layers\":$layers,\"precision\":\"$precision\",/" >> "$OUT/host.jsonl"
  done
done

step "2. cpu profile, 48 layers mixed"
rm -rf /tmp/deep-prof
NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/deep-prof" timeout 100 bash .device/run.sh host-profile.mjs \
  --gpu --model xl --layers 48 --batch 1 --precision mixed --warmup 200 --steps 30 --repeats 1 \
  > /dev/null 2>> "$OUT/errors.txt"
for f in /tmp/deep-prof/*.cpuprofile; do python3 bench/cpu-profile-summary.py "$f" --top 40; done \
  > "$OUT/cpu-profile.txt" 2>> "$OUT/errors.txt"

step "3. layercut 48 layers, 1x128, with --profile"
timeout 200 bash .device/run.sh train.mjs --precision fp32,mixed --dir "$ckpt" --eval-batches 1 --profile \
  --models xl:48 --shapes 1x128 --steps 30 --warmup 100 2>> "$OUT/errors.txt" | grep --line-buffered '^{' \
  | tee >(grep --line-buffered '"profile"' > "$OUT/profile.jsonl") | grep -v '"profile"' > "$OUT/layercut.jsonl"
echo "layercut exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"

step "4. PyTorch 48 layers, 1x128"
PYTHONUNBUFFERED=1 timeout 90 python3 bench/train_peer.py --models xl:48 --shapes 1x128 --dir "$ckpt" \
  --eval-batches 1 --steps 20 --warmup 20 2>> "$OUT/errors.txt" | grep '^{' > "$OUT/pytorch.jsonl"
echo "pytorch exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
step "done"
cat "$OUT/steps.txt"
