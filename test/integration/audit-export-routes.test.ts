import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRoutes, THROUGH_SEQ_HEADER } from "../../src/api/audit-routes.ts";
import { Router } from "../../src/http/router.ts";
import { appendAudit, readAudit } from "../../src/audit/log.ts";
import type { Manifest } from "../../src/audit/manifest.ts";
import { verifyExport } from "../../src/audit/verify-file.ts";
import { verifyCheckpoint } from "../../src/audit/checkpoint.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import { checkpointRoutes } from "../../src/api/checkpoint-routes.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { UnauthorizedError } from "../../src/errors.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const now = new Date("2026-11-23T10:00:00.000Z");
const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(3));
const signer: Signer = { keyId: "route-key", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "route-key",
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: now.toISOString(),
    },
  ],
};
// Admin tokens of two installations; the installation comes from the token only.
const ADMINS: Record<string, { installationId: number; actor: string }> = {
  "Bearer admin-a": { installationId: 71, actor: "alice" },
  "Bearer admin-b": { installationId: 72, actor: "bob" },
};

let t: TestDatabase;
let server: Server;
let base: string;

beforeAll(async () => {
  t = await createTestDatabase();
  for (let i = 0; i < 30; i += 1) {
    await t.db.tenant(71, (tx) =>
      appendAudit(
        tx,
        71,
        { action: "proposal.created", outcome: "ok", repo: i % 2 ? "acme/web" : "=cmd|'/C calc'!A0", data: { i } },
        now,
      ),
    );
  }
  await t.db.tenant(72, (tx) =>
    appendAudit(tx, 72, { action: "proposal.created", outcome: "ok", repo: "other/secret-repo" }, now),
  );
  const router = new Router().add(
    ...auditRoutes({
      db: t.db,
      now: () => now,
      signer: async () => signer,
      requireAdmin: async (req) => {
        const admin = ADMINS[req.headers.authorization ?? ""];
        if (!admin) throw new UnauthorizedError();
        return admin;
      },
    }),
    ...checkpointRoutes(t.db),
  );
  server = createServer((req, res) => {
    void router.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.drop();
});

function get(path: string, token = "admin-a") {
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function exportWithManifest(query: string, token = "admin-a") {
  const res = await get(`/api/v1/audit/export?${query}`, token);
  expect(res.status).toBe(200);
  const body = await res.text();
  const through = res.headers.get(THROUGH_SEQ_HEADER);
  const manifestRes = await get(`/api/v1/audit/export/manifest?${query}&through_seq=${through}`, token);
  expect(manifestRes.status).toBe(200);
  return { res, body, manifest: (await manifestRes.json()) as Manifest };
}

describe("audit export routes", () => {
  it("streams JSONL whose manifest, fetched by through_seq, verifies", async () => {
    const { res, body, manifest } = await exportWithManifest("format=jsonl");
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    expect(res.headers.get(THROUGH_SEQ_HEADER)).toBe("30");
    expect(manifest).toMatchObject({ installation_id: 71, count: 30, kid: "route-key" });
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 30 });
    expect(body).not.toContain("secret-repo");
  });

  it("records each export in the admin's own chain, after the exported range", async () => {
    const events = await t.db.tenant(71, (tx) => readAudit(tx, 71, 30));
    expect(events[0]).toMatchObject({ action: "audit.exported", actor: "alice", data: { count: 30, format: "jsonl" } });
    // An export taken now still matches its manifest although the chain grew meanwhile.
    const { body, manifest } = await exportWithManifest("");
    expect(verifyExport(body, manifest, keys).ok).toBe(true);
  });

  it("serves CSV with formula cells neutralised", async () => {
    const { res, body, manifest } = await exportWithManifest("format=csv&action=proposal.created");
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(body).toContain(",'=cmd|'/C calc'!A0,");
    expect(body).not.toMatch(/,=cmd/);
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 30 });
  });

  it("takes the installation from the token, never from the query", async () => {
    const { body, manifest } = await exportWithManifest("installation_id=71", "admin-b");
    expect(manifest.installation_id).toBe(72);
    expect(body).toContain("other/secret-repo");
    expect(body).not.toContain("acme/web");
  });

  it("treats hostile filter strings as literal values", async () => {
    for (const repo of ["'; DROP TABLE audit_events;--", "%", 'acme/"web"', "acme/web' OR '1'='1"]) {
      const { body, manifest } = await exportWithManifest(`repo=${encodeURIComponent(repo)}`);
      expect(manifest.count).toBe(0);
      expect(body).toBe("");
    }
    const { manifest } = await exportWithManifest(`repo=${encodeURIComponent("=cmd|'/C calc'!A0")}`);
    expect(manifest.count).toBe(15);
  });

  it.each([
    ["since=yesterday", "since"],
    ["until=2026-02-30T25:00:00Z", "until"],
    ["format=xlsx", "format"],
    [`action=${"a".repeat(300)}`, "action"],
    ["repo=a%00b", "repo"],
  ])("answers 400 naming the field for %s", async (query, field) => {
    const res = await get(`/api/v1/audit/export?${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { fields: { field: string }[] } };
    expect(body.error.fields.map((issue) => issue.field)).toEqual([field]);
  });

  it("serves a signed checkpoint of the token's own tree, also at the public well-known URL", async () => {
    const res = await get("/api/v1/audit/checkpoint", "admin-b");
    expect(res.status).toBe(200);
    const result = verifyCheckpoint(await res.text(), keys);
    const [head] = await t.db.tenant(72, (tx) => tx.query<{ tree_size: string }>("SELECT tree_size FROM audit_heads"));
    expect(result).toMatchObject({ ok: true, checkpoint: { installationId: 72, size: Number(head?.tree_size) } });
    const published = await fetch(`${base}/.well-known/agent-gate/checkpoints/72`);
    expect(published.status).toBe(200);
    expect(verifyCheckpoint(await published.text(), keys)).toMatchObject({
      ok: true,
      checkpoint: { installationId: 72 },
    });
    expect((await fetch(`${base}/.well-known/agent-gate/checkpoints/999999`)).status).toBe(404);
    expect((await fetch(`${base}/.well-known/agent-gate/checkpoints/x`)).status).toBe(400);
  });

  it("requires through_seq for the manifest", async () => {
    const res = await get("/api/v1/audit/export/manifest?format=jsonl");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("through_seq");
  });

  it("refuses a caller without an admin token", async () => {
    expect((await get("/api/v1/audit/export", "agent-token")).status).toBe(401);
    expect((await get("/api/v1/audit/export/manifest?through_seq=1", "agent-token")).status).toBe(401);
  });
});
