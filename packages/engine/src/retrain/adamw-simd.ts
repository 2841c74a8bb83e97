// AdamW's per-element update as a WebAssembly SIMD kernel: four float32 lanes per instruction, each operation a
// float32 operation (WebAssembly's f32x4 add/sub/mul/div/sqrt are IEEE binary32, correctly rounded, subnormals
// kept, never fused), so its bits are those of the float32 graph the update once was, as JavaScript's
// Math.fround after every operation gave them, at a fraction of the CPU time (JavaScript computes in float64 and
// rounds: two conversions per operation, one element at a time).
// WebAssembly reads only its own memory: tensors pass through it in chunks (copied in, updated, copied back),
// so the kernel holds 320 KB however large the model, and parameters, moments and gradients stay where they lie.
//
// The kernel, in WebAssembly text (p, g, m, v: CHUNK floats each at P, G, M, V of its memory; byte index i):
//   (func (export "update") (param $n i32) (param $coef f32) (param $decay f32) (param $step f32) (param $bc2 f32)
//     loop over i in [0, 4·⌈n/4⌉) step 16:
//       gi = g[i]·coef;  m2 = m[i]·β₁ + gi·(1−β₁);  v2 = v[i]·β₂ + (gi·gi)·(1−β₂)
//       denom = √v2 / bc2 + ε;  p[i] = p[i]·decay − step·(m2 / denom);  m[i] = m2;  v[i] = v2)
// Lanes past n hold leftovers of an earlier chunk; they are computed and never copied out.
//
// And the sum of squares of the gradients (the clipping norm's), in float64 with eight independent partial sums
// (four f64x2 accumulators) so that it is not one chain of dependent additions (latency-bound: ~2.2 ns per
// element against ~0.3). Element i of every tensor goes to partial sum i mod 8, added in index order, tensor after
// tensor; the total is ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)). So its bits are fixed by the tensors alone (chunks
// are a multiple of 8 and tails are padded with +0, which changes no sum), not by chunking or by the machine; they
// differ from the one-chain sum's in the last bits only (each square is exact in float64: 24-bit mantissas).
//   (func (export "sumsq") (param $n i32)   ;; n a multiple of 8; the partial sums persist at ACC between calls
//     loop over i in [0, 4n) step 32: for k in 0..3: a_k += promote(g[i + 8k .. +8])²)

/** Elements per chunk: four chunk-sized arrays (p, g, m, v) fill the kernel's memory. */
const CHUNK = 16384;
const P = 0;
const G = CHUNK * 4;
const M = CHUNK * 8;
const V = CHUNK * 12;
/** the eight float64 partial sums of squares */
const ACC = CHUNK * 16;
/** elements per partial-sum round: 4 accumulators × 2 float64 lanes */
const SUMSQ_LANES = 8;
const MEMORY_PAGES = (CHUNK * 16) / 65536 + 1; // 64 KiB pages; the last holds ACC

export interface UpdateScalars {
  /** gradient scale times the clip factor */
  coef: number;
  /** 1 − lr·wd, or 1 where the tensor has no decay */
  decay: number;
  /** lr / (1 − β₁ᵗ) */
  stepSize: number;
  /** √(1 − β₂ᵗ) */
  bc2Sqrt: number;
}

/** The constants of the update, float32 as the graph held them. */
export interface MomentConstants {
  beta1: number;
  beta2: number;
  eps: number;
}

// The few WebAssembly binary encodings the kernel needs (https://webassembly.github.io/spec/core/binary/).
const uleb = (x: number): number[] => {
  const out: number[] = [];
  do {
    let b = x & 0x7f;
    x >>>= 7;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
};
/** signed LEB128 (i32.const immediates) */
const sleb = (x: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = x & 0x7f;
    x >>= 7;
    if ((x === 0 && !(b & 0x40)) || (x === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => vector([...s].map((c) => [c.charCodeAt(0)]));
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const local = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
};
const i32 = {
  const: (x: number) => [0x41, ...sleb(x)],
  add: [0x6a],
  mul: [0x6c],
  and: [0x71],
  geU: [0x4f],
};
const control = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  end: [0x0b],
};
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const v128 = {
  /** aligned 16-byte load/store at `offset` + the address on the stack */
  load: (offset: number) => simd(0x00, 4, ...uleb(offset)),
  store: (offset: number) => simd(0x0b, 4, ...uleb(offset)),
  /** 8 bytes at `offset` + the address into the low half, the high half zero */
  load64Zero: (offset: number) => simd(0x5d, 3, ...uleb(offset)),
  /** four lanes of the float32 `x` */
  f32x4: (x: number) =>
    simd(
      0x0c,
      ...Array(4)
        .fill([...new Uint8Array(Float32Array.of(x).buffer)])
        .flat(),
    ),
};
const f32x4 = {
  splat: simd(0x13),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
};
const f64x2 = {
  /** the two low float32 lanes, exactly, as float64 */
  promoteLow: simd(0x5f),
  add: simd(0xf0),
  mul: simd(0xf2),
};

function kernelModule(k: MomentConstants): Uint8Array {
  // params 0..4: n, coef, decay, step, bc2; locals: 5 i (byte index), 6 end, 7 gi, 8 m2, 9 v2 (v128)
  const [n, coef, decay, step, bc2, i, end, gi, m2, v2] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const get = local.get;
  const at = (base: number) => [...get(i), ...v128.load(base)];
  const splat = (x: number) => [...get(x), ...f32x4.splat];
  const code = [
    // end = 16·⌈n/4⌉
    [...get(n), ...i32.const(3), ...i32.add, ...i32.const(-4), ...i32.and, ...i32.const(4), ...i32.mul],
    local.set(end),
    [...control.block, ...control.loop],
    [...get(i), ...get(end), ...i32.geU, ...control.brIf(1)], // leave the block once i ≥ end
    // gi = g·coef
    [...at(G), ...splat(coef), ...f32x4.mul, ...local.set(gi)],
    // m2 = m·β₁ + gi·(1−β₁)
    [...at(M), ...v128.f32x4(k.beta1), ...f32x4.mul],
    [...get(gi), ...v128.f32x4(1 - k.beta1), ...f32x4.mul, ...f32x4.add, ...local.set(m2)],
    // v2 = v·β₂ + (gi·gi)·(1−β₂)
    [...at(V), ...v128.f32x4(k.beta2), ...f32x4.mul],
    [...get(gi), ...get(gi), ...f32x4.mul, ...v128.f32x4(1 - k.beta2), ...f32x4.mul, ...f32x4.add],
    local.set(v2),
    // p = p·decay − step·(m2 / (√v2 / bc2 + ε))
    get(i),
    [...at(P), ...splat(decay), ...f32x4.mul],
    [...splat(step), ...get(m2)],
    [...get(v2), ...f32x4.sqrt, ...splat(bc2), ...f32x4.div, ...v128.f32x4(k.eps), ...f32x4.add],
    [...f32x4.div, ...f32x4.mul, ...f32x4.sub, ...v128.store(P)],
    [...get(i), ...get(m2), ...v128.store(M)],
    [...get(i), ...get(v2), ...v128.store(V)],
    [...get(i), ...i32.const(16), ...i32.add, ...local.set(i)],
    [...control.br(0), ...control.end, ...control.end, ...control.end], // next lanes; end loop, block, function
  ].flat();
  const locals = vector([
    [2, I32],
    [3, V128],
  ]);
  const update = [...locals, ...code];
  const sumsq = sumsqBody();
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(
      1,
      vector([
        [0x60, ...vector([[I32], [F32], [F32], [F32], [F32]]), 0],
        [0x60, ...vector([[I32]]), 0],
      ]),
    ),
    ...section(3, vector([[0], [1]])),
    ...section(5, vector([[0x00, ...uleb(MEMORY_PAGES)]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("update"), 0x00, 0],
        [...name("sumsq"), 0x00, 1],
      ]),
    ),
    ...section(
      10,
      vector([
        [...uleb(update.length), ...update],
        [...uleb(sumsq.length), ...sumsq],
      ]),
    ),
  ]);
}

function sumsqBody(): number[] {
  // param 0: n; locals: 1 i (byte index), 2 end, 3..6 the accumulators a0..a3, 7 x (v128)
  const [n, i, end, x] = [0, 1, 2, 7];
  const acc = [3, 4, 5, 6];
  const get = local.get;
  const code = [
    [...get(n), ...i32.const(4), ...i32.mul, ...local.set(end)],
    acc.flatMap((a, k) => [...i32.const(0), ...v128.load(ACC + 16 * k), ...local.set(a)]),
    [...control.block, ...control.loop],
    [...get(i), ...get(end), ...i32.geU, ...control.brIf(1)],
    // a_k += x·x, x = g[i + 2k], g[i + 2k + 1] as float64
    acc.flatMap((a, k) => [
      ...[...get(i), ...v128.load64Zero(G + 8 * k), ...f64x2.promoteLow, ...local.set(x)],
      ...[...get(a), ...get(x), ...get(x), ...f64x2.mul, ...f64x2.add, ...local.set(a)],
    ]),
    [...get(i), ...i32.const(4 * SUMSQ_LANES), ...i32.add, ...local.set(i)],
    [...control.br(0), ...control.end, ...control.end],
    acc.flatMap((a, k) => [...i32.const(0), ...get(a), ...v128.store(ACC + 16 * k)]),
    control.end,
  ].flat();
  return [
    ...vector([
      [2, I32],
      [5, V128],
    ]),
    ...code,
  ];
}

// WebAssembly is a Node global that this project's lib settings do not declare.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
  ) => {
    exports: {
      memory: { buffer: ArrayBuffer };
      update: (n: number, coef: number, decay: number, step: number, bc2: number) => void;
      sumsq: (n: number) => void;
    };
  };
}

/** The update and norm kernels with their own 320 KB memory; one per optimizer (it is not reentrant). */
export class AdamWKernel {
  private readonly run: (n: number, coef: number, decay: number, step: number, bc2: number) => void;
  private readonly addSquares: (n: number) => void;
  private readonly mem: Float32Array;
  private readonly partialSums: Float64Array;

  constructor(k: MomentConstants) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(kernelModule(k)));
    this.run = instance.exports.update;
    this.addSquares = instance.exports.sumsq;
    this.mem = new Float32Array(instance.exports.memory.buffer);
    this.partialSums = new Float64Array(instance.exports.memory.buffer, ACC, SUMSQ_LANES);
  }

  /** Σ x² over all the arrays, in float64, as eight interleaved partial sums (the header's order). */
  sumOfSquares(arrays: Iterable<Float32Array>): number {
    const mem = this.mem;
    const s = this.partialSums;
    s.fill(0);
    for (const g of arrays)
      for (let at = 0; at < g.length; at += CHUNK) {
        const n = Math.min(CHUNK, g.length - at);
        mem.set(g.subarray(at, at + n), G / 4);
        const padded = Math.ceil(n / SUMSQ_LANES) * SUMSQ_LANES;
        mem.fill(0, G / 4 + n, G / 4 + padded);
        this.addSquares(padded);
      }
    return s[0]! + s[1]! + (s[2]! + s[3]!) + (s[4]! + s[5]! + (s[6]! + s[7]!));
  }

  /** p, m, v ← their updated values, in place, from the gradient sum g. */
  update(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: UpdateScalars): void {
    if (g.length !== p.length || m.length !== p.length || v.length !== p.length)
      throw new Error(
        `AdamW update: parameter, gradient and moments differ in length (${p.length}, ${g.length}, ${m.length}, ${v.length})`,
      );
    const mem = this.mem;
    for (let at = 0; at < p.length; at += CHUNK) {
      const to = Math.min(at + CHUNK, p.length);
      mem.set(p.subarray(at, to), P / 4);
      mem.set(g.subarray(at, to), G / 4);
      mem.set(m.subarray(at, to), M / 4);
      mem.set(v.subarray(at, to), V / 4);
      this.run(to - at, s.coef, s.decay, s.stepSize, s.bc2Sqrt);
      p.set(mem.subarray(P / 4, P / 4 + to - at), at);
      m.set(mem.subarray(M / 4, M / 4 + to - at), at);
      v.set(mem.subarray(V / 4, V / 4 + to - at), at);
    }
  }
}
