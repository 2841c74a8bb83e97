// The perplexity evaluation texts shipped in data/ppl (see data/ppl/PROVENANCE.md), joined exactly as the
// paper's code joins the Hugging Face dataset rows: "\n\n".join(rows) (dataset.process_data); and a held-out
// TinyStories slice, the demo model's own domain.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "@shortened/contracts";

export type DatasetName = "wikitext2" | "ptb" | "tinystories";
export const DATASET_NAMES: readonly DatasetName[] = ["wikitext2", "ptb", "tinystories"];

export interface EvalText {
  dataset: DatasetName;
  /** HF dataset id and split the text reproduces */
  source: string;
  split: "test" | "validation";
  text: string;
  /** sha256 of the shipped file */
  fileSha256: string;
}

/** Folder of the shipped evaluation texts; SHORTENED_DATA_DIR overrides the repository's data/ folder. */
export function evalDataDir(): string {
  const base = process.env.SHORTENED_DATA_DIR ?? fileURLToPath(new URL("../../../data", import.meta.url));
  return join(base, "ppl");
}

const FILES: Record<DatasetName, { file: string; source: string; split: EvalText["split"] }> = {
  wikitext2: { file: "wikitext2_test_hf_joined.txt", source: "wikitext/wikitext-2-raw-v1", split: "test" },
  ptb: { file: "ptb.valid.txt", source: "ptb_text_only/penn_treebank", split: "validation" },
  // In-domain text of the TinyStories demo model, held out from data/tinystories (its calibration and training text).
  tinystories: {
    file: "tinystories_validation_heldout_64k.txt",
    source: "roneneldan/TinyStories (held-out slice)",
    split: "validation",
  },
};

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

export function loadEvalText(name: string): EvalText {
  if (!isDatasetName(name)) {
    throw new UserError(
      "bad_request",
      `unknown dataset ${JSON.stringify(name)} (known: ${DATASET_NAMES.join(", ")})`,
    );
  }
  const { file, source, split } = FILES[name];
  const path = join(evalDataDir(), file);
  if (!existsSync(path)) throw new UserError("not_found", `dataset file ${path} is missing`);
  const bytes = readFileSync(path);
  const raw = bytes.toString("utf8");
  // WikiText-2: the file already is the joined string. PTB: the HF loader yields line.strip() per line.
  const text = name === "ptb" ? ptbRows(raw).join("\n\n") : raw;
  return { dataset: name, source, split, text, fileSha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Rows of a text file as Python's `for line in f: line.strip()` yields them. */
export function ptbRows(raw: string): string[] {
  const lines = raw.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => l.trim());
}
