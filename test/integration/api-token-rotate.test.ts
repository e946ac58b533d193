import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { listTokens } from "../../src/tokens/store.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { dumpAllRows } from "../support/db-scan.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { Clock, issueToken, seedInstallations, startApi, type ApiServer } from "./api-harness.ts";

// POST /api/v1/tokens/{prefix}/rotate: an admin token of the installation
// replaces a token in one transaction; the old one fails from the next request.

let t: TestDatabase;
let api: ApiServer;
const clock = new Clock("2026-11-23T10:00:00.000Z");
let admin: string;
let otherAdmin: string;

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, clock.now());
  admin = await issueToken(t.db, clock.now(), { admin: true, name: "ops-admin" });
  otherAdmin = await issueToken(t.db, clock.now(), { installationId: 2, admin: true });
  api = await startApi({ db: t.db, now: clock.now, env: {} });
});
afterAll(async () => {
  await api.close();
  await t.drop();
});

const rotate = (prefix: string, bearer: string) =>
  fetch(`${api.url}/api/v1/tokens/${encodeURIComponent(prefix)}/rotate`, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}` },
  });
const status = (bearer: string) =>
  fetch(`${api.url}/api/v1/proposals/prp_${"A".repeat(20)}`, { headers: { authorization: `Bearer ${bearer}` } }).then(
    (res) => res.status,
  );

describe("POST /api/v1/tokens/{prefix}/rotate", () => {
  it("issues a token with the same scope, name and expiry and revokes the old one in the same transaction", async () => {
    const expiresAt = new Date(clock.now().getTime() + 86_400_000);
    const agent = await issueToken(t.db, clock.now(), {
      repos: ["acme/web"],
      kinds: ["deploy"],
      expiresAt,
      name: "release-bot",
    });
    expect(await status(agent)).toBe(404);

    const res = await rotate(agent.slice(0, 8), admin);
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({
      prefix: body.token.slice(0, 8),
      name: "release-bot",
      installation_id: 1,
      repos: ["acme/web"],
      kinds: ["deploy"],
      admin: false,
      state: "active",
      expires_at: expiresAt.toISOString(),
      rotated_from: agent.slice(0, 8),
    });
    expect(await status(agent)).toBe(401);
    expect(await status(body.token)).toBe(404);

    const events = (await readAudit(t.owner, 1)).filter((event) => event.action === "token.rotated");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: `token:${admin.slice(0, 8)}`, subject: agent.slice(0, 8) });
    expect(secretsIn(await dumpAllRows(t.owner), [agent, body.token, admin])).toEqual([]);
    const rows = (await listTokens(t.db, 1)).filter((row) => row.name === "release-bot");
    expect(rows.map((row) => row.revoked_at === null)).toEqual([false, true]);
  });

  it("another installation's token is the same 404 as none; non-admin tokens get 403; nothing changes", async () => {
    const agent = await issueToken(t.db, clock.now(), { name: "kept" });
    const foreign = await rotate(agent.slice(0, 8), otherAdmin);
    const missing = await rotate("agt_zzzz", otherAdmin);
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await foreign.json()) as unknown).toEqual({
      error: { code: "not_found", message: `A live token with prefix ${agent.slice(0, 8)} was not found.` },
    });
    const notAdmin = await rotate(agent.slice(0, 8), agent);
    expect(notAdmin.status).toBe(403);
    expect(await status(agent)).toBe(404);
  });

  it("an expired token is not rotated: a new one must be created", async () => {
    const agent = await issueToken(t.db, clock.now(), { expiresAt: new Date(clock.now().getTime() + 1000) });
    clock.advance(2000);
    const res = await rotate(agent.slice(0, 8), admin);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("token_expired");
  });
});
