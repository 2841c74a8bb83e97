// One error type for bad input, shared by every layer: the CLI turns it into exit code 2 with one line
// on stderr, the API into HTTP 4xx with the error shape, the worker into a failed job with a reason
// (and no retry, because retrying bad input cannot help).

export type UserErrorCode =
  | "bad_request"
  | "invalid_checkpoint"
  | "unsupported_model"
  | "invalid_blocks"
  | "output_exists"
  | "invalid_data"
  | "not_found"
  | "conflict"
  | "unauthorized"
  | "forbidden"
  | "payload_too_large"
  | "unsupported_media_type"
  | "cancelled"
  | "rate_limited"
  | "promotion_refused"
  | "incomparable"
  | "invalid_webhook_url"
  | "source_not_allowed"
  | "hub_unauthorized"
  | "hub_gated"
  | "hub_not_found"
  | "hub_integrity"
  | "hub_unavailable";

export class UserError extends Error {
  readonly code: UserErrorCode;
  readonly status: number;
  constructor(code: UserErrorCode, message: string, status = 400) {
    super(message);
    this.name = "UserError";
    this.code = code;
    this.status = status;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError || (e instanceof Error && e.name === "UserError" && "code" in e);
}
