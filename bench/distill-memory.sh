#!/usr/bin/env bash
# Peak RSS (/usr/bin/time -v) of distilling a pruned 1.1B model (TinyLlama shapes, BF16, 6 of 22 blocks removed)
# from its unpruned teacher within a memory budget: the teacher's top-K cache is built first (the teacher alone,
# whole or block-streamed), then LoRA trains the student with the teacher unloaded. Also what the live teacher
# (no top-K: teacher beside the student) would need.
# Usage: [RUNS="cache live"] bench/distill-memory.sh WORK_DIR [BUDGET ...]   (default 6G; run under the heavy lock)
# SHARED: the shared folder with tools/ (default ../shared, as from the main checkout)
set -euo pipefail
work=$1; shift
budgets=("${@:-6G}")
cli=(node --conditions=development --import tsx apps/cli/src/main.ts)
teacher=$work/teacher
student=$work/student
ids=$work/ids.json
mkdir -p "$work"
if [ ! -f "$teacher/config.json" ]; then
  /usr/bin/python3 "${SHARED:-../shared}/tools/gen_big_checkpoint.py" --out "$teacher" --layers 22 --hidden 2048 --heads 32 \
    --kv-heads 4 --intermediate 5632 --vocab 32000 --dtype BF16 >/dev/null
fi
[ -f "$student/config.json" ] || "${cli[@]}" prune --model "$teacher" --remove 15,16,17,18,19,20 --out "$student" >/dev/null
# 4 rows of 128 token ids (a fixed LCG: the same rows every run)
node -e 'const V=require(process.argv[1]).vocab_size-10;let s=7;const r=()=>(s=(s*1103515245+12345)%2147483648)%V+5;
console.log(JSON.stringify({batch:Array.from({length:4},()=>Array.from({length:128},r))}))' "$teacher/config.json" >"$ids"
run() {
  local label=$1; shift
  local log; log=$(mktemp)
  local t0; t0=$(date +%s.%N)
  set +e
  /usr/bin/time -v "${cli[@]}" retrain lora --model "$student" --ids "$ids" --distill-from "$teacher" \
    --steps 2 --batch 1 --r 8 --no-merge --checkpoint-every 0 --force "$@" >"$log.out" 2>"$log"
  local rc=$?
  set -e
  local t1; t1=$(date +%s.%N)
  local rss; rss=$(awk -F: '/Maximum resident set size/ {print $2}' "$log")
  printf '| %s | exit %s | %.2f GB | %.0f s |\n' "$label" "$rc" "$(echo "$rss/1048576" | bc -l)" "$(echo "$t1-$t0" | bc -l)"
  grep -E '^plan: |^error|refus|does not fit' "$log" | sed 's/^/    /' || true
  sed 's/^/    /' "$log.out"
  rm -f "$log" "$log.out"
}
echo "| run | result | peak RSS | wall |"
echo "| --- | --- | --- | --- |"
for b in "${budgets[@]}"; do
  for r in ${RUNS:-cache live}; do
    case $r in
      cache) run "top-64 cache, float16 student base, --memory-budget $b" --top-k 64 --dtype float16 \
        --memory-budget "$b" --out "$work/out-$b" ;;
      live) run "live teacher (no top-K), float16 student base, --memory-budget $b" --dtype float16 \
        --memory-budget "$b" --out "$work/live-$b" ;;
    esac
  done
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
