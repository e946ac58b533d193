import { randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit, clearDueCheckpoint, readAudit } from "../../src/audit/log.ts";
import { checkpointDue, checkpointNow } from "../../src/audit/checkpoint-store.ts";
import { checkpointAt, verifyCheckpoint } from "../../src/audit/checkpoint.ts";
import { exportAudit } from "../../src/audit/export.ts";
import { verifyExport } from "../../src/audit/verify-file.ts";
import { eventLeaf, nodeHash } from "../../src/audit/merkle.ts";
import { verifyConsistency } from "../../src/audit/merkle-verify.ts";
import { proveConsistency, proveInclusion } from "../../src/audit/prove.ts";
import { verifyInclusionProof } from "../../src/audit/prove-verify.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const now = new Date("2026-11-23T10:00:00.000Z");
const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(randomBytes(32)));
const signer: Signer = { keyId: "tree-key", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "tree-key",
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
});
afterAll(async () => {
  await t.drop();
});

/** RFC 9162 MTH over leaf hashes, written here independently of the app. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

async function append(id: number, n: number, from = 0, who = "alice") {
  for (let i = from; i < from + n; i += 1) {
    await t.db.tenant(id, (tx) =>
      appendAudit(tx, id, { action: "test.tree", outcome: "ok", actor: i === 3 ? who : "bob", data: { i } }, now),
    );
  }
}

async function exported(id: number) {
  const out = exportAudit(t.db, { installationId: id, format: "jsonl" }, signer, now);
  let body = "";
  for await (const chunk of out.body) body += chunk;
  return { body, manifest: await out.manifest };
}

/** The owner login rewrites history: triggers off, rows changed, triggers on. */
async function asOwner(sql: string[]) {
  await t.owner.transaction(async (tx) => {
    for (const table of ["audit_events", "audit_tree_nodes", "audit_heads"])
      await tx.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    for (const statement of sql) await tx.query(statement);
    for (const table of ["audit_events", "audit_tree_nodes", "audit_heads"])
      await tx.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
  });
}

describe("the audit log as a Merkle tree", () => {
  it("signs checkpoints whose roots are RFC 9162 roots over the events' chain hashes", async () => {
    await append(71, 10);
    const first = await t.db.tenant(71, (tx) => checkpointNow(tx, 71, signer, now));
    await append(71, 10, 10);
    const second = await t.db.tenant(71, (tx) => checkpointNow(tx, 71, signer, now));
    const events = await t.db.tenant(71, (tx) => readAudit(tx, 71));
    const leaves = events.map((e) => eventLeaf(e.hash));
    expect(first.size).toBe(10);
    expect(second.size).toBe(20);
    expect(second.root).toBe(mth(leaves).toString("hex"));
    expect(first.root).toBe(mth(leaves.slice(0, 10)).toString("hex"));
    expect(verifyCheckpoint(second.note, keys)).toMatchObject({
      ok: true,
      checkpoint: { installationId: 71, size: 20 },
    });
  });

  it("proves any event's inclusion and the consistency of two checkpoints", async () => {
    const events = await t.db.tenant(71, (tx) => readAudit(tx, 71));
    const checkpoint = (await t.db.tenant(71, (tx) => checkpointAt(tx, 71, 20)))!;
    for (const event of [events[0]!, events[4]!, events[19]!]) {
      const proof = await t.db.tenant(71, (tx) => proveInclusion(tx, 71, event.hash, checkpoint));
      expect(verifyInclusionProof(proof, keys)).toMatchObject({ ok: true, leafIndex: event.seq - 1 });
      expect(verifyInclusionProof({ ...proof, event_hash: events[7]!.hash }, keys)).toMatchObject({ ok: false });
    }
    const first = (await t.db.tenant(71, (tx) => checkpointAt(tx, 71, 10)))!;
    const cons = await t.db.tenant(71, (tx) => proveConsistency(tx, 71, 10, 20));
    const path = cons.consistency_path.map((p) => Buffer.from(p, "base64"));
    expect(verifyConsistency(10, 20, Buffer.from(first.root, "hex"), Buffer.from(checkpoint.root, "hex"), path)).toBe(
      true,
    );
  });

  it("a sweep signs a checkpoint for each installation whose tree grew, once", async () => {
    await append(72, 3);
    const written = await checkpointDue(t.db, async () => signer, now);
    expect(written.map((c) => [c.installationId, c.size])).toContainEqual([72, 3]);
    expect((await checkpointDue(t.db, async () => signer, now)).length).toBe(0);
  });

  it("a tree that grew while its checkpoint was signed is signed again at the next sweep, not when the claim lapses", async () => {
    await append(73, 2);
    // A sweep has claimed the installation (for 60 s) and signs size 2 while a third event commits.
    await t.owner.query("UPDATE audit_checkpoint_due SET claimed_until = $2 WHERE installation_id = $1", [
      73,
      new Date(now.getTime() + 60_000),
    ]);
    await append(73, 1, 2);
    await t.db.tenant(73, (tx) => clearDueCheckpoint(tx, 73, 2));
    // The next sweep, well within the claim's 60 s, signs the rest.
    const written = await checkpointDue(t.db, async () => signer, now);
    expect(written.map((c) => [c.installationId, c.size])).toContainEqual([73, 3]);
    expect((await checkpointDue(t.db, async () => signer, now)).map((c) => c.installationId)).not.toContain(73);
  });

  it("audit verify with an earlier checkpoint accepts the log that extends it", async () => {
    const held = verifyCheckpoint((await t.db.tenant(71, (tx) => checkpointAt(tx, 71, 10)))!.note, keys);
    if (!held.ok) throw new Error(held.reason);
    const { body, manifest } = await exported(71);
    expect(verifyExport(body, manifest, keys, held.checkpoint)).toEqual({ ok: true, count: 20 });
  });

  it("catches the owner deleting the tail with the head rewound", async () => {
    await append(73, 12);
    const held = await t.db.tenant(73, (tx) => checkpointNow(tx, 73, signer, now));
    const events = await t.db.tenant(73, (tx) => readAudit(tx, 73));
    const kept = events.slice(0, 9);
    // rewind the chain head and the tree's frontier to 9 leaves (8 + 1)
    const leaves = kept.map((e) => eventLeaf(e.hash));
    const frontier = mth(leaves.slice(0, 8)).toString("hex") + leaves[8]!.toString("hex");
    await asOwner([
      "DELETE FROM audit_events WHERE installation_id = 73 AND seq > 9",
      `UPDATE audit_heads SET seq = 9, hash = '${kept[8]!.hash}', tree_size = 9, tree_frontier = '${frontier}' WHERE installation_id = 73`,
    ]);
    const { body, manifest } = await exported(73);
    expect(verifyExport(body, manifest, keys)).toMatchObject({ ok: true });
    expect(verifyExport(body, manifest, keys, held)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("the tail was cut"),
    });
  });

  it("catches the owner editing an event and re-hashing the chain and the tree", async () => {
    await append(74, 8);
    const held = await t.db.tenant(74, (tx) => checkpointNow(tx, 74, signer, now));
    await asOwner([
      "DELETE FROM audit_events WHERE installation_id = 74",
      "DELETE FROM audit_tree_nodes WHERE installation_id = 74",
      "DELETE FROM audit_heads WHERE installation_id = 74",
    ]);
    await append(74, 8, 0, "mallory");
    const { body, manifest } = await exported(74);
    expect(body).toContain("mallory");
    expect(verifyExport(body, manifest, keys)).toMatchObject({ ok: true });
    expect(verifyExport(body, manifest, keys, held)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("another root"),
    });
  });
});
