// bench/gpu-check.sh is the one prepared script a task lent a GPU runs. Its --cpu mode runs the very same commands
// (eval ppl, importance ppl and taylor, LoRA steps; --dtype float16) on the demo model, so the script is known to
// work before a GPU is ever lent: every step succeeds, records its wall time, peak RSS and result in
// gpu-check.json; a failing step makes the script exit 1, a machine that is not ready exit 2 with the reason.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "./helpers/cli.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const check = (args: string[], env: Record<string, string> = {}) => {
  const out = mkdtempSync(join(tmpdir(), "shortened-gpu-check-"));
  dirs.push(out);
  const r = spawnSync("bash", ["bench/gpu-check.sh", ...args], {
    cwd: repoRoot,
    env: { ...process.env, OUT: out, ...env },
    encoding: "utf8",
  });
  return { ...r, out };
};

interface Step {
  step: string;
  device: string;
  dtype: string;
  rc: number;
  wall_s: number;
  peak_rss_kb: number;
  result: { ppl?: number; order?: number[]; steps?: number; lastLoss?: number; device?: string };
}

test("--cpu: the GPU check's four commands run on the CPU in float16 and are summarized", {
  timeout: 600_000,
}, () => {
  const r = check(["--cpu"]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const steps = JSON.parse(readFileSync(join(r.out, "gpu-check.json"), "utf8")) as Step[];
  assert.deepEqual(
    steps.map((s) => s.step),
    ["eval-ppl", "importance-ppl", "importance-taylor", "lora-steps"],
  );
  for (const s of steps) {
    assert.equal(s.rc, 0, s.step);
    assert.equal(s.device, "cpu");
    assert.equal(s.dtype, "float16");
    assert.ok(s.wall_s > 0 && s.peak_rss_kb > 0, s.step);
  }
  const [ppl, imp, taylor, lora] = steps as [Step, Step, Step, Step];
  assert.ok(Number.isFinite(ppl.result.ppl) && ppl.result.ppl! > 1);
  assert.equal(ppl.result.device, "cpu");
  for (const s of [imp, taylor]) assert.deepEqual([...s.result.order!].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(lora.result.steps, 2);
  assert.ok(Number.isFinite(lora.result.lastLoss));
  assert.match(r.stdout, /lora-steps: rc 0, [\d.]+ s, peak RSS \d+ MB/);
});

test("a failing step makes the script exit 1, with the command's reason", { timeout: 300_000 }, () => {
  const r = check(["--cpu"], { DTYPE: "float64" });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /eval-ppl: rc 2/);
  assert.match(r.stdout, /--dtype/);
});

test("an unknown argument, or the GPU run on a machine without nvidia-smi, exits 2 with one line", () => {
  const bad = check(["--gpu"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown argument --gpu/);
  if (spawnSync("sh", ["-c", "command -v nvidia-smi"]).status === 0) return;
  const gpu = check([]);
  assert.equal(gpu.status, 2);
  assert.match(gpu.stderr, /^gpu-check: no nvidia-smi: not a GPU machine/);
});

test("on a GPU machine without the provider and without network, the run exits 2 at once and names ORT_CUDA_DIR", {
  timeout: 120_000,
}, (t) => {
  const bin = join(repoRoot, "node_modules/onnxruntime-node/bin");
  const x64 = readdirSync(bin).map((napi) => join(bin, napi, "linux/x64"));
  if (x64.some((d) => existsSync(join(d, "libonnxruntime_providers_cuda.so")))) {
    t.skip("the CUDA provider is installed here");
    return;
  }
  // A stand-in nvidia-smi (the GPU checks pass) and a registry nobody answers on (no network).
  const fake = mkdtempSync(join(tmpdir(), "shortened-fake-smi-"));
  dirs.push(fake);
  writeFileSync(join(fake, "nvidia-smi"), "#!/bin/sh\necho 'Fake GPU, 81559 MiB, 580.0'\n");
  chmodSync(join(fake, "nvidia-smi"), 0o755);
  const started = Date.now();
  const r = check([], { PATH: `${fake}:${process.env.PATH}`, npm_config_registry: "http://127.0.0.1:9/" });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /^gpu-check: no CUDA execution provider and no network: set ORT_CUDA_DIR/);
  assert.ok(Date.now() - started < 60_000, "it must not wait on npm's retries");
});
