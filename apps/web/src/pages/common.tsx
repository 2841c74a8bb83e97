import { ApiError } from "../lib/api.js";

/** An API error as the API said it (code and message), announced to screen readers. */
export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error instanceof ApiError ? (
        <>
          <code>{error.code}</code> {error.message}
        </>
      ) : (
        error.message
      )}
    </p>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    // A scrollable region must be reachable from the keyboard.
    <section
      className="json"
      aria-label={label} // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
      tabIndex={0}
    >
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </section>
  );
}
