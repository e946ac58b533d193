import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { openText, seal, type Keyring } from "../crypto/keyring.ts";
import type { Database } from "../db/database.ts";
import { GateError } from "../errors.ts";
import { cookieHeader, readCookies } from "./cookies.ts";
import { deleteExpiredSessions, deleteSession, findSession, insertSession } from "./session-store.ts";
import type { PageSigner } from "./signing.ts";

/** A session lasts 8 hours at most (and no longer than GitHub's token). */
export const SESSION_SECONDS = 8 * 60 * 60;
export const SESSION_PURPOSE = "review_session";

export interface ReviewSession {
  idHash: string;
  login: string;
  userId: number;
  /** The user's GitHub token, opened from its sealed form for this request only. */
  token: string;
  /** The CSRF token every form of this session carries. */
  csrf: string;
  expiresAt: Date;
}

export interface SessionDeps {
  db: Database;
  keyring: Keyring;
  signer: PageSigner;
  now: () => Date;
  /** True when the app is served over HTTPS: cookies are then Secure and __Host- prefixed. */
  secure: () => boolean;
}

function hashId(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex");
}

/**
 * Review-page sessions: a random id in a signed, HttpOnly, SameSite=Lax
 * cookie; in the database only the id's SHA-256 and the user's token sealed
 * to that row. Lax (not Strict) so the link on a check run arrives signed in;
 * POSTs also need the session's CSRF token.
 */
export class Sessions {
  constructor(private readonly deps: SessionDeps) {}

  get cookieName(): string {
    return this.deps.secure() ? "__Host-agent_gate_session" : "agent_gate_session";
  }

  csrfFor(idHash: string): string {
    return this.deps.signer.sign("csrf", idHash);
  }

  csrfValid(session: ReviewSession, presented: string | null | undefined): boolean {
    return (
      typeof presented === "string" &&
      presented.length > 0 &&
      this.deps.signer.verify("csrf", session.idHash, presented)
    );
  }

  /** Store a new session and return its Set-Cookie header. */
  async start(user: { login: string; id: number }, token: string, tokenSeconds: number | null): Promise<string> {
    const now = this.deps.now();
    const seconds = Math.min(SESSION_SECONDS, tokenSeconds && tokenSeconds > 0 ? tokenSeconds : SESSION_SECONDS);
    const id = randomBytes(32).toString("base64url");
    const idHash = hashId(id);
    const sealed = seal(this.deps.keyring, { purpose: SESSION_PURPOSE, rowId: idHash, installationId: 0 }, token);
    await this.deps.db.transaction(async (tx) => {
      await deleteExpiredSessions(tx, now);
      await insertSession(tx, {
        id_hash: idHash,
        login: user.login,
        user_id: user.id,
        sealed_token: sealed,
        created_at: now,
        expires_at: new Date(now.getTime() + seconds * 1000),
      });
    });
    return this.cookie(`${id}.${this.deps.signer.sign("session", id)}`, seconds);
  }

  /** The request's live session, or null: no cookie, a bad signature, unknown or expired. */
  async current(req: IncomingMessage): Promise<ReviewSession | null> {
    const value = readCookies(req).get(this.cookieName);
    const [id, mac, extra] = (value ?? "").split(".");
    if (!id || !mac || extra !== undefined || !this.deps.signer.verify("session", id, mac)) return null;
    const idHash = hashId(id);
    const row = await findSession(this.deps.db, idHash, this.deps.now());
    if (!row) return null;
    let token: string;
    try {
      token = openText(
        this.deps.keyring,
        { purpose: SESSION_PURPOSE, rowId: idHash, installationId: 0 },
        row.sealed_token,
      );
    } catch (error) {
      // Sealed under a key this process does not hold, or not this row's: no session, and the row goes.
      if (!(error instanceof GateError) || error.code !== "sealed_value_mismatch") throw error;
      await deleteSession(this.deps.db, idHash);
      return null;
    }
    return {
      idHash,
      login: row.login,
      userId: row.user_id,
      token,
      csrf: this.csrfFor(idHash),
      expiresAt: row.expires_at,
    };
  }

  /** Delete the session (and its sealed token); returns the Set-Cookie header that clears the cookie. */
  async end(session: Pick<ReviewSession, "idHash"> | null): Promise<string> {
    if (session) await deleteSession(this.deps.db, session.idHash);
    return this.cookie("", 0);
  }

  private cookie(value: string, maxAge: number): string {
    return cookieHeader(this.cookieName, value, { maxAge, path: "/", secure: this.deps.secure(), sameSite: "Lax" });
  }
}
