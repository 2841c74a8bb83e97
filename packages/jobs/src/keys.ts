// Where things live in the artifact store. A job attempt writes only under its job's `out/` prefix, so
// a later attempt can delete what a dead one left there; resumable state lives under `state/`.
export const jobPrefix = (teamId: string, jobId: string) => `teams/${teamId}/jobs/${jobId}/`;
export const jobOutputPrefix = (teamId: string, jobId: string) => `${jobPrefix(teamId, jobId)}out/`;
export const jobStatePrefix = (teamId: string, jobId: string) => `${jobPrefix(teamId, jobId)}state/`;
export const checkpointPrefix = (teamId: string, jobId: string) =>
  `${jobOutputPrefix(teamId, jobId)}checkpoint/`;
export const modelUploadPrefix = (teamId: string, modelId: string) =>
  `teams/${teamId}/models/${modelId}/base/`;
