import type { Database } from "../db/database.ts";

/** What GitHub last answered 200 to one request with one token: its ETag, the headers a caller reads again (link, content type) and the body as sent. */
export interface EtagEntry {
  etag: string;
  headers: Record<string, string>;
  data: unknown;
}

/** Where conditional reads keep their answers (per installation; `key` already names the request and the token). */
export interface EtagStore {
  get(installationId: number, key: string): Promise<EtagEntry | undefined>;
  put(installationId: number, key: string, entry: EtagEntry): Promise<void>;
}

/** Rows kept per installation: past this, the least recently used are pruned. */
export const ETAG_ROWS_PER_INSTALLATION = 5000;
/** Entries kept in a process's memory per installation. */
export const MEMORY_ROWS_PER_INSTALLATION = 1000;
/** A body larger than this is not kept: it is read again in full. */
export const ETAG_MAX_BODY_CHARS = 1_000_000;
/** An entry read is marked used again only when its mark is older than this. */
const TOUCH_AFTER_MS = 10 * 60_000;
/** Prune an installation's rows once every this many stored answers. */
const PRUNE_EVERY = 200;

/**
 * The answers in PostgreSQL (or PGlite), shared by every replica, under row
 * level security by installation. Reading an entry marks it used; storing one
 * now and then prunes the installation's least recently used rows down to
 * `maxRows`.
 */
export function databaseEtagStore(db: Database, options: { now?: () => Date; maxRows?: number } = {}): EtagStore {
  const now = options.now ?? (() => new Date());
  const maxRows = options.maxRows ?? ETAG_ROWS_PER_INSTALLATION;
  let stored = 0;
  return {
    async get(installationId, key) {
      const [row] = await db.tenant(installationId, (tx) =>
        tx.query<{ etag: string; headers: Record<string, string>; body: string; used_at: Date }>(
          "SELECT etag, headers, body, used_at FROM github_etags WHERE installation_id = $1 AND key = $2",
          [installationId, key],
        ),
      );
      if (!row) return undefined;
      // Marked used at most every few minutes: a read stays a read.
      if (now().getTime() - new Date(row.used_at).getTime() > TOUCH_AFTER_MS) {
        await db.tenant(installationId, (tx) =>
          tx.query("UPDATE github_etags SET used_at = $3 WHERE installation_id = $1 AND key = $2", [
            installationId,
            key,
            now(),
          ]),
        );
      }
      return { etag: row.etag, headers: row.headers, data: JSON.parse(row.body) as unknown };
    },
    async put(installationId, key, entry) {
      const body = JSON.stringify(entry.data ?? null);
      if (body.length > ETAG_MAX_BODY_CHARS || entry.etag.length > 200) return;
      stored += 1;
      const prune = stored % PRUNE_EVERY === 0;
      await db.tenant(installationId, async (tx) => {
        await tx.query(
          `INSERT INTO github_etags (installation_id, key, etag, headers, body, used_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (installation_id, key) DO UPDATE SET etag = EXCLUDED.etag, headers = EXCLUDED.headers, body = EXCLUDED.body, used_at = EXCLUDED.used_at`,
          [installationId, key, entry.etag, JSON.stringify(entry.headers), body, now()],
        );
        if (prune) {
          await tx.query(
            `DELETE FROM github_etags WHERE installation_id = $1 AND key IN (
               SELECT key FROM github_etags WHERE installation_id = $1 ORDER BY used_at DESC OFFSET $2)`,
            [installationId, maxRows],
          );
        }
      });
    },
  };
}

/** The answers in this process's memory, at most `maxRows` per installation (tests, and a client made without a database). */
export function memoryEtagStore(maxRows = MEMORY_ROWS_PER_INSTALLATION): EtagStore {
  const installations = new Map<number, Map<string, string>>();
  return {
    async get(installationId, key) {
      const rows = installations.get(installationId);
      const text = rows?.get(key);
      if (!rows || text === undefined) return undefined;
      rows.delete(key);
      rows.set(key, text);
      return JSON.parse(text) as EtagEntry;
    },
    async put(installationId, key, entry) {
      const text = JSON.stringify(entry);
      if (text.length > ETAG_MAX_BODY_CHARS) return;
      let rows = installations.get(installationId);
      if (!rows) installations.set(installationId, (rows = new Map()));
      rows.delete(key);
      rows.set(key, text);
      while (rows.size > maxRows) rows.delete(rows.keys().next().value!);
    },
  };
}

/**
 * This process's memory in front of the database: an answer this process
 * kept or found is served from memory (still only on GitHub's 304); the
 * database is asked on a miss, and every answer is written through to it for
 * the other replicas.
 */
export function layeredEtagStore(near: EtagStore, far: EtagStore): EtagStore {
  return {
    async get(installationId, key) {
      const hit = await near.get(installationId, key);
      if (hit) return hit;
      const found = await far.get(installationId, key);
      if (found) await near.put(installationId, key, found);
      return found;
    },
    async put(installationId, key, entry) {
      await near.put(installationId, key, entry);
      await far.put(installationId, key, entry);
    },
  };
}
