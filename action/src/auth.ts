import type { Clock } from "./clock.ts";
import { ActionError } from "./errors.ts";

/** GitHub's Actions OIDC tokens are short-lived; ask for a fresh one this often. */
const OIDC_REFRESH_MS = 4 * 60_000;

/**
 * The bearer token for each request: the agent token when one is given,
 * otherwise a GitHub Actions OIDC token for `audience`, refreshed while the
 * step waits.
 */
export function bearerSource(
  token: string | undefined,
  audience: string,
  getIDToken: (audience: string) => Promise<string>,
  clock: Clock,
): () => Promise<string> {
  if (token !== undefined) return async () => token;
  let cached: { value: string; at: number } | undefined;
  return async () => {
    if (cached && clock.now() - cached.at < OIDC_REFRESH_MS) return cached.value;
    try {
      cached = { value: await getIDToken(audience), at: clock.now() };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ActionError(
        `Could not get a GitHub OIDC token for audience '${audience}' (${reason}): give the job \`permissions: id-token: write\`, or set the token input`,
        { cause },
      );
    }
    return cached.value;
  };
}
