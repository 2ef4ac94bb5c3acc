#!/usr/bin/env bash
# Runs the training benchmark and its PyTorch peer on the GPU machine; JSON lines into $OUT.
cd "$(dirname "$0")/.."  # repository root; pack first: bash ../shared/device/pack.sh bench/train.ts
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $OUT/machine.txt
bash .device/run.sh train.mjs --layers 1,2,4,12 2>&1 | tee $OUT/layercut.jsonl
bash .device/run.sh train.mjs --layers 12 --width 768 --heads 12 --label gpt2-small 2>&1 | tee -a $OUT/layercut.jsonl
PYTHONUNBUFFERED=1 python3 bench/train_peer.py --layers 1,2,4,12,48 2>&1 | grep -v Warning | tee $OUT/pytorch.jsonl
PYTHONUNBUFFERED=1 python3 bench/train_peer.py --layers 12 --width 768 --heads 12 --label gpt2-small 2>&1 | tee -a $OUT/pytorch.jsonl
timeout 280 bash .device/run.sh train.mjs --layers 48 --steps 3 --warmup 1 2>&1 | tee -a $OUT/layercut.jsonl
echo "48-layer exit: $?" | tee -a $OUT/layercut.jsonl
