// `shortened export --model DIR --out DIR [--dtype float32|float16]`: the model as an ONNX decoder for ONNX
// Runtime (model.onnx, model.onnx.data, README.md). It runs the export job's handler on the folder.
import { dirname } from "node:path";
import { UserError } from "@shortened/contracts";
import { checkOutputTarget } from "@shortened/hf";
import { publishFolder } from "@shortened/jobs";
import { Command } from "commander";
import { runCommand } from "../output.js";
import { withFolderRun } from "./folder-job.js";

interface ExportFlags {
  model: string;
  out: string;
  dtype: string;
  force?: boolean;
  json?: boolean;
}

async function exportOnnx(f: ExportFlags) {
  if (f.dtype !== "float32" && f.dtype !== "float16")
    throw new UserError("bad_request", `--dtype must be float32 or float16 (got "${f.dtype}")`);
  const out = checkOutputTarget(f.out, f.force ?? false, [f.model]);
  return withFolderRun({ model: f.model, near: out, json: f.json }, async (run) => {
    const r = await run.run("export", { dtype: f.dtype as "float32" | "float16" });
    await publishFolder(dirname(r.artifacts[0]!.path), out);
    const s = r.summary as { dtype: string; bytes: number; files: string[]; inputs: string[] };
    return { out, format: "onnx", dtype: s.dtype, bytes: s.bytes, files: s.files, inputs: s.inputs };
  });
}

export function exportCommand(): Command {
  return new Command("export")
    .description("export a model as an ONNX decoder with a KV cache for ONNX Runtime")
    .requiredOption("--model <dir>", "model folder (a Hugging Face checkpoint)")
    .requiredOption("--out <dir>", "output folder: model.onnx, model.onnx.data, README.md")
    .option("--dtype <t>", "float32 or float16 weights", "float32")
    .option("--force", "replace an existing --out")
    .option("--json", "print one JSON object")
    .action(async (f: ExportFlags) => {
      await runCommand(
        f,
        () => exportOnnx(f),
        (r) =>
          `exported an ONNX decoder (${r.dtype}, ${(r.bytes / 1e6).toFixed(1)} MB) to ${r.out}: ${r.files.join(", ")}`,
      );
    });
}

export function register(program: Command): void {
  program.addCommand(exportCommand());
}
