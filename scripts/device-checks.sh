#!/usr/bin/env bash
# The GPU-machine checks of issues 7, 8 and 10 in one device call (see ../shared/device/README.md).
#
#   here:       bash bench/device-workers.sh pack            # workers.mjs, the spam cache, better-sqlite3
#               then bundle scripts/export-check.ts and scripts/device-cli.ts into .device/ too
#   on device:  run  command: bash scripts/device-checks.sh   carry: [".device"]
#
# 1. parity on webgpu for every fixture family (full model and first-k cuts);
# 2. export check: layercut saves cut (and fine-tuned) models, transformers loads them
#    (scripts/check_export.py), same logits — the shipped tiny-english included;
# 3. one worker vs two on one sweep (bench/workers.ts).
# Everything goes to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/device-checks}
mkdir -p "$out"
{
  for f in gpt2-tiny opt-tiny llama-tiny-gqa bert-tiny roberta-tiny; do
    bash .device/run.sh device-cli.mjs parity "test/fixtures/models/$f" --backend webgpu
  done
} > "$out/parity-webgpu.txt" 2>&1
{
  set -e
  for s in "models/tiny-english|all|0" "models/tiny-english|first 3|0" "models/tiny-english|first 2|2" \
    "gpt2-tiny|0, 2|2" "gpt2-tiny-bf16|first 2|2" "opt-tiny|first 2|2" "opt-tiny-postln|0, 3|2" \
    "llama-tiny-gqa|first 1 + last 1|2" "bert-tiny|0, 3|2" "roberta-tiny|first 1 + last 1|2"; do
    IFS='|' read -r model layers steps <<< "$s"
    name=$(echo "$model-$layers-$steps" | tr -c 'A-Za-z0-9\n-' '_')
    bash .device/run.sh export-check.mjs --model "$model" --layers "$layers" --train-steps "$steps" --out "/tmp/ec/$name"
  done
  python3 scripts/check_export.py /tmp/ec/*
} > "$out/export-check.txt" 2>&1
bash bench/device-workers.sh run --workers 1,2 --runs 8 > "$out/workers.txt" 2>&1
tail -n 25 "$out/parity-webgpu.txt" "$out/export-check.txt" "$out/workers.txt"
