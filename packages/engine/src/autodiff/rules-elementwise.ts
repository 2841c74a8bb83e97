// VJP rules of elementwise ops: broadcasting arithmetic and the unary functions.
import type { VjpRule } from "./context.js";

const add: VjpRule = (c, n, [gy], needs) => [
  needs[0] ? c.sumTo(gy!, n.outputs[0]!, n.inputs[0]!) : undefined,
  needs[1] ? c.sumTo(gy!, n.outputs[0]!, n.inputs[1]!) : undefined,
];

const sub: VjpRule = (c, n, [gy], needs) => [
  needs[0] ? c.sumTo(gy!, n.outputs[0]!, n.inputs[0]!) : undefined,
  needs[1] ? c.sumTo(c.node("Neg", [gy!]), n.outputs[0]!, n.inputs[1]!) : undefined,
];

const mul: VjpRule = (c, n, [gy], needs) => {
  const [a, b] = n.inputs as [string, string];
  const y = n.outputs[0]!;
  if (a === b) return [c.node("Mul", [c.node("Mul", [gy!, a]), c.scalar(2)]), undefined];
  return [
    needs[0] ? c.sumTo(c.node("Mul", [gy!, b]), y, a) : undefined,
    needs[1] ? c.sumTo(c.node("Mul", [gy!, a]), y, b) : undefined,
  ];
};

const div: VjpRule = (c, n, [gy], needs) => {
  const [a, b] = n.inputs as [string, string];
  const y = n.outputs[0]!;
  const gOverB = c.node("Div", [gy!, b]);
  return [
    needs[0] ? c.sumTo(gOverB, y, a) : undefined,
    needs[1] ? c.sumTo(c.node("Neg", [c.node("Mul", [gOverB, y])]), y, b) : undefined,
  ];
};

const sum: VjpRule = (c, n, [gy], needs) =>
  n.inputs.map((x, i) => (needs[i] ? c.sumTo(gy!, n.outputs[0]!, x) : undefined));

/** d(a^p): p·a^(p−1) for the base (p = 2 becomes 2a), y·ln(a) for the exponent. */
const pow: VjpRule = (c, n, [gy], needs) => {
  const [a, p] = n.inputs as [string, string];
  const y = n.outputs[0]!;
  let ga: string | undefined;
  if (needs[0]) {
    const pv = constFloat(c.g.initializers.get(p));
    const local =
      pv === 2
        ? c.node("Mul", [a, c.scalar(2)])
        : c.node("Mul", [
            c.node("CastLike", [p, a]),
            c.node("Pow", [a, c.node("Sub", [p, c.node("CastLike", [c.scalar(1), p])])]),
          ]);
    ga = c.sumTo(c.node("Mul", [gy!, local]), y, a);
  }
  const gp = needs[1]
    ? c.sumTo(c.node("Mul", [gy!, c.node("Mul", [y, c.node("Log", [a])])]), y, p)
    : undefined;
  return [ga, gp];
};

function constFloat(t: { data: ArrayLike<number | bigint>; dims: number[] } | undefined): number | undefined {
  if (t?.dims.reduce((a, b) => a * b, 1) !== 1) return undefined;
  const v = t.data[0];
  return typeof v === "number" ? v : undefined;
}

const unary =
  (f: (c: Parameters<VjpRule>[0], x: string, y: string, gy: string) => string): VjpRule =>
  (c, n, [gy]) => [f(c, n.inputs[0]!, n.outputs[0]!, gy!)];

export const elementwiseRules: Record<string, VjpRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Sum: sum,
  Pow: pow,
  Identity: unary((_c, _x, _y, gy) => gy),
  Neg: unary((c, _x, _y, gy) => c.node("Neg", [gy])),
  Sqrt: unary((c, _x, y, gy) => c.node("Div", [gy, c.node("Mul", [y, c.scalar(2)])])),
  Reciprocal: unary((c, _x, y, gy) => c.node("Neg", [c.node("Mul", [gy, c.node("Mul", [y, y])])])),
  Exp: unary((c, _x, y, gy) => c.node("Mul", [gy, y])),
  Log: unary((c, x, _y, gy) => c.node("Div", [gy, x])),
  Tanh: unary((c, _x, y, gy) => c.node("Mul", [gy, c.node("Sub", [c.scalar(1), c.node("Mul", [y, y])])])),
  Sigmoid: unary((c, _x, y, gy) => c.node("Mul", [gy, c.node("Mul", [y, c.node("Sub", [c.scalar(1), y])])])),
  Erf: unary((c, x, _y, gy) =>
    c.node("Mul", [
      gy,
      c.node("Mul", [
        c.node("CastLike", [c.scalar(2 / Math.sqrt(Math.PI)), x]),
        c.node("Exp", [c.node("Neg", [c.node("Mul", [x, x])])]),
      ]),
    ]),
  ),
  Relu: unary((c, x, _y, gy) =>
    c.node("Mul", [
      gy,
      c.node("CastLike", [c.node("Greater", [x, c.node("CastLike", [c.scalar(0), x])]), gy]),
    ]),
  ),
  Abs: unary((c, x, _y, gy) => c.node("Mul", [gy, c.node("Sign", [x])])),
  Cast: unary((c, x, _y, gy) => c.node("CastLike", [gy, x])),
  CastLike: unary((c, x, _y, gy) => c.node("CastLike", [gy, x])),
};
