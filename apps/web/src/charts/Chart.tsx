// A vega-lite chart, rendered as SVG. vega and vega-lite are loaded on first use (their own chunk), so
// the first page load stays small.
import { useEffect, useRef, useState } from "react";

type Spec = Record<string, unknown>;

let libs: Promise<[typeof import("vega"), typeof import("vega-lite")]> | undefined;
const loadLibs = () => {
  libs ??= Promise.all([import("vega"), import("vega-lite")]);
  return libs;
};

export function Chart({ spec, label, testId }: { spec: Spec; label: string; testId?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string>();
  useEffect(() => {
    let view: { finalize(): void } | undefined;
    let alive = true;
    loadLibs()
      .then(async ([vega, vl]) => {
        if (!alive || !ref.current) return;
        const compiled = vl.compile(spec as never).spec;
        const v = new vega.View(vega.parse(compiled), {
          renderer: "svg",
          container: ref.current,
          hover: true,
        });
        view = v;
        await v.runAsync();
        ref.current?.querySelector("svg")?.setAttribute("aria-label", label);
      })
      .catch((e: Error) => alive && setError(e.message));
    return () => {
      alive = false;
      view?.finalize();
    };
  }, [spec, label]);
  return (
    <figure className="chart" data-testid={testId}>
      <div ref={ref} role="img" aria-label={label} />
      {error && <p role="alert">chart failed: {error}</p>}
    </figure>
  );
}
