// The shapes shared by the zero-shot task readers, the prompt formats and the scorer. The task names are
// the contracts' zeroShotTaskNames (the job schema validates against the same list).
import type { zeroShotTaskNames } from "@shortened/contracts";

export type ZeroShotTaskName = (typeof zeroShotTaskNames)[number];

/** One loglikelihood request of lm-evaluation-harness: score `continuation` given `context`. */
export interface TextRequest {
  context: string;
  continuation: string;
}

/** One multiple-choice document turned into harness requests: one request per choice, in choice order. */
export interface ChoiceItem {
  requests: TextRequest[];
  /** Gold choice index. */
  gold: number;
  /**
   * `len(doc["choices"][i])` (characters of the choice without the leading space the request adds),
   * the divisor of acc_norm. Null for tasks whose harness metric has no acc_norm (BoolQ, WinoGrande).
   */
  choiceChars: number[] | null;
}

/** The metric the paper's table reports per task (authors' `convert_json2csv_zeroshot`). */
export type ReportedMetric = "acc" | "acc_norm";
