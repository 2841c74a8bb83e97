// Where things live in the artifact store. Attempt N of a job writes only under its job's `out/aN/`, so
// a failed attempt deletes exactly its own objects (never a newer attempt's) and a later attempt can
// delete what dead ones left under `out/`; resumable state lives under `state/`.
export const jobPrefix = (teamId: string, jobId: string) => `teams/${teamId}/jobs/${jobId}/`;
export const jobOutputPrefix = (teamId: string, jobId: string) => `${jobPrefix(teamId, jobId)}out/`;
export const jobStatePrefix = (teamId: string, jobId: string) => `${jobPrefix(teamId, jobId)}state/`;
export const attemptOutputPrefix = (teamId: string, jobId: string, attempt: number) =>
  `${jobOutputPrefix(teamId, jobId)}a${attempt}/`;
export const checkpointPrefix = (teamId: string, jobId: string, attempt: number) =>
  `${attemptOutputPrefix(teamId, jobId, attempt)}checkpoint/`;
export const modelUploadPrefix = (teamId: string, modelId: string) =>
  `teams/${teamId}/models/${modelId}/base/`;
/** The teacher top-K caches of a team's distillations (one object per teacher version, rows and K). */
export const teacherCachePrefix = (teamId: string) => `teams/${teamId}/teacher-cache/`;
