// bench/prune: depth-prunes a generated ~4 GB F16 sharded checkpoint and reports peak RSS and MB/s beside
// `cp -r` of the same files. Goals: peak RSS < 600 MB, throughput >= half of cp's.
//
//   node --conditions=development --import tsx bench/prune.ts [--dir /tmp/x] [--layers 36] [--rounds 2] [--keep]
//
// The checkpoint is written with our own SafetensorsStreamWriter (pseudo-random bytes: the values do not
// matter for a byte copy). The prune runs in a child process (the real CLI) under /usr/bin/time -v, so
// its peak RSS is measured by the kernel, not estimated (it includes node + tsx start-up, ~100 MB).
// Everything is deleted afterwards unless --keep.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SafetensorsStreamWriter, type TensorSpec } from "@shortened/hf";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string", default: join(os.tmpdir(), "shortened-bench-prune") },
    layers: { type: "string", default: "36" },
    "shard-gb": { type: "string", default: "1" },
    remove: { type: "string", default: "4,9,17,30" },
    rounds: { type: "string", default: "2" },
    keep: { type: "boolean", default: false },
  },
});

// TinyLlama-like shapes: 36 blocks of 2048/5632 in F16 plus untied 32000-row embeddings = ~3.96 GB.
const H = 2048;
const I = 5632;
const V = 32000;
const L = Number(args.layers);
const repoRoot = new URL("..", import.meta.url).pathname;
const root = args.dir!;
const model = join(root, "model");
const cpOut = join(root, "cp-copy");
const pruneOut = join(root, "pruned");

function tensorList(): TensorSpec[] {
  const t: TensorSpec[] = [{ name: "model.embed_tokens.weight", dtype: "F16", shape: [V, H] }];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    for (const n of ["q_proj", "k_proj", "v_proj", "o_proj"])
      t.push({ name: `${p}self_attn.${n}.weight`, dtype: "F16", shape: [H, H] });
    t.push({ name: `${p}mlp.gate_proj.weight`, dtype: "F16", shape: [I, H] });
    t.push({ name: `${p}mlp.up_proj.weight`, dtype: "F16", shape: [I, H] });
    t.push({ name: `${p}mlp.down_proj.weight`, dtype: "F16", shape: [H, I] });
    t.push({ name: `${p}input_layernorm.weight`, dtype: "F16", shape: [H] });
    t.push({ name: `${p}post_attention_layernorm.weight`, dtype: "F16", shape: [H] });
  }
  t.push({ name: "model.norm.weight", dtype: "F16", shape: [H] });
  t.push({ name: "lm_head.weight", dtype: "F16", shape: [V, H] });
  return t;
}

const bytesOf = (t: TensorSpec) => t.shape.reduce((a, b) => a * b, 1) * 2;

async function generate(): Promise<number> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(model, { recursive: true });
  const shardLimit = Number(args["shard-gb"]) * 1e9;
  const shards: TensorSpec[][] = [[]];
  let size = 0;
  for (const t of tensorList()) {
    if (size + bytesOf(t) > shardLimit && shards.at(-1)!.length > 0) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(t);
    size += bytesOf(t);
  }
  // 8 MB of xorshift noise, written at rotating offsets so consecutive chunks differ.
  const noise = Buffer.allocUnsafe(8 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < noise.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    noise.writeUInt32LE(x >>> 0, i);
  }
  const weightMap: Record<string, string> = {};
  let total = 0;
  let rot = 0;
  const pad = (i: number) => String(i).padStart(5, "0");
  for (const [i, specs] of shards.entries()) {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    const w = await SafetensorsStreamWriter.create(join(model, file), specs);
    for (const t of specs) {
      weightMap[t.name] = file;
      for (let left = bytesOf(t); left > 0; ) {
        const n = Math.min(left, noise.length >> 1);
        rot = (rot + 4099) % (noise.length >> 1);
        await w.append(noise.subarray(rot, rot + n));
        left -= n;
      }
      total += bytesOf(t);
    }
    await w.close();
  }
  const config = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    hidden_size: H,
    intermediate_size: I,
    num_hidden_layers: L,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    vocab_size: V,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
    torch_dtype: "float16",
    bos_token_id: 1,
    eos_token_id: 2,
  };
  writeFileSync(join(model, "config.json"), JSON.stringify(config, null, 2));
  writeFileSync(
    join(model, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2),
  );
  return total;
}

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
}

/** Runs a command under /usr/bin/time -v; returns wall seconds and peak RSS in MB. */
function timed(cmd: string[]): Timed {
  const r = spawnSync("/usr/bin/time", ["-v", ...cmd], {
    encoding: "utf8",
    cwd: repoRoot,
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${r.stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  if (!rss || !wall) throw new Error(`cannot parse /usr/bin/time output:\n${r.stderr}`);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { seconds, peakRssMB: Number(rss[1]) / 1024, stdout: r.stdout };
}

interface Timed {
  seconds: number;
  peakRssMB: number;
  stdout: string;
}

/** cp and prune alternate, `rounds` times each, with `sync` before every run; the best run of each counts. */
async function run() {
  const t0 = performance.now();
  const sourceBytes = await generate();
  const genSeconds = (performance.now() - t0) / 1000;
  const shards = readdirSync(model).filter((f) => f.endsWith(".safetensors")).length;
  console.error(
    `generated ${(sourceBytes / 1e9).toFixed(2)} GB in ${shards} shards (${genSeconds.toFixed(1)} s)`,
  );

  const cli = join(repoRoot, "apps/cli/src/main.ts");
  const cpRuns: Timed[] = [];
  const pruneRuns: Timed[] = [];
  let cpBytes = 0;
  let prunedBytes = 0;
  let pruned: { removed: number[]; numHiddenLayers: number } | null = null;
  for (let r = 0; r < Number(args.rounds); r++) {
    spawnSync("sync");
    cpRuns.push(timed(["cp", "-r", model, cpOut]));
    cpBytes = folderBytes(cpOut);
    rmSync(cpOut, { recursive: true, force: true });
    spawnSync("sync");
    const p = timed([
      ...[process.execPath, "--conditions=development", "--import", "tsx", cli, "prune"],
      ...["--model", model, "--remove", args.remove!, "--out", pruneOut, "--json"],
    ]);
    pruneRuns.push(p);
    pruned = JSON.parse(p.stdout);
    prunedBytes = folderBytes(pruneOut);
    rmSync(pruneOut, { recursive: true, force: true });
    console.error(
      `round ${r + 1}: cp ${cpRuns.at(-1)!.seconds} s, prune ${p.seconds} s (peak RSS ${Math.round(p.peakRssMB)} MB)`,
    );
  }
  const mbps = (bytes: number, seconds: number) => Math.round(bytes / 1e6 / seconds);
  const best = (runs: Timed[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const cp = best(cpRuns);
  const prune = best(pruneRuns);
  const peakRssMB = Math.max(...pruneRuns.map((x) => x.peakRssMB));
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    machine: `${cpus[0]?.model ?? "cpu"} x${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, node ${process.version}`,
    sourceGB: +(sourceBytes / 1e9).toFixed(3),
    shards,
    removed: pruned?.removed,
    numHiddenLayers: pruned?.numHiddenLayers,
    prune: {
      seconds: prune.seconds,
      allSeconds: pruneRuns.map((x) => x.seconds),
      writtenGB: +(prunedBytes / 1e9).toFixed(3),
      MBps: mbps(prunedBytes, prune.seconds),
      peakRssMB: Math.round(peakRssMB),
    },
    cp: {
      seconds: cp.seconds,
      allSeconds: cpRuns.map((x) => x.seconds),
      writtenGB: +(cpBytes / 1e9).toFixed(3),
      MBps: mbps(cpBytes, cp.seconds),
    },
    goals: {
      peakRssUnder600MB: peakRssMB < 600,
      atLeastHalfOfCp: prunedBytes / prune.seconds >= cpBytes / cp.seconds / 2,
    },
  };
}

try {
  const result = await run();
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.goals.peakRssUnder600MB && result.goals.atLeastHalfOfCp ? 0 : 1;
} finally {
  if (!args.keep) rmSync(root, { recursive: true, force: true });
}
