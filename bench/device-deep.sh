#!/usr/bin/env bash
# Batch-1 steps taken apart, and replayed (src/runtime/step-graph.ts), in ONE device call of at
# most 9 minutes: is the step waiting on the host or on the GPU, where does each one's time go,
# and what does a replayed step (none of its JS run) cost?
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/train.ts bench/host-profile.ts
#   then with the device tool:         command: bash bench/device-deep.sh   carry: [".device"]
# Steps:
#   1. bench/host-profile.ts --gpu, GPT2-XL shape at 12 and 48 layers, mixed, run and replayed, 200
#      warm-up steps (V8's steady state): wall and main-thread ms per step, dispatches (host.jsonl)
#   2. bench/train.ts at 1x128, fp32 and mixed, run and replayed (layercut.jsonl): the GPT2-XL
#      shape cut to 1, 2, 4, 12 and GPT-2 small's to 2 and 12, 20 timed steps after 100; then the
#      full GPT2-XL (48 layers), 20 after 60, with --profile on the run steps (profile.jsonl: each
#      kernel's GPU time beside the step's wall time)
#   3. PyTorch (bench/train_peer.py) on the same checkpoints and token ids, 20 steps after 20
#      (pytorch.jsonl)
#   4. the 48-layer mixed step under node --cpu-prof, summarized by bench/cpu-profile-summary.py
#      (cpu-profile.txt), in what is left
# Into $OUT: machine.txt, host.jsonl, layercut.jsonl, profile.jsonl, pytorch.jsonl, cpu-profile.txt,
# steps.txt, errors.txt (every run's stderr).
NAME=deep
# shellcheck source=bench/device-call.sh
source "$(dirname "$0")/device-call.sh"
budget=560
left() { local l=$((budget - ($(date +%s) - started))); echo $((l > 1 ? l : 1)); }
# layercut's train.mjs for at most SECONDS, its JSON lines into layercut.jsonl (profiles apart)
layercut() {
  local seconds=$1; shift
  timeout "$(($(left) < seconds ? $(left) : seconds))" bash .device/run.sh train.mjs --dir "$ckpt" \
    --eval-batches 1 --shapes 1x128 "$@" 2>> "$OUT/errors.txt" | grep --line-buffered '^{' \
    | tee -a >(grep --line-buffered '"profile"' >> "$OUT/profile.jsonl") | grep -v '"profile"' >> "$OUT/layercut.jsonl"
  echo "layercut $* exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
}

step "1. host-profile --gpu, 12 and 48 layers, run and replayed"
for layers in 12 48; do
  for replay in "" --replay; do
    timeout 60 bash .device/run.sh host-profile.mjs --gpu --model xl --layers "$layers" --batch 1 \
      --precision mixed --warmup 200 --steps 20 --repeats 2 $replay 2>> "$OUT/errors.txt" \
      | grep '^{' | sed "s/^{/{\"replay\":\"$replay\",/" >> "$OUT/host.jsonl"
  done
done

step "2. layercut at 1x128, run and replayed"
layercut 150 --precision fp32,mixed --models xl:1,2,4,12+small:2,12 --steps 20 --warmup 100
layercut 100 --precision fp32,mixed --models xl:1,2,4,12+small:2,12 --steps 20 --warmup 100 --replay
layercut 90 --precision fp32,mixed --models xl:48 --steps 20 --warmup 60 --profile
layercut 60 --precision fp32,mixed --models xl:48 --steps 20 --warmup 60 --replay

step "3. PyTorch at 1x128"
PYTHONUNBUFFERED=1 timeout "$(($(left) < 90 ? $(left) : 90))" python3 bench/train_peer.py \
  --models xl:1,2,4,12,48+small:2,12 --shapes 1x128 --dir "$ckpt" --eval-batches 1 --steps 20 --warmup 20 \
  2>> "$OUT/errors.txt" | grep '^{' > "$OUT/pytorch.jsonl"
echo "pytorch exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"

step "4. cpu profile, 48 layers mixed"
rm -rf /tmp/deep-prof
# node itself (unpacked by the runs above): --cpu-prof is refused in NODE_OPTIONS
VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json} timeout "$(left)" \
  /tmp/nodebin/node --cpu-prof --cpu-prof-dir=/tmp/deep-prof .device/host-profile.mjs \
  --gpu --model xl --layers 48 --batch 1 --precision mixed --warmup 200 --steps 30 --repeats 1 \
  > /dev/null 2>> "$OUT/errors.txt"
python3 bench/cpu-profile-summary.py "$(ls -S /tmp/deep-prof/*.cpuprofile | head -1)" --top 40 \
  > "$OUT/cpu-profile.txt" 2>> "$OUT/errors.txt"
step "done"
cat "$OUT/steps.txt"
