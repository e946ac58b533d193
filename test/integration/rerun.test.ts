import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { readAudit } from "../../src/audit/log.ts";
import type { StoredCheckRun } from "../support/github-fake/state.ts";

// GitHub's "Re-run" on the `Agent Gate` check run (check_run.rerequested), through signed webhooks.

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const PR = 2;
const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);
let installationId = 22_000;

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
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
  fake.setPermission(REPO, "maintainer", "write");
  fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, type: "User" }, head: { sha: SHA_A } });
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function pullEvent(action: string, sha: string) {
  const payload = example("pull_request", action, installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.sender = { ...payload.sender, login: AGENT, type: "User" };
  return payload;
}

/** check_run.rerequested for `run`, as GitHub sends it to the app that made the run. */
function rerequested(run: StoredCheckRun, appId = TEST_APP_ID) {
  const payload = example("check_run", "rerequested", installationId);
  const pull = pullEvent("opened", run.head_sha);
  payload.repository = pull.repository;
  payload.sender = { ...payload.sender, login: "maintainer", type: "User" };
  payload.check_run = {
    ...payload.check_run,
    id: run.id,
    name: run.name,
    head_sha: run.head_sha,
    external_id: run.external_id,
    app: { ...payload.check_run.app, id: appId },
    pull_requests: [
      {
        url: "",
        id: 1,
        number: PR,
        head: { ref: "feature", sha: run.head_sha, repo: { id: 1, url: "", name: "Hello-World" } },
        base: { ref: "main", sha: "c".repeat(40), repo: { id: 1, url: "", name: "Hello-World" } },
      },
    ],
  };
  return payload;
}

async function deliver(event: string, payload: object): Promise<void> {
  const res = await app.deliver(event, payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

function checkOf(sha: string): StoredCheckRun {
  const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === sha && run.name === "Agent Gate");
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

const approval = (sha: string) => ({
  id: 1,
  user: { login: "maintainer", id: 3, type: "User" },
  state: "APPROVED",
  commit_id: sha,
  submitted_at: "2026-11-23T10:00:00Z",
  body: "",
});

describe("Re-run on the Agent Gate check", () => {
  it("evaluates the head again: an approval whose webhook never came is counted", async () => {
    await deliver("pull_request", pullEvent("opened", SHA_A));
    expect(checkOf(SHA_A).output.title).toBe("Waiting for approval (0/1)");

    fake.setReviews(REPO, PR, [approval(SHA_A)]); // the review's delivery was lost
    await deliver("check_run", rerequested(checkOf(SHA_A)));
    expect(checkOf(SHA_A).conclusion).toBe("success");
    expect(checkOf(SHA_A).output.title).toContain("maintainer");
    const audit = await readAudit(t.owner, installationId);
    const recorded = audit.filter((event) => event.action === "decision.recorded");
    expect(recorded.at(-1)).toMatchObject({ outcome: "approved", actor: "maintainer" });
  });

  it("a configuration fixed after the head was rejected is read again on re-run", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\napprovals: { required: zero }\n");
    await deliver("pull_request", pullEvent("opened", SHA_A));
    expect(checkOf(SHA_A).output.title).toBe("Configuration error in .github/agent-gate.yml");
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    await deliver("check_run", rerequested(checkOf(SHA_A)));
    expect(checkOf(SHA_A).output.title).toBe("Waiting for approval (0/1)");
  });

  it("a re-run of a head the pull request moved past changes nothing", async () => {
    await deliver("pull_request", pullEvent("opened", SHA_A));
    const old = checkOf(SHA_A);
    fake.setPullRequest(REPO, { number: PR, user: { login: AGENT, type: "User" }, head: { sha: SHA_B } });
    await deliver("pull_request", pullEvent("synchronize", SHA_B));
    const before = structuredClone(checkOf(SHA_A));
    const writes = fake.calls.filter((call) => call.method !== "GET").length;

    fake.setReviews(REPO, PR, [approval(SHA_A)]);
    await deliver("check_run", rerequested(old));
    expect(checkOf(SHA_A)).toEqual(before);
    expect(checkOf(SHA_B).output.title).toBe("Waiting for approval (0/1)");
    expect(fake.calls.filter((call) => call.method !== "GET").length).toBe(writes);
    const audit = await readAudit(t.owner, installationId);
    expect(audit.at(-1)).toMatchObject({
      action: "event.ignored",
      outcome: "stale",
      data: { event: "check_run", action: "rerequested", head: SHA_A, current_head: SHA_B },
    });
  });

  it("another app's check run is not ours to re-run", async () => {
    await deliver("pull_request", pullEvent("opened", SHA_A));
    fake.setReviews(REPO, PR, [approval(SHA_A)]);
    const calls = fake.calls.length;
    await deliver("check_run", rerequested(checkOf(SHA_A), 999));
    expect(fake.calls.length).toBe(calls);
    expect(checkOf(SHA_A).output.title).toBe("Waiting for approval (0/1)");
  });
});
