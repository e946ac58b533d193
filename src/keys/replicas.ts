import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Database } from "../db/database.ts";
import type { Logger } from "pino";
import type { Keyring } from "../crypto/keyring.ts";
import { startLoop } from "../loop.ts";

/** A replica not seen for this long is taken as gone. */
export const REPLICA_STALE_MS = 30_000;
/** How often a replica says it is alive. */
export const REPLICA_BEAT_MS = 10_000;

export interface Replica {
  replica_id: string;
  host: string;
  pid: number;
  key_ids: string[];
  current_key: string;
  seen_at: Date;
}

/** Record (or refresh) that this replica runs with these key ids. */
export async function beat(db: Database, replicaId: string, keyring: Keyring, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO replica_keys (replica_id, host, pid, key_ids, current_key, seen_at) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (replica_id) DO UPDATE SET key_ids = EXCLUDED.key_ids, current_key = EXCLUDED.current_key, seen_at = EXCLUDED.seen_at`,
    [replicaId, hostname(), process.pid, [...keyring.keys.keys()].sort(), keyring.current.id, now],
  );
}

/** Replicas seen within REPLICA_STALE_MS of `now`. */
export async function liveReplicas(db: Database, now: Date): Promise<Replica[]> {
  return db.query<Replica & Record<string, unknown>>(
    "SELECT replica_id, host, pid, key_ids, current_key, seen_at FROM replica_keys WHERE seen_at > $1 ORDER BY replica_id",
    [new Date(now.getTime() - REPLICA_STALE_MS)],
  );
}

/** Live replicas whose keyring lacks `kid`: rotating to it now would leave them unable to open what is re-sealed. */
export async function replicasWithout(db: Database, kid: string, now: Date): Promise<Replica[]> {
  return (await liveReplicas(db, now)).filter((replica) => !replica.key_ids.includes(kid));
}

/** How a replica is named to an operator. */
export function describeReplica(replica: Replica): string {
  return `${replica.replica_id} (host ${replica.host}, pid ${replica.pid}, keys ${replica.key_ids.join(", ")})`;
}

/**
 * Beats now and every REPLICA_BEAT_MS; stop() removes the row, so a replica
 * shut down cleanly stops counting at once. A failed first beat refuses the
 * start; a later one is logged and counted, and the next one tries again.
 */
export async function startReplicaHeartbeat(
  db: Database,
  keyring: Keyring,
  o: { now: () => Date; log: Logger; everyMs?: number },
): Promise<{ id: string; stop(): Promise<void> }> {
  const id = `replica-${randomBytes(6).toString("hex")}`;
  await beat(db, id, keyring, o.now());
  const loop = startLoop(
    "replica heartbeat",
    () => beat(db, id, keyring, o.now()),
    o.everyMs ?? REPLICA_BEAT_MS,
    o.log,
  );
  return {
    id,
    async stop() {
      await loop.stop();
      await db
        .query("DELETE FROM replica_keys WHERE replica_id = $1", [id])
        .catch((error: unknown) => o.log.error({ err: error }, "removing this replica's heartbeat row failed"));
    },
  };
}
