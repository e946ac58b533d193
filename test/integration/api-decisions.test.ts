import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { verifyReceipt } from "../../src/crypto/receipts.ts";
import { readAudit } from "../../src/audit/log.ts";
import type { Database } from "../../src/db/database.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { revokeToken } from "../../src/tokens/store.ts";
import { DecisionWaiter } from "../../src/proposals/wait.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { deniedUsesFor } from "../../src/tokens/denied-uses.ts";
import { Clock, bearer, issueToken, seedInstallations, startApi, verifySite, type ApiServer } from "./api-harness.ts";

let t: TestDatabase;
let api: ApiServer;
let token: string;
/** The process that decides: a second handle on PostgreSQL, the same one on PGlite. */
let decider: Database;
const clock = new Clock("2026-11-23T10:00:00.000Z");
const SHA = "0123456789abcdef0123456789abcdef01234567";

beforeAll(async () => {
  t = await createTestDatabase();
  decider = backend() === "postgres" ? await t.another() : t.db;
  await seedInstallations(t.db, clock.now());
  await verifySite(t.db, 1, "example.com", clock.now());
  token = await issueToken(t.db, clock.now());
  api = await startApi({
    db: t.db,
    now: clock.now,
    env: {},
    keyring: parseKeyring(generateKeyEntry("k1")),
    // No periodic re-read: only the notification can end a wait early.
    recheckMs: 120_000,
  });
});
afterAll(async () => {
  await api.close();
  await t.drop();
});

async function propose(sha = SHA): Promise<{ id: string; digest: string }> {
  const res = await fetch(`${api.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({
      kind: "deploy",
      repo: "acme/web",
      sha,
      environment: "production",
      site: "example.com",
      summary: "ship",
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; digest: string };
}

/** A decision as a decision writer takes it: the update and the notification in one transaction. */
async function decide(
  db: Database,
  id: string,
  status: "approved" | "rejected",
  approvers: string[] = ["alice"],
): Promise<void> {
  await db.tenant(1, async (tx) => {
    await tx.query("UPDATE proposals SET status = $2, approvers = $3, decided_at = $4, updated_at = $4 WHERE id = $1", [
      id,
      status,
      JSON.stringify(approvers),
      clock.now(),
    ]);
    await tx.query("SELECT pg_notify('agent_gate_decided', $1)", [id]);
  });
}

async function redeem(id: string, digest: string): Promise<Response> {
  return fetch(`${api.url}/api/v1/proposals/${id}/redeem`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({ digest }),
  });
}

describe("long-poll", () => {
  it("is woken by a decision committed by another app process", async () => {
    const { id, digest } = await propose();
    const polling = fetch(`${api.url}/api/v1/proposals/${id}?wait=60`, { headers: bearer(token) });
    await vi.waitFor(() => expect(api.deps.waiter.watching).toBe(1), { timeout: 10_000, interval: 10 });
    await decide(decider, id, "approved", ["alice", "bob"]);
    const res = await polling;
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id,
      status: "approved",
      redeemed: false,
      approvers: ["alice", "bob"],
      decided_at: clock.now().toISOString(),
      digest,
    });
    expect(body).not.toHaveProperty("receipt");
    expect(api.deps.waiter.watching).toBe(0);
  });

  it("answers at once when already decided, and a tampered receipt does not verify", async () => {
    const { id, digest } = await propose();
    await decide(t.db, id, "approved");
    const res = await fetch(`${api.url}/api/v1/proposals/${id}?wait=60`, { headers: bearer(token) });
    const body = (await res.json()) as { status: string; redeemed: boolean };
    expect(body).toMatchObject({ status: "approved", redeemed: false });
    const redeemed = (await (await redeem(id, digest)).json()) as { receipt: { receipt: string } };
    const [payload, signature] = redeemed.receipt.receipt.split(".") as [string, string];
    const forged = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    forged.repo = "acme/api";
    const tampered = `${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${signature}`;
    const keys = await publishedKeys(t.db);
    expect(() => verifyReceipt(tampered, keys, { digest, repo: "acme/api" }, clock.now())).toThrow(/signature/);
    expect(() =>
      verifyReceipt(redeemed.receipt.receipt, keys, { digest: "f".repeat(64), repo: "acme/web" }, clock.now()),
    ).toThrow(/digest/);
  });

  it("takes wait_seconds as MCP names it (wait stays an alias), and refuses both at once or out of range, naming the field", async () => {
    const { id } = await propose();
    const started = Date.now();
    const res = await fetch(`${api.url}/api/v1/proposals/${id}?wait_seconds=1`, { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await res.json()).toMatchObject({ id, status: "pending" });
    const outOfRange = await fetch(`${api.url}/api/v1/proposals/${id}?wait_seconds=61`, { headers: bearer(token) });
    expect(outOfRange.status).toBe(400);
    expect(await outOfRange.json()).toMatchObject({ error: { fields: [{ field: "wait_seconds" }] } });
    const both = await fetch(`${api.url}/api/v1/proposals/${id}?wait_seconds=1&wait=1`, { headers: bearer(token) });
    expect(both.status).toBe(400);
  });

  it("returns the pending state after the wait when nothing is decided", async () => {
    const { id } = await propose();
    const res = await fetch(`${api.url}/api/v1/proposals/${id}?wait=1`, { headers: bearer(token) });
    const body = await res.json();
    expect(body).toMatchObject({ id, status: "pending", redeemed: false, redeemed_at: null });
    expect(body).not.toHaveProperty("receipt");
  });

  it.each([
    [
      "revoked",
      async (caller: string) => {
        await revokeToken(t.db, caller.slice(0, 8), "admin", clock.now());
      },
    ],
    [
      "expired",
      async () => {
        clock.advance(2 * 60_000);
      },
    ],
  ] as const)(
    "answers a long poll whose token was %s during the wait with the common 401, never the decision",
    async (reason, spoil) => {
      const caller = await issueToken(t.db, clock.now(), { expiresAt: new Date(clock.now().getTime() + 60_000) });
      const { id } = await propose();
      const started = clock.now();
      try {
        const polling = fetch(`${api.url}/api/v1/proposals/${id}?wait=60`, { headers: bearer(caller) });
        await vi.waitFor(() => expect(api.deps.waiter.watching).toBe(1), { timeout: 10_000, interval: 10 });
        await spoil(caller);
        await decide(decider, id, "approved");
        const res = await polling;
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({
          error: { code: "unauthorized", message: "A valid bearer token is required." },
        });
      } finally {
        clock.current = started;
      }
      // Nothing was redeemed, and the refusal is in the chain with its reason.
      const redemptions = await t.db.tenant(1, (tx) =>
        tx.query("SELECT 1 FROM redemptions WHERE proposal_id = $1", [id]),
      );
      expect(redemptions).toEqual([]);
      // Denied uses are gathered per token and written by a timer, not on the request path: flush them now.
      await deniedUsesFor(t.db, clock.now).flush();
      const denied = (await t.db.tenant(1, (tx) => readAudit(tx, 1, 0, 10_000))).filter(
        (e) => e.action === "token.use_denied" && e.subject === caller.slice(0, 8),
      );
      expect(denied.map((e) => e.data.reasons)).toEqual([{ [reason]: 1 }]);
    },
  );

  it("wakes only the watchers of the decided proposal", async () => {
    const waiter = new DecisionWaiter(t.db);
    await waiter.start();
    try {
      const a = waiter.watch("prp_a");
      const b = waiter.watch("prp_b");
      const aWoken = a.next(60_000);
      await t.db.query("SELECT pg_notify('agent_gate_decided', 'prp_a')");
      expect(await aWoken).toBe(true);
      expect(await b.next(0)).toBe(false);
      a.cancel();
      b.cancel();
      expect(waiter.watching).toBe(0);
    } finally {
      await waiter.close();
    }
  });
});

describe("redeem", () => {
  it("succeeds exactly once under 20 concurrent tries, and audits every try", async () => {
    const { id, digest } = await propose();
    await decide(t.db, id, "approved");
    const answers = await Promise.all(Array.from({ length: 20 }, () => redeem(id, digest)));
    const statuses = answers.map((res) => res.status).sort();
    const winner = answers.find((res) => res.status === 200);
    const redeemed = (await winner?.json()) as {
      redeemed: boolean;
      status: string;
      digest: string;
      receipt: { receipt: string };
    };
    expect(redeemed).toMatchObject({
      id,
      redeemed: true,
      status: "redeemed",
      digest,
      redeemed_at: clock.now().toISOString(),
    });
    expect(
      verifyReceipt(redeemed.receipt.receipt, await publishedKeys(t.db), { digest, repo: "acme/web" }, clock.now())
        .proposal_id,
    ).toBe(id);
    expect(statuses).toEqual([200, ...Array.from({ length: 19 }, () => 409)]);
    const refusals = await Promise.all(
      answers
        .filter((res) => res.status === 409)
        .map(async (res) => ((await res.json()) as { error: { code: string } }).error.code),
    );
    expect(new Set(refusals)).toEqual(new Set(["already_redeemed"]));
    const rows = await t.db.tenant(1, (tx) =>
      tx.query("SELECT proposal_id, actor FROM redemptions WHERE proposal_id = $1", [id]),
    );
    expect(rows).toEqual([{ proposal_id: id, actor: `token:${token.slice(0, 8)}` }]);
    const events = (await t.db.tenant(1, (tx) => readAudit(tx, 1, 0, 10_000))).filter(
      (e) => e.subject === id && e.action === "proposal.redeem",
    );
    expect(events.map((e) => e.outcome).sort()).toEqual(
      ["redeemed", ...Array.from({ length: 19 }, () => "already_redeemed")].sort(),
    );
  });

  it.each([
    ["a pending proposal", "pending", 0, "not_approved"],
    ["a rejected proposal", "rejected", 0, "not_approved"],
    ["a wrong digest", "approved-wrong-digest", 0, "digest_mismatch"],
    ["an expired approval", "approved", 72 * 3600 * 1000, "expired"],
  ] as const)("refuses %s with 409", async (_name, state, advance, code) => {
    const { id, digest } = await propose();
    if (state !== "pending") await decide(t.db, id, state === "rejected" ? "rejected" : "approved");
    clock.advance(advance);
    try {
      const res = await redeem(id, state === "approved-wrong-digest" ? "e".repeat(64) : digest);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    } finally {
      clock.advance(-advance);
    }
    const [event] = (await t.db.tenant(1, (tx) => readAudit(tx, 1, 0, 10_000))).filter(
      (e) => e.subject === id && e.action === "proposal.redeem",
    );
    expect(event?.outcome).toBe(code);
  });

  it("hands out a receipt only as the answer of the one redemption: the status route has none, before or after", async () => {
    const { id, digest } = await propose();
    await decide(t.db, id, "approved");
    const status = async () =>
      (await (await fetch(`${api.url}/api/v1/proposals/${id}`, { headers: bearer(token) })).json()) as Record<
        string,
        unknown
      >;

    const before = await status();
    expect(before).toMatchObject({ id, status: "approved", redeemed: false, redeemed_at: null });
    expect(before).not.toHaveProperty("receipt");

    const res = await redeem(id, digest);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { redemption_id: string; receipt: { receipt: string; kid: string } };
    const payload = verifyReceipt(
      body.receipt.receipt,
      await publishedKeys(t.db),
      { digest, repo: "acme/web", kind: "deploy", installationId: 1 },
      clock.now(),
    );
    expect(payload).toMatchObject({
      v: 2,
      proposal_id: id,
      redemption_id: body.redemption_id,
      installation_id: 1,
      repo: "acme/web",
      kind: "deploy",
      decision: "approved",
    });
    const [row] = await t.db.tenant(1, (tx) =>
      tx.query<{ id: string }>("SELECT id FROM redemptions WHERE proposal_id = $1", [id]),
    );
    expect(row?.id).toBe(body.redemption_id);

    const after = await status();
    expect(after).toMatchObject({ id, status: "approved", redeemed: true, redeemed_at: clock.now().toISOString() });
    expect(after).not.toHaveProperty("receipt");
    expect(JSON.stringify(after)).not.toContain(body.receipt.receipt.split(".")[1]!);
    expect((await redeem(id, digest)).status).toBe(409);

    const events = (await t.db.tenant(1, (tx) => readAudit(tx, 1, 0, 10_000))).filter(
      (e) => e.subject === id && e.action === "proposal.redeem",
    );
    expect(events.map((e) => [e.outcome, e.data.redemption_id ?? null])).toEqual([
      ["redeemed", body.redemption_id],
      ["already_redeemed", null],
    ]);
  });

  it("refuses to redeem without a receipt-signing key, using nothing up", async () => {
    const keyless = await startApi({ db: t.db, now: clock.now, env: {}, recheckMs: 120_000 });
    try {
      const { id, digest } = await propose();
      await decide(t.db, id, "approved");
      const res = await fetch(`${keyless.url}/api/v1/proposals/${id}/redeem`, {
        method: "POST",
        headers: bearer(token),
        body: JSON.stringify({ digest }),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
        /AGENT_GATE_KEYS.*nothing was redeemed/,
      );
      expect(await t.db.tenant(1, (tx) => tx.query("SELECT 1 FROM redemptions WHERE proposal_id = $1", [id]))).toEqual(
        [],
      );
      expect((await redeem(id, digest)).status).toBe(200);
    } finally {
      await keyless.close();
    }
  });

  it("answers another installation's proposal and a missing digest as 404 and 400", async () => {
    const { id, digest } = await propose();
    await decide(t.db, id, "approved");
    const stranger = await issueToken(t.db, clock.now(), { installationId: 2 });
    const res = await fetch(`${api.url}/api/v1/proposals/${id}/redeem`, {
      method: "POST",
      headers: bearer(stranger),
      body: JSON.stringify({ digest }),
    });
    expect(res.status).toBe(404);
    const missing = await fetch(`${api.url}/api/v1/proposals/${id}/redeem`, {
      method: "POST",
      headers: bearer(token),
      body: "{}",
    });
    expect(missing.status).toBe(400);
    expect((await redeem(id, digest)).status).toBe(200);
  });
});
