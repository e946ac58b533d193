const BOT_SUFFIX = "[bot]";

/** A login normalised for comparison: lower case, without the "[bot]" suffix. */
export function normalizeLogin(login: string): string {
  const lower = login.trim().toLowerCase();
  return lower.endsWith(BOT_SUFFIX) ? lower.slice(0, -BOT_SUFFIX.length) : lower;
}

/** Whether two logins name the same account ("my-agent" matches "My-Agent[bot]"). */
export function sameLogin(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  return normalizeLogin(a) === normalizeLogin(b);
}

/** Whether an account is a bot: GitHub type "Bot", or a login ending in "[bot]". */
export function isBotAccount(login: string, type: string): boolean {
  return type === "Bot" || login.trim().toLowerCase().endsWith(BOT_SUFFIX);
}

/** Whether an account can never approve a proposer's change, whatever its permission: the proposer, or a bot. */
export function neverApproves(login: string, type: string, proposer: string | null | undefined): boolean {
  return sameLogin(login, proposer) || isBotAccount(login, type);
}
