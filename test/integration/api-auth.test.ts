import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, requireAdmin } from "../../src/api/auth.ts";
import { revokeToken } from "../../src/api/token-store.ts";
import { generateToken, hashedToken, tokenChecksum } from "../../src/api/tokens.ts";
import { readAudit } from "../../src/audit/log.ts";
import { openPg } from "../../src/db/pg.ts";
import { removeInstallation, suspendInstallation, recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { Clock, bearer, issueToken, seedInstallations, startApi, type ApiServer } from "./api-harness.ts";

let t: TestDatabase;
let api: ApiServer;
const clock = new Clock("2026-11-23T10:00:00.000Z");

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, clock.now());
  await recordInstallation(t.db, { id: 3, account: "gone" }, clock.now());
  await recordRepositories(t.db, 3, [{ id: 31, full_name: "gone/repo" }], [], clock.now());
  await recordInstallation(t.db, { id: 4, account: "paused" }, clock.now());
  api = await startApi({ db: t.db, now: clock.now, env: {} });
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
    expect(JSON.parse(first.body)).toEqual({ error: { code: "unauthorized", message: "A valid bearer token is required." } });
  });

  it("records a denied use with the hashed token and prefix, never the token", async () => {
    const token = await issueToken(t.db, clock.now(), { installationId: 2 });
    await revokeToken(t.db, token.slice(0, 8), "test", clock.now());
    expect((await getProposal(token)).status).toBe(401);
    const events = await t.db.tenant(2, (tx) => readAudit(tx, 2));
    const denied = events.filter((event) => event.action === "token.use_denied");
    expect(denied).toHaveLength(1);
    expect(denied[0]?.data).toEqual({ reason: "revoked", hashed_token: hashedToken(token), prefix: token.slice(0, 8) });
    const actions = events.map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(["token.created", "token.revoked", "token.use_denied"]));
    const everything = JSON.stringify(await t.db.query("SELECT * FROM audit_events")) + JSON.stringify(await t.db.query("SELECT * FROM agent_tokens"));
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(8));
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
      expect(await res.json()).toEqual({ error: { code: "unavailable", message: "Authentication could not be checked; try again." } });
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
