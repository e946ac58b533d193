import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, requireAdmin } from "../../src/requests/auth.ts";
import { revokeToken } from "../../src/tokens/store.ts";
import { generateToken, hashedToken, tokenChecksum } from "../../src/tokens/format.ts";
import { readAudit } from "../../src/audit/log.ts";
import { DeniedUses, type DeniedReason } from "../../src/tokens/denied-uses.ts";
import { openPg } from "../../src/db/pg.ts";
import {
  removeInstallation,
  suspendInstallation,
  recordInstallation,
  recordRepositories,
} from "../../src/installations/store.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { Clock, bearer, issueToken, seedInstallations, startApi, type ApiServer } from "./api-harness.ts";

let t: TestDatabase;
let api: ApiServer;
let deniedUses: DeniedUses;
const clock = new Clock("2026-11-23T10:00:00.000Z");
/** The denied-use timer, ticked by hand: no test waits on real time. */
const ticks: (() => void)[] = [];
const counted: DeniedReason[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, clock.now());
  await recordInstallation(t.db, { id: 3, account: "gone" }, clock.now());
  await recordRepositories(t.db, 3, [{ id: 31, full_name: "gone/repo" }], [], clock.now());
  await recordInstallation(t.db, { id: 4, account: "paused" }, clock.now());
  deniedUses = new DeniedUses({
    db: t.db,
    now: clock.now,
    intervalMs: 60_000,
    schedule: (tick) => {
      ticks.push(tick);
      return () => ticks.splice(ticks.indexOf(tick), 1);
    },
    count: (reason) => counted.push(reason),
  });
  deniedUses.start();
  api = await startApi({ db: t.db, now: clock.now, env: {}, deniedUses });
});
afterAll(async () => {
  await api.close();
  await t.drop();
});

async function getProposal(token: string | null, scheme = "Bearer"): Promise<Response> {
  return fetch(`${api.url}/api/v1/proposals/prp_00000000000000000000`, {
    headers: token === null ? {} : { authorization: `${scheme} ${token}` },
  });
}

const asRequest = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as unknown as IncomingMessage;

describe("bearer authentication", () => {
  it("answers every caller failure with the same 401 body", async () => {
    const valid = generateToken();
    const body = valid.slice(0, 34);
    const badChecksum = body + (tokenChecksum(body) === "000000" ? "000001" : "000000");
    const revoked = await issueToken(t.db, clock.now());
    await revokeToken(t.db, revoked.slice(0, 8), "test", clock.now());
    const expired = await issueToken(t.db, clock.now(), { expiresAt: new Date(clock.now().getTime() + 1000) });
    const uninstalled = await issueToken(t.db, clock.now(), { installationId: 3 });
    await removeInstallation(t.db, 3, clock.now());
    const suspended = await issueToken(t.db, clock.now(), { installationId: 4 });
    await suspendInstallation(t.db, 4, clock.now());
    clock.advance(2000);

    const cases: [string, Promise<Response>][] = [
      ["no header", getProposal(null)],
      ["basic scheme", getProposal(valid, "Basic")],
      ["malformed", getProposal("agt_short")],
      ["not a token at all", getProposal("hello")],
      ["bad checksum", getProposal(badChecksum)],
      ["unknown", getProposal(valid)],
      ["revoked", getProposal(revoked)],
      ["expired", getProposal(expired)],
      ["uninstalled", getProposal(uninstalled)],
      ["suspended", getProposal(suspended)],
      ["a JWT with OIDC off", getProposal("eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln")],
    ];
    const answers = await Promise.all(
      cases.map(async ([name, pending]) => {
        const res = await pending;
        return { name, status: res.status, auth: res.headers.get("www-authenticate"), body: await res.text() };
      }),
    );
    const first = answers[0]!;
    expect(first.status).toBe(401);
    for (const answer of answers) {
      expect({ name: answer.name, status: answer.status, auth: answer.auth, body: answer.body }).toEqual({
        name: answer.name,
        status: 401,
        auth: "Bearer",
        body: first.body,
      });
    }
    expect(JSON.parse(first.body)).toEqual({
      error: { code: "unauthorized", message: "A valid bearer token is required." },
    });
  });

  it("records a denied use with the hashed token and prefix, never the token", async () => {
    const token = await issueToken(t.db, clock.now(), { installationId: 2 });
    await revokeToken(t.db, token.slice(0, 8), "test", clock.now());
    expect((await getProposal(token)).status).toBe(401);
    await deniedUses.flush();
    const events = await t.db.tenant(2, (tx) => readAudit(tx, 2));
    const denied = events.filter((event) => event.action === "token.use_denied");
    expect(denied).toHaveLength(1);
    expect(denied[0]?.data).toEqual({
      count: 1,
      reasons: { revoked: 1 },
      hashed_token: hashedToken(token),
      prefix: token.slice(0, 8),
      first_at: clock.now().toISOString(),
      last_at: clock.now().toISOString(),
      interval_seconds: 60,
    });
    const actions = events.map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(["token.created", "token.revoked", "token.use_denied"]));
    const everything =
      JSON.stringify(await t.owner.query("SELECT * FROM audit_events")) +
      JSON.stringify(await t.owner.query("SELECT * FROM agent_tokens"));
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(8));
  });

  it("answers an unknown and a revoked token byte for byte the same, with no database write", async () => {
    await deniedUses.flush();
    const revoked = await issueToken(t.db, clock.now(), { installationId: 2 });
    await revokeToken(t.db, revoked.slice(0, 8), "test", clock.now());
    const unknown = generateToken();
    const answer = async (token: string) => {
      const res = await getProposal(token);
      const headers = [...res.headers.entries()].filter(([name]) => name !== "date");
      return { status: res.status, headers, body: await res.text() };
    };
    const auditRows = async () =>
      (await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_events"))[0]?.n;
    const before = await auditRows();
    const fromUnknown = await answer(unknown);
    const fromRevoked = await answer(revoked);
    expect(fromRevoked).toEqual(fromUnknown);
    expect(fromRevoked.status).toBe(401);
    for (let i = 0; i < 25; i += 1) expect((await answer(revoked)).body).toBe(fromUnknown.body);
    // 26 refusals of a known token: not one row written on the request path.
    expect(await auditRows()).toBe(before);
    expect(deniedUses.pending).toBe(26);
  });

  it("writes at most one denied-use event per token per interval, with the count, when the timer fires", async () => {
    await deniedUses.flush();
    const revoked = await issueToken(t.db, clock.now(), { installationId: 2 });
    await revokeToken(t.db, revoked.slice(0, 8), "test", clock.now());
    const expired = await issueToken(t.db, clock.now(), {
      installationId: 2,
      expiresAt: new Date(clock.now().getTime() + 1),
    });
    clock.advance(1000);
    const countedBefore = counted.length;
    for (let i = 0; i < 40; i += 1) expect((await getProposal(revoked)).status).toBe(401);
    for (let i = 0; i < 3; i += 1) expect((await getProposal(expired)).status).toBe(401);
    expect(counted.length - countedBefore).toBe(43);
    const deniedOf = async (prefix: string) =>
      (await t.db.tenant(2, (tx) => readAudit(tx, 2))).filter(
        (event) => event.action === "token.use_denied" && event.subject === prefix,
      );
    expect(await deniedOf(revoked.slice(0, 8))).toHaveLength(0);
    expect(ticks).toHaveLength(1);
    ticks[0]!();
    await deniedUses.flush();
    const first = await deniedOf(revoked.slice(0, 8));
    expect(first).toHaveLength(1);
    expect(first[0]?.data).toMatchObject({ count: 40, reasons: { revoked: 40 } });
    expect((await deniedOf(expired.slice(0, 8)))[0]?.data).toMatchObject({ count: 3, reasons: { expired: 3 } });
    // A quiet interval writes nothing; the next one writes one more event.
    ticks[0]!();
    await deniedUses.flush();
    expect(await deniedOf(revoked.slice(0, 8))).toHaveLength(1);
    clock.advance(60_000);
    for (let i = 0; i < 5; i += 1) await getProposal(revoked);
    ticks[0]!();
    await deniedUses.flush();
    const second = await deniedOf(revoked.slice(0, 8));
    expect(second).toHaveLength(2);
    expect(second[1]?.data).toMatchObject({ count: 5, reasons: { revoked: 5 } });
  });

  it("writes the denied uses still pending when it stops", async () => {
    const own = new DeniedUses({ db: t.db, now: clock.now, schedule: () => () => {} });
    own.start();
    const server = await startApi({ db: t.db, now: clock.now, env: {}, deniedUses: own });
    const revoked = await issueToken(t.db, clock.now(), { installationId: 2 });
    await revokeToken(t.db, revoked.slice(0, 8), "test", clock.now());
    try {
      for (let i = 0; i < 7; i += 1) {
        const res = await fetch(`${server.url}/api/v1/proposals/prp_00000000000000000000`, {
          headers: { authorization: `Bearer ${revoked}` },
        });
        expect(res.status).toBe(401);
      }
    } finally {
      await server.close();
    }
    expect(own.pending).toBe(7);
    await own.stop();
    expect(own.pending).toBe(0);
    const denied = (await t.db.tenant(2, (tx) => readAudit(tx, 2))).filter(
      (event) => event.action === "token.use_denied" && event.subject === revoked.slice(0, 8),
    );
    expect(denied).toHaveLength(1);
    expect(denied[0]?.data).toMatchObject({ count: 7, reasons: { revoked: 7 } });
  });

  it("revokes on the next request", async () => {
    const token = await issueToken(t.db, clock.now());
    expect((await getProposal(token)).status).toBe(404);
    await revokeToken(t.db, token.slice(0, 8), "test", clock.now());
    expect((await getProposal(token)).status).toBe(401);
  });

  it("denies with 503 when the database cannot be reached", async () => {
    const down = openPg({ connectionString: "postgres://postgres@127.0.0.1:1/none" });
    const unreachable = await startApi({ db: down, now: clock.now, env: {} });
    try {
      const res = await fetch(`${unreachable.url}/api/v1/proposals/prp_00000000000000000000`, {
        headers: { authorization: `Bearer ${generateToken()}` },
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        error: { code: "unavailable", message: "Authentication could not be checked; try again." },
      });
    } finally {
      await unreachable.close();
      await down.close();
    }
  });

  it("gives the principal's scope, and requireAdmin refuses a non-admin token", async () => {
    const scoped = await issueToken(t.db, clock.now(), { repos: ["acme/web"], kinds: ["deploy"] });
    const principal = await authenticate(api.deps, asRequest(scoped));
    expect(principal).toEqual({
      kind: "token",
      installationId: 1,
      admin: false,
      repos: ["acme/web"],
      kinds: ["deploy"],
      actor: `token:${scoped.slice(0, 8)}`,
      // The token's lineage (its first token's id), kept by a rotation: who may redeem what it proposed.
      identity: expect.stringMatching(/^token-lineage:\d+$/),
      tokenPrefix: scoped.slice(0, 8),
      // Unnamed tokens are named after their prefix.
      tokenName: scoped.slice(0, 8),
    });
    await expect(requireAdmin(api.deps, asRequest(scoped))).rejects.toMatchObject({ status: 403, code: "forbidden" });
    const admin = await issueToken(t.db, clock.now(), { admin: true });
    await expect(requireAdmin(api.deps, asRequest(admin))).resolves.toMatchObject({ admin: true, installationId: 1 });
  });

  it("answers with bearer headers the proposals routes accept", async () => {
    const token = await issueToken(t.db, clock.now());
    const res = await fetch(`${api.url}/api/v1/proposals/prp_00000000000000000000`, { headers: bearer(token) });
    expect(res.status).toBe(404);
  });
});
