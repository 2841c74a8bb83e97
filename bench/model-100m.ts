// The generated ~100M-parameter LLaMA that the speed benchmarks share (12 blocks, hidden 768, GQA 12/4 heads,
// intermediate 2048, vocab 16000, random weights from the oracle's gen-model, seed 1), made once under the OS
// temp folder and reused.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export const MODEL_100M = join(os.tmpdir(), "shortened-bench-llama-100m");

/** The model's folder, generated first with `/usr/bin/python3 <oracle> gen-model` when it is not there. */
export function model100m(oracle: string): string {
  if (existsSync(join(MODEL_100M, "model.safetensors"))) return MODEL_100M;
  const shape = ["--layers", "12", "--hidden", "768", "--heads", "12", "--kv-heads", "4"];
  const argv = [oracle, "gen-model", "--quiet", "--out", MODEL_100M, "--seed", "1", "--arch", "llama"];
  argv.push(...shape, "--intermediate", "2048", "--vocab", "16000", "--max-pos", "2048");
  const r = spawnSync("/usr/bin/python3", argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`gen-model failed: ${r.stderr}`);
  return MODEL_100M;
}
