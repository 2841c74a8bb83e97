#!/usr/bin/env bash
# Peak RSS (/usr/bin/time -v) and wall time of `shortened export` on a large checkpoint, against the size of
# its weights. Generates a TinyLlama-1.1B-shaped BF16 checkpoint (../shared/tools/gen_big_checkpoint.py) when
# MODEL does not hold one. Run it under the team's heavy lock: /work/team/heavy.sh bench/export.sh
#   OUT=/tmp/export-bench DTYPES="float16 float32" CHECK=1 bench/export.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/export-bench}
MODEL=${MODEL:-$OUT/tinyllama-1b-bf16}
GEN=${GEN:-$( [ -d ../shared ] && echo ../shared || echo /work/shared )/tools/gen_big_checkpoint.py}
DTYPES=${DTYPES:-float16}
mkdir -p "$OUT"
if [ ! -f "$MODEL/config.json" ]; then
  /usr/bin/python3 "$GEN" --out "$MODEL" --layers 22 --hidden 2048 --heads 32 --kv-heads 4 \
    --intermediate 5632 --vocab 32000 --dtype BF16 --seed 1 >/dev/null
fi
weights=$(du -cb "$MODEL"/*.safetensors | tail -1 | cut -f1)
printf 'checkpoint: %s, %.2f GB of weights\n\n' "$MODEL" "$(echo "$weights/1000000000" | bc -l)"
echo "| export | peak RSS | wall | output |"
echo "| --- | --- | --- | --- |"
for dtype in $DTYPES; do
  log=$(mktemp)
  t0=$(date +%s.%N)
  /usr/bin/time -v node --conditions=development --import tsx apps/cli/src/main.ts export \
    --model "$MODEL" --out "$OUT/onnx-$dtype" --dtype "$dtype" >/dev/null 2>"$log"
  t1=$(date +%s.%N)
  rss=$(awk -F: '/Maximum resident set size/ {print $2}' "$log")
  size=$(du -cb "$OUT/onnx-$dtype" | tail -1 | cut -f1)
  printf '| %s | %.2f GB (%.2fx the checkpoint) | %.0f s | %.2f GB |\n' "$dtype" "$(echo "$rss/1048576" | bc -l)" \
    "$(echo "$rss*1024/$weights" | bc -l)" "$(echo "$t1-$t0" | bc -l)" "$(echo "$size/1000000000" | bc -l)"
  rm -f "$log"
  # CHECK=1: the export in a fresh ONNX Runtime session generates the engine's greedy tokens
  if [ "${CHECK:-0}" = 1 ]; then
    echo "check ($dtype): $(node --conditions=development --import tsx bench/export-check.ts "$MODEL" "$OUT/onnx-$dtype" 4 "$dtype")"
  fi
  rm -rf "$OUT/onnx-$dtype"
done
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
