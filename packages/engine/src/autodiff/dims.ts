// Symbolic dims as monomials ("2*seq" is 2 · seq), so that reshapes such as [B, h, T, d] → [B, kv, -1, d]
// keep a known (symbolic) size instead of an unknown one.
import type { SDim, SShape } from "./shapes.js";

/** A dim as a monomial: numeric coefficient times symbols ("2*seq" is 2 · seq). */
function monomial(d: SDim): { num: number; syms: string[] } | null {
  if (d === null) return null;
  if (typeof d === "number") return { num: d, syms: [] };
  const parts = d.split("*");
  const num = /^\d+$/.test(parts[0]!) ? Number(parts.shift()) : 1;
  return { num, syms: parts };
}

function dimOf(num: number, syms: string[]): SDim {
  if (syms.length === 0) return num;
  const s = [...syms].sort().join("*");
  return num === 1 ? s : `${num}*${s}`;
}

/** Product of dims as a canonical monomial (null if any is unknown). */
export function product(ds: SDim[]): SDim {
  let num = 1;
  const syms: string[] = [];
  for (const d of ds) {
    const m = monomial(d);
    if (!m) return null;
    num *= m.num;
    syms.push(...m.syms);
  }
  return dimOf(num, syms);
}

export function resolveMinusOne(x: SShape | undefined, v: number[]): SDim {
  if (!x) return null;
  // x's product divided by that of the other output dims (0 copies x's dim), as monomials
  const total = monomial(product(x));
  if (!total) return null;
  let rest = 1;
  const syms = [...total.syms];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === -1) continue;
    const m = monomial(v[i] === 0 ? (x[i] ?? null) : v[i]!);
    if (!m) return null;
    rest *= m.num;
    for (const s of m.syms) {
      const k = syms.indexOf(s);
      if (k < 0) return null;
      syms.splice(k, 1);
    }
  }
  if (rest <= 0 || total.num % rest !== 0) return null;
  return dimOf(total.num / rest, syms);
}
