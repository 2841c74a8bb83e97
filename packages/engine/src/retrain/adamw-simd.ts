// AdamW's per-element update as a WebAssembly SIMD kernel: four float32 lanes per instruction, each operation a
// float32 operation (WebAssembly's f32x4 add/sub/mul/div/sqrt are IEEE binary32, correctly rounded, subnormals
// kept, never fused), so its bits are those of the float32 graph the update once was, as JavaScript's
// Math.fround after every operation gave them, at a fraction of the CPU time (JavaScript computes in float64 and
// rounds: two conversions per operation, one element at a time).
// WebAssembly reads only its own memory: tensors pass through it in chunks (copied in, updated, copied back),
// so the kernel holds 256 KB however large the model, and parameters, moments and gradients stay where they lie.
//
// The kernel, in WebAssembly text (p, g, m, v: CHUNK floats each at P, G, M, V of its memory; byte index i):
//   (func (export "update") (param $n i32) (param $coef f32) (param $decay f32) (param $step f32) (param $bc2 f32)
//     loop over i in [0, 4·⌈n/4⌉) step 16:
//       gi = g[i]·coef;  m2 = m[i]·β₁ + gi·(1−β₁);  v2 = v[i]·β₂ + (gi·gi)·(1−β₂)
//       denom = √v2 / bc2 + ε;  p[i] = p[i]·decay − step·(m2 / denom);  m[i] = m2;  v[i] = v2)
// Lanes past n hold leftovers of an earlier chunk; they are computed and never copied out.

/** Elements per chunk: four chunk-sized arrays (p, g, m, v) fill the kernel's memory. */
const CHUNK = 16384;
const P = 0;
const G = CHUNK * 4;
const M = CHUNK * 8;
const V = CHUNK * 12;
const MEMORY_PAGES = (CHUNK * 16) / 65536; // 64 KiB pages

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
  const body = [...locals, ...code];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, ...vector([[I32], [F32], [F32], [F32], [F32]]), 0]])),
    ...section(3, vector([[0]])),
    ...section(5, vector([[0x00, ...uleb(MEMORY_PAGES)]])),
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("update"), 0x00, 0],
      ]),
    ),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
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
    };
  };
}

/** The update kernel with its own 256 KB memory; one per optimizer (it is not reentrant). */
export class AdamWKernel {
  private readonly run: (n: number, coef: number, decay: number, step: number, bc2: number) => void;
  private readonly mem: Float32Array;

  constructor(k: MomentConstants) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(kernelModule(k)));
    this.run = instance.exports.update;
    this.mem = new Float32Array(instance.exports.memory.buffer);
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
