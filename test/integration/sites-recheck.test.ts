import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";
import { createResolver } from "../../src/sites/dns-check.ts";
import { addSite, listSites, recheckSites, verifySite, type SiteCheckDeps } from "../../src/sites/service.ts";
import { assertSiteVerified } from "../../src/sites/verified.ts";
import { pino } from "pino";
import { startSiteRecheck } from "../../src/sites/recheck-timer.ts";
import type { RecheckSummary } from "../../src/sites/service.ts";
import { readAudit } from "../../src/audit/log.ts";
import { GateError } from "../../src/errors.ts";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const t0 = new Date("2026-11-23T09:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);
const id = 7;

// The sweep covers every installation, so each test gets its own database.
let t: TestDatabase;
let dns: TestDnsServer;
let deps: SiteCheckDeps;

beforeAll(async () => {
  dns = await startDnsServer();
  deps = { resolver: createResolver({ servers: dns.address, timeoutMs: 300, tries: 1 }) };
});
afterAll(() => dns.stop());
beforeEach(async () => {
  dns.reset();
  t = await createTestDatabase();
});
afterEach(() => t.drop());

async function gateRefusal(installationId: number, domain: string, now: Date): Promise<string | undefined> {
  try {
    await t.db.tenant(installationId, (tx) => assertSiteVerified(tx, installationId, domain, now));
    return undefined;
  } catch (error) {
    if (error instanceof GateError && error.code === "site_not_verified") return error.message;
    throw error;
  }
}

describe("daily re-check sweep", () => {
  it("re-checks daily: a removed record makes the site failing, then lapsed after 7 days", async () => {
    const challenge = await addSite(t.db, id, "lapse.example", "dns", "admin", t0);
    dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
    await verifySite(t.db, deps, id, "lapse.example", "admin", t0);

    // Not due yet: checked less than 24 h ago.
    expect(await recheckSites(t.db, deps, at(23 * HOUR))).toMatchObject({ checked: 0 });
    expect((await recheckSites(t.db, deps, at(DAY))).verified).toBe(1);

    dns.remove(challenge.record_name);
    const firstFailure = at(2 * DAY);
    expect(await recheckSites(t.db, deps, firstFailure)).toMatchObject({ checked: 1, failed: 1, lapsed: 0 });
    let [site] = await listSites(t.db, id);
    expect(site).toMatchObject({
      state: "failing",
      last_outcome: "not_found",
      failing_since: firstFailure.toISOString(),
    });
    expect(await gateRefusal(id, "lapse.example", firstFailure)).toBeUndefined();

    for (let day = 3; day <= 8; day += 1) {
      expect(await recheckSites(t.db, deps, at(day * DAY))).toMatchObject({ failed: 1, lapsed: 0 });
    }
    expect(await gateRefusal(id, "lapse.example", at(8 * DAY))).toBeUndefined();
    expect(await gateRefusal(id, "lapse.example", at(9 * DAY))).toContain("has lapsed");

    expect(await recheckSites(t.db, deps, at(9 * DAY))).toMatchObject({ failed: 1, lapsed: 1 });
    [site] = await listSites(t.db, id);
    expect(site?.state).toBe("lapsed");
    const message = await gateRefusal(id, "lapse.example", at(9 * DAY));
    expect(message).toContain(`agent-gate site verify lapse.example --installation ${id}`);
    // A lapsed site is no longer swept; the admin verifies it again.
    expect(await recheckSites(t.db, deps, at(11 * DAY))).toMatchObject({ checked: 0 });

    const events = await t.db.tenant(id, (tx) => readAudit(tx, id));
    expect(events.map((event) => event.action)).toEqual([
      "site.added",
      "site.verified",
      "site.verified",
      ...Array(8).fill("site.check_failed"),
      "site.lapsed",
    ]);
    for (const event of events) {
      expect(JSON.stringify(event)).not.toContain(challenge.token);
      expect(event.data).toHaveProperty("token_sha256");
    }

    dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
    expect(await verifySite(t.db, deps, id, "lapse.example", "admin", at(12 * DAY))).toMatchObject({
      state: "verified",
    });
    expect(await gateRefusal(id, "lapse.example", at(12 * DAY))).toBeUndefined();
  });

  it("counts an unanswered re-check as a failed check, not a success", async () => {
    const challenge = await addSite(t.db, id, "outage.example", "dns", "admin", t0);
    dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
    await verifySite(t.db, deps, id, "outage.example", "admin", t0);
    dns.behaviour = "servfail";
    await recheckSites(t.db, deps, at(DAY));
    const [site] = await listSites(t.db, id);
    expect(site).toMatchObject({ state: "failing", last_outcome: "could_not_check" });
  });

  it.skipIf(backend() !== "postgres")(
    "checks each due site once when several processes sweep at the same time",
    async () => {
      const domains = ["one", "two", "three", "four", "five"].map((label) => `${label}.sweep.example`);
      for (const domain of domains) {
        const challenge = await addSite(t.db, id, domain, "dns", "admin", t0);
        dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
        await verifySite(t.db, deps, id, domain, "admin", t0);
      }
      dns.queries.length = 0;
      const others = await Promise.all([t.another(), t.another(), t.another()]);
      const summaries = await Promise.all([t.db, ...others].map((db) => recheckSites(db, deps, at(DAY))));
      expect(summaries.reduce((sum, summary) => sum + summary.checked, 0)).toBe(domains.length);
      expect(dns.queries.filter((name) => name.endsWith(".sweep.example")).sort()).toEqual(
        domains.map((domain) => `_agent-gate.${domain}`).sort(),
      );
    },
  );

  it("runs the sweep from a timer in the app process", async () => {
    const challenge = await addSite(t.db, id, "timer.example", "dns", "admin", t0);
    dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
    await verifySite(t.db, deps, id, "timer.example", "admin", t0);
    const results: RecheckSummary[] = [];
    const errors: unknown[] = [];
    const log = pino({ level: "error" }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    const loop = startSiteRecheck(t.db, deps, {
      intervalMs: 60 * 60 * 1000,
      now: () => at(DAY),
      onResult: (summary) => results.push(summary),
      log,
    });
    await loop.stop();
    expect(errors).toEqual([]);
    expect(results).toEqual([{ checked: 1, verified: 1, failed: 0, lapsed: 0 }]);
    const [site] = await listSites(t.db, id);
    expect(site?.last_checked_at).toBe(at(DAY).toISOString());
  });
});
