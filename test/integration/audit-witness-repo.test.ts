import { generateKeyPairSync, randomBytes } from "node:crypto";
import nacl from "tweetnacl";
import pino from "pino";
import { Probot, ProbotOctokit } from "probot";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAudit, readAudit } from "../../src/audit/log.ts";
import { checkpointNow } from "../../src/audit/checkpoint-store.ts";
import { eventLeaf, nodeHash } from "../../src/audit/merkle.ts";
import { addRepositoryWitness, DEFAULT_WITNESS_BRANCH, witnessesOf } from "../../src/audit/witnesses.ts";
import { witnessMetrics } from "../../src/audit/witness-metrics.ts";
import { runDoctor } from "../../src/cli/doctor.ts";
import type { Signer } from "../../src/crypto/signer.ts";
import type { GitHubClient } from "../../src/github/client.ts";
import { commitWitnessesDue, type WitnessCommitDeps } from "../../src/outbox/witness-commit.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

// The repository witness end to end against the GitHub stand-in (every call
// checked against GitHub's OpenAPI): events → checkpoint → a commit on the
// witness's branch, GitHub down, and a log cut with its head rewound.

const TOKENS = "/app/installations/{installation_id}/access_tokens";
const CONTENTS = "/repos/{owner}/{repo}/contents/{path}";
const BRANCH = DEFAULT_WITNESS_BRANCH;
const pair = nacl.sign.keyPair.fromSeed(new Uint8Array(randomBytes(32)));
const signer: Signer = { keyId: "repo-wit", secretKey: pair.secretKey, publicKey: pair.publicKey };
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

let t: TestDatabase;
let fake: GitHubFake;
let probot: Probot;
let clock = new Date("2026-11-30T10:00:00.000Z").getTime();
const now = () => new Date(clock);

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  fake.now = now;
  probot = new Probot({
    appId: 4242,
    privateKey,
    secret: "s",
    baseUrl: fake.apiUrl,
    log: pino({ level: "silent" }),
    Octokit: ProbotOctokit.defaults({ throttle: { enabled: false }, retry: { enabled: false } }),
  });
});
afterAll(async () => {
  fake.assertClean();
  await fake.close();
  await t.drop();
});

const github = (installationId: number) => probot.auth(installationId) as Promise<GitHubClient>;
const sweep = (count?: WitnessCommitDeps["count"]) => commitWitnessesDue({ db: t.db, github, now, count });

/** A repository of the installation (GitHub's and the app's record of it) with a repository witness on it. */
async function witnessOn(id: number): Promise<{ repo: string; repoId: number }> {
  const repo = `acme/log-${id}`;
  const settings = fake.state.repo(repo);
  settings.installation_id = id;
  await addRepositoryWitness(
    t.db,
    id,
    { name: "gh", repository: repo, repositoryId: settings.id, branch: BRANCH },
    "cli",
    now(),
  );
  return { repo, repoId: settings.id };
}

async function append(id: number, n: number, who = "bob") {
  for (let i = 0; i < n; i += 1)
    await t.db.tenant(id, (tx) =>
      appendAudit(tx, id, { action: "test.witness", outcome: "ok", actor: who, data: { i } }, now()),
    );
}
const checkpoint = (id: number) => t.db.tenant(id, (tx) => checkpointNow(tx, id, signer, now()));
const held = (repo: string, id: number) => fake.state.getFile(repo, BRANCH, `agent-gate/audit/${id}/checkpoint`);
const branchHead = (repo: string) => fake.state.refs.get(`${repo}\0refs/heads/${BRANCH}`);
const tokenOf = (call: { headers: Record<string, unknown> }) => String(call.headers.authorization);

/** RFC 9162 MTH over leaf hashes. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const AUDIT_TABLES = ["audit_events", "audit_tree_nodes", "audit_heads", "audit_checkpoints"];

/** The owner login rewrites history: triggers off, rows changed, triggers on. */
async function asOwner(sql: string[]) {
  await t.owner.transaction(async (tx) => {
    for (const table of AUDIT_TABLES) await tx.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    for (const statement of sql) await tx.query(statement);
    for (const table of AUDIT_TABLES) await tx.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
  });
}

describe("a repository witness (witness add --repo)", () => {
  it("commits each new checkpoint to the branch, each extending the last, with a contents: write token for that call only", async () => {
    const { repo, repoId } = await witnessOn(301);
    await append(301, 5);
    const first = await checkpoint(301);
    fake.calls.length = 0;
    expect(await sweep()).toEqual(["committed"]);
    // The branch did not exist: made at the default branch's head, then the checkpoint committed on it.
    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/git/refs").map((c) => c.body)).toEqual([
      { ref: `refs/heads/${BRANCH}`, sha: fake.state.getRef(repo, "heads/main") },
    ]);
    expect(held(repo, 301)).toBe(first.note);
    const [put] = fake.callsTo("PUT", CONTENTS);
    expect(decodeURIComponent(put!.path)).toBe(`/repos/${repo}/contents/agent-gate/audit/301/checkpoint`);
    expect(put!.body).toMatchObject({ branch: BRANCH, message: `Checkpoint ${first.size} of agent-gate/audit/301` });
    // Two tokens, each for the one repository: reads with contents (and metadata) read, the writes with contents: write alone.
    const tokens = fake.callsTo("POST", TOKENS).map((c) => c.body);
    expect(tokens).toEqual([
      { repository_ids: [repoId], permissions: { contents: "read", metadata: "read" } },
      { repository_ids: [repoId], permissions: { contents: "write" } },
    ]);
    const [read] = fake.callsTo("GET", CONTENTS);
    expect(tokenOf(read!)).toMatch(/^token ghs_/);
    expect(tokenOf(put!)).toMatch(/^token ghs_/);
    expect(tokenOf(put!)).not.toBe(tokenOf(read!));
    expect((await witnessesOf(t.db, 301))[0]).toMatchObject({
      witnessed_size: first.size,
      witnessed_commit: branchHead(repo),
      last_error: null,
    });

    // The next checkpoint replaces the file (naming the blob it read), in a new commit: GitHub's history holds both.
    const firstCommit = branchHead(repo)!;
    await append(301, 4);
    const second = await checkpoint(301);
    expect(await sweep()).toEqual(["committed"]);
    expect(held(repo, 301)).toBe(second.note);
    expect(fake.callsTo("PUT", CONTENTS).at(-1)!.body).toMatchObject({ sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(fake.state.commits.get(`${repo}\0${firstCommit}`)?.get("agent-gate/audit/301/checkpoint")).toBe(first.note);
    expect(branchHead(repo)).not.toBe(firstCommit);
    expect((await witnessesOf(t.db, 301))[0]).toMatchObject({ witnessed_size: second.size, target_size: second.size });
    // Nothing due: nothing claimed, nothing asked of GitHub.
    const calls = fake.calls.length;
    expect(await sweep()).toEqual([]);
    expect(fake.calls.length).toBe(calls);
  });

  it("loses nothing while GitHub is down: retried with backoff, and the latest checkpoint committed when it is back", async () => {
    const { repo } = await witnessOn(302);
    await append(302, 3);
    await checkpoint(302);
    const registry = new Registry();
    const count = witnessMetrics(registry, t.db);
    fake.failReads(503);
    expect(await sweep(count)).toEqual(["failed"]);
    fake.failReads(null);
    const [down] = await witnessesOf(t.db, 302);
    expect(down).toMatchObject({ witnessed_size: 0, attempts: 1, last_error: expect.stringContaining("GitHub") });
    expect(held(repo, 302)).toBeUndefined();
    expect(await sweep(count)).toEqual([]); // backing off
    // Back for reads, the write fails: still nothing lost, tried again later.
    clock += 5_000;
    fake.failNext("PUT", CONTENTS, 1, 502);
    expect(await sweep(count)).toEqual(["failed"]);
    expect((await witnessesOf(t.db, 302))[0]).toMatchObject({ attempts: 2 });
    // Meanwhile the log grows: the branch gets the latest checkpoint, which extends everything before.
    await append(302, 6);
    const latest = await checkpoint(302);
    clock += 15_000;
    expect(await sweep(count)).toEqual(["committed"]);
    expect(held(repo, 302)).toBe(latest.note);
    expect((await witnessesOf(t.db, 302))[0]).toMatchObject({
      witnessed_size: latest.size,
      attempts: 0,
      last_error: null,
    });
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/agent_gate_witness_sends_total\{outcome="failed"\} 2/);
    expect(metrics).toMatch(/agent_gate_witness_sends_total\{outcome="committed"\} 1/);
  });

  it("refuses a log cut with its head rewound: the branch keeps its checkpoint, the refusal is audited, counted and fails doctor", async () => {
    const { repo } = await witnessOn(303);
    await append(303, 12);
    const kept = await checkpoint(303);
    expect(await sweep()).toEqual(["committed"]);
    const commit = branchHead(repo);

    const events = await t.db.tenant(303, (tx) => readAudit(tx, 303));
    const leaves = events.slice(0, 9).map((e) => eventLeaf(e.hash));
    const frontier = mth(leaves.slice(0, 8)).toString("hex") + leaves[8]!.toString("hex");
    await asOwner([
      "DELETE FROM audit_events WHERE installation_id = 303 AND seq > 9",
      "DELETE FROM audit_tree_nodes WHERE installation_id = 303 AND (idx + 1) * (1::bigint << level) > 9",
      `UPDATE audit_heads SET seq = 9, hash = '${events[8]!.hash}', tree_size = 9, tree_frontier = '${frontier}' WHERE installation_id = 303`,
    ]);
    await append(303, 6, "mallory");
    const rewritten = await checkpoint(303);
    expect(rewritten.size).toBeGreaterThan(kept.size);

    const registry = new Registry();
    const count = witnessMetrics(registry, t.db);
    const puts = fake.callsTo("PUT", CONTENTS).length;
    expect(await sweep(count)).toEqual(["refused"]);
    // Nothing overwritten: no write, the branch still holds the checkpoint it had.
    expect(fake.callsTo("PUT", CONTENTS)).toHaveLength(puts);
    expect(held(repo, 303)).toBe(kept.note);
    expect(branchHead(repo)).toBe(commit);

    const refusal = (await t.db.tenant(303, (tx) => readAudit(tx, 303))).filter((e) => e.action === "witness.refused");
    expect(refusal).toHaveLength(1);
    expect(refusal[0]!.data).toMatchObject({
      witness: "gh",
      repository: repo,
      branch: BRANCH,
      tree_size: rewritten.size,
      reason: expect.stringContaining("does not extend the one on the branch"),
    });
    expect(await registry.metrics()).toMatch(/agent_gate_witness_refused [1-9]/);
    expect(await registry.metrics()).toMatch(/agent_gate_witness_sends_total\{outcome="refused"\} 1/);
    const doctor = (await runDoctor({}, { openDb: async () => t.db })).find((c) => c.name === "audit_witnesses");
    expect(doctor).toMatchObject({ ok: false, detail: expect.stringContaining("gh of installation 303") });
    // A refused witness is sent nothing more.
    await append(303, 1);
    await checkpoint(303);
    clock += 3_600_000;
    expect(await sweep()).toEqual([]);
    expect(held(repo, 303)).toBe(kept.note);
  });

  it("refuses a smaller checkpoint than the branch holds (the tail cut, nothing appended since)", async () => {
    const { repo } = await witnessOn(304);
    await append(304, 7);
    const kept = await checkpoint(304);
    expect(await sweep()).toEqual(["committed"]);
    // Another copy of the log, shorter, signs the next checkpoint: GitHub's file is larger.
    const shorter = (await t.db.tenant(304, (tx) => readAudit(tx, 304))).slice(0, 4);
    const leaves = shorter.map((e) => eventLeaf(e.hash));
    await asOwner([
      "DELETE FROM audit_events WHERE installation_id = 304 AND seq > 4",
      "DELETE FROM audit_tree_nodes WHERE installation_id = 304 AND (idx + 1) * (1::bigint << level) > 4",
      `UPDATE audit_heads SET seq = 4, hash = '${shorter[3]!.hash}', tree_size = 4, tree_frontier = '${mth(leaves).toString("hex")}' WHERE installation_id = 304`,
      "DELETE FROM audit_checkpoints WHERE installation_id = 304",
    ]);
    const smaller = await checkpoint(304);
    expect(smaller.size).toBe(4);
    // The witness believes it holds less than GitHub does (the owner rewound that too): GitHub's file decides.
    await t.owner.query("UPDATE witnesses SET witnessed_size = 0 WHERE installation_id = 304");
    expect(await sweep()).toEqual(["refused"]);
    expect(held(repo, 304)).toBe(kept.note);
    expect((await witnessesOf(t.db, 304))[0]!.refused_reason).toContain(
      `smaller than the one on the branch (size ${kept.size}): the log was cut`,
    );
  });

  it("keeps retrying, naming the permission, when GitHub refuses the token (the App not installed on the repository)", async () => {
    const { repo } = await witnessOn(305);
    fake.state.repo(repo).installation_id = 999; // moved to another installation
    await append(305, 2);
    await checkpoint(305);
    expect(await sweep()).toEqual(["failed"]);
    expect((await witnessesOf(t.db, 305))[0]).toMatchObject({
      refused_at: null,
      last_error: expect.stringContaining(`contents: write on ${repo}`),
    });
  });
});
