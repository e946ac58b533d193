/**
 * Errors the Action renders with core.setFailed. `message` is what the user
 * reads; `cause` keeps what went wrong underneath.
 */
export class ActionError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** An answer from the app that is not a success. */
export class ApiError extends ActionError {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.status = status;
    this.code = code;
  }

  /** Worth asking again: the app or a proxy in front of it was unavailable. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

/** The request never got an HTTP answer (refused, reset, DNS, timed out). */
export class NetworkError extends ActionError {}

/** Renders any thrown value, Error or not, as a message for setFailed. */
export function failureMessage(thrown: unknown): string {
  if (thrown instanceof ActionError) return thrown.message;
  if (thrown instanceof Error) return `Unexpected error: ${thrown.message || thrown.name}`;
  let text: string;
  try {
    text = typeof thrown === "string" ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    text = String(thrown);
  }
  return `Unexpected failure: ${text}`;
}
