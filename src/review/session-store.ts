import type { Queryable } from "../db/database.ts";

/** A stored review-page session; the token is sealed. */
export interface SessionRow {
  id_hash: string;
  login: string;
  user_id: number;
  sealed_token: string;
  created_at: Date;
  expires_at: Date;
}

export async function insertSession(db: Queryable, row: SessionRow): Promise<void> {
  await db.query(
    `INSERT INTO review_sessions (id_hash, login, user_id, sealed_token, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [row.id_hash, row.login, row.user_id, row.sealed_token, row.created_at, row.expires_at],
  );
}

/** The session with this id hash, if it has not expired; an expired one is deleted, token and all. */
export async function findSession(db: Queryable, idHash: string, now: Date): Promise<SessionRow | undefined> {
  const [row] = await db.query<SessionRow & Record<string, unknown>>(
    "SELECT * FROM review_sessions WHERE id_hash = $1",
    [idHash],
  );
  if (!row) return undefined;
  if (row.expires_at.getTime() <= now.getTime()) {
    await deleteSession(db, idHash);
    return undefined;
  }
  return row;
}

export async function deleteSession(db: Queryable, idHash: string): Promise<void> {
  await db.query("DELETE FROM review_sessions WHERE id_hash = $1", [idHash]);
}

/** Delete every expired session with its sealed token; returns how many. */
export async function deleteExpiredSessions(db: Queryable, now: Date): Promise<number> {
  const rows = await db.query("DELETE FROM review_sessions WHERE expires_at <= $1 RETURNING id_hash", [now]);
  return rows.length;
}
