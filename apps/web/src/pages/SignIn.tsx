// Sign-in: an API key becomes a server-side session held in an HttpOnly cookie; the key itself is not kept
// by the browser.
import { type FormEvent, useState } from "react";
import { ApiError, api, ok } from "../lib/api.js";
import type { Session } from "../lib/types.js";

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await ok(api.POST("/session", { body: { apiKey: key.trim() } })));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Shortened</h1>
      <p>Sign in with your team's API key. The dashboard keeps a session cookie, not the key.</p>
      <label htmlFor="api-key">API key</label>
      <input
        id="api-key"
        name="apiKey"
        type="password"
        autoComplete="off"
        required
        value={key}
        onChange={(e) => setKey(e.target.value)}
        aria-describedby={error ? "sign-in-error" : undefined}
        aria-invalid={error ? true : undefined}
      />
      {error && (
        <p id="sign-in-error" className="field-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy || !key.trim()}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
