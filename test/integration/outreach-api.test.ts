import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { parseKeyring } from "../../src/crypto/keyring.ts";
import { outreachDigest } from "../../src/outreach/content.ts";
import { readOutreach } from "../../src/outreach/store.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { dumpAllRows } from "../support/db-scan.ts";
import { Clock, bearer, issueToken, seedInstallations, startApi, verifySite, type ApiServer } from "./api-harness.ts";

const KEYS = "k1:" + Buffer.alloc(32, 7).toString("base64");
const keyring = parseKeyring(KEYS);
const SECRET_ADDRESS = "private.person@recipient-domain.example";
const SECRET_BODY = "The confidential offer is 4711 euros (OFR-4711-ZK), reply by Friday";
const outreach = {
  kind: "outreach",
  repo: "acme/web",
  site: "example.com",
  summary: "newsletter to one customer",
  content: {
    channel: "email",
    recipients: [SECRET_ADDRESS, "second@recipient-domain.example"],
    subject: "Offer",
    body: SECRET_BODY,
  },
};

let t: TestDatabase;
let api: ApiServer;
let token: string;
const logs: string[] = [];
const clock = new Clock("2026-11-23T10:00:00.000Z");
const log = {
  info: (obj: object, msg?: string) => logs.push(JSON.stringify({ ...obj, msg })),
  warn: (obj: object, msg?: string) => logs.push(JSON.stringify({ ...obj, msg })),
};

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, clock.now());
  await verifySite(t.db, 1, "example.com", clock.now());
  token = await issueToken(t.db, clock.now());
  api = await startApi({
    db: t.db,
    now: clock.now,
    env: { AGENT_GATE_PUBLIC_URL: "https://gate.example/", AGENT_GATE_KEYS: KEYS },
    log,
  });
});
afterAll(async () => {
  await api?.close();
  await t?.drop();
});

async function post(body: unknown, as = token): Promise<Response> {
  return fetch(`${api.url}/api/v1/proposals`, { method: "POST", headers: bearer(as), body: JSON.stringify(body) });
}

describe("POST /api/v1/proposals, kind outreach", () => {
  it("creates a pending proposal bound to the canonical content, sealed at rest, and queues its publication", async () => {
    const res = await post(outreach);
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; digest: string; status: string; kind: string };
    const content = {
      channel: "email" as const,
      recipients: outreach.content.recipients,
      subject: "Offer",
      body: SECRET_BODY,
    };
    expect(created).toMatchObject({
      kind: "outreach",
      status: "pending",
      digest: outreachDigest("acme/web", "example.com", content),
    });

    const [row] = await t.owner.query<{ channel: string; recipient_count: number; sealed: string }>(
      "SELECT channel, recipient_count, sealed FROM proposals_outreach WHERE proposal_id = $1",
      [created.id],
    );
    expect(row).toMatchObject({ channel: "email", recipient_count: 2 });
    expect(row!.sealed).not.toContain("recipient-domain");
    expect(await t.db.tenant(1, (tx) => readOutreach(tx, keyring, created.id))).toEqual(content);

    const outbox = await t.owner.query("SELECT operation, payload FROM outbox WHERE coalesce_key = $1", [
      `outreach:${created.id}`,
    ]);
    expect(outbox).toEqual([{ operation: "outreach.open", payload: { proposal_id: created.id } }]);
    const event = (await t.db.tenant(1, (tx) => readAudit(tx, 1))).find((e) => e.subject === created.id);
    expect(event?.data).toMatchObject({
      kind: "outreach",
      digest: created.digest,
      channel: "email",
      recipients: 2,
      site: "example.com",
    });
  });

  it("refuses a ciphertext copied to another proposal's row", async () => {
    const a = (await (await post(outreach)).json()) as { id: string };
    const b = (await (await post({ ...outreach, content: { ...outreach.content, body: "other" } })).json()) as {
      id: string;
    };
    await t.owner.query(
      "UPDATE proposals_outreach SET sealed = (SELECT sealed FROM proposals_outreach WHERE proposal_id = $1) WHERE proposal_id = $2",
      [a.id, b.id],
    );
    await expect(t.db.tenant(1, (tx) => readOutreach(tx, keyring, b.id))).rejects.toThrow();
  });

  it("answers a 1 MB body with 413 and stores nothing", async () => {
    const before = await dumpAllRows(t.owner);
    const res = await post({ ...outreach, content: { ...outreach.content, body: "y".repeat(1024 * 1024) } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    const justOver = await post({ ...outreach, content: { ...outreach.content, body: "y".repeat(256 * 1024 + 1) } });
    expect(justOver.status).toBe(413);
    expect(await dumpAllRows(t.owner)).toBe(before);
  });

  it.each([
    ["no site and no content", { kind: "outreach", repo: "acme/web", summary: "x" }, ["content", "site"]],
    [
      "a bad address",
      { ...outreach, content: { ...outreach.content, recipients: ["nope"] } },
      ["content.recipients.0"],
    ],
    [
      "a non-https API endpoint",
      { ...outreach, content: { ...outreach.content, channel: "api", recipients: ["http://x.example/"] } },
      ["content.recipients.0"],
    ],
  ])("refuses %s with 400", async (_name, body, fields) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { fields: { field: string }[] } }).error;
    expect(error.fields.map((f) => f.field).sort()).toEqual(fields);
  });

  it("refuses an unverified site with 422 and records the refusal", async () => {
    const res = await post({ ...outreach, site: "unverified.example" });
    expect(res.status).toBe(422);
    const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
    expect(events.at(-1)).toMatchObject({ action: "proposal.refused", outcome: "refused", repo: "acme/web" });
    expect(events.at(-1)?.data).toMatchObject({
      kind: "outreach",
      reason: "site_not_verified",
      site: "unverified.example",
      channel: "email",
      recipients: 2,
    });
  });

  it("refuses outreach with 503 when no keyring is configured", async () => {
    const bare = await startApi({ db: t.db, now: clock.now, env: {} });
    try {
      const res = await fetch(`${bare.url}/api/v1/proposals`, {
        method: "POST",
        headers: bearer(token),
        body: JSON.stringify(outreach),
      });
      expect(res.status).toBe(503);
    } finally {
      await bare.close();
    }
  });

  it("leaves no recipient address and no body text in any log line or database row", async () => {
    const rows = await dumpAllRows(t.owner);
    expect(rows).toContain("proposals_outreach");
    for (const secret of [SECRET_ADDRESS, "recipient-domain", SECRET_BODY, "OFR-4711-ZK", "y".repeat(64)]) {
      expect(rows).not.toContain(secret);
      expect(logs.join("\n")).not.toContain(secret);
    }
    expect(logs.some((line) => line.includes('"channel":"email"') && line.includes('"recipients":2'))).toBe(true);
  });
});
