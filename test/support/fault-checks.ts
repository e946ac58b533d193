import { readAudit } from "../../src/audit/log.ts";
import { GENESIS_HASH, verifyChain, type AuditEvent } from "../../src/audit/chain.ts";
import type { Database } from "../../src/db/database.ts";
import { inboxDrained } from "./inbox.ts";

// What every fault test checks in the end: the installation's whole audit
// chain, read back and verified, and deliveries sent many at a time.

export interface Chain {
  events: AuditEvent[];
  /** null when the chain verifies; otherwise what is wrong with it. */
  broken: ReturnType<typeof verifyChain>;
  of(action: string, outcome?: string): AuditEvent[];
}

export async function chainOf(db: Database, installationId: number): Promise<Chain> {
  const events = await db.tenant(installationId, (tx) => readAudit(tx, installationId, 0, 1_000_000));
  return {
    events,
    broken: verifyChain(events, GENESIS_HASH),
    of: (action, outcome) =>
      events.filter((e) => e.action === action && (outcome === undefined || e.outcome === outcome)),
  };
}

export type Sent = { status: number; body: string; ms: number } | { error: string; ms: number };

/** Send `count` requests, `concurrency` at a time, in index order; never throws: a refused connection is a result. */
export async function sendMany(
  count: number,
  concurrency: number,
  send: (i: number) => Promise<Response>,
  stop: () => boolean = () => false,
): Promise<(Sent | undefined)[]> {
  const results: (Sent | undefined)[] = Array(count).fill(undefined);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !stop()) {
        const i = next++;
        const t0 = performance.now();
        try {
          const res = await send(i);
          results[i] = { status: res.status, body: await res.text(), ms: performance.now() - t0 };
        } catch (error) {
          results[i] = { error: String(error), ms: performance.now() - t0 };
        }
      }
    }),
  );
  return results;
}

export const statusOf = (sent: Sent | undefined): number | undefined =>
  sent && "status" in sent ? sent.status : undefined;

/** Wait until an app process has processed every acknowledged delivery and performed every queued GitHub write. */
export async function outboxDrained(db: Database, timeoutMs = 30_000): Promise<void> {
  await inboxDrained(db, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM outbox WHERE done_at IS NULL");
    if (row?.n === 0) return;
    if (Date.now() > deadline) throw new Error(`the outbox still holds ${row?.n} jobs after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Wait until GET url answers `status`. */
export async function answers(url: string, status: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url).catch(() => null);
    await res?.arrayBuffer();
    if (res?.status === status) return;
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${res?.status ?? "no answer"})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
