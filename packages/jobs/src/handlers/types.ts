import type { HandlerResult, JobKind, Ports, SpecOf } from "@shortened/contracts";

/** A job handler: validated spec in, artifacts and metrics out; it touches the world only through ports. */
export type Handler<K extends JobKind> = (spec: SpecOf<K>, ports: Ports) => Promise<HandlerResult>;

/** Engine progress callbacks report {done, total}; the sink wants a fraction. */
export function progressTo(ports: Ports, from = 0, to = 1, label?: string) {
  return (p: { done: number; total: number }) => {
    const f = p.total > 0 ? p.done / p.total : 0;
    ports.progress.progress(from + (to - from) * f, label, {
      step: p.done,
      totalSteps: p.total,
      ...(label ? { phase: label } : {}),
    });
  };
}
