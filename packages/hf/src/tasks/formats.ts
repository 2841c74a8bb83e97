// The prompt formats of lm-evaluation-harness at commit 3326c54 (the commit the paper pinned), zero-shot:
// the context is `doc_to_text(doc)` (no description, no few-shot examples) and a multiple-choice request
// scores `" " + choice`. Each function takes the fields of one document and returns its requests.
import type { ChoiceItem } from "./types.js";

/** Python's `len(str)`: code points, not UTF-16 units. */
export function pyLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Python's `str.capitalize()`: first character upper-cased, the rest lower-cased. */
export function pyCapitalize(s: string): string {
  const first = s.codePointAt(0);
  if (first === undefined) return s;
  const head = String.fromCodePoint(first);
  return head.toUpperCase() + s.slice(head.length).toLowerCase();
}

/** `MultipleChoiceTask`: one request per choice with a leading space; acc_norm divides by the choice length. */
export function multipleChoice(query: string, choices: string[], gold: number): ChoiceItem {
  return {
    requests: choices.map((c) => ({ context: query, continuation: ` ${c}` })),
    gold,
    choiceChars: choices.map(pyLen),
  };
}

/** ARC-Easy / ARC-Challenge (`arc.py`). */
export function arcItem(question: string, choices: string[], gold: number): ChoiceItem {
  return multipleChoice(`Question: ${question}\nAnswer:`, choices, gold);
}

/** OpenBookQA (`openbookqa.py`): the bare question stem, no fact. */
export function openBookQaItem(questionStem: string, choices: string[], gold: number): ChoiceItem {
  return multipleChoice(questionStem, choices, gold);
}

/** PIQA (`piqa.py`). */
export function piqaItem(goal: string, sol1: string, sol2: string, label: number): ChoiceItem {
  return multipleChoice(`Question: ${goal}\nAnswer:`, [sol1, sol2], label);
}

/** HellaSwag's text cleanup (`HellaSwag.preprocess`): WikiHow bracket artifacts removed. */
export function hellaSwagPreprocess(text: string): string {
  return text
    .trim()
    .replaceAll(" [title]", ". ")
    .replace(/\[.*?\]/g, "")
    .replaceAll("  ", " ");
}

/** HellaSwag (`hellaswag.py`). */
export function hellaSwagItem(
  doc: { activity_label: string; ctx_a: string; ctx_b: string; endings: string[] },
  label: number,
): ChoiceItem {
  const ctx = `${doc.ctx_a} ${pyCapitalize(doc.ctx_b)}`;
  return multipleChoice(
    hellaSwagPreprocess(`${doc.activity_label}: ${ctx}`),
    doc.endings.map(hellaSwagPreprocess),
    label,
  );
}

/**
 * BoolQ (`superglue.py`): scores " yes" and " no"; acc = [(ll_yes > ll_no) == label]. The choices are
 * ordered [no, yes] so that argmax (first index on ties) predicts "no" on a tie, as `ll_yes > ll_no` does.
 */
export function boolQItem(passage: string, question: string, label: boolean): ChoiceItem {
  const context = `${passage}\nQuestion: ${question}?\nAnswer:`;
  return {
    requests: [
      { context, continuation: " no" },
      { context, continuation: " yes" },
    ],
    gold: label ? 1 : 0,
    choiceChars: null,
  };
}

/**
 * WinoGrande (`winogrande.py`), partial scoring: each option replaces the blank in the context, which
 * ends there; the shared rest of the sentence is the continuation scored under both contexts.
 */
export function winoGrandeItem(
  sentence: string,
  option1: string,
  option2: string,
  answer: "1" | "2",
): ChoiceItem {
  const blank = sentence.indexOf("_");
  const target = ` ${sentence.slice(blank + 1).trim()}`;
  return {
    requests: [option1, option2].map((option) => ({
      context: sentence.slice(0, blank) + option,
      continuation: target,
    })),
    gold: answer === "1" ? 0 : 1,
    choiceChars: null,
  };
}
