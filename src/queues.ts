import type { Database } from "./db/database.ts";

export interface QueueState {
  queue: "deliveries" | "github_writes";
  depth: number;
  oldestAgeSeconds: number;
  setAside: number;
}

/** Where the deliveries queue is read: depth, oldest queued time and items set aside. */
export type DeliveryQueue = () => Promise<{ depth: number; oldest: Date | null; setAside: number }>;

/**
 * GitHub writes: the outbox (queued = not done; set aside = given up after the
 * last attempt). Every replica reads the same table.
 */
async function githubWrites(db: Database): Promise<{ depth: number; oldest: Date | null; setAside: number }> {
  const [row] = await db.query<{ depth: number; oldest: Date | null; set_aside: number }>(
    `SELECT count(*) FILTER (WHERE done_at IS NULL)::int8 AS depth,
            min(created_at) FILTER (WHERE done_at IS NULL) AS oldest,
            count(*) FILTER (WHERE outcome = 'failed')::int8 AS set_aside
       FROM outbox`,
  );
  return { depth: row?.depth ?? 0, oldest: row?.oldest ? new Date(row.oldest) : null, setAside: row?.set_aside ?? 0 };
}

/**
 * Both queues in one place. `deliveries` reads the durable inbox (the server
 * passes it); without it the deliveries queue reads as empty.
 */
export async function queueStates(db: Database, now: Date, deliveries?: DeliveryQueue): Promise<QueueState[]> {
  const age = (oldest: Date | null) => (oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0);
  const writes = await githubWrites(db);
  const inbox = deliveries ? await deliveries() : { depth: 0, oldest: null, setAside: 0 };
  return [
    { queue: "deliveries", depth: inbox.depth, oldestAgeSeconds: age(inbox.oldest), setAside: inbox.setAside },
    { queue: "github_writes", depth: writes.depth, oldestAgeSeconds: age(writes.oldest), setAside: writes.setAside },
  ];
}
