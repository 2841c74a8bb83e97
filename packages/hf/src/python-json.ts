// config.json as transformers' save_pretrained and the oracle write it: Python's
// `json.dumps(value, indent=2, sort_keys=True) + "\n"`. Three things differ from JSON.stringify: keys sorted by
// code point, non-ASCII escaped as \uXXXX (ensure_ascii), and numbers in Python's form, where a float keeps its
// kind (`10000.0`, `1e-06`) and an integer its exact digits. JavaScript numbers forget whether they were
// written as floats, so the source file is parsed once more here (parsePythonJson) and its number kinds serve
// as a template: a number equal to the source's number at the same place is written in the source's kind.

/** A number of the source text, with its Python kind. */
export class PyNumber {
  constructor(
    readonly kind: "int" | "float",
    readonly value: number,
    /** an int's exact digits (Python ints are unbounded) */
    readonly digits: string,
  ) {}
}

export type PyJson = null | boolean | string | PyNumber | PyJson[] | { [key: string]: PyJson };

/** Parses JSON text keeping each number's kind (int without '.', 'e' or 'E', as Python's json reads it).
 *  The text must already have passed JSON.parse within bounds (parseBoundedJson): errors here are bugs. */
export function parsePythonJson(text: string): PyJson {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const value = (): PyJson => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const out: { [key: string]: PyJson } = {};
      ws();
      if (text[i] === "}") {
        i++;
        return out;
      }
      for (;;) {
        ws();
        const key = string();
        ws();
        i++; // ':'
        Object.defineProperty(out, key, {
          value: value(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        if (text[i++] === "}") return out;
      }
    }
    if (c === "[") {
      i++;
      const out: PyJson[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i++] === "]") return out;
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) throw new Error(`not JSON at offset ${i}`);
    i += m[0].length;
    const isFloat = m[1] !== undefined || m[2] !== undefined;
    return isFloat
      ? new PyNumber("float", Number(m[0]), "")
      : new PyNumber("int", Number(m[0]), BigInt(m[0]).toString());
  };
  const string = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const v = value();
  return v;
}

/** Python's repr of a float: the shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16, else
 *  d.ddde±XX (at least two exponent digits); integral values keep ".0". */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Number.POSITIVE_INFINITY) return "Infinity";
  if (x === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mant, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mant.replace(".", "");
  const decpt = Number(exp) + 1; // x = 0.d1d2... × 10^decpt
  if (decpt <= -4 || decpt > 16) {
    const e = decpt - 1;
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${frac}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** json.dumps's ensure_ascii string: printable ASCII kept, the usual short escapes, \uXXXX for the rest. */
function pythonString(s: string): string {
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    const ch = s[k]!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else out += `\\u${c.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/** Python's str ordering (by code point; JavaScript's < compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k]! - y[k]!;
  return x.length - y.length;
}

function pythonNumber(x: number, like: PyJson | undefined): string {
  if (like instanceof PyNumber && (like.value === x || (Number.isNaN(x) && Number.isNaN(like.value)))) {
    return like.kind === "int" ? like.digits : pythonFloatRepr(x);
  }
  return Number.isInteger(x) ? BigInt(x).toString() : pythonFloatRepr(x);
}

/**
 * `json.dumps(value, indent=2, sort_keys=True) + "\n"` of a plain JSON value; `template` (from
 * parsePythonJson of the file the value came from) gives the Python kind of numbers left unchanged.
 */
export function pythonJsonDumps(value: unknown, template?: PyJson): string {
  const dump = (v: unknown, like: PyJson | undefined, indent: string): string => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "string") return pythonString(v);
    if (typeof v === "number") return pythonNumber(v, like);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const likeArr = Array.isArray(like) ? like : undefined;
      const items = v.map((x, k) => `${inner}${dump(x, likeArr?.[k], inner)}`);
      return `[\n${items.join(",\n")}\n${indent}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    const likeObj =
      like && typeof like === "object" && !Array.isArray(like) && !(like instanceof PyNumber)
        ? like
        : undefined;
    entries.sort(([a], [b]) => byCodePoint(a, b));
    const items = entries.map(
      ([k, x]) =>
        `${inner}${pythonString(k)}: ${dump(x, likeObj && Object.hasOwn(likeObj, k) ? likeObj[k] : undefined, inner)}`,
    );
    return `{\n${items.join(",\n")}\n${indent}}`;
  };
  return `${dump(value, template, "")}\n`;
}

/** The text of a config.json derived from `sourceText` (the config.json it was read from, if any), in the
 *  form transformers and the oracle write. */
export function configJsonText(value: unknown, sourceText?: string): string {
  return pythonJsonDumps(value, sourceText === undefined ? undefined : parsePythonJson(sourceText));
}
