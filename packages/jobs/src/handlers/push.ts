// push: the job's input version published to the Hugging Face Hub (../hub-push.ts): its files staged (the
// worker's cached copy, else a copy in the attempt's scratch folder, removed with it), then one commit with a
// model card. Progress is the bytes sent, file by file; the result is the commit. A retry after the commit
// landed finds it and makes no second one.
import { join } from "node:path";
import { UserError } from "@shortened/contracts";
import type { Handler } from "./types.js";

export const push: Handler<"push"> = async (spec, ports) => {
  const { input, workDir } = ports.context;
  if (!ports.hub) throw new UserError("bad_request", "this process cannot push to the Hub (no registry)");
  ports.progress.progress(0, "staging the version's files");
  const dir = ports.checkpoints.stage
    ? await ports.checkpoints.stage(input, join(workDir, "stage"), ports.signal)
    : await ports.checkpoints.materialize(input, ports.signal);
  ports.signal.throwIfAborted();
  let logged = 0;
  const r = await ports.hub.push(
    input,
    dir,
    { repo: spec.repo, private: spec.private, tokenSecret: spec.tokenSecret },
    {
      workDir: join(workDir, "push"),
      signal: ports.signal,
      onProgress: (p) => {
        ports.progress.progress(0.05 + 0.9 * (p.totalBytes ? p.bytes / p.totalBytes : 1), `push ${p.file}`, {
          step: p.filesDone,
          totalSteps: p.files,
          phase: "push",
        });
        if (p.filesDone > logged) {
          logged = p.filesDone;
          ports.progress.log(`push: ${p.filesDone}/${p.files} files, ${p.bytes} of ${p.totalBytes} bytes`);
        }
      },
    },
  );
  ports.progress.log(
    r.committed
      ? `push: commit ${r.commit} on ${r.repo}`
      : `push: ${r.repo} already holds these files at ${r.commit}; no new commit`,
  );
  return { artifacts: [], metrics: [], summary: { ...r } };
};
