#!/usr/bin/env bash
# The GPU-machine checks of issues 7, 8 and 10 in one device call (see ../shared/device/README.md).
#
#   here:       bash bench/device-workers.sh pack            # workers.mjs, the spam cache, better-sqlite3
#               then bundle scripts/export-check.ts and scripts/device-cli.ts into .device/ too
#   on device:  run  command: bash scripts/device-checks.sh   carry: [".device"]
#
# 1. parity on webgpu for every fixture family (full model and first-k cuts), issue 19's included;
# 2. export check: layercut saves cut (and fine-tuned) models, transformers loads them
#    (scripts/check_export.py), same logits — the shipped tiny-english included;
# 3. one worker vs two on one sweep (bench/workers.ts).
# Everything goes to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/device-checks}
mkdir -p "$out"
{
  for f in gpt2-tiny opt-tiny llama-tiny-gqa bert-tiny roberta-tiny \
    qwen2-tiny qwen2-tiny-window qwen3-tiny qwen3-tiny-window mistral-tiny mistral-tiny-nowindow \
    phi3-tiny phi3-tiny-partial phi3-tiny-longrope phi3-tiny-longrope-long gemma-tiny gemma-tiny-act gpt-neox-tiny gpt-neox-tiny-sequential \
    llama3-tiny llama-tiny-linear llama-tiny-dynamic; do
    bash .device/run.sh device-cli.mjs parity "test/fixtures/models/$f" --backend webgpu
  done
} > "$out/parity-webgpu.txt" 2>&1
{
  set -e
  # every case of EXPORT_CASES in scripts/export-check.ts (each family, cut and fine-tuned)
  bash .device/run.sh export-check.mjs --all --out /tmp/ec
  python3 scripts/check_export.py /tmp/ec/*
} > "$out/export-check.txt" 2>&1
bash bench/device-workers.sh run --workers 1,2 --runs 8 > "$out/workers.txt" 2>&1
tail -n 25 "$out/parity-webgpu.txt" "$out/export-check.txt" "$out/workers.txt"
