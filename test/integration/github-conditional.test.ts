import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake, type GitHubCall } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { inboxDrained } from "../support/inbox.ts";
import { Clock } from "./api-harness.ts";

// GitHub's rate limit against a stand-in that answers ETags and 304s as
// GitHub does (token-specific ETags; a 304 is free, every other answer
// counts): each fact is read once per state that can change it, an unchanged
// pending pull request costs nothing per reconciliation sweep, a low
// installation defers reconciliation, and a secondary limit slows writes
// without losing one.

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const HUMAN = "human-dev";
const PR = 2; // the pull request number in GitHub's example payloads
const sha = (n: number) => n.toString(16).padStart(40, "0");
let installationId = 7700;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let clock: Clock;

// A database per test: reconciliation reads every installation's pending pull requests.
beforeEach(async () => {
  t = await createTestDatabase();
  installationId += 1;
  clock = new Clock("2026-11-23T10:00:00.000Z");
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, now: clock.now });
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
  fake.setPermission(REPO, "maintainer", "write");
  fake.setPermission(REPO, "second", "write");
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
  await t.drop();
});

function pullEvent(action: string, head: string, author = AGENT, extra: { before?: string; commits?: number } = {}) {
  const payload = example("pull_request", action, installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: author, type: "User" };
  payload.pull_request.head.sha = head;
  payload.sender = { ...payload.sender, login: author, type: "User" };
  if (extra.before) {
    payload.before = extra.before;
    payload.after = head;
  }
  if (extra.commits !== undefined) payload.pull_request.commits = extra.commits;
  return payload;
}

function reviewEvent(reviewer: string, head: string, state = "approved") {
  const payload = example("pull_request_review", "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = head;
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state,
    commit_id: head,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  return payload;
}

function approval(reviewer: string, head: string, id = 1) {
  return {
    id,
    user: { login: reviewer, id, type: "User" },
    state: "APPROVED",
    commit_id: head,
    submitted_at: "2026-11-23T10:00:00Z",
    body: "",
  };
}

function listedCommit(commitSha: string, login: string) {
  return {
    sha: commitSha,
    commit: {
      author: { name: login, email: `${login}@example.com`, date: "2026-11-23T09:00:00Z" },
      committer: { name: login, email: `${login}@example.com`, date: "2026-11-23T09:00:00Z" },
      message: "Change things",
    },
    author: { login, id: 7, type: "User" },
    committer: { login, id: 7, type: "User" },
    parents: [],
  };
}

function check(head: string) {
  const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === head && run.name === "Agent Gate");
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

/** Rate-limited answers (not 304, not the App's own JWT calls) from `from` on. */
function counted(from: number, filter: (call: GitHubCall) => boolean = () => true): GitHubCall[] {
  return fake.rateLimited.slice(from).filter(filter);
}
const route = (method: string, template: string) => (call: GitHubCall) =>
  call.method === method && call.route === template;

describe("facts read once per state that can change them", () => {
  it("revalidates the config with 304 while it is unchanged, and sees a change on the default branch at the next event", async () => {
    const head = sha(0xa1);
    fake.setPullRequest(REPO, { number: PR, head: { sha: head } });
    await app.deliver("pull_request", pullEvent("opened", head));
    await app.server.worker.drain();
    expect(check(head).output.title).toBe("Waiting for approval (0/1)");

    // The config unchanged: GitHub answers 304, which does not count.
    const before = fake.rateLimited.length;
    const contents = route("GET", "/repos/{owner}/{repo}/contents/{path}");
    fake.setReviews(REPO, PR, [approval("maintainer", head)]);
    const notModifiedBefore = fake.notModified.filter(contents).length;
    await app.deliver("pull_request_review", reviewEvent("maintainer", head));
    await app.server.worker.drain();
    expect(counted(before, contents)).toEqual([]);
    expect(fake.notModified.filter(contents).length).toBeGreaterThan(notModifiedBefore);
    expect(check(head).conclusion).toBe("success");

    // A push to the default branch changes the config: the next event reads it (200) and decides on it.
    fake.pushFile(REPO, "main", ".github/agent-gate.yml", `agents: [${AGENT}]\napprovals:\n  required: 2\n`);
    const next = sha(0xa2);
    fake.setPullRequest(REPO, { number: PR, head: { sha: next } });
    const changed = fake.rateLimited.length;
    await app.deliver("pull_request", pullEvent("synchronize", next, AGENT, { before: head }));
    fake.setReviews(REPO, PR, [approval("maintainer", next)]);
    await app.deliver("pull_request_review", reviewEvent("maintainer", next));
    await app.server.worker.drain();
    expect(counted(changed, contents).length).toBeGreaterThanOrEqual(1);
    expect(check(next).output.title).toBe("Waiting for approval (1/2)");
  });

  it("reads a head's commits once, and a push's new commits only (compare), to find an agent's commit on a person's pull request", async () => {
    const first = sha(0xb1);
    const second = sha(0xb2);
    fake.setPullRequest(REPO, { number: PR, head: { sha: first } });
    fake.setPullCommits(REPO, PR, [listedCommit(first, HUMAN)]);
    await app.deliver("pull_request", pullEvent("opened", first, HUMAN, { commits: 1 }));
    await app.server.worker.drain();
    expect(check(first).conclusion).toBe("success"); // a person's work: not agent-proposed

    // The push adds one commit by the agent: only it is read, through compare; the list is not read again.
    fake.setHistory(REPO, first, second, [{ sha: second, message: "Agent change", committer: AGENT }]);
    fake.setPullCommits(REPO, PR, [listedCommit(first, HUMAN), listedCommit(second, AGENT)]);
    fake.setPullRequest(REPO, { number: PR, head: { sha: second } });
    const listCommits = route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits");
    const compare = route("GET", "/repos/{owner}/{repo}/compare/{basehead}");
    const pullsGet = route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}");
    const from = fake.calls.length;
    await app.deliver("pull_request", pullEvent("synchronize", second, HUMAN, { before: first, commits: 2 }));
    await app.server.worker.drain();
    const made = fake.calls.slice(from);
    expect(made.filter(compare).map((call) => call.path)).toEqual([`/repos/${REPO}/compare/${first}...${second}`]);
    expect(made.filter(listCommits)).toEqual([]);
    // The push moved on from the newest head known: GitHub is not asked for the pull request's head.
    expect(made.filter(pullsGet)).toEqual([]);
    expect(check(second).output.title).toBe("Waiting for approval (0/1)");

    // A later event of the same head reads no commits at all.
    const again = fake.calls.length;
    fake.setReviews(REPO, PR, [approval("maintainer", second)]);
    await app.deliver("pull_request_review", reviewEvent("maintainer", second));
    await app.server.worker.drain();
    expect(fake.calls.slice(again).filter((call) => listCommits(call) || compare(call))).toEqual([]);
    expect(check(second).conclusion).toBe("success");
  });

  it("reads the whole list when a push is not a fast-forward (compare says diverged)", async () => {
    const first = sha(0xc1);
    const rewritten = sha(0xc2);
    fake.setPullRequest(REPO, { number: PR, head: { sha: first } });
    fake.setPullCommits(REPO, PR, [listedCommit(first, HUMAN)]);
    await app.deliver("pull_request", pullEvent("opened", first, HUMAN, { commits: 1 }));
    await app.server.worker.drain();
    fake.on("GET", "/repos/{owner}/{repo}/compare/{basehead}", () => ({
      status: 200,
      body: {
        status: "diverged",
        ahead_by: 1,
        behind_by: 1,
        total_commits: 1,
        commits: [listedCommit(rewritten, HUMAN)],
        files: [],
      },
    }));
    fake.setPullCommits(REPO, PR, [listedCommit(rewritten, AGENT)]);
    fake.setPullRequest(REPO, { number: PR, head: { sha: rewritten } });
    await app.deliver("pull_request", pullEvent("synchronize", rewritten, HUMAN, { before: first, commits: 1 }));
    await app.server.worker.drain();
    // The force push replaced the person's commit with the agent's: recognised from the whole list.
    expect(check(rewritten).output.title).toBe("Waiting for approval (0/1)");
  });
});

describe("reconciliation through conditional requests", () => {
  it("costs nothing for an unchanged pending pull request, and re-evaluates one that changed", async () => {
    const head = sha(0xd1);
    const opened = pullEvent("opened", head);
    fake.setRepo(REPO, { id: opened.repository.id });
    fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, id: 9, type: "User" }, head: { sha: head } });
    await app.deliver("pull_request", opened);
    await app.server.worker.drain();
    const pullPath = (call: GitHubCall) => call.path === `/repos/${REPO}/pulls/${PR}`;

    // The first sweep reads the pull request (200) and re-evaluates it: nothing changes.
    await app.server.reconcile();
    await inboxDrained(t.db);
    await app.server.worker.drain();

    // Unchanged since: GitHub answers 304, no rate-limited request, nothing queued.
    for (let sweep = 0; sweep < 3; sweep++) {
      const from = fake.rateLimited.length;
      const result = await app.server.reconcile();
      expect(counted(from, pullPath)).toEqual([]);
      expect(result).toMatchObject({ queued: 0 });
      expect(result.unchanged).toBeGreaterThanOrEqual(1);
    }
    expect(check(head).status).not.toBe("completed");

    // An approval whose delivery was lost changes the pull request: the next sweep reads it and decides.
    fake.setReviews(REPO, PR, [approval("maintainer", head)]);
    const result = await app.server.reconcile();
    expect(result.queued).toBeGreaterThanOrEqual(1);
    await inboxDrained(t.db);
    await app.server.worker.drain();
    expect([check(head).status, check(head).conclusion]).toEqual(["completed", "success"]);
  });

  it("waits for the reset while the installation has less than a tenth of its limit left", async () => {
    const head = sha(0xe1);
    const opened = pullEvent("opened", head);
    fake.setRepo(REPO, { id: opened.repository.id });
    fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, id: 9, type: "User" }, head: { sha: head } });
    const reset = clock.now().getTime() / 1000 + 600;
    fake.rateLimit(400, reset); // of 5000: below a tenth
    await app.deliver("pull_request", opened);
    await app.server.worker.drain();
    expect(check(head).status).not.toBe("completed"); // decisions and their writes still go

    const from = fake.calls.length;
    const deferred = await app.server.reconcile();
    expect(deferred.deferred).toBeGreaterThanOrEqual(1);
    expect(fake.calls.slice(from).filter((call) => call.path === `/repos/${REPO}/pulls/${PR}`)).toEqual([]);

    // After the reset, with the window full again, the sweep reads it.
    fake.rateLimit(5000, reset + 3600);
    clock.advance(601_000);
    const after = fake.calls.length;
    await app.server.reconcile();
    expect(
      fake.calls.slice(after).filter((call) => call.path === `/repos/${REPO}/pulls/${PR}`).length,
    ).toBeGreaterThanOrEqual(1);
  });

  it("keeps each installation's window (limit, remaining, used) for the gauge and the database", async () => {
    const head = sha(0xe2);
    fake.setPullRequest(REPO, { number: PR, head: { sha: head } });
    await app.deliver("pull_request", pullEvent("opened", head));
    await app.server.worker.drain();
    const gauge = await app.server.metrics.registry.getSingleMetric("agent_gate_github_rate_remaining")!.get();
    const mine = gauge.values.find((v) => v.labels.installation === String(installationId));
    expect(mine?.value).toBe(5000 - fake.rateLimited.length);
    await app.close();
    const [row] = await t.db.query<{ remaining: number; rate_limit: number; used: number }>(
      "SELECT remaining, rate_limit, used FROM github_rate_limits WHERE installation_id = $1",
      [installationId],
    );
    expect(row).toMatchObject({
      rate_limit: 5000,
      remaining: 5000 - fake.rateLimited.length,
      used: fake.rateLimited.length,
    });
    app = await startTestApp({ db: t.db, fake, now: clock.now });
  });
});

describe("secondary limits on writes", () => {
  it("pauses every write of the installation for as long as GitHub asks, and loses none", async () => {
    const heads = [sha(0xf1), sha(0xf2)];
    for (const [i, head] of heads.entries()) {
      const payload = pullEvent("opened", head);
      payload.number = PR + i;
      payload.pull_request.number = PR + i;
      await app.deliver("pull_request", payload);
    }
    const creates = route("POST", "/repos/{owner}/{repo}/check-runs");
    fake.failNext("POST", "/repos/{owner}/{repo}/check-runs", 1, 403, { "retry-after": "60" });
    // Near the end of its retries: a rate-limit refusal does not count toward giving up.
    await t.db.query("UPDATE outbox SET attempts = 24 WHERE installation_id = $1", [installationId]);
    expect(await app.server.worker.runOnce()).toBe(true);
    // Refused: the other write of the installation waits too.
    expect(await app.server.worker.runOnce()).toBe(false);
    const open = await t.db.query<{ attempts: number; done_at: Date | null; outcome: string | null }>(
      "SELECT attempts, done_at, outcome FROM outbox WHERE installation_id = $1 ORDER BY id",
      [installationId],
    );
    expect(open.map((job) => job.done_at)).toEqual([null, null]);
    expect(open[0]!.attempts).toBe(24);
    clock.advance(61_000);
    await app.server.worker.drain();
    expect(
      fake.calls.filter(creates).filter((call) => heads.includes((call.body as { head_sha: string }).head_sha)).length,
    ).toBe(3);
    for (const head of heads) expect(check(head).status).not.toBe("completed");
    const done = await t.db.query<{ outcome: string | null }>("SELECT outcome FROM outbox WHERE installation_id = $1", [
      installationId,
    ]);
    expect(done.every((job) => job.outcome !== "failed")).toBe(true);
  });
});
