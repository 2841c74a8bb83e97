// Numbers, times and sizes as people read them.

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Time left from the progress made since the start: elapsed × (1 − p) / p. */
export function etaSeconds(progress: number, startedAt: string | null, now = Date.now()): number | null {
  if (!startedAt || progress <= 0 || progress >= 1) return null;
  const elapsed = (now - Date.parse(startedAt)) / 1000;
  return elapsed > 0 ? (elapsed * (1 - progress)) / progress : null;
}

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return "–";
  const s = (now - Date.parse(iso)) / 1000;
  return s < 5 ? "just now" : `${duration(s)} ago`;
}

export const time = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "–");

export function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export const pct = (f: number) => `${Math.round(f * 100)}%`;
export const shortId = (id: string | null | undefined) => (id ? id.slice(-8) : "–");

/** A metric's protocol in one line: its scalar settings as `key=value`, e.g. "dataset=wikitext2 · bos=none". */
export function protocolText(protocol: unknown): string {
  if (!protocol || typeof protocol !== "object") return "";
  return Object.entries(protocol)
    .filter(([, x]) => x !== null && typeof x !== "object")
    .map(([k, x]) => `${k}=${x}`)
    .join(" · ");
}
