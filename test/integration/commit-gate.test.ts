import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { verifyChain, GENESIS_HASH } from "../../src/audit/chain.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { deliverySettled } from "../support/inbox.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
let installationId = 1000;

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
  fake.setPermission(REPO, "reader", "read");
  fake.setPermission(REPO, "other-agent-owner", "admin");
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function agentPr(action: string, sha: string, author = AGENT, type = "User") {
  const payload = example("pull_request", action, installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: author, type };
  payload.pull_request.head.sha = sha;
  payload.sender = { ...payload.sender, login: author, type };
  return payload;
}

function review(reviewer: string, state: string, commitId: string, type = "User", author = AGENT) {
  const payload = example("pull_request_review", state === "DISMISSED" ? "dismissed" : "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: author, type: "User" };
  payload.pull_request.head.sha = SHA_A;
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type },
    state: state.toLowerCase(),
    commit_id: commitId,
  };
  payload.sender = { ...payload.sender, login: reviewer, type };
  return payload;
}

function reviewObject(
  reviewer: string,
  state: string,
  commitId: string,
  type = "User",
  id = Math.floor(Math.random() * 1e9),
) {
  return {
    id,
    user: { login: reviewer, id, type },
    state,
    commit_id: commitId,
    submitted_at: "2026-11-23T10:00:00Z",
    body: "",
  };
}

const PR = 2; // the pull request number in GitHub's example payloads
const SHA_A = "a".repeat(40);
const SHA_B = "b".repeat(40);

/** A push to the pull request: GitHub's head moves, then its synchronize event arrives. */
async function push(sha: string, pusher = AGENT, type = "User") {
  fake.setPullRequest(REPO, { number: PR, head: { sha } });
  const payload = agentPr("synchronize", sha);
  payload.sender = { ...payload.sender, login: pusher, type };
  return app.deliver("pull_request", payload);
}

async function settle(): Promise<void> {
  await app.server.worker.drain();
}

function latestCheck(sha: string) {
  const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === sha && run.name === "Agent Gate");
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

describe("commit gate", () => {
  it("puts a waiting check on an agent's pull request", async () => {
    const res = await app.deliver("pull_request", agentPr("opened", SHA_A));
    expect(res.status).toBe(200);
    await settle();
    const check = latestCheck(SHA_A);
    expect(check.status).toBe("in_progress");
    expect(check.output.title).toBe("Waiting for approval (0/1)");
    expect(check.output.summary).toContain(SHA_A);
    expect(check.output.summary).toContain(AGENT);
    expect(check.output.summary).toMatch(/write/);
    expect(check.details_url).toMatch(/^https:\/\/gate\.example\.test\/proposals\/prp_/);
  });

  it("passes a human's pull request as not agent-proposed", async () => {
    fake.setPermission(REPO, "human-dev", "write");
    const res = await app.deliver("pull_request", agentPr("opened", SHA_A, "human-dev"));
    expect(res.status).toBe(200);
    await settle();
    const check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("success");
    expect(check.output.title).toBe("Not agent-proposed");
  });

  it("treats any bot as an agent when the repository has no config", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", null);
    await app.deliver("pull_request", agentPr("opened", SHA_A, "helper[bot]", "Bot"));
    await settle();
    expect(latestCheck(SHA_A).output.title).toBe("Waiting for approval (0/1)");
  });

  it.each([
    ["the author", AGENT, "User", SHA_A, /author/i],
    ["a configured agent", "other-agent", "User", SHA_A, /agent/i],
    ["a bot", "ci[bot]", "Bot", SHA_A, /bot/i],
    ["a read-only user", "reader", "User", SHA_A, /read/i],
    ["a review of an older commit", "maintainer", "User", "c".repeat(40), /older commit|not the head|stale/i],
  ])("keeps waiting when approved by %s, saying why", async (_name, reviewer, type, commit, reason) => {
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}, other-agent]\n`);
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    fake.setReviews(REPO, PR, [reviewObject(reviewer, "APPROVED", commit, type)]);
    const res = await app.deliver("pull_request_review", review(reviewer, "APPROVED", commit, type));
    expect(res.status).toBe(200);
    await settle();
    const check = latestCheck(SHA_A);
    expect(check.status).toBe("in_progress");
    expect(check.output.title).toBe("Waiting for approval (0/1)");
    expect(check.output.summary).toMatch(reason);
  });

  it("turns green on an eligible approval of the head and names the approver", async () => {
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    fake.setReviews(REPO, PR, [reviewObject("maintainer", "APPROVED", SHA_A)]);
    await app.deliver("pull_request_review", review("maintainer", "APPROVED", SHA_A));
    await settle();
    const check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("success");
    expect(check.output.title).toContain("maintainer");
    // Permission was asked of GitHub at decision time.
    expect(fake.callsTo("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission").length).toBeGreaterThan(0);
  });

  it("reads the review list beside the config for a likely agent, and decides on the config read now", async () => {
    const REVIEWS = "/repos/{owner}/{repo}/pulls/{pull_number}/reviews";
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    expect(fake.callsTo("GET", REVIEWS)).toHaveLength(1);
    // The agent is removed from the config: the list is read early on the last config's guess, but the decision uses the new config.
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [someone-else]\n");
    fake.setReviews(REPO, PR, [reviewObject("reader", "APPROVED", SHA_B)]);
    await push(SHA_B);
    await settle();
    expect(fake.callsTo("GET", REVIEWS)).toHaveLength(2);
    expect(latestCheck(SHA_B)).toMatchObject({ conclusion: "success", output: { title: "Not agent-proposed" } });
    // Once the config no longer names the author, the list is not read early: a human's pull request costs one read.
    await push("c".repeat(40));
    expect(fake.callsTo("GET", REVIEWS)).toHaveLength(2);
  });

  it("asks GitHub the permission of voting reviewers only, the event's reviewer beside the list", async () => {
    const PERMISSION = "/repos/{owner}/{repo}/collaborators/{username}/permission";
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    fake.setReviews(REPO, PR, [reviewObject("reader", "COMMENTED", SHA_A)]);
    await app.deliver("pull_request_review", review("reader", "COMMENTED", SHA_A));
    expect(fake.callsTo("GET", PERMISSION)).toEqual([]);
    fake.setReviews(REPO, PR, [
      reviewObject("reader", "COMMENTED", SHA_A),
      reviewObject("maintainer", "APPROVED", SHA_A),
    ]);
    await app.deliver("pull_request_review", review("maintainer", "APPROVED", SHA_A));
    await settle();
    expect(fake.callsTo("GET", PERMISSION).map((call) => call.path.split("/").at(-2))).toEqual(["maintainer"]);
    expect(latestCheck(SHA_A).conclusion).toBe("success");
  });

  it("waits again on the new head after a push", async () => {
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    fake.setReviews(REPO, PR, [reviewObject("maintainer", "APPROVED", SHA_A)]);
    await app.deliver("pull_request_review", review("maintainer", "APPROVED", SHA_A));
    await push(SHA_B);
    await settle();
    // The old head's approval no longer applies to anything.
    expect(latestCheck(SHA_A)).toMatchObject({
      conclusion: "cancelled",
      output: { title: `Superseded by ${SHA_B.slice(0, 7)}` },
    });
    const fresh = latestCheck(SHA_B);
    expect(fresh.status).toBe("in_progress");
    expect(fresh.output.title).toBe("Waiting for approval (0/1)");
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.some((event) => event.action === "proposal.invalidated")).toBe(true);
  });

  it("turns red on changes requested, and a dismissal re-opens the question", async () => {
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    fake.setReviews(REPO, PR, [reviewObject("maintainer", "CHANGES_REQUESTED", SHA_A, "User", 1)]);
    await app.deliver("pull_request_review", review("maintainer", "CHANGES_REQUESTED", SHA_A));
    await settle();
    expect(latestCheck(SHA_A).conclusion).toBe("failure");
    fake.setReviews(REPO, PR, [reviewObject("maintainer", "DISMISSED", SHA_A, "User", 1)]);
    await app.deliver("pull_request_review", review("maintainer", "DISMISSED", SHA_A));
    await settle();
    // GitHub keeps a completed run's conclusion when it is set back to in progress: it waits as action_required.
    const check = latestCheck(SHA_A);
    expect([check.status, check.conclusion]).toEqual(["completed", "action_required"]);
    expect(check.output.title).toBe("Waiting for approval (0/1)");
  });

  it("processes a redelivered webhook once", async () => {
    const payload = agentPr("opened", SHA_A);
    const first = await app.deliver("pull_request", payload, { id: "delivery-same" });
    const second = await app.deliver("pull_request", payload, { id: "delivery-same" });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.json()).toMatchObject({ duplicate: true });
    await settle();
    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs")).toHaveLength(1);
    const [row] = await t.db.tenant(installationId, (tx) =>
      tx.query<{ n: number }>("SELECT count(*)::int8 AS n FROM proposals WHERE installation_id = $1", [installationId]),
    );
    expect(row?.n).toBe(1);
  });

  it.each([
    ["a wrong signature", { secret: "wrong-secret" }],
    ["no signature", { signature: null }],
    ["a SHA-1 signature only", { signature: "sha1=0123456789abcdef0123456789abcdef01234567" }],
  ])("answers 400 to %s, trusts nothing of it and counts the refusal", async (_name, options) => {
    const res = await app.deliver("pull_request", agentPr("opened", SHA_A), { id: "forged-1", ...options });
    expect(res.status).toBe(400);
    await app.server.refusals.flush();
    await settle();
    expect(fake.checkRuns(REPO)).toHaveLength(0);
    const inbox = await t.db.query("SELECT 1 FROM webhook_inbox WHERE delivery_id = 'forged-1'");
    expect(inbox).toHaveLength(0);
    const refused = await t.db.tenant(0, (tx) =>
      tx.query<{ data: { count: number; reasons: Record<string, number> } }>(
        "SELECT data FROM audit_events WHERE installation_id = 0 AND action = 'webhook.refused' ORDER BY seq DESC LIMIT 1",
      ),
    );
    expect(refused[0]?.data.count).toBe(1);
    expect(Object.keys(refused[0]?.data.reasons ?? {})[0]).toMatch(/^signature_/);
  });

  it("refuses a re-serialised body whose bytes differ from what was signed", async () => {
    const payload = agentPr("opened", SHA_A);
    const signedBody = JSON.stringify(payload);
    const { sign } = await import("../../src/webhooks/signature.ts");
    const res = await app.deliver("pull_request", payload, {
      rawBody: JSON.stringify(payload, null, 2),
      signature: sign("test-webhook-secret-do-not-use", signedBody),
    });
    expect(res.status).toBe(400);
  });

  it("acknowledges a recorded delivery when GitHub fails mid-handling, keeps the gate closed and decides on the retry", async () => {
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    await settle();
    fake.setReviews(REPO, PR, [reviewObject("maintainer", "APPROVED", SHA_A)]);
    fake.failNext("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", 1, 502);
    const payload = review("maintainer", "APPROVED", SHA_A);
    const first = await app.deliver("pull_request_review", payload, { id: "review-1", settle: false });
    expect(first.status).toBe(200);
    await deliverySettled(t.db, TEST_APP_ID, "review-1");
    await settle();
    expect(latestCheck(SHA_A).conclusion).toBe("success");
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.filter((e) => e.action === "webhook.failed").map((e) => e.outcome)).toEqual(["retrying"]);
    expect(events.filter((e) => e.action === "webhook.received" && e.subject === "review-1")).toHaveLength(1);
    const again = await app.deliver("pull_request_review", payload, { id: "review-1" });
    expect(await again.json()).toMatchObject({ duplicate: true });
  });

  it("answers 5xx while the database cannot record the delivery, so nothing unrecorded is acknowledged", async () => {
    const broken = {
      ...t.db,
      query: async () => {
        throw new Error("connection refused");
      },
    };
    const other = await startTestApp({ db: broken, fake, startProcessor: false });
    try {
      const res = await other.deliver("pull_request", agentPr("opened", SHA_A), { id: "unrecorded-1" });
      expect(res.status).toBe(503);
    } finally {
      await other.close();
    }
    expect(await t.db.query("SELECT 1 FROM webhook_inbox WHERE delivery_id = 'unrecorded-1'")).toHaveLength(0);
  });

  it("fails closed when the database is unreachable: 5xx and no check marked successful", async () => {
    const broken = {
      ...t.db,
      query: async () => {
        throw new Error("connection refused");
      },
      tenant: async () => {
        throw new Error("connection refused");
      },
      transaction: async () => {
        throw new Error("connection refused");
      },
    };
    const other = await startTestApp({ db: broken, fake });
    try {
      const res = await other.deliver("pull_request", agentPr("opened", SHA_A));
      expect(res.status).toBeGreaterThanOrEqual(500);
    } finally {
      await other.close();
    }
    expect(fake.checkRuns(REPO).filter((run) => run.conclusion === "success")).toHaveLength(0);
  });

  it("shows an invalid config on the check and keeps the gate closed", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [x]\napprovals: { required: 0 }\nsurprise: true\n");
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    await settle();
    const check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain("surprise");
    expect(check.output.summary).toContain("approvals");
  });

  it("shows a YAML error on the check with its line and column, and keeps the gate closed", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [x]\napprovals:\n  required: 1\n   min_permission: write\n");
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    await settle();
    const check = latestCheck(SHA_A);
    expect(check.conclusion).toBe("failure");
    expect(check.output.summary).toContain(
      "- `(file)`: the YAML could not be parsed at line 3, column 13: Nested mappings are not allowed in compact mappings",
    );
    // Code spans show their text as it is: no backslash escapes inside them.
    expect(check.output.summary).not.toMatch(/`[^`]*\\[^`]*`/);
  });

  it("records each decision with its facts and config digests in one unbroken chain", async () => {
    await app.deliver("pull_request", agentPr("opened", SHA_A));
    fake.setReviews(REPO, PR, [reviewObject("maintainer", "APPROVED", SHA_A)]);
    await app.deliver("pull_request_review", review("maintainer", "APPROVED", SHA_A));
    await settle();
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    const decisions = events.filter((event) => event.action === "decision.recorded");
    expect(decisions.map((event) => event.outcome)).toEqual(["pending", "approved"]);
    for (const decision of decisions) {
      expect(decision.data.facts_digest).toMatch(/^[0-9a-f]{64}$/);
      expect(decision.data.config_digest).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(events.filter((event) => event.action === "github.write").length).toBeGreaterThan(0);
    expect(verifyChain(events, GENESIS_HASH)).toBeNull();
  });
});
