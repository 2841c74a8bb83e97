// The training rows of a retrain job: a shipped dataset (data/alpaca, data/tinystories), a file of the
// team in the artifact store, or token rows given in the spec. Read and checked before any compute.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Ports, type RetrainData, UserError } from "@shortened/contracts";
import { alpacaRows, packedTextRows, readIdsRows, type TrainRows } from "@shortened/engine";
import { loadTokenizer } from "@shortened/hf";
import { teamFileToLocal } from "./team-file.js";

/** The shipped training files (see each folder's PROVENANCE.md); SHORTENED_DATA_DIR overrides data/. */
export const SHIPPED_TRAINING_DATA = {
  alpaca: { file: "alpaca/alpaca_demo_300.json", format: "alpaca" },
  tinystories: { file: "tinystories/tinystories_validation_head_64k.txt", format: "text" },
} as const;

export function shippedDataPath(name: keyof typeof SHIPPED_TRAINING_DATA): string {
  const base = process.env.SHORTENED_DATA_DIR ?? fileURLToPath(new URL("../../../../data", import.meta.url));
  return join(base, SHIPPED_TRAINING_DATA[name].file);
}

export interface LoadedRows {
  rows: TrainRows;
  /** what the recipe records: where the rows came from and a hash of the file / rows */
  record: {
    source: string;
    format: string;
    rows: number;
    sha256: string;
    trainOnInputs?: boolean;
    /** examples left out: the cut at seqLen kept none of their response */
    dropped?: number;
  };
}

export async function loadRetrainRows(
  data: RetrainData,
  seqLen: number,
  modelDir: string,
  vocab: number,
  ports: Ports,
): Promise<LoadedRows> {
  let path: string;
  let format: "alpaca" | "text" | "ids";
  let source: string;
  if (data.ids) {
    // Through a file, so inline rows get exactly the checks of an ids file.
    path = join(ports.context.workDir, "data.ids.json");
    await writeFile(
      path,
      JSON.stringify({ batch: data.ids, ...(data.labels ? { labels: data.labels } : {}) }),
    );
    format = "ids";
    source = "spec:ids";
  } else if (data.dataset) {
    path = shippedDataPath(data.dataset);
    format = SHIPPED_TRAINING_DATA[data.dataset].format;
    source = `shipped:${data.dataset}`;
  } else {
    const key = data.artifact!;
    path = await teamFileToLocal(key, ports, "retrain data", "data");
    format = data.format ?? (extname(key).toLowerCase() === ".json" ? "alpaca" : "text");
    source = `artifact:${key}`;
  }
  const sha256 = createHash("sha256").update(readFileSync(path)).digest("hex");
  let rows: TrainRows;
  if (format === "ids") {
    rows = readIdsRows(path, vocab);
  } else {
    const tok = loadTokenizer(modelDir);
    rows =
      format === "alpaca"
        ? alpacaRows(await limitedAlpaca(path, data.maxItems, ports.context.workDir), tok, {
            trainOnInputs: data.trainOnInputs,
            maxLen: seqLen,
          })
        : packedTextRows(path, tok, seqLen);
  }
  if (data.maxItems !== undefined && rows.ids.length > data.maxItems) {
    rows = { ...rows, ids: rows.ids.slice(0, data.maxItems), labels: rows.labels.slice(0, data.maxItems) };
  }
  if (rows.dropped)
    ports.progress.log(
      `retrain data: ${rows.dropped} examples left out: their prompt fills all ${seqLen} tokens, so no response token is learned (raise seqLen to keep them)`,
    );
  return {
    rows,
    record: {
      source,
      format,
      rows: rows.ids.length,
      sha256,
      ...(format === "alpaca" ? { trainOnInputs: data.trainOnInputs } : {}),
      ...(rows.dropped ? { dropped: rows.dropped } : {}),
    },
  };
}

/** Alpaca records beyond maxItems are never tokenized. */
async function limitedAlpaca(path: string, maxItems: number | undefined, workDir: string): Promise<string> {
  if (maxItems === undefined) return path;
  let items: unknown;
  try {
    items = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError("invalid_data", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(items)) return path; // alpacaRows reports the shape error
  const out = join(workDir, "data.limited.json");
  await writeFile(out, JSON.stringify(items.slice(0, maxItems)));
  return out;
}
