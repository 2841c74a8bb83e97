// Data hooks: a one-off load, a poll that pauses while the tab is hidden, and a job's event stream.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ApiError } from "./api.js";
import type { JobEvent } from "./types.js";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  reload: () => void;
}

/** Runs `load` now, whenever `deps` change, and every `everyMs` (if given) while the page is visible. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (!alive) return;
      if (document.visibilityState !== "hidden" || data === undefined) {
        try {
          const v = await loadRef.current();
          if (!alive) return;
          setData(v);
          setError(undefined);
        } catch (e) {
          if (alive) setError(e as Error);
        }
      }
      if (alive && everyMs) timer = setTimeout(run, everyMs);
    };
    run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

/**
 * A job's events over Server-Sent Events (the session cookie authenticates it): every event since the
 * start, then new ones as they happen; EventSource reconnects with Last-Event-ID by itself. `ended` turns
 * true at the stream's `end` event.
 */
export function useJobStream(jobId: string | undefined): {
  events: JobEvent[];
  ended: boolean;
  live: boolean;
} {
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [ended, setEnded] = useState(false);
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!jobId) return;
    setEvents([]);
    setEnded(false);
    const source = new EventSource(`/v1/jobs/${encodeURIComponent(jobId)}/stream`);
    let batch: JobEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const b = batch;
      batch = [];
      setEvents((prev) => [...prev, ...b]);
    };
    const onEvent = (e: MessageEvent) => {
      batch.push(JSON.parse(e.data) as JobEvent);
      if (!frame) frame = window.setTimeout(flush, 100);
    };
    for (const type of ["state", "progress", "log", "metric", "artifact"])
      source.addEventListener(type, onEvent);
    source.addEventListener("open", () => setLive(true));
    source.addEventListener("end", () => {
      flush();
      setEnded(true);
      setLive(false);
      source.close();
    });
    source.addEventListener("error", () => setLive(false));
    return () => {
      clearTimeout(frame);
      source.close();
    };
  }, [jobId]);
  return { events, ended, live };
}
