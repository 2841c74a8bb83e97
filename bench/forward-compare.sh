#!/usr/bin/env bash
# The perplexity forward of the generated 100M LLaMA (bench/forward-ours.ts, batch 4 x 128), this tree against an
# earlier commit, in alternating fresh processes so that machine load hits both alike.
# Usage: bench/forward-compare.sh [REF (default e636d39^, before the memory budget)] [ROUNDS (default 3)] [THREADS]
# ORACLE: the oracle's oracle.py (default ../shared/oracle/oracle.py). The earlier tree is exported to $TMPDIR with
# this tree's node_modules (its workspace links point into it); forward-ours.ts is copied in, as it uses only the
# engine API that tree has.
set -euo pipefail
ref=${1:-e636d39^}; rounds=${2:-3}; threads=${3:-2}
root=$(git rev-parse --show-toplevel)
oracle=${ORACLE:-$root/../shared/oracle/oracle.py}   # makes the 100M model
old=${TMPDIR:-/tmp}/shortened-forward-$(git rev-parse --short "$ref")
rm -rf "$old"; mkdir -p "$old/node_modules/@shortened"
git -C "$root" archive "$ref" | tar -x -C "$old"
for e in "$root"/node_modules/* "$root"/node_modules/.bin; do
  [ "$(basename "$e")" = "@shortened" ] || ln -s "$e" "$old/node_modules/$(basename "$e")"
done
cp -P "$root"/node_modules/@shortened/* "$old/node_modules/@shortened/"   # relative links: the old packages
cp "$root/bench/forward-ours.ts" "$old/bench/forward-ours.ts"
model=$(cd "$root" && node --conditions=development --import tsx bench/forward.ts --models 100m --prepare --oracle "$oracle" \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)["100m"]))')
run() { (cd "$1" && node --conditions=development --import tsx bench/forward-ours.ts --model "$model" --threads "$threads" \
  --iters 6 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).ours.tokensPerS))'); }
run "$root" >/dev/null   # warms the page cache
old_t=(); new_t=()
for r in $(seq "$rounds"); do
  old_t+=("$(run "$old")"); new_t+=("$(run "$root")")
  echo "round $r: $ref ${old_t[-1]} tok/s, this tree ${new_t[-1]} tok/s" >&2
done
node -e '
const [o, n] = [process.argv[1], process.argv[2]].map((s) => s.split(" ").map(Number));
const med = (x) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const pairs = o.map((v, i) => n[i] / v);
console.log(JSON.stringify({ ref: process.argv[3], threads: Number(process.argv[4]), oldTokensPerS: o, newTokensPerS: n,
  medianOld: med(o), medianNew: med(n), ratioOfMedians: med(n) / med(o), medianPairRatio: med(pairs),
  date: new Date().toISOString(), load: require("os").loadavg() }));
' "${old_t[*]}" "${new_t[*]}" "$ref" "$threads"
rm -rf "$old"
