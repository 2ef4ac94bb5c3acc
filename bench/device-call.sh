# Shared start of the bench/device-*.sh scripts (sourced, with NAME set): the repository root as
# the working directory, $OUT (default /tmp/NAME-out) made, $ckpt the random checkpoints' folder,
# `step TEXT` logging a step with the seconds since the start into $OUT/steps.txt, and the GPU's
# name, driver and memory in $OUT/machine.txt.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1 # repository root
OUT=${OUT:-/tmp/$NAME-out}
mkdir -p "$OUT"
ckpt=/tmp/layercut-$NAME-checkpoints
started=$(date +%s)
step() { echo "== $1 ($(($(date +%s) - started)) s in)" | tee -a "$OUT/steps.txt" >&2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/machine.txt"
