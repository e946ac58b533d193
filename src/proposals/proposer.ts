/**
 * Who proposed something, as people read it: an agent token by its name and
 * display prefix ("release-bot (token agt_abcd)"), anyone else by login. The
 * stored author stays `token:agt_abcd`, which no GitHub login can equal, so a
 * token's name never stands for a person in approval rules.
 */
export function proposerLabel(author: string | null, details: unknown): { text: string; isLogin: boolean } {
  const name = details && typeof details === "object" ? (details as { token_name?: unknown }).token_name : undefined;
  if (author?.startsWith("token:")) {
    const prefix = author.slice("token:".length);
    return {
      text: typeof name === "string" && name !== prefix ? `${name} (token ${prefix})` : `token ${prefix}`,
      isLogin: false,
    };
  }
  return { text: author ?? "unknown", isLogin: author !== null };
}
