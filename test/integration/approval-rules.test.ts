import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { readAudit } from "../../src/audit/log.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const PR = 2; // the pull request number in GitHub's example payloads
const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);
const FILES = "/repos/{owner}/{repo}/pulls/{pull_number}/files";
const MEMBERSHIP = "/orgs/{org}/teams/{team_slug}/memberships/{username}";
const CONTENTS = "/repos/{owner}/{repo}/contents/{path}";
let installationId = 5100;

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
  fake.setPermission(REPO, "boss", "admin");
  fake.setPermission(REPO, "alice", "write");
  fake.setPermission(REPO, "lead", "write");
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function config(rules: string): void {
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\nrules:\n${rules}`);
}

function agentPr(action: string, sha: string) {
  const payload = example("pull_request", action, installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.sender = { ...payload.sender, login: AGENT, type: "User" };
  return payload;
}

function approve(reviewer: string, sha: string) {
  const payload = example("pull_request_review", "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state: "approved",
    commit_id: sha,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  return payload;
}

let reviewId = 1;
function approvals(sha: string, ...reviewers: string[]) {
  fake.setReviews(
    REPO,
    PR,
    reviewers.map((login) => ({
      id: reviewId++,
      user: { login, id: reviewId, type: "User" },
      state: "APPROVED",
      commit_id: sha,
      submitted_at: "2026-11-23T10:00:00Z",
      body: "",
    })),
  );
}

function latestCheck(sha: string) {
  const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === sha && run.name === "Agent Gate");
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

async function deliver(event: string, payload: object): Promise<void> {
  const res = await app.deliver(event, payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

describe("approval rules on the commit gate", () => {
  it("a workflow-file change needs an admin; a push that changes only other files needs no admin", async () => {
    config(
      '  - name: workflows need an admin\n    if: { paths: [".github/workflows/**"] }\n    require: { min_permission: admin }\n',
    );
    fake.setPullFiles(REPO, PR, [".github/workflows/ci.yml", "src/app.ts"]);
    await deliver("pull_request", agentPr("opened", SHA_A));
    expect(fake.callsTo("GET", FILES)).toHaveLength(1);

    approvals(SHA_A, "maintainer");
    await deliver("pull_request_review", approve("maintainer", SHA_A));
    let check = latestCheck(SHA_A);
    expect(check.status).toBe("in_progress");
    expect(check.output.title).toBe('Waiting for rule "workflows need an admin"');
    expect(check.output.summary).toContain("| workflows need an admin | ⏳ waiting |");
    expect(check.output.summary).toContain("1 more approval with admin or higher");

    approvals(SHA_A, "maintainer", "boss");
    await deliver("pull_request_review", approve("boss", SHA_A));
    check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("success");
    expect(check.output.summary).toContain("| workflows need an admin | ✅ satisfied |");
    expect(check.output.summary).toContain("@boss");

    // A push that drops the workflow change: the files are read again for the new head, and the rule no longer applies.
    fake.setPullFiles(REPO, PR, ["src/app.ts"]);
    fake.setReviews(REPO, PR, []);
    fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_B } });
    await deliver("pull_request", agentPr("synchronize", SHA_B));
    expect(fake.callsTo("GET", FILES)).toHaveLength(4);
    expect(latestCheck(SHA_B).output.title).toBe("Waiting for approval (0/1)");
    approvals(SHA_B, "maintainer");
    await deliver("pull_request_review", approve("maintainer", SHA_B));
    expect(latestCheck(SHA_B).conclusion).toBe("success");
    expect(latestCheck(SHA_B).output.summary).toContain("| workflows need an admin | ➖ does not apply |");
  });

  it("a CODEOWNERS-owned path needs its owner: the last matching pattern at the base wins", async () => {
    config("  - name: owners approve their code\n    require: { codeowners: true }\n");
    fake.setFile(REPO, ".github/CODEOWNERS", "* @lead\n/src/ @alice\n");
    fake.setFile(REPO, "CODEOWNERS", "* @someone-else\n"); // GitHub reads .github/CODEOWNERS first
    fake.setPullFiles(REPO, PR, ["src/app.ts"]);
    await deliver("pull_request", agentPr("opened", SHA_A));

    approvals(SHA_A, "lead");
    await deliver("pull_request_review", approve("lead", SHA_A));
    let check = latestCheck(SHA_A);
    expect(check.output.title).toBe('Waiting for rule "owners approve their code"');
    expect(check.output.summary).toContain("an approval by a code owner of src/app.ts \\(\\@alice\\)");

    approvals(SHA_A, "lead", "alice");
    await deliver("pull_request_review", approve("alice", SHA_A));
    check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("success");
    // CODEOWNERS was read at the base branch, from .github/ first.
    const reads = fake
      .callsTo("GET", CONTENTS)
      .map((call) => ({ path: decodeURIComponent(call.path), ref: call.query.get("ref") }))
      .filter((call) => call.path.endsWith("CODEOWNERS"));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads).toEqual(reads.map(() => ({ path: `/repos/${REPO}/contents/.github/CODEOWNERS`, ref: "master" })));
  });

  it("a team rule without members: read fails closed and names the permission; with it, a member approves", async () => {
    config('  - name: security team\n    if: { paths: ["auth/**"] }\n    require: { teams: [octo-org/security] }\n');
    fake.setPullFiles(REPO, PR, ["auth/login.ts"]);
    fake.setTeam("octo-org/security", ["alice"]);
    await deliver("pull_request", agentPr("opened", SHA_A));
    approvals(SHA_A, "alice");
    await deliver("pull_request_review", approve("alice", SHA_A));
    let check = latestCheck(SHA_A);
    expect(check.status).toBe("in_progress");
    expect(check.output.title).toBe('Cannot evaluate rule "security team"');
    expect(check.output.summary).toMatch(/organization permission "members: read"/);
    expect(check.output.summary).toContain("| security team | ⛔ cannot evaluate |");
    expect(fake.callsTo("GET", MEMBERSHIP)).toHaveLength(0); // the narrowed token was refused

    // The organization grants members: read: the next event asks GitHub and the member's approval counts.
    fake.setInstallation(installationId, {
      permissions: { ...fake.state.installation(installationId).permissions, members: "read" },
    });
    await deliver("pull_request_review", approve("alice", SHA_A));
    check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("success");
    expect(fake.callsTo("GET", MEMBERSHIP).map((call) => call.path)).toEqual([
      "/orgs/octo-org/teams/security/memberships/alice",
    ]);
  });

  it("the pusher listed in users: never approves their own push; another listed user does", async () => {
    config("  - name: release managers\n    require: { users: [lead, alice] }\n");
    await deliver("pull_request", agentPr("opened", SHA_A));
    // lead pushes a commit onto the agent's pull request, then approves it.
    fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_B } });
    const push = agentPr("synchronize", SHA_B);
    push.sender = { ...push.sender, login: "lead", type: "User" };
    await deliver("pull_request", push);
    approvals(SHA_B, "lead");
    await deliver("pull_request_review", approve("lead", SHA_B));
    let check = latestCheck(SHA_B);
    expect(check.status).toBe("in_progress");
    expect(check.output.summary).toContain("the user who pushed the head cannot approve it");
    expect(check.output.summary).toContain("| release managers | ⏳ waiting |");

    approvals(SHA_B, "lead", "alice");
    await deliver("pull_request_review", approve("alice", SHA_B));
    check = latestCheck(SHA_B);
    expect(check.conclusion).toBe("success");
    expect(check.output.summary).toMatch(/\| release managers \| ✅ satisfied \|[^\n]*\| @alice \|/);
  });

  it("a pull request with more changed files than GitHub lists (3,000) cannot be checked against path rules: the gate stays closed", async () => {
    config(
      '  - name: workflows need an admin\n    if: { paths: [".github/workflows/**"] }\n    require: { min_permission: admin }\n',
    );
    // 3,001 files; the workflow change sorts last, past what GitHub lists.
    const files = [
      ...Array.from({ length: 3000 }, (_, i) => `src/generated/file-${String(i).padStart(4, "0")}.ts`),
      "zz/.github/workflows/ci.yml",
    ];
    fake.setPullFiles(REPO, PR, files);
    const opened = agentPr("opened", SHA_A);
    opened.pull_request.changed_files = files.length;
    await deliver("pull_request", opened);
    // Every page GitHub gives (30 of 100), and no more.
    expect(fake.callsTo("GET", FILES)).toHaveLength(30);

    // A review event carries no count: GitHub is asked for the pull request's changed_files.
    fake.setPullRequest(REPO, { number: PR, head: { sha: SHA_A }, changed_files: files.length });
    approvals(SHA_A, "boss");
    await deliver("pull_request_review", approve("boss", SHA_A));
    const check = latestCheck(SHA_A);
    expect(check.status).toBe("in_progress");
    expect(check.output.title).toBe('Cannot evaluate rule "workflows need an admin"');
    expect(check.output.summary).toContain("| workflows need an admin | ⛔ cannot evaluate |");
    expect(check.output.summary).toContain(
      "and this pull request changes 3,001, so the files it did not list cannot be checked against path rules; split the pull request",
    );
    expect(fake.callsTo("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")).toHaveLength(1);
    expect(fake.callsTo("GET", FILES)).toHaveLength(60);
  });

  it("an invalid rule keeps the gate closed and the check run names the key", async () => {
    config("  - name: typo\n    require: { admins: 1 }\n");
    await deliver("pull_request", agentPr("opened", SHA_A));
    const check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain('`rules[0].require.admins`: unknown key "admins". Allowed keys here: ');
  });
});

describe("merge queue", () => {
  const BASE_SHA = "380387fbc80638b734a49e1be1c4dfec1c01b33c"; // GitHub's example payload's
  const SHA_C = "c".repeat(40);
  const COMPARE = "/repos/{owner}/{repo}/compare/{basehead}";
  const COMMIT_PULLS = "/repos/{owner}/{repo}/commits/{commit_sha}/pulls";
  let made = 0;
  const commitSha = () => (++made).toString(16).padStart(40, "e");

  interface Queued {
    number: number;
    head: string;
  }

  /**
   * GitHub builds a group for `queued` (oldest first) on the base: its
   * branch names the last, its commits are each pull request's own commit
   * and GitHub's merge commit (merge), or GitHub's squash commit alone
   * (squash). Returns GitHub's merge_group example payload for it.
   */
  function buildGroup(queued: Queued[], method: "merge" | "squash") {
    const history: { sha: string; message: string; parents: string[]; committer: string }[] = [];
    let tip = BASE_SHA;
    for (const pull of queued) {
      fake.setPullRequest(REPO, { number: pull.number, head: { sha: pull.head }, base: { ref: "master" } });
      const made = commitSha();
      if (method === "merge") {
        history.push({ sha: pull.head, message: `Change for #${pull.number}`, parents: [BASE_SHA], committer: AGENT });
        fake.setCommitPulls(REPO, pull.head, [pull.number]);
        history.push({
          sha: made,
          message: `Merge pull request #${pull.number} from Codertocat/change-${pull.number}\n\nA change`,
          parents: [tip, pull.head],
          committer: "web-flow",
        });
      } else {
        history.push({
          sha: made,
          message: `A change (#${pull.number})\n\nSquashed`,
          parents: [tip],
          committer: "web-flow",
        });
      }
      tip = made;
    }
    const last = queued[queued.length - 1]!;
    const payload = example("merge_group", "checks_requested", installationId);
    payload.repository = example("pull_request", "opened", installationId).repository;
    payload.merge_group = {
      ...payload.merge_group,
      head_sha: tip,
      head_ref: `refs/heads/gh-readonly-queue/master/pr-${last.number}-${last.head}`,
      base_sha: BASE_SHA,
      base_ref: "refs/heads/master",
      head_commit: { ...payload.merge_group.head_commit, id: tip, message: history[history.length - 1]!.message },
    };
    fake.setHistory(REPO, BASE_SHA, tip, history);
    return payload;
  }

  const groupRuns = (sha: string) =>
    fake.checkRuns(REPO).filter((run) => run.head_sha === sha && run.name === "Agent Gate");

  function pullEvent(number: number, sha: string) {
    const payload = agentPr("opened", sha);
    payload.number = number;
    payload.pull_request.number = number;
    return payload;
  }

  function reviewOf(number: number, reviewer: string, sha: string) {
    const payload = approve(reviewer, sha);
    payload.pull_request.number = number;
    return payload;
  }

  /** An agent's pull request touching a workflow, approved by `reviewer` (an admin satisfies the rule; a maintainer does not). */
  async function agentPull(number: number, sha: string, reviewer: string) {
    fake.setPullFiles(REPO, number, [".github/workflows/ci.yml"]);
    await deliver("pull_request", pullEvent(number, sha));
    fake.setReviews(REPO, number, [
      {
        id: reviewId++,
        user: { login: reviewer, id: 4, type: "User" },
        state: "APPROVED",
        commit_id: sha,
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);
    await deliver("pull_request_review", reviewOf(number, reviewer, sha));
  }

  beforeEach(() => {
    config(
      '  - name: workflows need an admin\n    if: { paths: [".github/workflows/**"] }\n    require: { min_permission: admin }\n',
    );
  });

  it("reports success on the group's head when the queued pull request was approved at the head that entered the queue", async () => {
    await agentPull(PR, SHA_A, "boss");
    expect(latestCheck(SHA_A).conclusion).toBe("success");

    const group = buildGroup([{ number: PR, head: SHA_A }], "merge");
    await deliver("merge_group", group);
    const runs = groupRuns(group.merge_group.head_sha);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "completed",
      conclusion: "success",
      output: { title: `Pull request #${PR} approved` },
    });
    expect(fake.callsTo("GET", COMPARE).map((call) => decodeURIComponent(call.path))).toEqual([
      `/repos/${REPO}/compare/${BASE_SHA}...${group.merge_group.head_sha}`,
    ]);
    expect(fake.callsTo("GET", COMMIT_PULLS)).toHaveLength(2);
    // A redelivery of the event is not processed twice, and no second run is made.
    await deliver("merge_group", group);
    expect(groupRuns(group.merge_group.head_sha)).toHaveLength(1);
  });

  it("reports failure naming the pull request that was not approved at its queued head", async () => {
    await agentPull(PR, SHA_A, "maintainer"); // not an admin: the rule is not satisfied

    const group = buildGroup([{ number: PR, head: SHA_A }], "merge");
    await deliver("merge_group", group);
    const [run] = groupRuns(group.merge_group.head_sha);
    expect(run).toMatchObject({
      conclusion: "failure",
      output: { title: `Pull request #${PR} is not approved at ${SHA_A.slice(0, 7)}` },
    });
    expect(run!.output.summary).toContain('Waiting for rule "workflows need an admin"');

    // A head the gate never saw is not approved either.
    const unknown = buildGroup([{ number: 77, head: "d".repeat(40) }], "merge");
    await deliver("merge_group", unknown);
    expect(groupRuns(unknown.merge_group.head_sha)[0]).toMatchObject({
      conclusion: "failure",
      output: { title: "Pull request #77 is not approved at ddddddd" },
    });
  });

  it("a group of two pull requests, merged: the one queued first is found from the group's commits, and its missing approval fails the group", async () => {
    await agentPull(3, SHA_C, "maintainer"); // queued first, not approved under the rule
    await agentPull(PR, SHA_A, "boss"); // the last, which the branch names: approved
    const group = buildGroup(
      [
        { number: 3, head: SHA_C },
        { number: PR, head: SHA_A },
      ],
      "merge",
    );
    await deliver("merge_group", group);
    const [run] = groupRuns(group.merge_group.head_sha);
    expect(run).toMatchObject({
      conclusion: "failure",
      output: { title: `Pull request #3 is not approved at ${SHA_C.slice(0, 7)}` },
    });
    expect(run!.output.summary).toContain("one of the 2 pull requests in the group");
    expect(run!.output.summary).toContain(`- #${PR} at \`${SHA_A.slice(0, 7)}\`: approved`);
  });

  it("a group of two pull requests, both approved, passes", async () => {
    await agentPull(3, SHA_C, "boss");
    await agentPull(PR, SHA_A, "boss");
    const group = buildGroup(
      [
        { number: 3, head: SHA_C },
        { number: PR, head: SHA_A },
      ],
      "merge",
    );
    await deliver("merge_group", group);
    expect(groupRuns(group.merge_group.head_sha)[0]).toMatchObject({
      conclusion: "success",
      output: { title: "All 2 pull requests approved" },
    });
  });

  it("a squashed group of two: GitHub's squash commits name the pull requests, and the unapproved one fails the group", async () => {
    await agentPull(3, SHA_C, "maintainer");
    await agentPull(PR, SHA_A, "boss");
    const group = buildGroup(
      [
        { number: 3, head: SHA_C },
        { number: PR, head: SHA_A },
      ],
      "squash",
    );
    await deliver("merge_group", group);
    const [run] = groupRuns(group.merge_group.head_sha);
    expect(run).toMatchObject({
      conclusion: "failure",
      output: { title: `Pull request #3 is not approved at ${SHA_C.slice(0, 7)}` },
    });
    // No commit of a squashed group belongs to a pull request: #3 was asked of GitHub for its head.
    expect(fake.callsTo("GET", "/repos/{owner}/{repo}/pulls/{pull_number}").map((call) => call.path)).toContain(
      `/repos/${REPO}/pulls/3`,
    );
    const decided = (await t.db.tenant(installationId, (tx) => readAudit(tx, installationId))).filter(
      (event) => event.action === "merge_group.decided",
    );
    expect((decided.at(-1)!.data as { pulls: object[] }).pulls).toEqual([
      { number: 3, head_sha: SHA_C, status: "pending", found_by: "message", decided_base: "master" },
      { number: PR, head_sha: SHA_A, status: "approved", found_by: "branch", decided_base: "master" },
    ]);
  });

  it("a group adding more commits than Agent Gate reads fails closed, saying why", async () => {
    await agentPull(PR, SHA_A, "boss");
    const group = buildGroup([{ number: PR, head: SHA_A }], "squash");
    fake.on("GET", COMPARE, () => ({
      status: 200,
      body: { status: "ahead", ahead_by: 1001, behind_by: 0, total_commits: 1001, commits: [], files: [] },
    }));
    await deliver("merge_group", group);
    expect(groupRuns(group.merge_group.head_sha)[0]).toMatchObject({
      conclusion: "failure",
      output: {
        title: "The merge group's pull requests cannot be checked",
        summary: expect.stringContaining("adds 1001 commits to its base"),
      },
    });
  });
});
