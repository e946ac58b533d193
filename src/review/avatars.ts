import { isIP } from "node:net";

/** Where a GitHub user's picture is, by login; null for what is not a login (a token, a bot). */
export interface Avatars {
  url(login: string): string | null;
  /** The origins those pictures come from: all the page's img-src allows beyond the app itself. */
  sources: readonly string[];
}

/** A GitHub login: letters, digits and single hyphens, not at either end, at most 39 characters. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

/**
 * GitHub's avatars, from the same web address as every other GitHub link of
 * the app: github.com's avatar host, or an Enterprise Server's `/<login>.png`,
 * which redirects to its avatars (at `/avatars/` on the host, or at
 * `avatars.<host>` with subdomain isolation, which needs a host name, not an
 * IP address). The request carries the login and nothing else: the page
 * sends no referrer.
 */
export function githubAvatars(urls: { web: string; enterprise: boolean }): Avatars {
  if (!urls.enterprise) {
    return {
      url: (login) =>
        LOGIN.test(login) ? `https://avatars.githubusercontent.com/${encodeURIComponent(login)}?s=40` : null,
      sources: ["https://avatars.githubusercontent.com"],
    };
  }
  const web = new URL(urls.web);
  const host = web.hostname.replace(/^\[|\]$/g, "");
  const isolated = isIP(host) === 0 ? [`${web.protocol}//avatars.${web.host}`] : [];
  return {
    url: (login) => (LOGIN.test(login) ? `${web.origin}/${encodeURIComponent(login)}.png?size=40` : null),
    sources: [web.origin, ...isolated],
  };
}
