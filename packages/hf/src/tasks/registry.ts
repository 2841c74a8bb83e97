// The seven zero-shot tasks of the paper: which file each reads, and which metric the paper's table reports
// (the authors' `convert_json2csv_zeroshot`: BoolQ acc, PIQA acc, HellaSwag acc_norm, WinoGrande acc,
// ARC-e acc, ARC-c acc_norm, OBQA acc_norm; the table's average is the plain mean of those).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError, zeroShotTaskNames } from "@shortened/contracts";
import { readArc, readBoolQ, readHellaSwag, readOpenBookQa, readPiqa, readWinoGrande } from "./readers.js";
import type { ChoiceItem, ReportedMetric, ZeroShotTaskName } from "./types.js";

export interface TaskSpec {
  name: ZeroShotTaskName;
  /** File names tried in order inside the task data folder. */
  files: string[];
  /** The split lm-eval scores. */
  split: string;
  reported: ReportedMetric;
  /** Whether the harness defines acc_norm for the task. */
  hasAccNorm: boolean;
  read(path: string, limit?: number): { items: ChoiceItem[]; notes: string[] };
}

const plain =
  (read: (path: string, limit?: number) => ChoiceItem[]) =>
  (path: string, limit?: number): { items: ChoiceItem[]; notes: string[] } => ({
    items: read(path, limit),
    notes: [],
  });

export const TASKS: Readonly<Record<ZeroShotTaskName, TaskSpec>> = {
  boolq: {
    name: "boolq",
    files: ["boolq_validation.jsonl", "boolq_validation_questions_only.jsonl"],
    split: "validation",
    reported: "acc",
    hasAccNorm: false,
    read(path, limit) {
      const { items, missingPassages } = readBoolQ(path, limit);
      const notes = missingPassages
        ? [
            `boolq: ${missingPassages} of ${items.length} items have no passage in the task file; the prompt is "\\nQuestion: …?\\nAnswer:" without it, so BoolQ accuracy is not comparable with the paper's`,
          ]
        : [];
      return { items, notes };
    },
  },
  piqa: {
    name: "piqa",
    files: ["piqa_valid.jsonl"],
    split: "validation",
    reported: "acc",
    hasAccNorm: true,
    read: plain(readPiqa),
  },
  hellaswag: {
    name: "hellaswag",
    files: ["hellaswag_val.jsonl"],
    split: "validation",
    reported: "acc_norm",
    hasAccNorm: true,
    read: plain(readHellaSwag),
  },
  winogrande: {
    name: "winogrande",
    files: ["winogrande_xl_dev.jsonl"],
    split: "validation",
    reported: "acc",
    hasAccNorm: false,
    read: plain(readWinoGrande),
  },
  arc_easy: {
    name: "arc_easy",
    files: ["arc_easy_test.jsonl"],
    split: "test",
    reported: "acc",
    hasAccNorm: true,
    read: plain(readArc),
  },
  arc_challenge: {
    name: "arc_challenge",
    files: ["arc_challenge_test.jsonl"],
    split: "test",
    reported: "acc_norm",
    hasAccNorm: true,
    read: plain(readArc),
  },
  openbookqa: {
    name: "openbookqa",
    files: ["openbookqa_main_test.jsonl"],
    split: "test",
    reported: "acc_norm",
    hasAccNorm: true,
    read: plain(readOpenBookQa),
  },
};

/** Parses a comma-separated task list; unknown names are a UserError. Empty means all seven. */
export function parseTaskNames(list: string | string[] | undefined): ZeroShotTaskName[] {
  const names = (Array.isArray(list) ? list : (list ?? "").split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 0) return [...zeroShotTaskNames];
  for (const n of names)
    if (!(zeroShotTaskNames as readonly string[]).includes(n))
      throw new UserError("bad_request", `unknown task "${n}" (known: ${zeroShotTaskNames.join(", ")})`);
  return [...new Set(names)] as ZeroShotTaskName[];
}

/** The file a task would read in `dataDir` (the first of its known names found), or undefined. */
export function taskDataFile(name: ZeroShotTaskName, dataDir: string): string | undefined {
  return TASKS[name].files.map((f) => join(dataDir, f)).find((p) => existsSync(p));
}

/** Splits tasks (default: all seven) into those whose data is in `dataDir` and those whose data is not. */
export function tasksWithData(
  dataDir: string,
  names: readonly ZeroShotTaskName[] = zeroShotTaskNames,
): { present: ZeroShotTaskName[]; missing: ZeroShotTaskName[] } {
  const present = names.filter((n) => taskDataFile(n, dataDir) !== undefined);
  return { present, missing: names.filter((n) => !present.includes(n)) };
}

/** Why a task cannot run here: "hellaswag (expected hellaswag_val.jsonl)". */
export function missingTaskLine(name: ZeroShotTaskName): string {
  return `${name} (expected ${TASKS[name].files.join(" or ")})`;
}

export interface LoadedTask {
  spec: TaskSpec;
  file: string;
  items: ChoiceItem[];
  notes: string[];
}

/** Reads a task's file (`file`, or the first of its known names found in `dataDir`): the first `limit`
 *  documents in file order. */
export function loadTask(name: ZeroShotTaskName, dataDir: string, limit?: number, file?: string): LoadedTask {
  const spec = TASKS[name];
  if (file !== undefined && !existsSync(file))
    throw new UserError("not_found", `task file for ${name} not found: ${file}`, 404);
  file ??= taskDataFile(name, dataDir);
  if (!file)
    throw new UserError(
      "not_found",
      `no data for task ${name}: expected ${spec.files.join(" or ")} in ${dataDir}`,
      404,
    );
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    throw new UserError("bad_request", `--limit must be a positive integer, got ${limit}`);
  const { items, notes } = spec.read(file, limit);
  if (items.length === 0) throw new UserError("invalid_data", `task file ${file} has no documents`);
  return { spec, file, items, notes };
}
