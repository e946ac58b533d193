import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit } from "../../src/audit/log.ts";
import { checkpointAt, latestCheckpoint, noteKeyName } from "../../src/audit/checkpoint.ts";
import { addRepositoryWitness, addWitness, witnessesOf } from "../../src/audit/witnesses.ts";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { currentSigner } from "../../src/keys/store.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startWitness, type WitnessStandIn } from "../support/tlog-witness.ts";

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let witness: WitnessStandIn;
const keyring = parseKeyring(generateKeyEntry("k1"));

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  const signer = await currentSigner(t.db, keyring, new Date());
  witness = await startWitness({ keyName: noteKeyName(signer.keyId), publicKey: signer.publicKey });
  app = await startTestApp({
    db: t.db,
    fake,
    keyring,
    startWorker: true,
    env: { AGENT_GATE_SWEEP_INTERVAL_MS: "100" },
  });
});
afterAll(async () => {
  await app.close();
  await witness.close();
  await fake.close();
  await t.drop();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("the running app's sweep", { timeout: 150_000 }, () => {
  it("signs a checkpoint of a tree that grew and sends it to the installation's witness, which cosigns it", async () => {
    await addWitness(t.db, 95, { name: "w1", url: witness.url, vkey: witness.vkey }, "cli", new Date());
    for (let i = 0; i < 4; i += 1)
      await t.db.tenant(95, (tx) =>
        appendAudit(tx, 95, { action: "test.app", outcome: "ok", data: { i } }, new Date()),
      );
    // A sweep that signs while the events are still being appended lets its claim go: the next sweep signs all five.
    const [w] = await until(
      () => witnessesOf(t.db, 95),
      (list) => list[0]?.witnessed_size === 5,
    );
    expect(w).toMatchObject({ witnessed_size: 5, refused_at: null });
    const latest = await t.db.tenant(95, (tx) => latestCheckpoint(tx, 95));
    expect(witness.held.get("agent-gate/audit/95")).toEqual({ size: 5, root: Buffer.from(latest!.root, "hex") });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/agent_gate_witness_sends_total\{outcome="cosigned"\} [1-9]/);
    expect(metrics).toMatch(/agent_gate_witness_refused 0/);
  });

  it("commits the checkpoint to an installation's repository witness, on its branch", async () => {
    const repo = fake.state.repo("acme/audit-log");
    repo.installation_id = 96;
    await addRepositoryWitness(
      t.db,
      96,
      { name: "gh", repository: "acme/audit-log", repositoryId: repo.id, branch: "agent-gate-checkpoints" },
      "cli",
      new Date(),
    );
    for (let i = 0; i < 3; i += 1)
      await t.db.tenant(96, (tx) =>
        appendAudit(tx, 96, { action: "test.app", outcome: "ok", data: { i } }, new Date()),
      );
    // Checkpoints come at the sweep's cadence: whichever it signed is the one the branch holds.
    const [w] = await until(
      () => witnessesOf(t.db, 96),
      (list) => (list[0]?.witnessed_size ?? 0) > 0,
      50_000,
    );
    expect(w).toMatchObject({ refused_at: null, witnessed_commit: expect.any(String) });
    const file = fake.state.getFile("acme/audit-log", "agent-gate-checkpoints", "agent-gate/audit/96/checkpoint")!;
    const size = Number(file.split("\n")[1]);
    expect(size).toBeGreaterThanOrEqual(w!.witnessed_size);
    const signed = await t.db.tenant(96, (tx) => checkpointAt(tx, 96, size));
    expect(file).toBe(signed!.note);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/agent_gate_witness_sends_total\{outcome="committed"\} [1-9]/);
  });
});
