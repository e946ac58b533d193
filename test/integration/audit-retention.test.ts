import nacl from "tweetnacl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit, readAudit } from "../../src/audit/log.ts";
import { exportAudit } from "../../src/audit/export.ts";
import { verifyExport } from "../../src/audit/verify-file.ts";
import { pruneAudit, retentionCutoff, setRetentionFloor } from "../../src/audit/retention.ts";
import { readSettings } from "../../src/config/settings.ts";
import { checkpointNow } from "../../src/audit/checkpoint-store.ts";
import { checkpointAt } from "../../src/audit/checkpoint.ts";
import { verifyConsistency } from "../../src/audit/merkle-verify.ts";
import { proveConsistency, proveInclusion } from "../../src/audit/prove.ts";
import { verifyInclusionProof } from "../../src/audit/prove-verify.ts";

const retentionDays = (env: NodeJS.ProcessEnv) => readSettings(env).retentionDays;
import { toBase64url } from "../../src/crypto/base64url.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const now = new Date("2026-11-23T10:00:00.000Z");
const DAY = 86_400_000;
const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));
const signer: Signer = { keyId: "k1", secretKey: pair.secretKey, publicKey: pair.publicKey };
const keys: PublishedKeys = {
  keys: [
    {
      kid: "k1",
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

async function seed(installationId: number, ages: number[]) {
  for (const days of ages) {
    await t.db.tenant(installationId, (tx) =>
      appendAudit(
        tx,
        installationId,
        { action: "test.event", outcome: "ok", data: { days } },
        new Date(now.getTime() - days * DAY),
      ),
    );
  }
}

async function exportAll(installationId: number) {
  const out = exportAudit(t.db, { installationId, format: "jsonl" }, signer, now);
  let body = "";
  for await (const chunk of out.body) body += chunk;
  return { body, manifest: await out.manifest };
}

describe("retention", () => {
  it("reads AGENT_GATE_RETENTION_DAYS, 90 by default", () => {
    expect(retentionDays({})).toBe(90);
    expect(retentionDays({ AGENT_GATE_RETENTION_DAYS: "30" })).toBe(30);
    expect(() => retentionDays({ AGENT_GATE_RETENTION_DAYS: "0" })).toThrow(/AGENT_GATE_RETENTION_DAYS/);
    expect(() => retentionDays({ AGENT_GATE_RETENTION_DAYS: "ninety" })).toThrow(/AGENT_GATE_RETENTION_DAYS/);
    expect(retentionCutoff(now, 90).toISOString()).toBe("2026-08-25T10:00:00.000Z");
  });

  it("prunes the old prefix behind a checkpoint, and what remains verifies", async () => {
    await seed(31, [200, 150, 120, 91, 80, 10, 1]);
    const before = await t.db.tenant(31, (tx) => readAudit(tx, 31));
    const result = await pruneAudit(t.db, 31, retentionCutoff(now, 90), now);
    expect(result).toEqual({ pruned_count: 4, last_pruned_seq: 4, last_pruned_hash: before[3]?.hash });

    const after = await t.db.tenant(31, (tx) => readAudit(tx, 31));
    expect(after.map((event) => event.seq)).toEqual([5, 6, 7, 8]);
    expect(after[0]?.prev_hash).toBe(before[3]?.hash);
    expect(after[3]).toMatchObject({
      action: "audit.pruned",
      data: { pruned_count: 4, last_pruned_seq: 4, last_pruned_hash: before[3]?.hash },
    });

    const { body, manifest } = await exportAll(31);
    expect(manifest).toMatchObject({ count: 4, first_seq: 5, first_prev_hash: before[3]?.hash });
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: 4 });

    // The same body with the checkpoint's line removed no longer vouches for its start.
    const parts = body.split("\n").slice(0, 3);
    const cut = exportAudit(t.db, { installationId: 31, format: "jsonl", throughSeq: 7 }, signer, now);
    let cutBody = "";
    for await (const chunk of cut.body) cutBody += chunk;
    expect(cutBody).toBe(`${parts.join("\n")}\n`);
    expect(verifyExport(cutBody, await cut.manifest, keys)).toMatchObject({ ok: false, line: 1 });
  });

  it("prunes again later behind a second checkpoint", async () => {
    // Still before the database's own clock, which also bounds the floor.
    const later = new Date(now.getTime() + 7 * DAY);
    await setRetentionFloor(t.owner, 30);
    try {
      const result = await pruneAudit(t.db, 31, retentionCutoff(later, 30), later);
      expect(result.pruned_count).toBe(1);
    } finally {
      await setRetentionFloor(t.owner, 90);
    }
    const { body, manifest } = await exportAll(31);
    expect(manifest.first_seq).toBe(6);
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: manifest.count });
  });

  it("refuses, as the app's own role, a cutoff of infinity, in the future or inside the retention period, and a prune without its checkpoint, losing nothing", async () => {
    await seed(35, [400, 300, 5, 1]);
    const before = await t.db.tenant(35, (tx) => readAudit(tx, 35));
    const direct = (cutoff: string) =>
      t.db.tenant(35, (tx) => tx.query("SELECT * FROM agent_gate_prune_audit(35, $1::timestamptz)", [cutoff]));
    await expect(direct("infinity")).rejects.toThrow(/finite/);
    await expect(direct("2999-01-01T00:00:00Z")).rejects.toThrow(/retention floor/);
    await expect(direct(new Date(now.getTime() - 10 * DAY).toISOString())).rejects.toThrow(/retention floor/);
    // Old enough, but the chain's last event is not this prune's checkpoint.
    await expect(direct(new Date(now.getTime() - 200 * DAY).toISOString())).rejects.toThrow(/checkpoint of this prune/);
    // The role cannot move the floor either.
    await expect(t.db.tenant(35, (tx) => tx.query("UPDATE audit_retention_policy SET min_days = 1"))).rejects.toThrow(
      /permission denied/,
    );
    expect(await t.db.tenant(35, (tx) => readAudit(tx, 35))).toEqual(before);

    // Through the app's own prune, a cutoff past the floor is refused and the refusal is in the chain.
    await expect(pruneAudit(t.db, 35, new Date(now.getTime() - 10 * DAY), now)).rejects.toThrow(
      /before: cutoff .* is newer than the retention floor/,
    );
    const after = await t.db.tenant(35, (tx) => readAudit(tx, 35));
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length)).toMatchObject([
      { action: "audit.prune_refused", outcome: "refused", data: { reason: expect.stringMatching(/retention floor/) } },
    ]);
    const { body, manifest } = await exportAll(35);
    expect(verifyExport(body, manifest, keys)).toEqual({ ok: true, count: before.length + 1 });
  });

  it("refuses to verify an empty export of a chain that has a head", async () => {
    await seed(36, [400, 300]);
    // What the unbounded prune used to leave: every event gone, the head kept (now only the owner, switching
    // the trigger off, could do it).
    await t.owner.transaction(async (tx) => {
      await tx.query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_delete");
      await tx.query("DELETE FROM audit_events WHERE installation_id = 36");
      await tx.query("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_delete");
    });
    const { body, manifest } = await exportAll(36);
    expect(manifest).toMatchObject({ count: 0, filters: { through_seq: 2 } });
    expect(verifyExport(body, manifest, keys)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no events, but the chain's head is at seq 2/),
    });
  });

  it("does nothing and writes nothing when no event is old enough", async () => {
    await seed(32, [5, 1]);
    expect(await pruneAudit(t.db, 32, retentionCutoff(now, 90), now)).toEqual({
      pruned_count: 0,
      last_pruned_seq: null,
      last_pruned_hash: null,
    });
    expect(await t.db.tenant(32, (tx) => readAudit(tx, 32))).toHaveLength(2);
  });

  it("refuses a cutoff in the future", async () => {
    await expect(pruneAudit(t.db, 32, new Date(now.getTime() + 1), now)).rejects.toThrow(/before/);
  });

  it("leaves the app role unable to delete directly, even with the pruning flag set", async () => {
    await seed(33, [300, 200]);
    // db.tenant refuses set_config before it reaches the database (and so does the embedded database's app
    // session); the role itself is tested here, entered the way db.tenant enters it.
    await expect(
      t.db.transaction(async (tx) => {
        await tx.query("SELECT agent_gate_enter_tenant(33), set_config('role', 'agent_gate_app', true)");
        await tx.query("SELECT set_config('agent_gate.pruning', 'on', true)");
        await tx.query("DELETE FROM audit_events WHERE installation_id = 33");
      }),
    ).rejects.toThrow(/permission denied|app session may not call set_config/);
    await expect(t.db.tenant(33, (tx) => tx.query("TRUNCATE audit_events"))).rejects.toThrow();
    expect(await t.db.tenant(33, (tx) => readAudit(tx, 33))).toHaveLength(2);
  });

  it("prunes without a setting a later statement could reuse", async () => {
    await expect(
      t.db.tenant(33, async (tx) => {
        const cutoff = new Date(now.getTime() - 250 * DAY).toISOString();
        const [plan] = await tx.query<Record<string, unknown>>("SELECT * FROM agent_gate_prune_plan(33, $1)", [cutoff]);
        await appendAudit(tx, 33, { action: "audit.pruned", outcome: "ok", data: { ...plan, before: cutoff } }, now);
        const [pruned] = await tx.query<{ pruned_count: number }>("SELECT * FROM agent_gate_prune_audit(33, $1)", [
          cutoff,
        ]);
        expect(Number(pruned?.pruned_count)).toBe(1);
        const [flag] = await tx.query<{ v: string }>("SELECT current_setting('agent_gate.pruning', true) AS v");
        expect(flag?.v || null).toBeNull();
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
  });

  it("lets an installation prune only its own events", async () => {
    await seed(34, [400]);
    await expect(
      t.db.tenant(33, (tx) => tx.query("SELECT * FROM agent_gate_prune_audit(34, $1)", [now.toISOString()])),
    ).rejects.toThrow(/not the tenant/);
    expect(await t.db.tenant(34, (tx) => readAudit(tx, 34))).toHaveLength(1);
  });
});

describe("retention and the audit tree", () => {
  it("after a prune, inclusion proofs of later events and consistency between kept checkpoints still verify", async () => {
    await seed(38, [200, 150, 120, 100]);
    const early = await t.db.tenant(38, (tx) => checkpointNow(tx, 38, signer, now));
    await seed(38, [80, 10, 1]);
    const middle = await t.db.tenant(38, (tx) => checkpointNow(tx, 38, signer, now));
    const events = await t.db.tenant(38, (tx) => readAudit(tx, 38));

    const result = await pruneAudit(t.db, 38, retentionCutoff(now, 90), now);
    expect(result.pruned_count).toBe(4);
    const kept = await t.db.tenant(38, (tx) => readAudit(tx, 38));
    expect(kept[0]?.seq).toBe(5);
    const latest = await t.db.tenant(38, (tx) => checkpointNow(tx, 38, signer, now));
    expect(latest.size).toBe(events.length + 1);

    // The checkpoints signed before the prune are kept, and the tree still proves the later ones extend them.
    expect(await t.db.tenant(38, (tx) => checkpointAt(tx, 38, early.size))).toMatchObject({ note: early.note });
    for (const [from, to] of [
      [early, middle],
      [early, latest],
      [middle, latest],
    ] as const) {
      const proof = await t.db.tenant(38, (tx) => proveConsistency(tx, 38, from.size, to.size));
      const path = proof.consistency_path.map((p) => Buffer.from(p, "base64"));
      expect(
        verifyConsistency(from.size, to.size, Buffer.from(from.root, "hex"), Buffer.from(to.root, "hex"), path),
      ).toBe(true);
    }
    // Every event kept, the prune's own checkpoint event included, proves its inclusion in the latest checkpoint.
    for (const event of kept) {
      const proof = await t.db.tenant(38, (tx) => proveInclusion(tx, 38, event.hash, latest));
      expect(verifyInclusionProof(proof, keys)).toMatchObject({ ok: true, leafIndex: event.seq - 1 });
    }
    // A pruned event can no longer be proven (it is gone), but nothing before it was needed for the others.
    await expect(t.db.tenant(38, (tx) => proveInclusion(tx, 38, events[0]!.hash, latest))).rejects.toThrow(
      /not found|Audit event/i,
    );
  });
});
