#!/usr/bin/env bash
# Large generated checkpoints under a memory budget: one step per call (each fits a 12-minute heavy hold), one
# markdown row per step: peak RSS (/usr/bin/time -v), wall time, the plan and the result, and the CPU time (user +
# system: on a shared machine it says more about speed than the wall time).
# Usage: bench/big-models.sh MODEL_DIR BUDGET STEP...   steps: ppl ref-ppl imp-ppl ref-imp magnitude bi taylor
#        zeroshot generate throughput lora (2 LoRA steps of 1 x 128, no merge) cpt (2 CPT steps of 1 x 128, float32;
#        writes MODEL_DIR.bench/cpt) ceiling (the float32 GEMM ceiling at the ppl step's shape, 2 x 128 tokens x hidden x
#        intermediate with the weight as an input as a streamed block's is, and the ppl step's forward FLOPs: run
#        `ceiling ppl ceiling` for the fraction of the ceiling, FLOPs / wall / mean ceiling). DTYPE=float16: the
#        compute dtype.
#        Inputs (random ids in the model's vocabulary) are made in MODEL_DIR.bench/. KEEP_JSON=DIR keeps each
#        step's full output as DIR/STEP.json (e.g. every score, to compare with the reference's).
# Run under the team's heavy lock: bash /work/team/heavy.sh bench/big-models.sh /tmp/x/llama2-7b 4G ppl
set -euo pipefail
model=$1; budget=$2; shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
# the CLI as users run it (the bin: a budgeted run gets fixed malloc thresholds), from the sources
cli=(env SHORTENED_FROM_SOURCE=1 node "$root/apps/cli/bin/shortened.js")
inputs="$model.bench"; mkdir -p "$inputs"
vocab=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]+"/config.json","utf8")).vocab_size)' "$model")
[ -f "$inputs/ids.json" ] || /usr/bin/python3 - "$inputs" "$vocab" <<'PY'
import json, random, sys
d, v = sys.argv[1], int(sys.argv[2]); r = random.Random(1234)
json.dump({"ids": [r.randrange(2, v) for _ in range(255)]}, open(f"{d}/ids.json", "w"))   # 2 windows of 128 with BOS
json.dump({"batch": [[r.randrange(2, v) for _ in range(16)] for _ in range(2)]}, open(f"{d}/calib.json", "w"))
PY
[ -f "$inputs/lora.json" ] || /usr/bin/python3 - "$inputs" "$vocab" <<'PY'
import json, random, sys
d, v = sys.argv[1], int(sys.argv[2]); r = random.Random(4321)
json.dump({"batch": [[r.randrange(2, v) for _ in range(128)] for _ in range(2)]}, open(f"{d}/lora.json", "w"))
PY
row() { # label, command...
  local label=$1; shift
  local log; log=$(mktemp)
  local t0; t0=$(date +%s.%N)
  /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { echo "| $label | failed: $(grep -v '^\s' "$log" | grep -v 'Command being timed' | tail -2 | tr '\n' ' ') |"; return; }
  local t1; t1=$(date +%s.%N)
  local rss; rss=$(awk -F: '/Maximum resident set size/ {print $2}' "$log")
  local cpu; cpu=$(awk -F: '/(User|System) time \(seconds\)/ {s += $2} END {printf "%.0f", s}' "$log")
  local what; what=$(node -e '
    const s = require("fs").readFileSync(process.argv[1], "utf8").trim();
    let r; try { r = JSON.parse(s); } catch { console.log(s.split("\n").slice(-2).join(" ")); process.exit(0); }
    const out = [];
    if (r.plan) out.push(r.plan.summary);
    for (const k of ["ppl", "basePpl"]) if (r[k] !== undefined) out.push(`${k} ${r[k].toFixed(4)}`);
    if (r.order) out.push(`order ${r.order.slice(0, 8).join(",")}…`);
    if (r.scores) out.push(`scores[0..2] ${r.scores.slice(0, 3).map((x) => x.toPrecision(6)).join(", ")}`);
    if (r.tasks) out.push(Object.entries(r.tasks).map(([t, v]) => `${t} acc ${v.acc} (n ${v.n})`).join("; "));
    if (r.losses) out.push(`losses ${r.losses.map((x) => x.toFixed(4)).join(", ")}`);
    if (r.memoryPlan) out.push(r.memoryPlan);
    if (r.samples) out.push(`tokens ${r.samples[0].tokens.join(",")}`);
    if (r.fractionOfCeiling !== undefined)
      out.push(`${r.secondsPer1kTokens.toFixed(1)} s per 1k tokens (block reads ${r.blockReadS.toFixed(1)} s of ${r.wallS.toFixed(1)} s), ` +
        `${r.modelGflops.toFixed(1)} GFLOP/s = ${(100 * r.fractionOfCeiling).toFixed(0)}% of the ${r.gemmCeilingGflops.toFixed(0)} GFLOP/s GEMM ceiling`);
    console.log(out.join("; ") || s.slice(0, 200));
  ' "$log.out")
  [ -z "${KEEP_JSON:-}" ] || cp "$log.out" "$KEEP_JSON/$step.json"
  printf '| %s | %.2f GB | %.0f s | %s; CPU %s s |\n' "$label" "$(echo "$rss/1048576" | bc -l)" "$(echo "$t1-$t0" | bc -l)" "$what" "$cpu"
  rm -f "$log" "$log.out"
}
mb=(--memory-budget "$budget" --dtype "${DTYPE:-float32}")
calib=$(node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).batch; console.log(`${b.length} x ${b[0].length}`)' "$inputs/calib.json")
ref=${STREAM_REF:-$root/../shared/tools/stream_ref.py}
for step in "$@"; do
  case $step in
    ppl) row "eval ppl, $(node -e 'console.log(Math.floor((JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).ids.length + 1) / 128))' "$inputs/ids.json") x 128 tokens" "${cli[@]}" eval ppl --model "$model" --ids "$inputs/ids.json" --seq-len 128 --bos first --bos-id 1 --batch-size 2 "${mb[@]}" --json ;;
    ref-ppl) row "stream_ref.py ppl (float32 reference)" /usr/bin/python3 "$ref" --model "$model" --ids-file "$inputs/ids.json" --seq-len 128 --bos first --bos-id 1 ;;
    imp-ppl) row "importance ppl, $calib calibration" "${cli[@]}" importance --model "$model" --criterion ppl --calib-ids "$inputs/calib.json" --batch-size 2 "${mb[@]}" --json ;;
    ref-imp) row "stream_ref.py PPL criterion" /usr/bin/python3 "$ref" --model "$model" --calib-ids "$inputs/calib.json" ;;
    magnitude) row "importance magnitude" "${cli[@]}" importance --model "$model" --criterion magnitude "${mb[@]}" --json ;;
    bi) row "importance bi, $calib calibration" "${cli[@]}" importance --model "$model" --criterion bi --calib-ids "$inputs/calib.json" --batch-size 2 "${mb[@]}" --json ;;
    taylor) row "importance taylor, $calib calibration" "${cli[@]}" importance --model "$model" --criterion taylor --calib-ids "$inputs/calib.json" --batch-size 2 "${mb[@]}" --json ;;
    zeroshot) row "eval zeroshot arc_easy, 2 documents" "${cli[@]}" eval zeroshot --model "$model" --tasks arc_easy --limit 2 "${mb[@]}" --json ;;
    generate) row "generate 4 new tokens" "${cli[@]}" generate --model "$model" --prompt "Once upon a time" --max-new-tokens 4 --ignore-eos "${mb[@]}" --json ;;
    ceiling) (cd "$root" && node --conditions=development --import tsx --input-type=module -e '
      import { readConfig } from "@shortened/hf";
      import { forwardFlops, gemmRates } from "@shortened/engine";
      const c = readConfig(process.argv[1]), M = 256, K = c.hiddenSize, N = c.intermediateSize;
      const t0 = performance.now(), r = await gemmRates(M, K, N, { runs: 5 });
      const s = ((performance.now() - t0) / 1000).toFixed(0), g = (x) => (x / 1e9).toFixed(1);
      console.log(`| GEMM ceiling, float32 MatMul ${M} x ${K} x ${N}, weight as an input | – | ${s} s | best ${g(r[0])} GFLOP/s, median ${g(r[2])}; ` +
        `the ppl step (2 x 128 tokens) is ${(forwardFlops(c, 2, 128) / 1e12).toPrecision(3)} TFLOP |`);' "$model") ;;
    throughput) row "streamed forward, ${TP_ROWS:-8} x ${TP_SEQ:-128} tokens" node --conditions=development --import tsx "$root/bench/streamed-throughput.ts" --model "$model" --rows "${TP_ROWS:-8}" --seq-len "${TP_SEQ:-128}" --batch "${TP_ROWS:-8}" ;;
    lora) row "retrain lora, 2 steps of 1 x 128, ${DTYPE:-float32}" "${cli[@]}" retrain lora --model "$model" --ids "$inputs/lora.json" --steps 2 --batch 1 --no-merge --checkpoint-every 0 --out "$inputs/lora" --force "${mb[@]}" --json ;;
    cpt) row "retrain cpt, 2 steps of 1 x 128" "${cli[@]}" retrain cpt --model "$model" --ids "$inputs/lora.json" --steps 2 --batch 1 --checkpoint-every 0 --out "$inputs/cpt" --force --memory-budget "$budget" --json ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
echo "dtype ${DTYPE:-float32}, budget $budget; machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
