import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import { SetupError } from "./setup-error.ts";
import type { Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import type { GitHubFactory } from "../github/narrowed.ts";
import type { Settings } from "../config/settings.ts";
import { githubAvatars } from "./avatars.ts";
import type { OAuthSettings } from "./oauth.ts";
import { reviewPages, type Pages } from "./respond.ts";
import { Sessions } from "./session.ts";
import { pageSigner, type PageSigner } from "./signing.ts";

export interface ReviewDeps {
  db: Database;
  settings: Pick<Settings, "github" | "oauth">;
  now: () => Date;
  log: Logger;
  /** The app's public base URL (read when a request comes, as it may be known only once listening). */
  publicUrl: () => string;
  /** Installation clients, for the permission and config asked at decision time. */
  github: GitHubFactory;
  keyring?: Keyring;
}

/** What the page's handlers share, built once. Without a keyring the page cannot seal tokens or sign cookies. */
export interface ReviewContext {
  deps: ReviewDeps;
  signer: PageSigner | null;
  sessions: Sessions | null;
  github: { web: string; api: string };
  /** Pages with this app's headers (its CSP allows GitHub's avatars), frame and errors. */
  pages: Pages;
  secure: () => boolean;
  oauth: () => OAuthSettings;
  base: () => string;
}

export function reviewContext(deps: ReviewDeps): ReviewContext {
  const base = () => deps.publicUrl().replace(/\/+$/, "");
  const secure = () => base().startsWith("https:");
  const signer = deps.keyring ? pageSigner(deps.keyring) : null;
  const urls = deps.settings.github;
  const sessions =
    deps.keyring && signer ? new Sessions({ db: deps.db, keyring: deps.keyring, signer, now: deps.now, secure }) : null;
  const viewerOf = async (req: IncomingMessage) => {
    const session = sessions ? await sessions.current(req) : null;
    return session ? { login: session.login, csrf: session.csrf } : null;
  };
  return {
    deps,
    signer,
    sessions,
    github: urls,
    pages: reviewPages(deps.log, githubAvatars(urls), viewerOf),
    secure,
    base,
    oauth: () => {
      const { clientId, clientSecret } = deps.settings.oauth;
      if (!clientId || !clientSecret) {
        throw new SetupError(
          "sign_in_unconfigured",
          "GitHub sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to the GitHub App's client id and a client secret.",
        );
      }
      return { clientId, clientSecret, webUrl: urls.web };
    },
  };
}

/** The sessions, or a 503 saying what to configure. */
export function requireSessions(ctx: ReviewContext): { sessions: Sessions; signer: PageSigner } {
  if (!ctx.sessions || !ctx.signer) {
    throw new SetupError("keyring_missing", "The review page needs the keyring for its sessions: set AGENT_GATE_KEYS.");
  }
  return { sessions: ctx.sessions, signer: ctx.signer };
}
