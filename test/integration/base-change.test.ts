import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { readAudit } from "../../src/audit/log.ts";

// An approval holds for the base it was given for. A pull request approved
// against `dev` (one approval) and then edited to target `main` (a rule: two
// approvals) is decided again for `main`; a merge queue into `main` refuses
// an approval given for `dev`. Signed webhooks against the GitHub stand-in.

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const PR = 2; // the pull request number in GitHub's example payloads
const SHA_A = "a".repeat(40);
const BASE_SHA = "0".repeat(40);
const PULL = "/repos/{owner}/{repo}/pulls/{pull_number}";
const CONTENTS = "/repos/{owner}/{repo}/contents/{path}";
let installationId = 17_000;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});
beforeEach(async () => {
  installationId += 1;
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake });
  fake.setPermission(REPO, "maintainer", "write");
  fake.setPermission(REPO, "alice", "write");
  fake.setFile(
    REPO,
    ".github/agent-gate.yml",
    `agents: [${AGENT}]\nrules:\n  - name: main needs two\n    if: { branches: [main] }\n    require: { approvals: 2 }\n`,
  );
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function agentPr(action: string, base: string) {
  const payload = example("pull_request", action === "edited" ? "opened" : action, installationId);
  payload.action = action;
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = SHA_A;
  payload.pull_request.base = { ...payload.pull_request.base, ref: base };
  payload.sender = { ...payload.sender, login: AGENT, type: "User" };
  return payload;
}

/** GitHub's `pull_request.edited` for a base change: `changes.base` names the old one. */
function baseEdited(from: string, to: string, sender = AGENT) {
  const payload = agentPr("edited", to);
  payload.changes = { base: { ref: { from }, sha: { from: BASE_SHA } } };
  payload.sender = { ...payload.sender, login: sender, type: "User" };
  return payload;
}

function approve(reviewer: string, base: string) {
  const payload = example("pull_request_review", "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = SHA_A;
  payload.pull_request.base = { ...payload.pull_request.base, ref: base };
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state: "approved",
    commit_id: SHA_A,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  return payload;
}

let reviewId = 1;
function approvals(...reviewers: string[]) {
  fake.setReviews(
    REPO,
    PR,
    reviewers.map((login) => ({
      id: reviewId++,
      user: { login, id: reviewId, type: "User" },
      state: "APPROVED",
      commit_id: SHA_A,
      submitted_at: "2026-11-23T10:00:00Z",
      body: "",
    })),
  );
}

/** The pull request as GitHub holds it now. */
function onGitHub(base: string) {
  fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_A }, base: { ref: base } });
}

function check() {
  const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === SHA_A && run.name === "Agent Gate");
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

async function deliver(event: string, payload: object): Promise<void> {
  const res = await app.deliver(event, payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

async function proposalState() {
  const [row] = await t.db.tenant(installationId, (tx) =>
    tx.query<{ status: string; state: { facts?: { base?: string } } }>(
      "SELECT status, state FROM proposals WHERE installation_id = $1 AND kind = 'commit'",
      [installationId],
    ),
  );
  return row!;
}

/** Approved against dev with one approval: the rule for main does not apply. */
async function approvedOnDev() {
  onGitHub("dev");
  await deliver("pull_request", agentPr("opened", "dev"));
  approvals("maintainer");
  await deliver("pull_request_review", approve("maintainer", "dev"));
  expect(check()).toMatchObject({ status: "completed", conclusion: "success" });
  expect((await proposalState()).state.facts?.base).toBe("dev");
}

describe("a change of the pull request's base", () => {
  it("an approval given against dev stops passing when the pull request is edited to target main", async () => {
    await approvedOnDev();

    onGitHub("main");
    await deliver("pull_request", baseEdited("dev", "main", "maintainer"));
    // GitHub does not move a completed run back to in progress: it is completed again, as action_required.
    const run = check();
    expect(run).toMatchObject({
      status: "completed",
      conclusion: "action_required",
      output: { title: 'Waiting for rule "main needs two"' },
    });
    const row = await proposalState();
    expect(row.status).toBe("pending");
    expect(row.state.facts?.base).toBe("main");
    // The re-evaluation is in the audit trail, with what it was decided on.
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.filter((event) => event.action === "decision.recorded").map((event) => event.outcome)).toEqual([
      "pending",
      "approved",
      "pending",
    ]);

    // A second eligible approval satisfies the rule for main.
    approvals("maintainer", "alice");
    await deliver("pull_request_review", approve("alice", "main"));
    expect(check()).toMatchObject({ status: "completed", conclusion: "success" });
  });

  it("the same pull request opened against main waits for the second approval", async () => {
    onGitHub("main");
    await deliver("pull_request", agentPr("opened", "main"));
    approvals("maintainer");
    await deliver("pull_request_review", approve("maintainer", "main"));
    expect(check()).toMatchObject({ status: "in_progress", output: { title: 'Waiting for rule "main needs two"' } });
  });

  it("an event that still names the old base is decided for the base GitHub shows now", async () => {
    await approvedOnDev();
    onGitHub("main");
    await deliver("pull_request", baseEdited("dev", "main"));
    expect(check().conclusion).toBe("action_required");
    const reads = fake.callsTo("GET", PULL).length;

    // A review event sent before the edit (its payload still says dev) arrives late: GitHub is asked, main wins.
    await deliver("pull_request_review", approve("maintainer", "dev"));
    expect(fake.callsTo("GET", PULL).length).toBe(reads + 1);
    expect(check().conclusion).toBe("action_required");
    expect((await proposalState()).state.facts?.base).toBe("main");
  });

  it("edits that change no base change nothing and read nothing", async () => {
    await approvedOnDev();
    const calls = fake.calls.length;
    const retitled = agentPr("edited", "dev");
    retitled.changes = { title: { from: "Old title" } };
    await deliver("pull_request", retitled);
    expect(fake.calls.length).toBe(calls);
    expect(check().conclusion).toBe("success");
  });

  it("code owners are read at the new base", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      `agents: [${AGENT}]\nrules:\n  - name: owners approve their code\n    require: { codeowners: true }\n`,
    );
    fake.setFile(REPO, ".github/CODEOWNERS", "* @maintainer\n");
    fake.setPullFiles(REPO, PR, ["src/app.ts"]);
    onGitHub("dev");
    await deliver("pull_request", agentPr("opened", "dev"));
    approvals("maintainer");
    await deliver("pull_request_review", approve("maintainer", "dev"));
    onGitHub("main");
    await deliver("pull_request", baseEdited("dev", "main"));
    const refs = fake
      .callsTo("GET", CONTENTS)
      .filter((call) => decodeURIComponent(call.path).endsWith("CODEOWNERS"))
      .map((call) => call.query.get("ref"));
    expect(refs.at(0)).toBe("dev");
    expect(refs.at(-1)).toBe("main");
  });
});

describe("the merge queue and the base an approval was given for", () => {
  const COMMIT_PULLS = "/repos/{owner}/{repo}/commits/{commit_sha}/pulls";

  /** GitHub's merge group for the pull request into `base`: its own commit and GitHub's merge commit. */
  function group(base: string) {
    const merge = "e".repeat(40);
    fake.setCommitPulls(REPO, SHA_A, [PR]);
    fake.setHistory(REPO, BASE_SHA, merge, [
      { sha: SHA_A, message: "A change", parents: [BASE_SHA], committer: AGENT },
      {
        sha: merge,
        message: `Merge pull request #${PR} from Codertocat/change\n\nA change`,
        parents: [BASE_SHA, SHA_A],
        committer: "web-flow",
      },
    ]);
    const payload = example("merge_group", "checks_requested", installationId);
    payload.repository = example("pull_request", "opened", installationId).repository;
    payload.merge_group = {
      ...payload.merge_group,
      head_sha: merge,
      head_ref: `refs/heads/gh-readonly-queue/${base}/pr-${PR}-${SHA_A}`,
      base_sha: BASE_SHA,
      base_ref: `refs/heads/${base}`,
      head_commit: { ...payload.merge_group.head_commit, id: merge, message: `Merge pull request #${PR}` },
    };
    return payload;
  }

  const groupRun = (sha: string) =>
    fake.checkRuns(REPO).filter((run) => run.head_sha === sha && run.name === "Agent Gate");

  it("refuses a queued pull request whose approval was given for another base", async () => {
    await approvedOnDev();
    // The base is changed on GitHub and the pull request queued into main; the edit's delivery never arrived.
    onGitHub("main");
    const payload = group("main");
    await deliver("merge_group", payload);
    const [run] = groupRun(payload.merge_group.head_sha);
    expect(run).toMatchObject({
      status: "completed",
      conclusion: "failure",
      output: { title: `Pull request #${PR} was approved for another base` },
    });
    expect(run!.output.summary).toContain("`dev`");
    expect(fake.callsTo("GET", COMMIT_PULLS).length).toBeGreaterThan(0);
  });

  it("passes the same approval in a queue into the base it was given for", async () => {
    await approvedOnDev();
    const payload = group("dev");
    await deliver("merge_group", payload);
    expect(groupRun(payload.merge_group.head_sha)[0]).toMatchObject({ conclusion: "success" });
  });
});
