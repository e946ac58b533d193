import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit } from "../../src/audit/log.ts";
import { exportAudit, type ExportOptions } from "../../src/audit/export.ts";
import { verifyExport } from "../../src/audit/verify-file.ts";
import { GENESIS_HASH } from "../../src/audit/chain.ts";
import type { Manifest } from "../../src/audit/manifest.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const A = 1101;
const B = 2202;
const now = new Date("2026-11-23T10:00:00.000Z");
const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
const signer: Signer = { keyId: "audit-test", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "audit-test",
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: now.toISOString(),
    },
  ],
};

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
  const repos = ["acme/web", "acme/api", "o'; DROP TABLE audit_events;--", "acme/%", 'acme/"quoted"'];
  for (let i = 0; i < 25; i += 1) {
    const at = new Date(now.getTime() + i * 60_000);
    await t.db.tenant(A, (tx) =>
      appendAudit(
        tx,
        A,
        {
          action: i % 3 === 0 ? "proposal.created" : "decision.recorded",
          outcome: "ok",
          repo: repos[i % 5],
          data: { i },
        },
        at,
      ),
    );
  }
  await t.db.tenant(B, (tx) =>
    appendAudit(
      tx,
      B,
      { action: "proposal.created", outcome: "ok", repo: "acme/web", data: { secretless: true } },
      now,
    ),
  );
});
afterAll(async () => {
  await t.drop();
});

async function run(options: Partial<ExportOptions> & { installationId: number }, batchSize = 7) {
  const out = exportAudit(t.db, { format: "jsonl", batchSize, ...options }, signer, now);
  let body = "";
  for await (const chunk of out.body) body += chunk;
  return { body, manifest: await out.manifest };
}

function lines(body: string): string[] {
  return body.split("\n").slice(0, -1);
}

describe("audit export", () => {
  it("exports the whole chain as JSONL with a signed manifest that verifies", async () => {
    const { body, manifest } = await run({ installationId: A });
    const events = lines(body).map(
      (line) => JSON.parse(line) as { seq: number; prev_hash: string; hash: string; data: unknown },
    );
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(events[0]?.prev_hash).toBe(GENESIS_HASH);
    expect(events[3]?.data).toEqual({ i: 3 });
    expect(manifest).toMatchObject({
      v: 1,
      installation_id: A,
      contiguous: true,
      count: 25,
      first_seq: 1,
      last_seq: 25,
      first_prev_hash: GENESIS_HASH,
      first_hash: events[0]?.hash,
      last_hash: events[24]?.hash,
      kid: "audit-test",
      generated_at: now.toISOString(),
    });
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 25 });
    expect(verifyExport(lines(body), manifest, keys)).toEqual({ ok: true, count: 25 });
  });

  it("contains nothing of another installation", async () => {
    const { body, manifest } = await run({ installationId: A });
    expect(body).not.toContain("secretless");
    expect(lines(body).every((line) => (JSON.parse(line) as { installation_id: number }).installation_id === A)).toBe(
      true,
    );
    const other = await run({ installationId: B });
    expect(other.manifest.count).toBe(1);
    expect(other.body).toContain("secretless");
    // A's export checked against B's manifest fails at once.
    expect(verifyExport(body, { ...other.manifest }, keys).ok).toBe(false);
    expect(manifest.installation_id).toBe(A);
  });

  describe("catches tampering and names the first bad line", () => {
    let body: string;
    let manifest: Manifest;
    beforeAll(async () => {
      ({ body, manifest } = await run({ installationId: A }));
    });
    const rejoin = (parts: string[]) => `${parts.join("\n")}\n`;

    it("a deleted middle line", () => {
      const parts = lines(body);
      parts.splice(9, 1);
      expect(verifyExport(rejoin(parts), manifest, keys)).toMatchObject({ ok: false, line: 10 });
    });

    it("two lines swapped", () => {
      const parts = lines(body);
      [parts[4], parts[5]] = [parts[5]!, parts[4]!];
      expect(verifyExport(rejoin(parts), manifest, keys)).toMatchObject({ ok: false, line: 5 });
    });

    it("an edited line", () => {
      const parts = lines(body);
      parts[12] = parts[12]!.replace('"outcome" : "ok"', '"outcome" : "denied"');
      expect(parts[12]).toContain("denied");
      expect(verifyExport(rejoin(parts), manifest, keys)).toEqual({
        ok: false,
        line: 13,
        reason: "hash does not match the event's content",
      });
    });

    it("an edited line whose hash was recomputed", async () => {
      const { chainHash, eventBody } = await import("../../src/audit/chain.ts");
      const parts = lines(body);
      const event = JSON.parse(parts[12]!) as Parameters<typeof eventBody>[0] & { prev_hash: string; hash: string };
      event.outcome = "denied";
      event.hash = chainHash(event.prev_hash, eventBody(event));
      parts[12] = JSON.stringify(event);
      expect(verifyExport(rejoin(parts), manifest, keys)).toMatchObject({ ok: false, line: 14 });
    });

    it("the tail cut", () => {
      const parts = lines(body).slice(0, 20);
      expect(verifyExport(rejoin(parts), manifest, keys)).toMatchObject({ ok: false, line: 21 });
    });

    it("the head cut", () => {
      const parts = lines(body).slice(1);
      expect(verifyExport(rejoin(parts), manifest, keys)).toMatchObject({ ok: false, line: 1 });
    });

    it("a line appended", () => {
      const parts = [...lines(body), lines(body)[0]!];
      expect(verifyExport(rejoin(parts), manifest, keys)).toMatchObject({ ok: false, line: 26 });
    });

    it("a manifest altered or signed by an unknown key", () => {
      expect(verifyExport(body, { ...manifest, count: 24 }, keys)).toEqual({
        ok: false,
        line: 0,
        reason: "manifest signature does not verify",
      });
      expect(verifyExport(body, { ...manifest, kid: "other" }, keys)).toMatchObject({ ok: false, line: 0 });
    });

    it("a byte changed that leaves every event intact", () => {
      const spaced = body.replace('"seq" : 3,', '"seq" :  3,');
      expect(verifyExport(spaced, manifest, keys)).toEqual({
        ok: false,
        line: 0,
        reason: "body SHA-256 differs from the manifest's body_sha256",
      });
    });
  });

  describe("filters", () => {
    it.each([
      ["o'; DROP TABLE audit_events;--", 5],
      ["acme/%", 5],
      ['acme/"quoted"', 5],
      ["%", 0],
      ["acme/web' OR '1'='1", 0],
    ])("repo %j matches literally (%i events)", async (repo, expected) => {
      const { body, manifest } = await run({ installationId: A, repo });
      expect(manifest.count).toBe(expected);
      expect(manifest.contiguous).toBe(false);
      expect(lines(body).every((line) => (JSON.parse(line) as { repo: string }).repo === repo)).toBe(true);
      expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: expected });
    });

    it("leaves the table in place after hostile filters", async () => {
      const [row] = await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_events");
      expect(row?.n).toBe(26);
    });

    it("filters by action; a deleted or reordered line is still caught", async () => {
      const { body, manifest } = await run({ installationId: A, action: "proposal.created" });
      expect(manifest.count).toBe(9);
      expect(verifyExport(body, manifest, keys).ok).toBe(true);
      const parts = lines(body);
      const dropped = [...parts.slice(0, 3), ...parts.slice(4)];
      expect(verifyExport(`${dropped.join("\n")}\n`, manifest, keys)).toMatchObject({ ok: false, line: 9 });
      const swapped = [parts[1]!, parts[0]!, ...parts.slice(2)];
      expect(verifyExport(`${swapped.join("\n")}\n`, manifest, keys)).toMatchObject({ ok: false, line: 1 });
    });

    it("selects a time window as an unbroken run of the chain", async () => {
      const since = new Date(now.getTime() + 5 * 60_000).toISOString();
      const until = new Date(now.getTime() + 10 * 60_000).toISOString();
      const { body, manifest } = await run({ installationId: A, since, until });
      expect(manifest).toMatchObject({ contiguous: true, count: 5, first_seq: 6, last_seq: 10 });
      expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 5 });
      const parts = lines(body);
      parts.splice(2, 1);
      expect(verifyExport(`${parts.join("\n")}\n`, manifest, keys)).toMatchObject({ ok: false, line: 3 });
    });
  });

  it("exports CSV whose digest and signature verify", async () => {
    const { body, manifest } = await run({ installationId: A, format: "csv", repo: "o'; DROP TABLE audit_events;--" });
    const rows = body.split("\r\n");
    expect(rows[0]).toBe(
      "installation_id,seq,created_at,action,actor,actor_is_bot,actor_is_agent,repo,subject,outcome,data,prev_hash,hash",
    );
    expect(rows).toHaveLength(7);
    expect(rows[1]).toContain(`,o'; DROP TABLE audit_events;--,`);
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 5 });
    expect(verifyExport(body.replace("acme", "acmf").replace(",ok,", ",no,"), manifest, keys)).toMatchObject({
      ok: false,
      line: 0,
    });
  });

  it("exports an installation without events as an empty body that verifies", async () => {
    const { body, manifest } = await run({ installationId: 9999 });
    expect(body).toBe("");
    expect(manifest).toMatchObject({ count: 0, first_seq: null, last_hash: null, filters: { through_seq: 0 } });
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 0 });
    expect(
      verifyExport(lines((await run({ installationId: B })).body).join("\n") + "\n", manifest, keys),
    ).toMatchObject({ ok: false, line: 1 });
  });

  it("stops at the head seen when it began", async () => {
    const out = exportAudit(t.db, { installationId: B, format: "jsonl" }, signer, now);
    const iterator = out.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    await t.db.tenant(B, (tx) => appendAudit(tx, B, { action: "late.event", outcome: "ok" }, now));
    let body = first.done ? "" : first.value;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) body += next.value;
    const manifest = await out.manifest;
    expect(manifest.count).toBe(1);
    expect(manifest.filters.through_seq).toBe(1);
    expect(body).not.toContain("late.event");
  });
});
