import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit, readAudit } from "../../src/audit/log.ts";
import { verifyChain, GENESIS_HASH } from "../../src/audit/chain.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const now = new Date("2026-11-23T10:00:00.000Z");

describe("audit log", () => {
  it("chains events per installation from the genesis hash", async () => {
    await t.db.tenant(101, (tx) => appendAudit(tx, 101, { action: "test.one", outcome: "ok" }, now));
    await t.db.tenant(101, (tx) => appendAudit(tx, 101, { action: "test.two", outcome: "ok", data: { n: 2 } }, now));
    const events = await t.db.tenant(101, (tx) => readAudit(tx, 101));
    expect(events.map((event) => event.seq)).toEqual([1, 2]);
    expect(events[0]?.prev_hash).toBe(GENESIS_HASH);
    expect(events[0]?.created_at).toBe(now.toISOString());
    expect(verifyChain(events, GENESIS_HASH)).toBeNull();
  });

  it("leaves one unbroken chain after 50 concurrent appends", async () => {
    const second = backendHandle();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? t.db : second).tenant(202, (tx) =>
          appendAudit(tx, 202, { action: "test.concurrent", outcome: "ok", data: { i } }, now),
        ),
      ),
    );
    const events = await t.db.tenant(202, (tx) => readAudit(tx, 202));
    expect(events).toHaveLength(50);
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(verifyChain(events, GENESIS_HASH)).toBeNull();
  });

  it("refuses UPDATE, DELETE and TRUNCATE as the app role", async () => {
    await t.db.tenant(303, (tx) => appendAudit(tx, 303, { action: "test.keep", outcome: "ok" }, now));
    for (const sql of [
      "UPDATE audit_events SET outcome = 'forged' WHERE installation_id = 303",
      "DELETE FROM audit_events WHERE installation_id = 303",
      "TRUNCATE audit_events",
    ]) {
      await expect(t.db.tenant(303, (tx) => tx.query(sql))).rejects.toThrow();
    }
    const events = await t.db.tenant(303, (tx) => readAudit(tx, 303));
    expect(events.map((event) => event.outcome)).toEqual(["ok"]);
  });

  it("refuses UPDATE, DELETE and TRUNCATE as the owner", async () => {
    for (const sql of [
      "UPDATE audit_events SET outcome = 'forged'",
      "DELETE FROM audit_events",
      "TRUNCATE audit_events",
    ]) {
      await expect(t.owner.transaction((tx) => tx.query(sql))).rejects.toThrow(/append-only/);
    }
    const [row] = await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_events");
    expect(row?.n).toBeGreaterThan(0);
  });

  it("keeps installation A from reading or writing installation B's events", async () => {
    await t.db.tenant(404, (tx) => appendAudit(tx, 404, { action: "test.a", outcome: "ok" }, now));
    await t.db.tenant(505, (tx) => appendAudit(tx, 505, { action: "test.b", outcome: "ok" }, now));
    const seenByA = await t.db.tenant(404, (tx) =>
      tx.query<{ installation_id: number }>("SELECT installation_id FROM audit_events"),
    );
    expect(seenByA.map((row) => row.installation_id)).toEqual([404]);
    await expect(
      t.db.tenant(404, (tx) => appendAudit(tx, 505, { action: "test.escape", outcome: "ok" }, now)),
    ).rejects.toThrow();
  });

  it("carries no tenant past the end of a transaction", async () => {
    await t.db.tenant(404, async () => {});
    const [row] = await t.db.query<{ tenant: string | null; role: string }>(
      "SELECT current_setting('agent_gate.installation_id', true) AS tenant, current_user AS role",
    );
    expect(row?.tenant ?? "").toBe("");
    expect(row?.role).not.toBe("agent_gate_app");
  });
});

function backendHandle() {
  return t.db;
}
