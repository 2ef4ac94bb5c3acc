#!/usr/bin/env bash
# npm run test:gpu on the GPU machine, in one device call (about 4 minutes, at most 9):
#   pack first (development machine):  bash /work/shared/device/pack.sh bench/gpu-suite.ts bench/matmul.ts
#   then with the device tool:         command: bash bench/device-gpu-suite.sh     carry: [".device"]
# It runs from the repository root there (the parity fixtures are read from test/fixtures/models).
# Into $OUT: machine.txt; gpu-suite.txt (one line per check, ok or FAIL, max |Δ| and tolerance, and
# the suite's exit status); matmul.jsonl (bench/matmul.ts: timings and errors, one JSON line per
# case) with matmul.err (its verdict); the stderr of both. Exit status 1 if either failed.
cd "$(dirname "$0")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/gpu-suite-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/machine.txt" 2>&1
timeout 400 bash .device/run.sh gpu-suite.mjs > "$OUT/gpu-suite.txt" 2> "$OUT/gpu-suite.err"
suite=$?
echo "gpu-suite exit status $suite (124: timed out)" >> "$OUT/gpu-suite.txt"
timeout 130 bash .device/run.sh matmul.mjs --iterations 10 > "$OUT/matmul.jsonl" 2> "$OUT/matmul.err"
matmul=$?
echo "matmul exit status $matmul (124: timed out)" >> "$OUT/matmul.err"
cat "$OUT/machine.txt" "$OUT/gpu-suite.txt"
tail -n 5 "$OUT/matmul.err"
[ "$suite" -eq 0 ] && [ "$matmul" -eq 0 ]
