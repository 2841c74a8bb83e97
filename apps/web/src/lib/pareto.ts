// The Pareto front of quality against speed: points no other point beats on both lower perplexity and
// higher throughput.

export interface QualitySpeed {
  label: string;
  ppl: number;
  tokensPerS: number;
}

export function paretoFront<T extends QualitySpeed>(points: T[]): T[] {
  const front = points.filter(
    (p) =>
      !points.some(
        (q) =>
          q !== p &&
          q.ppl <= p.ppl &&
          q.tokensPerS >= p.tokensPerS &&
          (q.ppl < p.ppl || q.tokensPerS > p.tokensPerS),
      ),
  );
  return front.sort((a, b) => a.tokensPerS - b.tokensPerS);
}
