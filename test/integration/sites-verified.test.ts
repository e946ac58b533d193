import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { assertSiteVerified } from "../../src/sites/verified.ts";
import { GateError } from "../../src/errors.ts";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2026-11-23T10:00:00Z");
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  const rows: [number, string, string, Date | null, Date | null][] = [
    [1, "verified.example", "verified", now, null],
    [1, "pending.example", "pending", null, null],
    [1, "lapsed.example", "lapsed", new Date(now.getTime() - 10 * DAY), new Date(now.getTime() - 8 * DAY)],
    [1, "failing.example", "failing", new Date(now.getTime() - 2 * DAY), new Date(now.getTime() - DAY)],
    [1, "overdue.example", "failing", new Date(now.getTime() - 9 * DAY), new Date(now.getTime() - 7 * DAY)],
    [1, "stale.example", "verified", new Date(now.getTime() - 8 * DAY), null],
  ];
  for (const [inst, domain, state, verifiedAt, failingSince] of rows) {
    await t.db.tenant(inst, (tx) =>
      tx.query(
        `INSERT INTO sites (installation_id, domain, method, token, state, verified_at, failing_since)
         VALUES ($1, $2, 'dns', $3, $4, $5, $6)`,
        [inst, domain, "a".repeat(32), state, verifiedAt, failingSince],
      ),
    );
  }
});
afterAll(() => t.drop());

async function refusal(installationId: number, domain: string): Promise<GateError | undefined> {
  try {
    await t.db.tenant(installationId, (tx) => assertSiteVerified(tx, installationId, domain, now));
    return undefined;
  } catch (error) {
    if (error instanceof GateError) return error;
    throw error;
  }
}

describe("assertSiteVerified", () => {
  it("accepts a verified site, in any spelling, and a failing one within its grace", async () => {
    expect(await refusal(1, "verified.example")).toBeUndefined();
    expect(await refusal(1, "VERIFIED.Example.")).toBeUndefined();
    expect(await refusal(1, "failing.example")).toBeUndefined();
  });

  it.each([
    [1, "unknown.example", "site add unknown.example --installation 1"],
    [1, "pending.example", "site verify pending.example --installation 1"],
    [1, "lapsed.example", "has lapsed"],
    [1, "overdue.example", "has lapsed"],
    [1, "stale.example", "has lapsed"],
    [1, "co.uk", "public suffix"],
    [1, "https://verified.example/", "site add DOMAIN"],
    [2, "verified.example", "site add verified.example --installation 2"],
  ])("installation %i naming %s is refused (%s)", async (installationId, domain, fix) => {
    const error = await refusal(installationId, domain);
    expect(error).toBeInstanceOf(GateError);
    expect(error?.status).toBe(422);
    expect(error?.code).toBe("site_not_verified");
    expect(error?.message).toContain(fix);
  });

  it("keeps the app role to its own installation's rows, even when it opts into the sweep listing", async () => {
    // db.tenant refuses set_config before it reaches the database; the role
    // itself is tested here, entered the way db.tenant enters it.
    const seen = await t.owner.transaction(async (tx) => {
      await tx.query("SELECT agent_gate_enter_tenant(2), set_config('role', 'agent_gate_app', true)");
      await tx.query("SELECT set_config('agent_gate.site_sweep', 'on', true)");
      return tx.query<{ installation_id: number }>("SELECT installation_id FROM sites");
    });
    expect(seen).toEqual([]);
    await expect(
      t.db.tenant(2, (tx) =>
        tx.query("INSERT INTO sites (installation_id, domain, method, token) VALUES (1, 'stolen.example', 'dns', $1)", [
          "b".repeat(32),
        ]),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      t.db.tenant(2, (tx) =>
        tx.query("UPDATE sites SET state = 'verified' WHERE installation_id = 1 RETURNING domain"),
      ),
    ).resolves.toEqual([]);
  });
});
