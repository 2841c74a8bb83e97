// Readers for the zero-shot task files: each validates its records and applies the harness format.
// Accepted layouts: the files in data/zeroshot (see its PROVENANCE.md) and the Hugging Face `datasets`
// rows lm-eval reads (ai2_arc, openbookqa, piqa, hellaswag, winogrande, super_glue/boolq) as JSON lines.
import { UserError } from "@shortened/contracts";
import { z } from "zod";
import { arcItem, boolQItem, hellaSwagItem, openBookQaItem, piqaItem, winoGrandeItem } from "./formats.js";
import { nonBlankLines, readJsonl, readTextFile } from "./jsonl.js";
import type { ChoiceItem } from "./types.js";

const LETTERS = ["A", "B", "C", "D", "E"];
const NUM_TO_LETTER: Record<string, string> = { "1": "A", "2": "B", "3": "C", "4": "D", "5": "E" };

const hfChoices = z.object({ text: z.array(z.string()).min(2), label: z.array(z.string()) });
/** data/zeroshot layout: choices in original order, 0-based `label`. */
const flatChoiceDoc = z.object({
  question: z.string(),
  choices: z.array(z.string()).min(2),
  label: z.number().int().min(0),
});
/** ai2_arc / openbookqa rows: `answerKey` letter (ARC also "1".."5"). */
const hfArcDoc = z.object({ question: z.string(), choices: hfChoices, answerKey: z.string() });
const hfObqaDoc = z.object({ question_stem: z.string(), choices: hfChoices, answerKey: z.string() });

function checkGold(gold: number, n: number, file: string, index: number): number {
  if (!(gold >= 0 && gold < n))
    throw new UserError(
      "invalid_data",
      `${file} record ${index + 1}: answer index ${gold} out of range for ${n} choices`,
    );
  return gold;
}

function letterGold(key: string, file: string, index: number): number {
  const letter = NUM_TO_LETTER[key.trim()] ?? key.trim();
  const gold = LETTERS.indexOf(letter);
  if (gold < 0)
    throw new UserError("invalid_data", `${file} record ${index + 1}: unknown answerKey "${key}"`);
  return gold;
}

function readQuestionChoices(
  path: string,
  limit: number | undefined,
  hf: typeof hfArcDoc | typeof hfObqaDoc,
  make: (q: string, choices: string[], gold: number) => ChoiceItem,
): ChoiceItem[] {
  const docs = readJsonl(path, z.union([flatChoiceDoc, hf]), limit);
  return docs.map((d, i) => {
    if (Array.isArray(d.choices)) {
      const flat = d as z.infer<typeof flatChoiceDoc>;
      return make(flat.question, flat.choices, checkGold(flat.label, flat.choices.length, path, i));
    }
    const row = d as {
      question?: string;
      question_stem?: string;
      choices: { text: string[] };
      answerKey: string;
    };
    const question = row.question_stem ?? row.question ?? "";
    const gold = checkGold(letterGold(row.answerKey, path, i), row.choices.text.length, path, i);
    return make(question, row.choices.text, gold);
  });
}

export function readArc(path: string, limit?: number): ChoiceItem[] {
  return readQuestionChoices(path, limit, hfArcDoc, arcItem);
}

export function readOpenBookQa(path: string, limit?: number): ChoiceItem[] {
  return readQuestionChoices(path, limit, hfObqaDoc, openBookQaItem);
}

const piqaDoc = z.object({
  goal: z.string(),
  sol1: z.string(),
  sol2: z.string(),
  label: z.number().int().optional(),
});

/** PIQA release layout: `valid.jsonl` plus `valid-labels.lst` (one 0/1 per line); or rows with `label`. */
export function readPiqa(path: string, limit?: number): ChoiceItem[] {
  const docs = readJsonl(path, piqaDoc, limit);
  let labels: number[] | undefined;
  if (docs.some((d) => d.label === undefined)) {
    const labelsPath = path.replace(/\.jsonl$/, "-labels.lst");
    labels = nonBlankLines(readTextFile(labelsPath, "PIQA labels file")).map(({ line, text }) => {
      if (text.trim() !== "0" && text.trim() !== "1")
        throw new UserError("invalid_data", `${labelsPath} line ${line}: expected 0 or 1, got "${text}"`);
      return Number(text.trim());
    });
  }
  return docs.map((d, i) => {
    const label = d.label ?? labels?.[i];
    if (label === undefined) throw new UserError("invalid_data", `${path}: no label for record ${i + 1}`);
    return piqaItem(d.goal, d.sol1, d.sol2, checkGold(label, 2, path, i));
  });
}

const hellaSwagDoc = z.object({
  activity_label: z.string(),
  ctx_a: z.string(),
  ctx_b: z.string(),
  endings: z.array(z.string()).min(2),
  label: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
});

/** HellaSwag rows as in `hellaswag_val.jsonl` / the HF `hellaswag` dataset. */
export function readHellaSwag(path: string, limit?: number): ChoiceItem[] {
  return readJsonl(path, hellaSwagDoc, limit).map((d, i) =>
    hellaSwagItem(d, checkGold(Number(d.label), d.endings.length, path, i)),
  );
}

const winoGrandeDoc = z.object({
  sentence: z.string().includes("_", { message: 'sentence has no "_" blank' }),
  option1: z.string(),
  option2: z.string(),
  answer: z.enum(["1", "2"]),
});

export function readWinoGrande(path: string, limit?: number): ChoiceItem[] {
  return readJsonl(path, winoGrandeDoc, limit).map((d) =>
    winoGrandeItem(d.sentence, d.option1, d.option2, d.answer),
  );
}

const boolQDoc = z.object({
  question: z.string(),
  passage: z.string().optional(),
  answer: z.boolean().optional(),
  label: z.union([z.literal(0), z.literal(1)]).optional(),
});

/** BoolQ: super_glue rows (`passage`, `question`, `label`) or question-only rows (`question`, `answer`). */
export function readBoolQ(path: string, limit?: number): { items: ChoiceItem[]; missingPassages: number } {
  let missingPassages = 0;
  const items = readJsonl(path, boolQDoc, limit).map((d, i) => {
    const label = d.label !== undefined ? d.label === 1 : d.answer;
    if (label === undefined)
      throw new UserError("invalid_data", `${path} record ${i + 1}: no "answer" or "label"`);
    if (d.passage === undefined) missingPassages++;
    return boolQItem(d.passage ?? "", d.question, label);
  });
  return { items, missingPassages };
}
