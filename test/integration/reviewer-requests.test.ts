import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { readAudit } from "../../src/audit/log.ts";

// Reviews requested on GitHub when an agent's pull request waits, through signed
// webhooks against the GitHub stand-in (which checks each call against GitHub's
// OpenAPI description and refuses, as GitHub does, the author or a non-collaborator).

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const PR = 2; // the pull request number in GitHub's example payloads
const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);
const REQUEST = "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers";
let installationId = 21_000;

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
  fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, type: "User" }, head: { sha: SHA_A } });
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function pullEvent(action: string, sha: string, sender = AGENT) {
  const payload = example("pull_request", action, installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.pull_request.requested_reviewers = [];
  payload.pull_request.assignees = [];
  payload.sender = { ...payload.sender, login: sender, type: "User" };
  return payload;
}

function reviewEvent(reviewer: string, sha: string, state: "approved" | "commented") {
  const payload = example("pull_request_review", "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state,
    commit_id: sha,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  return payload;
}

async function deliver(event: string, payload: object): Promise<void> {
  const res = await app.deliver(event, payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

function requests() {
  return fake.callsTo("POST", REQUEST).map((call) => ({ path: call.path, body: call.body }));
}

function commit(sha: string, message: string) {
  return {
    sha,
    commit: {
      author: { name: "SEO Agent", email: "agent@example.com", date: "2026-11-23T09:00:00Z" },
      committer: { name: "GitHub", email: "noreply@github.com", date: "2026-11-23T09:00:00Z" },
      message,
    },
    author: { login: AGENT, id: 9, type: "User" },
    committer: { login: "web-flow", id: 10, type: "User" },
    parents: [],
  };
}

describe("reviewer requests on a waiting agent pull request", () => {
  it("asks the code owners, the rule's users and teams and notify.reviewers once per head; never the agent, the author, the pusher or the director", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      [
        `agents: [${AGENT}]`,
        "rules:",
        "  - name: owners approve their code",
        "    require: { codeowners: true }",
        "  - name: security signs off",
        "    require: { users: [sam], teams: [Codertocat/security] }",
        "notify:",
        `  reviewers: [dave, rita, ${AGENT}, "@Codertocat/release", "@other-org/ops"]`,
      ].join("\n"),
    );
    // The agent is a code owner too, and rita directs its work (a human co-author of its commit).
    fake.setFile(REPO, ".github/CODEOWNERS", `* @lead\n/src/ @alice @${AGENT} @Codertocat/core\n`);
    fake.setPullFiles(REPO, PR, ["src/app.ts", "README.md"]);
    fake.setPullCommits(REPO, PR, [
      commit(SHA_A, "Tune pages\n\nCo-authored-by: Rita <4242+rita@users.noreply.github.com>\n"),
    ]);

    await deliver("pull_request", pullEvent("opened", SHA_A));
    expect(requests()).toEqual([
      {
        path: `/repos/${REPO}/pulls/${PR}/requested_reviewers`,
        body: { reviewers: ["alice", "dave", "lead", "sam"], team_reviewers: ["core", "release", "security"] },
      },
    ]);
    expect(fake.pullRequests(REPO)[0]!.requested_teams.map((team: { slug: string }) => team.slug)).toEqual([
      "core",
      "release",
      "security",
    ]);

    // More events of the same head (a comment, a redelivery) ask nobody again.
    await deliver("pull_request_review", reviewEvent("carol", SHA_A, "commented"));
    const again = pullEvent("reopened", SHA_A);
    await deliver("pull_request", again);
    await deliver("pull_request", again);
    expect(requests()).toHaveLength(1);

    // dave pushes a new head: it is asked for again, without dave (the pusher).
    fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, type: "User" }, head: { sha: SHA_B } });
    fake.setPullCommits(REPO, PR, [commit(SHA_A, "Tune pages"), commit(SHA_B, "More pages")]);
    await deliver("pull_request", pullEvent("synchronize", SHA_B, "dave"));
    expect(requests()).toHaveLength(2);
    expect(requests()[1]!.body).toEqual({
      reviewers: ["alice", "lead", "rita", "sam"],
      team_reviewers: ["core", "release", "security"],
    });

    const audit = await readAudit(t.owner, installationId);
    const queued = audit.filter((event) => event.action === "reviewers.requested");
    expect(queued.map((event) => [event.outcome, (event.data as { head: string }).head])).toEqual([
      ["queued", SHA_A],
      ["queued", SHA_B],
    ]);
    const leftOut = (queued[0]!.data as { left_out: { who: string; reason: string }[] }).left_out;
    expect(leftOut).toEqual(
      expect.arrayContaining([
        { who: AGENT, reason: "the author" },
        { who: "rita", reason: "directed the agent's work" },
        { who: "@other-org/ops", reason: "a team of another organization than Codertocat" },
      ]),
    );
    const writes = audit.filter(
      (event) =>
        event.action === "github.write" &&
        (event.data as { operation?: string }).operation === "pulls.request_reviewers",
    );
    expect(writes.map((event) => event.outcome)).toEqual(["ok", "ok"]);
  });

  it("asks nobody for a head that no longer waits, and only the owners still missing", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      `agents: [${AGENT}]\nrules:\n  - name: owners\n    require: { codeowners: true }\n`,
    );
    fake.setFile(REPO, ".github/CODEOWNERS", "/docs/ @writer\n/src/ @alice\n");
    fake.setPermission(REPO, "alice", "write");
    fake.setPermission(REPO, "writer", "write");
    fake.setPullFiles(REPO, PR, ["src/app.ts", "docs/guide.md"]);
    // alice approved the head before the gate first saw it: only docs' owner is still missing.
    fake.setReviews(REPO, PR, [
      {
        id: 1,
        user: { login: "alice", id: 3, type: "User" },
        state: "APPROVED",
        commit_id: SHA_A,
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);
    await deliver("pull_request", pullEvent("opened", SHA_A));
    expect(requests().map((r) => r.body)).toEqual([{ reviewers: ["writer"] }]);

    // Approved: a new head that is approved at once asks nobody.
    fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, type: "User" }, head: { sha: SHA_B } });
    fake.setReviews(REPO, PR, [
      {
        id: 2,
        user: { login: "alice", id: 3, type: "User" },
        state: "APPROVED",
        commit_id: SHA_B,
        submitted_at: "2026-11-23T11:00:00Z",
        body: "",
      },
      {
        id: 3,
        user: { login: "writer", id: 4, type: "User" },
        state: "APPROVED",
        commit_id: SHA_B,
        submitted_at: "2026-11-23T11:00:00Z",
        body: "",
      },
    ]);
    await deliver("pull_request", pullEvent("synchronize", SHA_B));
    expect(requests()).toHaveLength(1);
    expect(fake.checkRuns(REPO).find((run) => run.head_sha === SHA_B)!.conclusion).toBe("success");
  });

  it("a person's own pull request asks nobody", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\nnotify:\n  reviewers: [dave]\n`);
    fake.setPullRequest(REPO, { number: PR, user: { login: "human", type: "User" }, head: { sha: SHA_A } });
    const payload = pullEvent("opened", SHA_A, "human");
    payload.pull_request.user = { ...payload.pull_request.user, login: "human", type: "User" };
    await deliver("pull_request", payload);
    expect(requests()).toEqual([]);
  });

  it("GitHub refusing a reviewer (not a collaborator) ends the request with an audit event; the gate still waits", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\nnotify:\n  reviewers: [outsider]\n`);
    fake.setPermission(REPO, "outsider", "none");
    await deliver("pull_request", pullEvent("opened", SHA_A));
    expect(requests()).toHaveLength(1);
    const audit = await readAudit(t.owner, installationId);
    const write = audit.find(
      (event) =>
        event.action === "github.write" &&
        (event.data as { operation?: string }).operation === "pulls.request_reviewers",
    );
    expect(write).toMatchObject({ outcome: "refused", data: { status: 422 } });
    const run = fake.checkRuns(REPO).find((r) => r.head_sha === SHA_A)!;
    expect(run.status).toBe("in_progress");
    expect(run.output.title).toBe("Waiting for approval (0/1)");
  });
});
