import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { expireDue } from "../../src/gates/expiry.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { Clock } from "./api-harness.ts";

// The commit gate against the attacks of its security issue, driven by
// signed webhooks built from GitHub's example payloads: an expired proposal
// revived by a later review, an agent's commit on a person's pull request,
// a stale review event superseding the current head, and the known agents.

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const HUMAN = "human-dev";
const PR = 2; // the pull request number in GitHub's example payloads
const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);
const HOUR = 3_600_000;
let installationId = 5000;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let clock: Clock;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});
beforeEach(async () => {
  installationId += 1;
  clock = new Clock("2026-11-23T10:00:00.000Z");
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, now: clock.now });
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [known, ${AGENT}]\nexpiry: 1h\n`);
  fake.setPermission(REPO, "maintainer", "write");
  fake.setPermission(REPO, "rita", "write");
  fake.setPermission(REPO, HUMAN, "write");
  fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_A } });
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function pullEvent(action: string, sha: string, author = AGENT, sender = author) {
  const payload = example("pull_request", action, installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: author, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.sender = { ...payload.sender, login: sender, type: "User" };
  return payload;
}

/** A review event whose pull_request carries `eventHead` (GitHub's head when the event was made). */
function reviewEvent(reviewer: string, commitId: string, eventHead: string, author = AGENT) {
  const payload = example("pull_request_review", "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: author, type: "User" };
  payload.pull_request.head.sha = eventHead;
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state: "approved",
    commit_id: commitId,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  return payload;
}

/** The check-run summary as a person reads it (markdown escapes removed). */
function readable(summary: string): string {
  return summary.replace(/\\(.)/g, "$1");
}

function listedApproval(reviewer: string, commitId: string, at: string, id = 1) {
  return {
    id,
    user: { login: reviewer, id, type: "User" },
    state: "APPROVED",
    commit_id: commitId,
    submitted_at: at,
    body: "",
  };
}

function listedCommit(
  sha: string,
  o: { author?: [string | null, string, string]; committer?: [string | null, string, string]; message?: string },
) {
  const [authorLogin, authorName, authorEmail] = o.author ?? [HUMAN, "Human Dev", "human@example.com"];
  const [committerLogin, committerName, committerEmail] = o.committer ?? ["web-flow", "GitHub", "noreply@github.com"];
  const account = (login: string | null) =>
    login ? { login, id: 7, type: login.endsWith("[bot]") ? "Bot" : "User" } : null;
  return {
    sha,
    commit: {
      author: { name: authorName, email: authorEmail, date: "2026-11-23T09:00:00Z" },
      committer: { name: committerName, email: committerEmail, date: "2026-11-23T09:00:00Z" },
      message: o.message ?? "Change things",
    },
    author: account(authorLogin),
    committer: account(committerLogin),
    parents: [],
  };
}

async function settle(): Promise<void> {
  await app.server.worker.drain();
}

function check(sha: string) {
  const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === sha && run.name === "Agent Gate");
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

async function proposals() {
  return t.db.tenant(installationId, (tx) =>
    tx.query<{ head_sha: string; status: string; reason: string | null; approvers: string[] }>(
      "SELECT head_sha, status, reason, approvers FROM proposals WHERE installation_id = $1 ORDER BY created_at, head_sha",
      [installationId],
    ),
  );
}

async function audit() {
  return t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
}

describe("an expired commit proposal stays expired", () => {
  it("a review arriving after the expiry sweep changes nothing, and the event is audited as ignored", async () => {
    await app.deliver("pull_request", pullEvent("opened", SHA_A));
    clock.advance(2 * HOUR);
    expect(await expireDue(t.db, clock.now())).toBe(1);
    fake.setReviews(REPO, PR, [listedApproval("maintainer", SHA_A, clock.now().toISOString())]);
    expect((await app.deliver("pull_request_review", reviewEvent("maintainer", SHA_A, SHA_A))).status).toBe(200);
    await settle();
    expect(await proposals()).toEqual([{ head_sha: SHA_A, status: "rejected", reason: "expired", approvers: [] }]);
    expect(check(SHA_A).conclusion).toBe("failure");
    const ignored = (await audit()).filter((event) => event.action === "event.ignored");
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toMatchObject({
      outcome: "expired",
      actor: "maintainer",
      data: { pr: PR, head: SHA_A, reason: expect.stringMatching(/expiry is final/) },
    });
    expect(
      (await audit()).filter((event) => event.action === "decision.recorded").map((event) => event.outcome),
    ).toEqual(["pending"]);
  });

  it("an approval given after the deadline, before the sweep has run, never counts: the proposal is rejected as expired", async () => {
    await app.deliver("pull_request", pullEvent("opened", SHA_A));
    clock.advance(2 * HOUR);
    fake.setReviews(REPO, PR, [listedApproval("maintainer", SHA_A, clock.now().toISOString())]);
    await app.deliver("pull_request_review", reviewEvent("maintainer", SHA_A, SHA_A));
    await settle();
    expect(await proposals()).toEqual([{ head_sha: SHA_A, status: "rejected", reason: "expired", approvers: [] }]);
    const run = check(SHA_A);
    expect(run.conclusion).toBe("failure");
    expect(run.output.title).toBe("Expired without approval (0/1)");
    expect(readable(run.output.summary)).toMatch(/maintainer.*after the proposal expired/);
    const decided = (await audit()).filter((event) => event.action === "decision.recorded");
    expect(decided.map((event) => event.outcome)).toEqual(["pending", "rejected"]);
    // The sweep then finds nothing left to expire, and a further review is ignored.
    expect(await expireDue(t.db, clock.now())).toBe(0);
    await app.deliver("pull_request_review", reviewEvent("rita", SHA_A, SHA_A));
    expect((await audit()).at(-1)).toMatchObject({ action: "event.ignored", outcome: "expired" });
  });
});

describe("an agent's commit on a person's pull request is gated", () => {
  it("a push by a configured agent to a person's pull request waits for approval, naming the pusher", async () => {
    await app.deliver("pull_request", pullEvent("opened", SHA_A, HUMAN));
    await settle();
    expect(check(SHA_A).output.title).toBe("Not agent-proposed");
    fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_B } });
    await app.deliver("pull_request", pullEvent("synchronize", SHA_B, HUMAN, AGENT));
    await settle();
    const run = check(SHA_B);
    expect(run.status).toBe("in_progress");
    expect(run.output.title).toBe("Waiting for approval (0/1)");
    expect(readable(run.output.summary)).toContain(`pushed by ${AGENT} (configured agent)`);
    // The person whose pull request it is cannot approve the agent's push; another person can.
    fake.setReviews(REPO, PR, [listedApproval(HUMAN, SHA_B, clock.now().toISOString(), 1)]);
    await app.deliver("pull_request_review", reviewEvent(HUMAN, SHA_B, SHA_B, HUMAN));
    await settle();
    expect(check(SHA_B).output.title).toBe("Waiting for approval (0/1)");
    fake.setReviews(REPO, PR, [
      listedApproval(HUMAN, SHA_B, clock.now().toISOString(), 1),
      listedApproval("maintainer", SHA_B, clock.now().toISOString(), 2),
    ]);
    await app.deliver("pull_request_review", reviewEvent("maintainer", SHA_B, SHA_B, HUMAN));
    await settle();
    expect(check(SHA_B).conclusion).toBe("success");
    const decided = (await audit())
      .filter((event) => event.action === "decision.recorded")
      .map((event) => event.outcome);
    expect(decided).toEqual(["exempt", "pending", "pending", "approved"]);
  });

  it.each([
    [
      "authored by",
      { author: [AGENT, "SEO Agent", "seo@example.com"] as [string, string, string] },
      `authored by ${AGENT}`,
    ],
    [
      "committed by",
      { committer: [AGENT, "SEO Agent", "seo@example.com"] as [string, string, string] },
      `committed by ${AGENT}`,
    ],
  ])(
    "a commit %s a configured agent makes the person's pull request agent-proposed",
    async (_name, identities, said) => {
      fake.setPullCommits(REPO, PR, [listedCommit("1".repeat(40), {}), listedCommit("2".repeat(40), identities)]);
      await app.deliver("pull_request", pullEvent("opened", SHA_A, HUMAN));
      await settle();
      const run = check(SHA_A);
      expect(run.output.title).toBe("Waiting for approval (0/1)");
      expect(readable(run.output.summary)).toContain(`Commit 2222222 is ${said}`);
      const [created] = (await audit()).filter((event) => event.action === "proposal.created");
      expect(created).toMatchObject({ outcome: "pending", actor_is_agent: true });
    },
  );

  it("a person's pull request gaining one commit co-authored by a known agent waits for approval, and a human co-author of it cannot approve", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", null); // no config: the known agents and every bot
    await app.deliver("pull_request", pullEvent("opened", SHA_A, HUMAN));
    await settle();
    expect(check(SHA_A).output.title).toBe("Not agent-proposed");
    fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_B } });
    fake.setPullCommits(REPO, PR, [
      listedCommit(SHA_A, {}),
      listedCommit(SHA_B, {
        message:
          "Fix the parser\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nco-authored-by: Rita <4242+rita@users.noreply.github.com>\n",
      }),
    ]);
    await app.deliver("pull_request", pullEvent("synchronize", SHA_B, HUMAN));
    await settle();
    const run = check(SHA_B);
    expect(run.status).toBe("in_progress");
    expect(run.output.title).toBe("Waiting for approval (0/1)");
    expect(readable(run.output.summary)).toContain(
      "Commit bbbbbbb is co-authored (Co-authored-by trailer) by noreply@anthropic.com (Claude Code)",
    );
    fake.setReviews(REPO, PR, [listedApproval("rita", SHA_B, clock.now().toISOString())]);
    await app.deliver("pull_request_review", reviewEvent("rita", SHA_B, SHA_B, HUMAN));
    await settle();
    expect(readable(check(SHA_B).output.summary)).toMatch(/rita.*directed the agent's work/);
    expect(check(SHA_B).output.title).toBe("Waiting for approval (0/1)");
    const decisions = (await audit()).filter((event) => event.action === "decision.recorded");
    expect(decisions.at(-1)).toMatchObject({ outcome: "pending" });
  });
});

describe("a stale event never moves the gate backwards", () => {
  it("a review event carrying an older head is ignored, and the newer head's approval then counts", async () => {
    await app.deliver("pull_request", pullEvent("opened", SHA_A));
    fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_B } });
    await app.deliver("pull_request", pullEvent("synchronize", SHA_B));
    fake.setReviews(REPO, PR, [listedApproval("maintainer", SHA_A, clock.now().toISOString(), 1)]);
    // Made before the push, delivered after it.
    expect((await app.deliver("pull_request_review", reviewEvent("maintainer", SHA_A, SHA_A))).status).toBe(200);
    // A redelivery of the first event ("Recent Deliveries"), with a new delivery id.
    expect((await app.deliver("pull_request", pullEvent("opened", SHA_A), { id: "redelivered-opened" })).status).toBe(
      200,
    );
    fake.setReviews(REPO, PR, [
      listedApproval("maintainer", SHA_A, clock.now().toISOString(), 1),
      listedApproval("rita", SHA_B, clock.now().toISOString(), 2),
    ]);
    await app.deliver("pull_request_review", reviewEvent("rita", SHA_B, SHA_B));
    await settle();
    expect(await proposals()).toEqual([
      { head_sha: SHA_A, status: "superseded", reason: "a new commit was pushed", approvers: [] },
      { head_sha: SHA_B, status: "approved", reason: null, approvers: ["rita"] },
    ]);
    expect(check(SHA_B).conclusion).toBe("success");
    const ignored = (await audit()).filter((event) => event.action === "event.ignored");
    expect(ignored.map((event) => [event.outcome, event.data.head, event.data.current_head])).toEqual([
      ["stale", SHA_A, SHA_B],
      ["stale", SHA_A, SHA_B],
    ]);
    expect(fake.callsTo("GET", "/repos/{owner}/{repo}/pulls/{pull_number}").length).toBeGreaterThanOrEqual(2);
  });
});
