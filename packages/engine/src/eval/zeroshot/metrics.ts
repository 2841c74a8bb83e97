// Per-document scoring of lm-evaluation-harness 3326c54 `MultipleChoiceTask.process_results`:
// acc = [argmax(lls) == gold], acc_norm = [argmax(lls / len(choice)) == gold], np.argmax taking the first
// index on ties. BoolQ and WinoGrande have acc only.

/** np.argmax: the first index of the largest value. */
export function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export interface ItemScore {
  lls: number[];
  gold: number;
  pred: number;
  acc: number;
  predNorm: number | null;
  accNorm: number | null;
}

export function scoreItem(lls: number[], gold: number, choiceChars: number[] | null): ItemScore {
  const pred = argmax(lls);
  const predNorm = choiceChars ? argmax(lls.map((ll, i) => ll / choiceChars[i]!)) : null;
  return {
    lls,
    gold,
    pred,
    acc: pred === gold ? 1 : 0,
    predNorm,
    accNorm: predNorm === null ? null : predNorm === gold ? 1 : 0,
  };
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
