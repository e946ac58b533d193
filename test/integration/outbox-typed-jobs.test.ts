import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseKeyring } from "../../src/crypto/keyring.ts";
import { readAudit } from "../../src/audit/log.ts";
import { findProposal } from "../../src/proposals/store.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { bearer, issueToken, seedInstallations, verifySite } from "./api-harness.ts";

// Outbox jobs are typed (one schema per kind) and each step of opening an
// outreach pull request can be repeated: a GitHub answer lost after the step
// was done leaves one branch, one file and one pull request after the retry.

const KEYS = "k1:" + Buffer.alloc(32, 9).toString("base64");
const now = new Date("2026-11-23T10:00:00.000Z");
const REPO = "acme/web";
const REFS = "/repos/{owner}/{repo}/git/refs";
const CONTENTS = "/repos/{owner}/{repo}/contents/{path}";
const PULLS = "/repos/{owner}/{repo}/pulls";
let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
const started = Date.now();
/** The test's date, moving with real time. */
const ticking = () => new Date(now.getTime() + (Date.now() - started));

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, now);
  await verifySite(t.db, 1, "example.com", now);
  token = await issueToken(t.db, now);
});
beforeEach(async () => {
  await app?.close();
  if (fake) {
    fake.assertClean();
    await fake.close();
  }
  fake = await GitHubFake.start();
  fake.setRepo(REPO, { private: true, id: 11, default_branch: "main" });
  fake.setRef(REPO, "heads/main", "a".repeat(40));
  // A moving clock: a retried job waits out its backoff.
  app = await startTestApp({ db: t.db, fake, now: ticking, keyring: parseKeyring(KEYS) });
});
afterAll(async () => {
  await app?.close();
  fake?.assertClean();
  await fake?.close();
  await t?.drop();
});

async function propose(): Promise<string> {
  const res = await fetch(`${app.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({
      kind: "outreach",
      repo: REPO,
      site: "example.com",
      summary: "s",
      content: { channel: "email", recipients: ["x@y.example"], body: "hello" },
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** What GitHub holds for the proposal: its branches, its file on the branch, its pull requests. */
function published(id: string) {
  const branch = `agent-gate/outreach/${id}`;
  const branches = [...fake.state.refs.keys()].filter((key) => key === `${REPO}\0refs/heads/${branch}`);
  const file = fake.state.getFile(REPO, branch, `.agent-gate/outreach/${id}.md`);
  const pulls = fake.pullRequests(REPO).filter((pull) => pull.head.ref === branch);
  return { branches: branches.length, file, pulls: pulls.map((pull) => Number(pull.number)) };
}

describe("opening an outreach pull request converges after a lost answer", () => {
  for (const [step, method, route] of [
    ["the branch is created", "POST", REFS],
    ["the file is committed", "PUT", CONTENTS],
    ["the pull request is opened", "POST", PULLS],
  ] as const) {
    it(`retries to one branch, one file and one pull request when GitHub answers 502 after ${step}`, async () => {
      fake.loseAnswerOfNext(method, route, 1, 502);
      const id = await propose();
      await app.server.worker.drain();
      const seen = published(id);
      expect(seen.branches).toBe(1);
      expect(seen.file).toContain(id);
      expect(seen.pulls).toHaveLength(1);
      // The step that was lost ran once more at most, and nothing else was duplicated.
      expect(fake.callsTo("PUT", CONTENTS).length).toBeLessThanOrEqual(step === "the file is committed" ? 2 : 1);
      const proposal = await t.db.tenant(1, (tx) => findProposal(tx, id));
      expect(proposal?.pr_number).toBe(seen.pulls[0]);
      expect((proposal?.state as { mode?: string }).mode).toBe("pull_request");
      const [job] = await t.db.query<{ outcome: string; attempts: number }>(
        "SELECT outcome, attempts FROM outbox WHERE operation = 'outreach.open' AND payload->>'proposal_id' = $1",
        [id],
      );
      expect(job).toEqual({ outcome: "pull_request", attempts: 2 });
    });
  }
});

describe("typed outbox jobs", () => {
  it("sets a malformed job aside with an audit event instead of retrying it", async () => {
    await t.db.tenant(1, (tx) =>
      tx.query(
        `INSERT INTO outbox (installation_id, operation, payload) VALUES
           (1, 'check_run.sync', '{"proposal_id": 42}'),
           (1, 'outreach.open', '{"proposal_id": "prp_00000000000000000000", "extra": true}'),
           (1, 'repos.delete', '{}')`,
      ),
    );
    await app.server.worker.drain();
    const jobs = await t.db.query<{ operation: string; outcome: string; attempts: number; last_error: string }>(
      "SELECT operation, outcome, attempts, last_error FROM outbox WHERE outcome = 'malformed' ORDER BY id",
    );
    expect(jobs.map(({ operation, attempts }) => ({ operation, attempts }))).toEqual([
      { operation: "check_run.sync", attempts: 1 },
      { operation: "outreach.open", attempts: 1 },
      { operation: "repos.delete", attempts: 1 },
    ]);
    expect(jobs[0]?.last_error).toContain("payload.proposal_id");
    expect(jobs[1]?.last_error).toContain("extra");
    expect(jobs[2]?.last_error).toContain("unknown outbox operation");
    const refused = (await t.db.tenant(1, (tx) => readAudit(tx, 1))).filter(
      (event) => event.action === "outbox.job_refused",
    );
    expect(refused).toHaveLength(3);
    expect(refused.map((event) => (event.data as { operation: string }).operation)).toEqual([
      "check_run.sync",
      "outreach.open",
      "repos.delete",
    ]);
    // No GitHub call was made for them.
    expect(fake.calls.filter((call) => call.path.startsWith("/repos/"))).toEqual([]);
  });

  it("reports an invalid repository config on the proposal and does not retry it as a GitHub failure", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "approvals: { required: many }\n");
    const id = await propose();
    await app.server.worker.drain();
    const [job] = await t.db.query<{ outcome: string; attempts: number }>(
      "SELECT outcome, attempts FROM outbox WHERE operation = 'outreach.open' AND payload->>'proposal_id' = $1",
      [id],
    );
    expect(job).toEqual({ outcome: "config_error", attempts: 1 });
    const proposal = await t.db.tenant(1, (tx) => findProposal(tx, id));
    expect((proposal?.state as { config_error?: string }).config_error).toMatch(
      /agent-gate\.yml is invalid: approvals\.required/,
    );
    const events = (await t.db.tenant(1, (tx) => readAudit(tx, 1))).filter((event) => event.subject === id);
    expect(events.map((event) => event.action)).toContain("outreach.config_error");
    expect(events.filter((event) => event.action === "github.write" && event.outcome === "retrying")).toEqual([]);
    expect(published(id).pulls).toEqual([]);
  });
});
