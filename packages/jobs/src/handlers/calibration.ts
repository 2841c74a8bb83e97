// Turns a spec's calibration section into the engine's calibration options (a text file to draw
// windows from: a shipped evaluation text, or the text given in the spec).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Calibration } from "@shortened/contracts";
import { loadEvalText } from "@shortened/hf";
import { shippedDataPath } from "./retrain-data.js";

export async function calibrationOptions(c: Calibration, workDir: string) {
  const path = join(workDir, "calibration.txt");
  const text =
    c.text ??
    (c.dataset === "tinystories"
      ? await readFile(shippedDataPath("tinystories"), "utf8")
      : loadEvalText(c.dataset ?? "wikitext2").text);
  await writeFile(path, text);
  // The protocol names the dataset (or "text"), and the engine adds the text's hash: not this temporary path.
  return { calibText: path, calibSource: calibrationSource(c), n: c.n, seqLen: c.seqLen, seed: c.seed };
}

export function calibrationSource(c: Calibration): string {
  return c.text !== undefined ? "text" : (c.dataset ?? "wikitext2");
}
