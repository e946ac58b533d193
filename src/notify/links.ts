import { createHash, randomBytes } from "node:crypto";
import { appendAudit } from "../audit/log.ts";
import type { Database, Queryable } from "../db/database.ts";
import { GateError } from "../errors.ts";

/**
 * The owner of slack_links, slack_link_tokens and slack_replays: which
 * GitHub login a Slack user (team and user id) acts as, the one-time links
 * that join the two (10 minutes, bound to the Slack team and user, only the
 * SHA-256 stored), and the interaction requests already taken.
 */

export const LINK_SECONDS = 10 * 60;

const hash = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export async function linkedLogin(tx: Queryable, teamId: string, userId: string): Promise<string | undefined> {
  const [row] = await tx.query<{ github_login: string }>(
    "SELECT github_login FROM slack_links WHERE team_id = $1 AND user_id = $2",
    [teamId, userId],
  );
  return row?.github_login;
}

/** A fresh one-time link token for this Slack user of this installation. */
export async function issueLinkToken(
  tx: Queryable,
  installationId: number,
  teamId: string,
  userId: string,
  now: Date,
): Promise<string> {
  const token = randomBytes(24).toString("base64url");
  await tx.query(
    "INSERT INTO slack_link_tokens (token_hash, installation_id, team_id, user_id, expires_at) VALUES ($1, $2, $3, $4, $5)",
    [hash(token), installationId, teamId, userId, new Date(now.getTime() + LINK_SECONDS * 1000)],
  );
  return token;
}

export interface LinkRequest {
  installationId: number;
  teamId: string;
  userId: string;
}

/** The live, unused link a token names (read before any tenant is known), or undefined. */
export async function findLinkToken(db: Database, token: string, now: Date): Promise<LinkRequest | undefined> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(token)) return undefined;
  const [row] = await db.query<{ installation_id: number; team_id: string; user_id: string }>(
    "SELECT installation_id, team_id, user_id FROM slack_link_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    [hash(token), now],
  );
  return row ? { installationId: Number(row.installation_id), teamId: row.team_id, userId: row.user_id } : undefined;
}

/**
 * Use the link once: the Slack user now acts as `login` (signed in with
 * GitHub as `userId`) in this installation; audited as `slack.linked`.
 */
export async function redeemLinkToken(
  db: Database,
  token: string,
  github: { login: string; id: number },
  now: Date,
): Promise<LinkRequest> {
  const link = await findLinkToken(db, token, now);
  if (!link)
    throw new GateError(
      "link_invalid",
      "This link is used, expired or unknown. Click Approve or Reject in Slack again for a new one.",
      { status: 410 },
    );
  await db.tenant(link.installationId, async (tx) => {
    const used = await tx.query(
      "UPDATE slack_link_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING token_hash",
      [hash(token), now],
    );
    if (used.length === 0)
      throw new GateError("link_invalid", "This link was just used. Click in Slack again for a new one.", {
        status: 410,
      });
    await tx.query(
      `INSERT INTO slack_links (installation_id, team_id, user_id, github_login, github_user_id, linked_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (installation_id, team_id, user_id) DO UPDATE SET github_login = EXCLUDED.github_login, github_user_id = EXCLUDED.github_user_id, linked_at = EXCLUDED.linked_at`,
      [link.installationId, link.teamId, link.userId, github.login, github.id, now],
    );
    await appendAudit(
      tx,
      link.installationId,
      { action: "slack.linked", outcome: "ok", actor: github.login, subject: `slack:${link.teamId}`, data: {} },
      now,
    );
  });
  return link;
}

/** Take an interaction request once: false when the same timestamp and signature were taken before (a replay). */
export async function takeRequestOnce(db: Database, timestamp: string, signature: string, now: Date): Promise<boolean> {
  await db.query("DELETE FROM slack_replays WHERE seen_at < $1", [new Date(now.getTime() - 2 * 3600_000)]);
  const rows = await db.query(
    "INSERT INTO slack_replays (request_hash, seen_at) VALUES ($1, $2) ON CONFLICT (request_hash) DO NOTHING RETURNING request_hash",
    [hash(`${timestamp}:${signature}`), now],
  );
  return rows.length > 0;
}
