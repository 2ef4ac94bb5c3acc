#!/usr/bin/env bash
# The GPU-speed issue's closing call, in ONE device call of at most 9 minutes: the asserting GPU
# suite (npm run test:gpu) on the code to be timed, then bench/device-summary.sh's summary of it,
# then a per-kernel profile of the short steps.
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/gpu-suite.ts bench/train.ts
#   optionally a candidate, code not yet on main, packed the same way in its own worktree and copied
#   beside main's as .device/gpu-suite-candidate.mjs and .device/train-candidate.mjs (main's
#   gpu-suite.mjs may then stay behind, to fit the 64 MiB a run carries)
#   then with the device tool:         command: bash bench/device-final.sh   carry: [".device"]
# Steps:
#   1. the adapter's limits (limits.mjs, when packed), then the suite of the candidate if there is
#      one, else main's (gpu-suite.txt). The candidate passes: the steps below time it
#      (train-candidate.mjs becomes train.mjs); it fails: they time main.
#   2. bench/device-summary.sh: layercut and PyTorch on every shape (layercut.jsonl, pytorch.jsonl)
#   3. --profile of GPT-2 small and GPT2-XL 2 layers, mixed, at 16x128 and 1x128 (profile.jsonl):
#      each kernel's GPU time beside the step's wall time, in what is left of the 9 minutes
# Into $OUT: machine.txt, gpu-suite.txt (its stderr and the limits in gpu-suite.err), layercut.jsonl,
# pytorch.jsonl, profile.jsonl, steps.txt, errors.txt (every run's stderr).
NAME=final
# shellcheck source=bench/device-call.sh
source "$(dirname "$0")/device-call.sh"
budget=560
# seconds left of the budget, at least 1
left() { local l=$((budget - ($(date +%s) - started))); echo $((l > 1 ? l : 1)); }

step "1. gpu suite"
[ -f .device/limits.mjs ] && bash .device/run.sh limits.mjs > "$OUT/gpu-suite.err" 2>&1
suite=gpu-suite.mjs
[ -f .device/gpu-suite-candidate.mjs ] && suite=gpu-suite-candidate.mjs
timeout 110 bash .device/run.sh "$suite" > "$OUT/gpu-suite.txt" 2>> "$OUT/gpu-suite.err"
status=$?
echo "$suite exit status $status (124: timed out)" >> "$OUT/steps.txt"
tail -n 1 "$OUT/gpu-suite.txt"
if [ "$suite" = gpu-suite-candidate.mjs ]; then
  if [ "$status" -eq 0 ]; then
    mv .device/train-candidate.mjs .device/train.mjs
    echo "timing the candidate" >> "$OUT/steps.txt"
  else
    echo "timing main: the candidate failed its suite" >> "$OUT/steps.txt"
  fi
fi

step "2. summary"
SUMMARY_SECONDS=$(($(left) > 150 ? $(left) - 90 : $(left))) OUT="$OUT" bash bench/device-summary.sh 2>> "$OUT/errors.txt" > /dev/null

step "3. per-kernel profiles"
timeout "$(left)" bash .device/run.sh train.mjs --precision mixed --dir /tmp/layercut-summary-checkpoints \
  --eval-batches 1 --profile --models small:2+xl:2 --shapes 16x128,1x128 --steps 20 --warmup 50 \
  2>> "$OUT/errors.txt" | grep --line-buffered '^{' > "$OUT/profile.jsonl"
echo "profile exit status ${PIPESTATUS[0]} (124: timed out)" >> "$OUT/steps.txt"
cat "$OUT"/layercut.err "$OUT"/pytorch.err >> "$OUT/errors.txt" 2> /dev/null
rm -f "$OUT"/layercut.err "$OUT"/pytorch.err
step "done"
cat "$OUT/steps.txt"
