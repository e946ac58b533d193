import { GateError } from "../errors.ts";

const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Whether an error means the database did not answer (try again later), rather than that it refused something. */
export function isUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (NETWORK.has(code) || code.startsWith("08") || code === "57P03")) return true;
    const inner = (e as { errors?: unknown }).errors; // AggregateError (several addresses tried)
    if (Array.isArray(inner) && inner.some(isUnreachable)) return true;
    if (e instanceof Error && /Connection terminated|timeout expired/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Run `open` (connect, migrate); an unreachable database becomes a 503
 * GateError, which the CLI exits 3 on, as documented. Other errors pass as they are.
 */
export async function openOrUnavailable<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    throw new GateError(
      "database_unavailable",
      `The database did not answer (${(error as Error).message}); check DATABASE_URL and that PostgreSQL is running, then try again.`,
      { status: 503, cause: error },
    );
  }
}
