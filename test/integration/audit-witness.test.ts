import { randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit, readAudit } from "../../src/audit/log.ts";
import { checkpointNow } from "../../src/audit/checkpoint-store.ts";
import { noteKeyName, verifyCheckpoint } from "../../src/audit/checkpoint.ts";
import { eventLeaf, nodeHash } from "../../src/audit/merkle.ts";
import { parseVerifierKey } from "../../src/audit/note.ts";
import { addWitness, removeWitness, witnessesOf } from "../../src/audit/witnesses.ts";
import { witnessDue, type WitnessSweepDeps } from "../../src/audit/witness-sweep.ts";
import { witnessMetrics } from "../../src/audit/witness-metrics.ts";
import { cosignaturesAt } from "../../src/audit/witness-store.ts";
import { runDoctor } from "../../src/cli/doctor.ts";
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startWitness, type WitnessStandIn } from "../support/tlog-witness.ts";

const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(randomBytes(32)));
const signer: Signer = { keyId: "wit-key", secretKey: pair.secretKey, publicKey: pair.publicKey };
const start = new Date("2026-11-23T10:00:00.000Z");
const keys: PublishedKeys = {
  keys: [
    {
      kid: "wit-key",
      alg: "Ed25519",
      public_key: toBase64url(pair.publicKey),
      status: "current",
      created_at: start.toISOString(),
    },
  ],
};

let t: TestDatabase;
let witness: WitnessStandIn;
let clock = start.getTime();
const now = () => new Date(clock);
const sweep = (count?: WitnessSweepDeps["count"]) => witnessDue({ db: t.db, fetch, now, count });

beforeAll(async () => {
  t = await createTestDatabase();
  witness = await startWitness({ keyName: noteKeyName(signer.keyId), publicKey: pair.publicKey });
});
afterAll(async () => {
  await witness.close();
  await t.drop();
});

async function append(id: number, n: number, who = "bob") {
  for (let i = 0; i < n; i += 1) {
    await t.db.tenant(id, (tx) =>
      appendAudit(tx, id, { action: "test.witness", outcome: "ok", actor: i === 3 ? who : "bob", data: { i } }, now()),
    );
  }
}
const checkpoint = (id: number) => t.db.tenant(id, (tx) => checkpointNow(tx, id, signer, now()));

/** RFC 9162 MTH over leaf hashes. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** The owner login rewrites history: triggers off, rows changed, triggers on. */
async function asOwner(sql: string[]) {
  await t.owner.transaction(async (tx) => {
    await tx.query("ALTER TABLE audit_events DISABLE TRIGGER USER");
    await tx.query("ALTER TABLE audit_tree_nodes DISABLE TRIGGER USER");
    await tx.query("ALTER TABLE audit_heads DISABLE TRIGGER USER");
    for (const statement of sql) await tx.query(statement);
    await tx.query("ALTER TABLE audit_events ENABLE TRIGGER USER");
    await tx.query("ALTER TABLE audit_tree_nodes ENABLE TRIGGER USER");
    await tx.query("ALTER TABLE audit_heads ENABLE TRIGGER USER");
  });
}

async function refusalAlerted(id: number) {
  const events = await t.db.tenant(id, (tx) => readAudit(tx, id));
  expect(events.filter((e) => e.action === "witness.refused")).toHaveLength(1);
  expect((await witnessesOf(t.db, id))[0]).toMatchObject({ refused_at: expect.any(Date) });
  const doctor = (await runDoctor({}, { openDb: async () => t.db })).find((c) => c.name === "audit_witnesses");
  expect(doctor).toMatchObject({ ok: false, detail: expect.stringContaining(`installation ${id}`) });
  // Nothing more is sent to a witness that refused.
  const before = witness.requests.length;
  await append(id, 1);
  await checkpoint(id);
  clock += 3_600_000;
  await sweep();
  expect(witness.requests.length).toBe(before);
}

describe("witnesses of the audit log (C2SP tlog-witness)", () => {
  it("sends each new checkpoint with a consistency proof; the witness cosigns and audit verify reports it", async () => {
    await addWitness(t.db, 81, { name: "w1", url: witness.url, vkey: witness.vkey }, "cli", now());
    await append(81, 5);
    await checkpoint(81);
    expect(await sweep()).toEqual(["cosigned"]);
    await append(81, 6);
    const second = await checkpoint(81);
    expect(await sweep()).toEqual(["cosigned"]);
    expect(await sweep()).toEqual([]);
    expect(witness.requests.filter((r) => r.status === 200).map((r) => [r.old, r.size])).toEqual([
      [0, 6],
      [6, second.size],
    ]);

    const cosigned = second.note + (await t.db.tenant(81, (tx) => cosignaturesAt(tx, 81, second.size))).join("");
    const witnessKey = parseVerifierKey(witness.vkey)!;
    expect(verifyCheckpoint(cosigned, keys, [witnessKey])).toMatchObject({ ok: true, otherSignatures: [witness.name] });
    // Without the witness's cosignature, or with a forged one, the note names no witness.
    expect(verifyCheckpoint(second.note, keys, [witnessKey])).toMatchObject({ ok: true, otherSignatures: [] });
    const forged = cosigned.replace(
      /(\u2014 witness\.test\/w1 \S{40})(\S)/,
      (_, a: string, b: string) => a + (b === "A" ? "B" : "A"),
    );
    expect(forged).not.toBe(cosigned);
    const check = verifyCheckpoint(forged, keys, [witnessKey]);
    expect(check.ok && check.otherSignatures.includes(witness.name)).toBe(false);
    expect((await witnessesOf(t.db, 81))[0]).toMatchObject({ witnessed_size: second.size, refused_at: null });
  });

  it("loses no checkpoint while the witness is down: retried with backoff, then sent the latest with a proof from what it holds", async () => {
    await addWitness(t.db, 82, { name: "w1", url: witness.url, vkey: witness.vkey }, "cli", now());
    await witness.down();
    const outcomes: string[] = [];
    await append(82, 4);
    await checkpoint(82);
    expect(await sweep((o) => outcomes.push(o))).toEqual(["failed"]);
    expect(await sweep()).toEqual([]); // backing off
    await append(82, 5);
    const latest = await checkpoint(82);
    clock += 10_000;
    expect(await sweep()).toEqual(["failed"]);
    expect((await witnessesOf(t.db, 82))[0]).toMatchObject({
      attempts: 2,
      witnessed_size: 0,
      last_error: expect.stringContaining("no answer"),
    });
    await witness.up();
    clock += 20_000;
    expect(await sweep()).toEqual(["cosigned"]);
    expect(outcomes).toEqual(["failed"]);
    const held = witness.held.get("agent-gate/audit/82");
    expect(held).toEqual({ size: latest.size, root: Buffer.from(latest.root, "hex") });
    // The next one proves consistency from the size the witness cosigned.
    await append(82, 3);
    const next = await checkpoint(82);
    expect(await sweep()).toEqual(["cosigned"]);
    expect(witness.requests.at(-1)).toEqual({ old: latest.size, size: next.size, status: 200 });
  });

  it("learns the witness's size from a 409 and proves consistency from it", async () => {
    await append(83, 7);
    const first = await checkpoint(83);
    witness.held.set("agent-gate/audit/83", { size: first.size, root: Buffer.from(first.root, "hex") });
    await addWitness(t.db, 83, { name: "w1", url: witness.url, vkey: witness.vkey }, "cli", now());
    await append(83, 2);
    const second = await checkpoint(83);
    expect(await sweep()).toEqual(["conflict"]);
    expect(await sweep()).toEqual(["cosigned"]);
    expect(witness.requests.slice(-2)).toEqual([
      { old: 0, size: second.size, status: 409 },
      { old: first.size, size: second.size, status: 200 },
    ]);
  });

  it("raises an alert when the owner deletes the tail with the head rewound: the witness refuses the next checkpoint", async () => {
    const registry = new Registry();
    const count = witnessMetrics(registry, t.db);
    await addWitness(t.db, 84, { name: "w1", url: witness.url, vkey: witness.vkey }, "cli", now());
    await append(84, 12);
    const held = await checkpoint(84);
    expect(await sweep(count)).toEqual(["cosigned"]);
    const events = await t.db.tenant(84, (tx) => readAudit(tx, 84));
    const kept = events.slice(0, 9);
    const leaves = kept.map((e) => eventLeaf(e.hash));
    const frontier = mth(leaves.slice(0, 8)).toString("hex") + leaves[8]!.toString("hex");
    await asOwner([
      "DELETE FROM audit_events WHERE installation_id = 84 AND seq > 9",
      "DELETE FROM audit_tree_nodes WHERE installation_id = 84 AND (idx + 1) * (1::bigint << level) > 9",
      `UPDATE audit_heads SET seq = 9, hash = '${kept[8]!.hash}', tree_size = 9, tree_frontier = '${frontier}' WHERE installation_id = 84`,
    ]);
    await append(84, 6, "mallory");
    const rewritten = await checkpoint(84);
    expect(rewritten.size).toBeGreaterThan(held.size);
    expect(await sweep(count)).toEqual(["refused"]);
    expect(witness.requests.at(-1)).toEqual({ old: held.size, size: rewritten.size, status: 422 });
    expect(witness.held.get("agent-gate/audit/84")?.size).toBe(held.size);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/agent_gate_witness_refused [1-9]/);
    expect(metrics).toMatch(/agent_gate_witness_sends_total\{outcome="refused"\} 1/);
    await refusalAlerted(84);
  });

  it("raises an alert when the owner edits an event and re-hashes the chain and the tree", async () => {
    await addWitness(t.db, 85, { name: "w1", url: witness.url, vkey: witness.vkey }, "cli", now());
    await append(85, 8);
    const held = await checkpoint(85);
    expect(await sweep()).toEqual(["cosigned"]);
    await asOwner([
      "DELETE FROM audit_events WHERE installation_id = 85",
      "DELETE FROM audit_tree_nodes WHERE installation_id = 85",
      "DELETE FROM audit_heads WHERE installation_id = 85",
    ]);
    await append(85, 10, "mallory");
    const rewritten = await checkpoint(85);
    expect(rewritten.size).toBeGreaterThan(held.size);
    expect(await sweep()).toEqual(["refused"]);
    expect(witness.requests.at(-1)).toMatchObject({ old: held.size, status: 422 });
    await refusalAlerted(85);
    // Removing and re-adding the witness starts it again (audited both ways).
    await removeWitness(t.db, 85, "w1", "cli", now());
    const actions = (await t.db.tenant(85, (tx) => readAudit(tx, 85))).map((e) => e.action);
    // (witness.added went with the events the owner deleted.)
    expect(actions).toEqual(expect.arrayContaining(["witness.refused", "witness.removed"]));
  });

  it("keeps no cosignature that does not verify with the witness's key, and tries again later", async () => {
    const impostor = await startWitness(
      { keyName: noteKeyName(signer.keyId), publicKey: pair.publicKey },
      witness.name,
    );
    try {
      // The configured key is the real witness's; the endpoint signs with another key under the same name.
      await addWitness(t.db, 88, { name: "w1", url: impostor.url, vkey: witness.vkey }, "cli", now());
      await append(88, 3);
      const cp = await checkpoint(88);
      expect(await sweep()).toEqual(["failed"]);
      expect((await witnessesOf(t.db, 88))[0]).toMatchObject({
        witnessed_size: 0,
        last_error: expect.stringContaining("not a cosignature by witness.test/w1"),
      });
      expect(await t.db.tenant(88, (tx) => cosignaturesAt(tx, 88, cp.size))).toEqual([]);
    } finally {
      await impostor.close();
    }
  });

  it("refuses a witness URL or key that is not one", async () => {
    const add = (url: string, vkey = witness.vkey, name = "w2") =>
      addWitness(t.db, 86, { name, url, vkey }, "cli", now());
    await expect(add("http://witness.example.com")).rejects.toThrow(/--url: must be https/);
    await expect(add("https://user:pw@witness.example.com")).rejects.toThrow(/--url: must carry no user/);
    await expect(add("https://witness.example.com", "not-a-key")).rejects.toThrow(/--key/);
    await expect(add("https://witness.example.com", witness.vkey, "../x")).rejects.toThrow(/name/);
    await add("https://witness.example.com");
    await expect(add("https://witness.example.com")).rejects.toThrow(/already exists/);
    // Another installation sees none of it.
    expect(await witnessesOf(t.db, 87)).toEqual([]);
  });
});
