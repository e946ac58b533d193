import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startDnsServer, type TestDnsServer } from "../support/dns-server.ts";
import { createResolver } from "../../src/sites/dns-check.ts";
import { addSite, listSites, verifySite, type SiteCheckDeps } from "../../src/sites/service.ts";
import { assertSiteVerified } from "../../src/sites/verified.ts";
import { readAudit } from "../../src/audit/log.ts";
import { GateError, ValidationError } from "../../src/errors.ts";

const t0 = new Date("2026-11-23T09:00:00Z");

let t: TestDatabase;
let dns: TestDnsServer;
let deps: SiteCheckDeps;
let nextInstallation = 100;

beforeAll(async () => {
  [t, dns] = await Promise.all([createTestDatabase(), startDnsServer()]);
  deps = { resolver: createResolver({ servers: dns.address, timeoutMs: 300, tries: 1 }) };
});
afterAll(async () => {
  await Promise.all([t.drop(), dns.stop()]);
});
beforeEach(() => dns.reset());

/** A fresh installation per test, so tests share the database without sharing sites. */
function installation(): number {
  nextInstallation += 1;
  return nextInstallation;
}

async function gateRefusal(installationId: number, domain: string, now: Date): Promise<string | undefined> {
  try {
    await t.db.tenant(installationId, (tx) => assertSiteVerified(tx, installationId, domain, now));
    return undefined;
  } catch (error) {
    if (error instanceof GateError && error.code === "site_not_verified") return error.message;
    throw error;
  }
}

describe("DNS TXT verification against a loopback DNS server", () => {
  it("joins a record split into several character-strings", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "split.example", "dns", "admin", t0);
    const value = challenge.record_value;
    dns.set(challenge.record_name, { txt: [[value.slice(0, 10), value.slice(10, 30), value.slice(30)]] });
    const result = await verifySite(t.db, deps, id, "split.example", "admin", t0);
    expect(result).toMatchObject({ domain: "split.example", state: "verified", outcome: "verified" });
    expect(await gateRefusal(id, "split.example", t0)).toBeUndefined();
  });

  it("finds the challenge among several records at the name", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "several.example", undefined, "admin", t0);
    dns.set(challenge.record_name, {
      txt: [["v=spf1 -all"], ["agent-gate-verification=someoneElsesToken000000000000000"], [challenge.record_value]],
    });
    expect((await verifySite(t.db, deps, id, "several.example", "admin", t0)).outcome).toBe("verified");
  });

  it("reports a mismatch when records exist but none holds the token", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "mismatch.example", "dns", "admin", t0);
    dns.set(challenge.record_name, { txt: [["agent-gate-verification=notTheRightToken"], [challenge.token]] });
    const result = await verifySite(t.db, deps, id, "mismatch.example", "admin", t0);
    expect(result).toMatchObject({ state: "pending", outcome: "mismatch" });
    expect(result.message).toContain(`_agent-gate.mismatch.example = "${challenge.record_value}"`);
  });

  it("does not count a record at the apex", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "apex.example", "dns", "admin", t0);
    dns.set("apex.example", { txt: [[challenge.record_value]] });
    const result = await verifySite(t.db, deps, id, "apex.example", "admin", t0);
    expect(result).toMatchObject({ state: "pending", outcome: "not_found" });
    expect(dns.queries).toEqual(["_agent-gate.apex.example"]);
    expect(await gateRefusal(id, "apex.example", t0)).toContain("awaiting verification");
  });

  it("compares names case-insensitively, without the trailing dot", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "MiXed.Example.", "dns", "admin", t0);
    expect(challenge).toMatchObject({ domain: "mixed.example", record_name: "_agent-gate.mixed.example" });
    dns.set("_AGENT-GATE.MIXED.example", { txt: [[challenge.record_value]] });
    expect((await verifySite(t.db, deps, id, "MIXED.EXAMPLE", "admin", t0)).outcome).toBe("verified");
    expect(await gateRefusal(id, "mixed.EXAMPLE.", t0)).toBeUndefined();
    expect(await addSite(t.db, id, "mixed.example", "dns", "admin", t0)).toEqual(challenge);
  });

  it("converts an internationalised name to punycode", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "Bücher.example", "dns", "admin", t0);
    expect(challenge).toMatchObject({
      domain: "xn--bcher-kva.example",
      record_name: "_agent-gate.xn--bcher-kva.example",
    });
    dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
    expect((await verifySite(t.db, deps, id, "bücher.example", "admin", t0)).outcome).toBe("verified");
    expect(dns.queries).toEqual(["_agent-gate.xn--bcher-kva.example"]);
    expect(await gateRefusal(id, "BÜCHER.example", t0)).toBeUndefined();
  });

  it.each(["co.uk", "github.io", "com", "CO.UK."])("refuses the public suffix %s", async (domain) => {
    const id = installation();
    await expect(addSite(t.db, id, domain, "dns", "admin", t0)).rejects.toThrow(ValidationError);
    await expect(addSite(t.db, id, domain, "dns", "admin", t0)).rejects.toThrow(/public suffix/);
    expect(await listSites(t.db, id)).toEqual([]);
    const events = await t.db.tenant(id, (tx) => readAudit(tx, id));
    expect(events.at(-1)).toMatchObject({ action: "site.added", outcome: "refused", actor: "admin" });
    expect(events.at(-1)?.data.reason).toContain("public suffix");
  });

  it("accepts a name registered under a private suffix", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "someone.github.io", "dns", "admin", t0);
    expect(challenge.record_name).toBe("_agent-gate.someone.github.io");
  });

  it("follows a CNAME to the record it names", async () => {
    const id = installation();
    const challenge = await addSite(t.db, id, "alias.example", "dns", "admin", t0);
    dns.set(challenge.record_name, { cname: "alias-challenge.dns-host.example" });
    dns.set("alias-challenge.dns-host.example", { txt: [[challenge.record_value]] });
    expect((await verifySite(t.db, deps, id, "alias.example", "admin", t0)).outcome).toBe("verified");
  });

  it.each([
    ["silent", "ETIMEOUT"],
    ["servfail", "ESERVFAIL"],
    ["refused", "EREFUSED"],
  ] as const)("a resolver that is %s yields could_not_check, never verified", async (behaviour, code) => {
    const id = installation();
    const challenge = await addSite(t.db, id, `${behaviour}.example`, "dns", "admin", t0);
    dns.set(challenge.record_name, { txt: [[challenge.record_value]] });
    dns.behaviour = behaviour;
    const result = await verifySite(t.db, deps, id, `${behaviour}.example`, "admin", t0);
    expect(result).toMatchObject({ state: "pending", outcome: "could_not_check" });
    expect(result.message).toContain(code);
    expect(await gateRefusal(id, `${behaviour}.example`, t0)).toBeDefined();
    const events = await t.db.tenant(id, (tx) => readAudit(tx, id));
    expect(events.at(-1)).toMatchObject({ action: "site.check_failed", outcome: "could_not_check" });
  });

  it("keeps installations apart: A's verified site does nothing for B", async () => {
    const a = installation();
    const b = installation();
    const challengeA = await addSite(t.db, a, "shared.example", "dns", "admin-a", t0);
    dns.set(challengeA.record_name, { txt: [[challengeA.record_value]] });
    expect((await verifySite(t.db, deps, a, "shared.example", "admin-a", t0)).outcome).toBe("verified");

    const refusal = await gateRefusal(b, "shared.example", t0);
    expect(refusal).toContain(`agent-gate site add shared.example --installation ${b}`);
    await expect(verifySite(t.db, deps, b, "shared.example", "admin-b", t0)).rejects.toThrow(/add it first/);

    const challengeB = await addSite(t.db, b, "shared.example", "dns", "admin-b", t0);
    expect(challengeB.token).not.toBe(challengeA.token);
    expect((await verifySite(t.db, deps, b, "shared.example", "admin-b", t0)).outcome).toBe("mismatch");
    expect(await gateRefusal(b, "shared.example", t0)).toBeDefined();
    expect((await listSites(t.db, b)).map((site) => [site.installation_id, site.state])).toEqual([[b, "pending"]]);
  });
});
