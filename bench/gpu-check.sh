#!/usr/bin/env bash
# bench/gpu-check.sh: one prepared run for a machine with an NVIDIA GPU. It installs onnxruntime-node's CUDA
# execution provider, generates a random 1B LLaMA (TinyLlama-1.1B shapes, BF16), then runs on CUDA:
# eval ppl, importance ppl and taylor, and a few LoRA steps, printing each command's wall time, peak RSS and
# peak device memory (nvidia-smi sampled every 200 ms), and a JSON summary in $OUT/gpu-check.json.
#
#   bash bench/gpu-check.sh            (from the repository root, after npm ci; OUT defaults to /tmp/gpu-check)
#
# The provider (ONNX Runtime 1.29.0, matching onnxruntime-node): from $ORT_CUDA_DIR if it holds
# libonnxruntime_providers_cuda.so, else from the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
# (README "GPU workers"), else onnxruntime-node's own install script (ONNXRUNTIME_NODE_INSTALL=cuda12, needs
# NuGet). The provider links CUDA 13 and cuDNN: their lib folders are found in the nvidia-* Python wheels when
# installed, else the system's. Compute dtype: float16 when the CLI has `--dtype` (DTYPE=float16), else the
# float32 engine on CUDA (this script says which it ran).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
MODEL=${MODEL:-$OUT/tinyllama-1b-bf16}
GEN=${GEN:-../shared/tools/gen_big_checkpoint.py}
DTYPE=${DTYPE:-float16}
# DEVICE=cpu MODEL=models/tinystories-llama-8L VOCAB=512: a smoke test of this script's commands without a GPU
DEVICE=${DEVICE:-cuda}
VOCAB=${VOCAB:-32000}
mkdir -p "$OUT"
log() { echo "[gpu-check $(date -u +%H:%M:%S)] $*"; }

if [ "$DEVICE" = cuda ]; then
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { log "no nvidia-smi: not a GPU machine"; exit 2; }

# 1. the CUDA execution provider next to libonnxruntime.so.1
ORT_BIN=$(ls -d node_modules/onnxruntime-node/bin/napi-v*/linux/x64 | head -1)
if [ ! -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ]; then
  if [ -n "${ORT_CUDA_DIR:-}" ] && [ -f "$ORT_CUDA_DIR/libonnxruntime_providers_cuda.so" ]; then
    cp "$ORT_CUDA_DIR"/libonnxruntime_providers_{cuda,shared}.so "$ORT_BIN/"
  elif (cd "$OUT" && npm pack --silent com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null 2>&1); then
    tar -xzf "$OUT"/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz -C "$OUT"
    cp "$OUT"/package/Plugins/Linux/x64/libonnxruntime_providers_{cuda,shared}.so "$ORT_BIN/"
  else
    ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12
  fi
fi
ls -la "$ORT_BIN"
# CUDA and cuDNN libraries from nvidia-* wheels, when pip installed them
WHEEL_LIBS=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
print(":".join(sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "*", "lib", "*.so*"))})))
PY
)
export LD_LIBRARY_PATH="${WHEEL_LIBS:+$WHEEL_LIBS:}${LD_LIBRARY_PATH:-}"
ldd "$ORT_BIN/libonnxruntime_providers_cuda.so" | grep -E "not found" && log "missing CUDA libraries (above): install CUDA 13 + cuDNN or the nvidia-* wheels"
fi

# 2. the model
if [ ! -f "$MODEL/model.safetensors" ]; then
  log "generating $MODEL"
  /usr/bin/env python3 "$GEN" --out "$MODEL" --layers 22 --hidden 2048 --heads 32 --kv-heads 4 \
    --intermediate 5632 --vocab 32000 --dtype BF16 --seed 1 || { log "model generation failed"; exit 1; }
fi
python3 -c "import json,random; random.seed(1); json.dump({'batch':[[random.randrange($VOCAB) for _ in range(128)] for _ in range(4)]}, open('$OUT/calib.json','w')); json.dump({'ids':[random.randrange($VOCAB) for _ in range(4096)]}, open('$OUT/ids.json','w'))"

CLI=(node --conditions=development --import tsx apps/cli/src/main.ts)
[ -f apps/cli/src/main.ts ] || CLI=(npx shortened)
DT=()
if "${CLI[@]}" eval ppl --help 2>&1 | grep -q -- "--dtype"; then DT=(--dtype "$DTYPE"); else DTYPE=float32; fi
log "compute dtype $DTYPE"

# 3. each command: wall time, peak RSS (/usr/bin/time -v), peak device memory (nvidia-smi every 200 ms)
echo "[" > "$OUT/gpu-check.json"
first=1
run() {
  local name=$1; shift
  local smi=
  if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/$name.smi" &
    smi=$!
  fi
  local t0=$(date +%s.%N)
  /usr/bin/time -v "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  local rc=$?
  local t1=$(date +%s.%N)
  [ -z "$smi" ] || { kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null; }
  local wall=$(awk "BEGIN { print $t1 - $t0 }")
  local rss=$(grep "Maximum resident" "$OUT/$name.err" | awk '{print $NF}')
  local dev=$(sort -n "$OUT/$name.smi" 2>/dev/null | tail -1)
  log "$name: rc $rc, ${wall}s, peak RSS $((${rss:-0} / 1024)) MB, peak device memory ${dev:-?} MiB"
  [ $rc -eq 0 ] || tail -5 "$OUT/$name.err"
  [ $first -eq 1 ] || echo "," >> "$OUT/gpu-check.json"; first=0
  echo "{\"step\":\"$name\",\"rc\":$rc,\"wall_s\":$wall,\"peak_rss_kb\":${rss:-0},\"peak_device_mib\":${dev:-0},\"dtype\":\"$DTYPE\"}" >> "$OUT/gpu-check.json"
}
run eval-ppl "${CLI[@]}" eval ppl --model "$MODEL" --ids "$OUT/ids.json" --seq-len 128 --device $DEVICE "${DT[@]}" --json
run importance-ppl "${CLI[@]}" importance --model "$MODEL" --criterion ppl --calib-ids "$OUT/calib.json" --device $DEVICE "${DT[@]}" --json
run importance-taylor "${CLI[@]}" importance --model "$MODEL" --criterion taylor --calib-ids "$OUT/calib.json" --device $DEVICE "${DT[@]}" --json
run lora-steps "${CLI[@]}" retrain lora --model "$MODEL" --ids "$OUT/calib.json" --steps 3 --batch 4 --out "$OUT/lora" --force --device $DEVICE "${DT[@]}" --json
echo "]" >> "$OUT/gpu-check.json"
cat "$OUT/gpu-check.json"
