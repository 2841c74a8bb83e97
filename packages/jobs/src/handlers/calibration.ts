// Turns a spec's calibration section into the engine's calibration options: a text to draw windows from
// (a shipped evaluation text, the text given in the spec, or a text file of the team), or rows of token ids
// (given in the spec, or a {batch} file of the team).
import { readFile, writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Calibration, Ports } from "@shortened/contracts";
import type { CalibrationOptions } from "@shortened/engine";
import { loadEvalText } from "@shortened/hf";
import { shippedDataPath } from "./retrain-data.js";
import { teamFileToLocal } from "./team-file.js";

export async function calibrationOptions(c: Calibration, ports: Ports): Promise<CalibrationOptions> {
  // The protocol names the source (dataset, "text", the artifact, "ids"), and the engine adds the text's
  // hash: never a temporary path.
  const common = {
    n: c.n,
    seqLen: c.seqLen,
    seed: c.seed,
    calibBos: c.bos,
    calibSource: calibrationSource(c),
  };
  if (c.ids) return { ...common, calibIds: c.ids };
  if (c.artifact) {
    const path = await teamFileToLocal(c.artifact, ports, "calibration", "calibration");
    const format = c.format ?? (extname(c.artifact).toLowerCase() === ".json" ? "ids" : "text");
    return format === "ids" ? { ...common, calibIdsFile: path } : { ...common, calibText: path };
  }
  const path = join(ports.context.workDir, "calibration.txt");
  const text =
    c.text ??
    (c.dataset === "tinystories"
      ? await readFile(shippedDataPath("tinystories"), "utf8")
      : loadEvalText(c.dataset ?? "wikitext2").text);
  await writeFile(path, text);
  return { ...common, calibText: path };
}

/** Where the rows came from, as results and logs show it (never a local path). */
export function calibrationSource(c: Calibration): string {
  if (c.ids) return "ids";
  if (c.artifact) return `artifact:${c.artifact}`;
  return c.text !== undefined ? "text" : (c.dataset ?? "wikitext2");
}
