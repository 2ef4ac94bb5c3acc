#!/usr/bin/env bash
cd "$(dirname "$0")/.."  # repository root; pack first: bash ../shared/device/pack.sh bench/train.ts
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $OUT/machine.txt
bash .device/run.sh train.mjs --layers 1,2,4,12 2>&1 | grep '^{' | tee $OUT/layercut.jsonl
PYTHONUNBUFFERED=1 python3 bench/train_peer.py --layers 1,2,4,12,48 --precisions fp32,bf16 2>&1 | grep '^{' | tee $OUT/pytorch.jsonl
timeout 200 bash .device/run.sh train.mjs --layers 48 --steps 3 --warmup 1 2>&1 | grep '^{\|out of memory' | head -5 | tee -a $OUT/layercut.jsonl
