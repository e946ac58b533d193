import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Router } from "../../src/http/router.ts";
import { keysRoutes } from "../../src/api/keys-routes.ts";
import { generateKeyEntry, openText, parseKeyring, seal, sealedKeyId } from "../../src/crypto/keyring.ts";
import { openPg } from "../../src/db/pg.ts";
import type { SealedColumn } from "../../src/keys/store.ts";
import { signReceipt, verifyReceipt, type ReceiptPayload } from "../../src/crypto/receipts.ts";
import type { Database } from "../../src/db/database.ts";
import { currentSigner, publishedKeys, reencryptSealed, rotateSigningKey } from "../../src/keys/store.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";

let t: TestDatabase;
let server: Server;
let base: string;
beforeAll(async () => {
  t = await createTestDatabase();
  server = createServer((req, res) => {
    void router.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  const router = new Router().add(...keysRoutes(t.db));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.drop();
});

const ringA = parseKeyring(generateKeyEntry("ka"));
const entryB = generateKeyEntry("kb");
const ringBA = parseKeyring(`${entryB},ka:${Buffer.from(ringA.current.key).toString("base64")}`);
const ringB = parseKeyring(entryB);
const day1 = new Date("2026-11-01T00:00:00.000Z");
const day2 = new Date("2026-11-20T00:00:00.000Z");
const digest = "c".repeat(40);

function decision(id: string): Omit<ReceiptPayload, "kid"> {
  return {
    v: 2,
    proposal_id: id,
    redemption_id: "rdm_000000000000000000000001",
    installation_id: 7,
    repo: "octo/app",
    kind: "commit",
    digest,
    decision: "approved",
    approvers: ["maintainer"],
    decided_at: "2026-11-20T01:00:00.000Z",
    redeemed_at: "2026-11-20T02:00:00.000Z",
    expires_at: "2026-11-23T01:00:00.000Z",
  };
}

async function sealedRows(db: Database) {
  return db.query<{ kid: string; sealed_secret: string; status: string }>(
    "SELECT kid, sealed_secret, status FROM signing_keys ORDER BY created_at",
  );
}

describe("signing keys", () => {
  it("publishes nothing before the first key", async () => {
    expect(await publishedKeys(t.db)).toEqual({ keys: [] });
  });

  it("creates exactly one first key under concurrent callers", async () => {
    const handles = backend() === "postgres" ? [t.db, await t.another(), await t.another()] : [t.db];
    const signers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => currentSigner(handles[i % handles.length] as Database, ringA, day1)),
    );
    expect(new Set(signers.map((signer) => signer.keyId)).size).toBe(1);
    expect(signers[0]?.secretKey).toHaveLength(64);
    const rows = await sealedRows(t.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe("current");
    expect(sealedKeyId(rows[0]?.sealed_secret ?? "")).toBe("ka");
    expect(rows[0]?.sealed_secret).not.toContain(Buffer.from(signers[0]?.secretKey ?? []).toString("base64"));
  });

  it("serves keys.json with a five-minute cache", async () => {
    const signer = await currentSigner(t.db, ringA, day1);
    const response = await fetch(`${base}/.well-known/agent-gate/keys.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toContain("max-age=300");
    const body = (await response.json()) as {
      keys: { kid: string; status: string; alg: string; created_at: string }[];
    };
    expect(body.keys).toEqual([
      expect.objectContaining({ kid: signer.keyId, status: "current", alg: "Ed25519", created_at: day1.toISOString() }),
    ]);
    expect(JSON.stringify(body)).not.toContain("v1.");
  });

  it("keeps old receipts verifying after rotation and signs new ones with the new key", async () => {
    const old = await currentSigner(t.db, ringA, day1);
    const oldReceipt = signReceipt(decision("p_old"), old);
    const fresh = await rotateSigningKey(t.db, ringA, day2);
    expect(fresh.keyId).not.toBe(old.keyId);
    expect((await currentSigner(t.db, ringA, day2)).keyId).toBe(fresh.keyId);
    const keys = await publishedKeys(t.db);
    expect(keys.keys.map((key) => [key.kid, key.status])).toEqual([
      [fresh.keyId, "current"],
      [old.keyId, "retired"],
    ]);
    const at = new Date("2026-11-21T00:00:00.000Z");
    expect(verifyReceipt(oldReceipt, keys, { digest, repo: "octo/app" }, at).kid).toBe(old.keyId);
    const newReceipt = signReceipt(decision("p_new"), await currentSigner(t.db, ringA, at));
    expect(verifyReceipt(newReceipt, keys, { digest, repo: "octo/app" }, at).kid).toBe(fresh.keyId);
  });

  it("re-encrypts every stored secret under a new keyring key", async () => {
    const before = await currentSigner(t.db, ringA, day2);
    expect(await reencryptSealed(t.owner, ringBA)).toBe(2);
    const rows = await sealedRows(t.db);
    expect(rows.map((row) => sealedKeyId(row.sealed_secret))).toEqual(["kb", "kb"]);
    expect(await reencryptSealed(t.owner, ringBA)).toBe(0);
    const after = await currentSigner(t.db, ringB, day2);
    expect(after.keyId).toBe(before.keyId);
    expect(after.secretKey).toEqual(before.secretKey);
    await expect(currentSigner(t.db, ringA, day2)).rejects.toMatchObject({ code: "sealed_value_mismatch" });
  });

  it("refuses a sealed secret copied onto another key's row, changing nothing", async () => {
    const rows = await sealedRows(t.db);
    const [retired, current] = rows;
    await t.db.query("UPDATE signing_keys SET sealed_secret = $1 WHERE kid = $2", [
      retired?.sealed_secret,
      current?.kid,
    ]);
    await expect(currentSigner(t.db, ringB, day2)).rejects.toMatchObject({
      code: "sealed_value_mismatch",
      message: expect.stringMatching(/another row or installation/),
    });
    await expect(reencryptSealed(t.owner, parseKeyring(`${generateKeyEntry("kc")},${entryB}`))).rejects.toMatchObject({
      code: "sealed_value_mismatch",
    });
    expect((await sealedRows(t.db)).map((row) => sealedKeyId(row.sealed_secret))).toEqual(["kb", "kb"]);
    await t.db.query("UPDATE signing_keys SET sealed_secret = $1 WHERE kid = $2", [
      current?.sealed_secret,
      current?.kid,
    ]);
    expect((await currentSigner(t.db, ringB, day2)).keyId).toBe(current?.kid);
  });

  it("lets the app role read the public keys but never write them", async () => {
    const seen = await t.db.tenant(7, (tx) => publishedKeys(tx));
    expect(seen.keys).toHaveLength(2);
    for (const sql of [
      "UPDATE signing_keys SET status = 'retired'",
      "DELETE FROM signing_keys",
      "INSERT INTO signing_keys (kid, public_key, sealed_secret, status) VALUES ('x', 'x', 'x', 'retired')",
    ]) {
      await expect(t.db.tenant(7, (tx) => tx.query(sql))).rejects.toThrow();
    }
  });

  it("re-seals installation-scoped columns bound to each row's own installation", async () => {
    await t.owner.exec("CREATE TABLE test_sealed (id text PRIMARY KEY, installation_id bigint NOT NULL, body text)");
    const column: SealedColumn = {
      table: "test_sealed",
      idColumn: "id",
      installationColumn: "installation_id",
      column: "body",
      purpose: "outreach_body",
    };
    for (const [id, installationId] of [
      ["o1", 1],
      ["o2", 2],
    ] as const) {
      const sealed = seal(ringA, { purpose: "outreach_body", rowId: id, installationId }, `body of ${id}`);
      await t.owner.query("INSERT INTO test_sealed VALUES ($1, $2, $3)", [id, installationId, sealed]);
    }
    await t.owner.query("INSERT INTO test_sealed VALUES ('o3', 3, NULL)");
    expect(await reencryptSealed(t.owner, ringBA, [column])).toBe(2);
    const rows = await t.owner.query<{ id: string; installation_id: number; body: string }>(
      "SELECT id, installation_id, body FROM test_sealed WHERE body IS NOT NULL ORDER BY id",
    );
    expect(
      rows.map((row) =>
        openText(ringB, { purpose: "outreach_body", rowId: row.id, installationId: row.installation_id }, row.body),
      ),
    ).toEqual(["body of o1", "body of o2"]);
  });

  it.runIf(backend() === "postgres")(
    "refuses to re-seal a FORCE row-level-security table it cannot fully see",
    async () => {
      const role = `agent_gate_t_owner_${Date.now().toString(36)}`;
      await t.owner.exec(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOBYPASSRLS`);
      try {
        await t.owner.exec(`CREATE TABLE test_forced (id text PRIMARY KEY, installation_id bigint NOT NULL, body text);
        ALTER TABLE test_forced OWNER TO ${role};
        ALTER TABLE test_forced ENABLE ROW LEVEL SECURITY;
        ALTER TABLE test_forced FORCE ROW LEVEL SECURITY;
        CREATE POLICY test_forced_tenant ON test_forced USING (installation_id = agent_gate_tenant())`);
        const sealed = seal(ringA, { purpose: "outreach_body", rowId: "f1", installationId: 5 }, "hidden");
        await t.owner.query("INSERT INTO test_forced VALUES ('f1', 5, $1)", [sealed]);
        const url = new URL(t.ownerUrl ?? "");
        url.username = role;
        const owner = openPg({ connectionString: url.toString() });
        try {
          const column: SealedColumn = {
            table: "test_forced",
            idColumn: "id",
            installationColumn: "installation_id",
            column: "body",
            purpose: "outreach_body",
          };
          await expect(reencryptSealed(owner, ringBA, [column])).rejects.toMatchObject({ code: "reencrypt_blocked" });
        } finally {
          await owner.close();
        }
        const [row] = await t.owner.query<{ body: string }>("SELECT body FROM test_forced");
        expect(row?.body).toBe(sealed);
      } finally {
        await t.owner.exec(`DROP TABLE IF EXISTS test_forced; DROP ROLE IF EXISTS ${role}`);
      }
    },
  );
});
