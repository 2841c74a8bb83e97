#!/usr/bin/env bash
# bench/gpu-check.sh: one prepared run for a machine with an NVIDIA GPU. It puts onnxruntime-node's CUDA
# execution provider in place, generates a random 1B LLaMA (TinyLlama-1.1B shapes, BF16), then runs on CUDA in
# float16: eval ppl, importance ppl and taylor, and a few LoRA steps, printing each command's wall time, peak RSS,
# peak device memory (nvidia-smi sampled every 200 ms) and its result, and a JSON summary in $OUT/gpu-check.json.
# Exit status: 0 when every step succeeded, 1 when one failed, 2 when the machine is not ready (what is missing is
# said on one line).
#
#   bash bench/gpu-check.sh          on a GPU machine, from the repository root after npm ci (OUT: /tmp/gpu-check)
#   bash bench/gpu-check.sh --cpu    the same commands on the CPU, on the shipped 8-block demo model, small inputs:
#                                    a smoke test of this script (test/gpu-check.test.ts runs it)
#
# Needs: Node 20 and the repository's node_modules. The provider (ONNX Runtime 1.29.0, matching onnxruntime-node):
# already next to libonnxruntime.so.1, else from $ORT_CUDA_DIR (a folder holding libonnxruntime_providers_cuda.so and
# libonnxruntime_providers_shared.so: the way on a machine without internet), else the npm package
# com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (README "GPU workers"), else onnxruntime-node's own install
# script (ONNXRUNTIME_NODE_INSTALL=cuda12, from NuGet). That provider links CUDA 13 and cuDNN 9: their lib folders
# are taken from the nvidia-* Python wheels when installed (as on PyTorch images), else the system's. The network
# routes are tried only when the npm registry answers (a machine without network fails at once, not after npm's
# retries). The 1B model is made by gen_big_checkpoint.py (numpy; $GEN, else shared/tools/ in this checkout, else
# ../shared/tools/ beside it), or give MODEL=DIR of any LLaMA checkpoint.
# Settings (environment): OUT, MODEL, GEN, DTYPE (float16 | float32 | bfloat16), STEPS (LoRA steps, 3), ROWS x SEQ
# (calibration and LoRA batch, 4 x 128), TOKENS (evaluated, 4096). A dry run of the GPU run's inputs on the CPU:
#   MODEL=DIR ROWS=4 SEQ=128 TOKENS=4096 STEPS=3 bash bench/gpu-check.sh --cpu
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
DEVICE=cuda
for a in "$@"; do
  case $a in
    --cpu) DEVICE=cpu ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "gpu-check: unknown argument $a (--cpu or nothing)" >&2; exit 2 ;;
  esac
done
log() { echo "[gpu-check $(date -u +%H:%M:%S)] $*"; }
fail() { echo "gpu-check: $*" >&2; exit 2; }

OUT=${OUT:-/tmp/gpu-check}
if [ -z "${GEN:-}" ]; then
  GEN=../shared/tools/gen_big_checkpoint.py
  [ ! -f shared/tools/gen_big_checkpoint.py ] || GEN=shared/tools/gen_big_checkpoint.py
fi
DTYPE=${DTYPE:-float16}
if [ "$DEVICE" = cuda ]; then
  MODEL=${MODEL:-$OUT/tinyllama-1b-bf16}
  ROWS=${ROWS:-4} SEQ=${SEQ:-128} TOKENS=${TOKENS:-4096} STEPS=${STEPS:-3}
else
  # Small enough for a test: 2 windows to evaluate, 2 calibration rows, 2 LoRA steps on the demo model.
  MODEL=${MODEL:-models/tinystories-llama-8L}
  ROWS=${ROWS:-2} SEQ=${SEQ:-32} TOKENS=${TOKENS:-64} STEPS=${STEPS:-2}
fi
mkdir -p "$OUT" || fail "cannot create $OUT"
command -v node >/dev/null || fail "node is not installed (Node 20 is needed)"
[ -d node_modules/onnxruntime-node ] || fail "node_modules is missing: run npm ci first"
[ -x /usr/bin/time ] || fail "/usr/bin/time is not installed (apt-get install time)"

if [ "$DEVICE" = cuda ]; then
  command -v nvidia-smi >/dev/null || fail "no nvidia-smi: not a GPU machine (bash bench/gpu-check.sh --cpu runs the smoke test)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || fail "nvidia-smi sees no GPU"

  # 1. the CUDA execution provider next to libonnxruntime.so.1
  ORT_BIN=
  for d in node_modules/onnxruntime-node/bin/napi-v*/linux/x64; do [ -f "$d/libonnxruntime.so.1" ] && ORT_BIN=$d && break; done
  [ -n "$ORT_BIN" ] || fail "onnxruntime-node has no linux/x64 libonnxruntime.so.1: run npm ci first"
  if [ ! -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ]; then
    if [ -n "${ORT_CUDA_DIR:-}" ] && [ -f "$ORT_CUDA_DIR/libonnxruntime_providers_cuda.so" ]; then
      cp "$ORT_CUDA_DIR"/libonnxruntime_providers_{cuda,shared}.so "$ORT_BIN/"
    elif ! timeout 20 npm ping >/dev/null 2>&1; then
      fail "no CUDA execution provider and no network: set ORT_CUDA_DIR to a folder with libonnxruntime_providers_{cuda,shared}.so (ONNX Runtime 1.29.0)"
    elif (cd "$OUT" && timeout 900 npm pack --silent com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null 2>&1); then
      tar -xzf "$OUT"/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz -C "$OUT"
      cp "$OUT"/package/Plugins/Linux/x64/libonnxruntime_providers_{cuda,shared}.so "$ORT_BIN/"
    else
      ONNXRUNTIME_NODE_INSTALL=cuda12 timeout 900 node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12
    fi
  fi
  [ -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ] ||
    fail "no CUDA execution provider: set ORT_CUDA_DIR to a folder with libonnxruntime_providers_{cuda,shared}.so (ONNX Runtime 1.29.0)"
  # CUDA and cuDNN libraries from nvidia-* wheels, when pip installed them
  WHEEL_LIBS=$(python3 - <<'PY' 2>/dev/null
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
print(":".join(sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "*", "lib", "*.so*"))})))
PY
)
  export LD_LIBRARY_PATH="${WHEEL_LIBS:+$WHEEL_LIBS:}${LD_LIBRARY_PATH:-}"
  missing=$(ldd "$ORT_BIN/libonnxruntime_providers_cuda.so" | grep "not found" | awk '{print $1}' | tr '\n' ' ')
  [ -z "$missing" ] || fail "the CUDA provider cannot load: missing $missing(install CUDA 13 and cuDNN 9, or the nvidia-* wheels)"
fi

# 2. the model and the inputs (random ids in the model's vocabulary; seeded)
if [ ! -f "$MODEL/config.json" ]; then
  [ -f "$GEN" ] || fail "no model at $MODEL and no generator at $GEN (set MODEL=DIR or GEN=gen_big_checkpoint.py)"
  log "generating $MODEL"
  python3 "$GEN" --out "$MODEL" --layers 22 --hidden 2048 --heads 32 --kv-heads 4 \
    --intermediate 5632 --vocab 32000 --dtype BF16 --seed 1 || fail "model generation failed"
fi
node -e '
  const fs = require("fs");
  const [model, out, rows, seq, tokens] = process.argv.slice(1);
  const vocab = JSON.parse(fs.readFileSync(model + "/config.json", "utf8")).vocab_size;
  let s = 1;
  const id = () => 2 + ((s = (s * 48271) % 2147483647) % (vocab - 2));
  const row = (n) => Array.from({ length: n }, id);
  fs.writeFileSync(out + "/calib.json", JSON.stringify({ batch: Array.from({ length: +rows }, () => row(+seq)) }));
  fs.writeFileSync(out + "/ids.json", JSON.stringify({ ids: row(+tokens - 1) }));
' "$MODEL" "$OUT" "$ROWS" "$SEQ" "$TOKENS" || fail "cannot write the inputs"

CLI=(node --conditions=development --import tsx apps/cli/src/main.ts)
[ -f apps/cli/src/main.ts ] || CLI=(npx shortened)
log "device $DEVICE, compute dtype $DTYPE, model $MODEL"

# 3. each command: wall time, peak RSS (/usr/bin/time -v), peak device memory (nvidia-smi every 200 ms), result
echo "[" > "$OUT/gpu-check.json"
first=1
failed=0
run() {
  local name=$1; shift
  local smi=
  if [ "$DEVICE" = cuda ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/$name.smi" &
    smi=$!
  fi
  local t0; t0=$(date +%s.%N)
  /usr/bin/time -v "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  local rc=$?
  local t1; t1=$(date +%s.%N)
  [ -z "$smi" ] || { kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null; }
  local wall; wall=$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }")
  local rss; rss=$(awk -F: '/Maximum resident/ {print $2 + 0}' "$OUT/$name.err")
  local dev; dev=$(sort -n "$OUT/$name.smi" 2>/dev/null | tail -1)
  # The command's own --json answer: its headline numbers (and, for the summary, proof that it ran).
  local result; result=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const out = {};
    for (const k of ["ppl", "basePpl", "order", "steps", "finalLoss", "device", "dtype"]) if (r[k] !== undefined) out[k] = r[k];
    if (r.protocol?.device) out.device = r.protocol.device;
    if (r.protocol?.dtype) out.dtype = r.protocol.dtype;
    if (Array.isArray(r.losses)) out.lastLoss = r.losses.at(-1);
    console.log(JSON.stringify(out));
  ' "$OUT/$name.out" 2>/dev/null) || { result='{}'; [ $rc -ne 0 ] || rc=3; }
  log "$name: rc $rc, ${wall} s, peak RSS $((${rss:-0} / 1024)) MB, peak device memory ${dev:-?} MiB, $result"
  [ $rc -eq 0 ] || { failed=1; grep -v '^\s' "$OUT/$name.err" | grep -v 'Command being timed' | tail -5; }
  [ $first -eq 1 ] || echo "," >> "$OUT/gpu-check.json"
  first=0
  echo "{\"step\":\"$name\",\"device\":\"$DEVICE\",\"dtype\":\"$DTYPE\",\"rc\":$rc,\"wall_s\":$wall,\"peak_rss_kb\":${rss:-0},\"peak_device_mib\":${dev:-null},\"result\":$result}" >> "$OUT/gpu-check.json"
}
common=(--model "$MODEL" --device "$DEVICE" --dtype "$DTYPE" --json)
run eval-ppl "${CLI[@]}" eval ppl "${common[@]}" --ids "$OUT/ids.json" --seq-len "$SEQ"
run importance-ppl "${CLI[@]}" importance "${common[@]}" --criterion ppl --calib-ids "$OUT/calib.json" --batch-size "$ROWS"
run importance-taylor "${CLI[@]}" importance "${common[@]}" --criterion taylor --calib-ids "$OUT/calib.json" --batch-size "$ROWS"
run lora-steps "${CLI[@]}" retrain lora "${common[@]}" --ids "$OUT/calib.json" --steps "$STEPS" --batch "$ROWS" --out "$OUT/lora" --force
echo "]" >> "$OUT/gpu-check.json"
log "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
exit $failed
