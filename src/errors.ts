/**
 * A promise started early so that it runs beside other reads, and awaited later where its rejection is
 * handled. Until then Node would report a rejection as unhandled and end the process; this marks it as
 * handled without hiding it: the caller still awaits the same promise and meets the same error.
 */
export function awaitedLater(promise: Promise<unknown>): void {
  promise.catch(handledWhereAwaited);
}

function handledWhereAwaited(): void {
  // The rejection reaches the caller that awaits the promise; see awaitedLater.
}

/**
 * One error hierarchy. Each error carries a message a user can act on and keeps
 * its cause; only the edges (check-run text, HTTP response, CLI stderr, the
 * Action's setFailed) render it.
 */
export class GateError extends Error {
  /** Stable machine-readable code, safe to show to callers. */
  readonly code: string;
  /** HTTP status the API answers with when this error reaches it. */
  readonly status: number;

  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
  }
}

/** Input that does not match what is expected; names each field at fault. */
export class ValidationError extends GateError {
  readonly issues: { field: string; message: string }[];

  constructor(issues: { field: string; message: string }[], options: { status?: number } = {}) {
    super("invalid_request", issues.map((issue) => `${issue.field}: ${issue.message}`).join("; "), {
      status: options.status ?? 400,
    });
    this.issues = issues;
  }
}

/** The caller is not authenticated. Always the same message, whatever the reason. */
export class UnauthorizedError extends GateError {
  constructor(cause?: unknown) {
    super("unauthorized", "A valid bearer token is required.", { status: 401, cause });
  }
}

/** The resource does not exist, or the caller may not know that it exists. */
export class NotFoundError extends GateError {
  constructor(what: string) {
    super("not_found", `${what} was not found.`, { status: 404 });
  }
}

/** The request conflicts with the state of the resource (redeemed, expired, digest mismatch). */
export class ConflictError extends GateError {
  constructor(code: string, message: string) {
    super(code, message, { status: 409 });
  }
}

/** Storage or GitHub failed; the gate stays closed and the caller may retry. */
export class UnavailableError extends GateError {
  constructor(message: string, cause?: unknown) {
    super("unavailable", message, { status: 503, cause });
  }
}

export function isGateError(error: unknown): error is GateError {
  return error instanceof GateError;
}
