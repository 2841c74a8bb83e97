// A minimal Server-Sent Events reader for tests: reads frames until `done(events)` says stop or the
// server ends the stream, then aborts the connection.
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export async function readSse(
  url: string,
  headers: Record<string, string>,
  done: (events: SseEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ status: number; events: SseEvent[] }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Error("SSE read timed out")), timeoutMs);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, { headers, signal: ctl.signal });
    if (res.status !== 200 || !res.body) return { status: res.status, events };
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i = buf.indexOf("\n\n");
      while (i >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: SseEvent = { event: "message", data: "" };
        let hasData = false;
        for (const line of frame.split("\n")) {
          if (line.startsWith(":")) continue;
          const [field, ...rest] = line.split(":");
          const value = rest.join(":").replace(/^ /, "");
          if (field === "id") e.id = value;
          else if (field === "event") e.event = value;
          else if (field === "data") {
            e.data += (hasData ? "\n" : "") + value;
            hasData = true;
          }
        }
        if (hasData) events.push(e);
        if (done(events)) {
          ctl.abort();
          return { status: 200, events };
        }
        i = buf.indexOf("\n\n");
      }
    }
    return { status: 200, events };
  } catch (e) {
    if (ctl.signal.aborted && events.length && done(events)) return { status: 200, events };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
