import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { claimDeliveries } from "../../src/webhooks/inbox.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

// The processor's claim: the oldest open delivery of each subject, ready
// (no retry pending, no live lease), oldest first. It reads the front of the
// queue first and the whole queue only when the front has nothing ready.

const NOW = new Date("2026-12-01T12:00:00Z");
const LATER = new Date(NOW.getTime() + 60_000);

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});
beforeEach(async () => {
  await t.db.query("DELETE FROM webhook_inbox");
});

/** `count` deliveries of `subject`, in arrival order. */
async function queue(subject: string, count: number, first = 0): Promise<void> {
  await t.db.query(
    `INSERT INTO webhook_inbox (app_id, delivery_id, event, subject, payload, received_at)
     SELECT 1, $1 || '-' || g, 'pull_request_review', $1, '{}', $2 FROM generate_series($3::int, $4::int) g`,
    [subject, NOW, first + 1, first + count],
  );
}

const claim = (limit: number, holder = "p1") => claimDeliveries(t.db, { now: NOW, leaseMs: 30_000, holder, limit });

describe("claiming deliveries from the inbox", () => {
  it("takes the oldest delivery of each subject, oldest first, and never a second of a subject in flight", async () => {
    await queue("pull:a#1", 3);
    await queue("pull:a#2", 2);
    const first = await claim(8);
    expect(first.map((r) => r.delivery_id)).toEqual(["pull:a#1-1", "pull:a#2-1"]);
    expect(first.every((r) => r.attempts === 1)).toBe(true);
    // Both heads are leased: nothing else is ready until one is processed.
    expect(await claim(8, "p2")).toEqual([]);
    await t.db.query("UPDATE webhook_inbox SET processed_at = $1 WHERE delivery_id = 'pull:a#1-1'", [NOW]);
    expect((await claim(8, "p2")).map((r) => r.delivery_id)).toEqual(["pull:a#1-2"]);
  });

  it("finds a ready subject behind a long run of one subject waiting for its retry", async () => {
    // 300 deliveries of one pull request, its head waiting for a retry: more than the front a claim reads first.
    await queue("pull:busy#1", 300);
    await t.db.query(
      "UPDATE webhook_inbox SET run_after = $1, attempts = 1, last_error = 'GitHub answered 502' WHERE delivery_id = 'pull:busy#1-1'",
      [LATER],
    );
    await queue("pull:quiet#2", 1);
    const rows = await claim(8);
    expect(rows.map((r) => r.delivery_id)).toEqual(["pull:quiet#2-1"]);
    // Once the retry is due, the busy subject's head comes first again, and only it.
    const due = await claimDeliveries(t.db, {
      now: new Date(LATER.getTime() + 1),
      leaseMs: 30_000,
      holder: "p1",
      limit: 8,
    });
    expect(due.map((r) => r.delivery_id)).toEqual(["pull:busy#1-1"]);
  });

  it("skips a set-aside delivery: its subject goes on with the next one", async () => {
    await queue("pull:c#3", 2);
    await t.db.query("UPDATE webhook_inbox SET set_aside_at = $1 WHERE delivery_id = 'pull:c#3-1'", [NOW]);
    expect((await claim(8)).map((r) => r.delivery_id)).toEqual(["pull:c#3-2"]);
  });

  it("gives each delivery to one of two claimers at once", async () => {
    for (let s = 0; s < 40; s += 1) await queue(`pull:d#${s}`, 2);
    const [a, b] = await Promise.all([claim(30, "p1"), claim(30, "p2")]);
    const ids = [...a!, ...b!].map((r) => r.delivery_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(40);
    expect(ids.every((id) => id.endsWith("-1"))).toBe(true);
  });
});
