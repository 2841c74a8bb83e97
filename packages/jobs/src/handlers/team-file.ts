// A file of the team in the artifact store, named in a spec (retrain data, a calibration set): checked to be
// the team's own, then copied into the attempt's scratch folder.
import { extname, join } from "node:path";
import { type Ports, UserError } from "@shortened/contracts";

/** The local copy of `key`; `what` names the spec field in errors ("retrain data", "calibration"). */
export async function teamFileToLocal(
  key: string,
  ports: Ports,
  what: string,
  name: string,
): Promise<string> {
  if (!key.startsWith(`teams/${ports.context.teamId}/`) || key.includes(".."))
    throw new UserError("bad_request", `${what}: artifact ${key} is not a file of this team`);
  const found = (await ports.artifacts.list(key)).some((o) => o.key === key);
  if (!found) throw new UserError("not_found", `${what}: no artifact ${key}`);
  const path = join(ports.context.workDir, `${name}${extname(key) || ".txt"}`);
  await ports.artifacts.getToFile(key, path, ports.signal);
  return path;
}
