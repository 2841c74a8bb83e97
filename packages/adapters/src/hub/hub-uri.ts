// hf://org/name@revision: a model on the Hugging Face Hub (or the operator's mirror of it, HF_ENDPOINT) at a
// branch, tag or commit. Names are checked strictly here, so a URI can never steer a request anywhere but
// the configured endpoint's repository paths.
import { UserError } from "@shortened/contracts";

export interface HubRef {
  /** "org/name" */
  repo: string;
  /** A branch, a tag or a commit; "main" when the URI names none. */
  revision: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
export const COMMIT = /^[0-9a-f]{40}$/;

export const isHubUri = (uri: string): boolean => uri.startsWith("hf://");

function checkPart(uri: string, part: string, what: string): void {
  if (!PART.test(part) || part.includes(".."))
    throw new UserError("bad_request", `${uri}: "${part}" is not a Hub ${what} name`);
}

/** Parses hf://org/name[@revision]. */
export function parseHubUri(uri: string): HubRef {
  const m = /^hf:\/\/([^/@]+)\/([^/@]+)(?:@(.+))?$/.exec(uri);
  if (!m) throw new UserError("bad_request", `${uri} is not an hf://org/name@revision URI`);
  checkPart(uri, m[1], "organisation");
  checkPart(uri, m[2], "repository");
  const revision = m[3] ?? "main";
  if (!REVISION.test(revision) || revision.split("/").some((s) => s === "" || s === "." || s === ".."))
    throw new UserError("bad_request", `${uri}: "${revision}" is not a branch, tag or commit`);
  return { repo: `${m[1]}/${m[2]}`, revision };
}

export const hubUri = (repo: string, revision: string): string => `hf://${repo}@${revision}`;

/**
 * A Hub source as the tenancy lists hold it: "hf://" (the whole endpoint), "hf://org/" or "hf://org/name/".
 * A model URI matches a source when its "hf://org/name/" starts with the source.
 */
export function normalizeHubSource(uri: string): string {
  const m = /^hf:\/\/(?:([^/@]+)(?:\/([^/@]*))?)?\/?$/.exec(uri);
  if (!m) throw new UserError("bad_request", `${uri} is not hf://, hf://org/ or hf://org/name`);
  if (!m[1]) return "hf://";
  checkPart(uri, m[1], "organisation");
  if (!m[2]) return `hf://${m[1]}/`;
  checkPart(uri, m[2], "repository");
  return `hf://${m[1]}/${m[2]}/`;
}

/** The tenancy path of a model URI: "hf://org/name/". */
export const hubSourcePath = (ref: HubRef): string => `hf://${ref.repo}/`;
