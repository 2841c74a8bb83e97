#!/usr/bin/env bash
# Peak RSS (/usr/bin/time -v) of commands that run a model, whole and under a memory budget.
# Usage: bench/memory.sh MODEL_DIR IDS_FILE [BUDGET ...]   (e.g. a generated 1.1B BF16 checkpoint, 2.5G 4G)
# IDS_FILE: {"ids": [...]} (at least 4 x 128 tokens). DTYPE=float16 sets the compute dtype (default float32).
# A command that fails prints its row with the reason instead of ending the table.
# Run it under the team's heavy lock: bash /work/team/heavy.sh bench/memory.sh ...
set -euo pipefail
model=$(realpath "$1"); ids=$(realpath "$2"); shift 2
cd "$(dirname "$0")/.."   # tsx and the workspace packages resolve from the repository root
# The CLI users run: the build when there is one (`npx tsc -b`); run from the sources, tsx's compiler adds ~0.1 GB.
cli=(node apps/cli/bin/shortened.js)
dtype=${DTYPE:-float32}
run() {
  local label=$1; shift
  local log; log=$(mktemp)
  local t0; t0=$(date +%s.%N)
  if ! /usr/bin/time -v "${cli[@]}" "$@" --dtype "$dtype" --json >"$log.out" 2>"$log"; then
    echo "| $label | failed: $(grep -m1 -E 'Error|error:' "$log" || tail -1 "$log") | | |"
    rm -f "$log" "$log.out"; return 0
  fi
  local t1; t1=$(date +%s.%N)
  local rss; rss=$(awk -F: '/Maximum resident set size/ {print $2}' "$log")
  local plan; plan=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log((r.plan&&r.plan.summary)||"")' "$log.out")
  printf '| %s | %.2f GB (%.2fx the float32 weights) | %.1f s | %s |\n' "$label" "$(echo "$rss/1048576" | bc -l)" \
    "$(echo "$rss*1024/$weights" | bc -l)" "$(echo "$t1-$t0" | bc -l)" "$plan"
  rm -f "$log" "$log.out"
}
weights=$(node --conditions=development --import tsx --input-type=module -e '
import { readConfig } from "@shortened/hf";
import { float32WeightBytes } from "@shortened/engine";
console.log(float32WeightBytes(readConfig(process.argv[1])).total);' "$model")
printf 'float32 weights: %.2f GB (goal when the model fits: peak RSS at most 1.3x that plus activations); compute dtype %s\n\n' \
  "$(echo "$weights/1073741824" | bc -l)" "$dtype"
echo "| command | peak RSS | wall | plan |"
echo "| --- | --- | --- | --- |"
run "eval ppl 4 x 128 (default budget)" eval ppl --model "$model" --ids "$ids" --seq-len 128 --batch-size 4
for b in "$@"; do
  run "eval ppl 4 x 128 --memory-budget $b" eval ppl --model "$model" --ids "$ids" --seq-len 128 --batch-size 4 --memory-budget "$b"
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
