// The shell: who is signed in (GET /session), the navigation, and the page for the current path. Pages
// are loaded on demand, so the first load carries only the shell and the page it opens on.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, done, ok, setCsrfToken, setOnUnauthorized } from "./lib/api.js";
import { Link, match, navigate, useLocation } from "./lib/router.js";
import type { Session } from "./lib/types.js";
import { SignIn } from "./pages/SignIn.js";

const Jobs = lazy(() => import("./pages/Jobs.js"));
const JobDetail = lazy(() => import("./pages/JobDetail.js"));
const Registry = lazy(() => import("./pages/Registry.js"));
const ModelPage = lazy(() => import("./pages/ModelPage.js"));
const Compare = lazy(() => import("./pages/Compare.js"));
const Playground = lazy(() => import("./pages/Playground.js"));
const Submit = lazy(() => import("./pages/Submit.js"));
const Admin = lazy(() => import("./pages/Admin.js"));

const NAV = [
  { href: "/jobs", label: "Jobs" },
  { href: "/registry", label: "Registry" },
  { href: "/compare", label: "Compare" },
  { href: "/playground", label: "Playground" },
  { href: "/submit", label: "Submit" },
];

export function App() {
  const { path, query } = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  const signedIn = useCallback((s: Session) => {
    setCsrfToken(s.csrfToken);
    setSession(s);
  }, []);

  useEffect(() => {
    setOnUnauthorized(() => {
      setSession(null);
      if (location.pathname !== "/sign-in")
        navigate(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, true);
    });
    ok(api.GET("/session"))
      .then(signedIn)
      .catch(() => setSession(null));
  }, [signedIn]);

  useEffect(() => {
    if (session === null && path !== "/sign-in")
      navigate(`/sign-in?next=${encodeURIComponent(path + location.search)}`, true);
    if (session && (path === "/" || path === "/sign-in")) navigate(query.get("next") || "/jobs", true);
  }, [session, path, query]);

  useEffect(() => {
    const page = [...NAV, { href: "/admin", label: "Team admin" }].find((n) => path.startsWith(n.href));
    document.title = `${page ? `${page.label} · ` : ""}Shortened`;
  }, [path]);

  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null)
    return (
      <main id="main" className="sign-in-page">
        <SignIn onSignedIn={signedIn} />
      </main>
    );

  const signOut = async () => {
    await done(api.DELETE("/session")).catch(() => {});
    setCsrfToken("");
    setSession(null);
  };

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/jobs" className="brand">
          Shortened
        </Link>
        <nav aria-label="Main">
          <ul>
            {[...NAV, ...(session.role === "admin" ? [{ href: "/admin", label: "Team admin" }] : [])].map(
              (n) => (
                <li key={n.href}>
                  <Link href={n.href} aria-current={path.startsWith(n.href) ? "page" : undefined}>
                    {n.label}
                  </Link>
                </li>
              ),
            )}
          </ul>
        </nav>
        <div className="who">
          <span>
            {session.team.name} · {session.role} key <code>{session.key.prefix}…</code>
          </span>
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="loading">Loading…</p>}>
          <Page path={path} query={query} session={session} />
        </Suspense>
      </main>
    </>
  );
}

function Page({ path, query, session }: { path: string; query: URLSearchParams; session: Session }) {
  const job = match("/jobs/:id", path);
  const model = match("/registry/:model", path);
  if (path === "/jobs") return <Jobs session={session} />;
  if (job) return <JobDetail id={job.id} session={session} />;
  if (path === "/registry") return <Registry />;
  if (model)
    return (
      <ModelPage modelId={model.model} versionId={query.get("version") ?? undefined} session={session} />
    );
  if (path === "/compare") return <Compare query={query} />;
  if (path === "/playground") return <Playground />;
  if (path === "/submit") return <Submit />;
  if (path === "/admin")
    return session.role === "admin" ? (
      <Admin session={session} />
    ) : (
      <section>
        <h1>Team admin</h1>
        <p role="alert">Team admin needs an admin key; you are signed in with a member key.</p>
      </section>
    );
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link href="/jobs">Go to the jobs</Link>.
      </p>
    </section>
  );
}
