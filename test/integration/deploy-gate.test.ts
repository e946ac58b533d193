import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { expireDue } from "../../src/gates/expiry.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { deploymentProtectionRule, requestedAction, webhookSchemaProblems } from "../support/fixtures.ts";

const REPO = "Codertocat/Hello-World";
const SHA = "d".repeat(40);
const CALLBACK = "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule";
let installationId = 5000;
// The app's clock runs with real time plus an offset a test may move forward.
let offset = 0;
const clock = () => new Date(Date.now() + offset);

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
  offset = 0;
  // Each test is its own installation; earlier tests' deadlines must not expire into this one's fake.
  await t.db.query("DELETE FROM proposal_deadlines");
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, now: clock });
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\nexpiry: 2h\n");
  for (const [login, permission] of [
    ["alice", "write"],
    ["bob", "maintain"],
    ["reader", "read"],
    ["runner", "admin"],
  ] as const) {
    fake.setPermission(REPO, login, permission);
  }
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

async function requestDeploy(environment = "production", sender = "runner") {
  const payload = deploymentProtectionRule({ installationId, environment, sha: SHA, runId: 77, sender });
  const res = await app.deliver("deployment_protection_rule", payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
  const run = fake.checkRuns(REPO).find((r) => r.name === `Agent Gate: deploy to ${environment}`);
  expect(run).toBeDefined();
  return run!;
}

async function click(
  run: { id: number; external_id?: string },
  clicker: string,
  identifier = "approve",
  clickerType = "User",
) {
  const res = await app.deliver(
    "check_run",
    requestedAction({
      installationId,
      appId: TEST_APP_ID,
      proposalId: run.external_id!,
      checkRunId: run.id,
      identifier,
      clicker,
      clickerType,
    }),
  );
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

function callbacks() {
  return fake
    .callsTo("POST", CALLBACK)
    .map((call) => call.body as { state: string; environment_name: string; comment: string });
}

describe("deploy gate", () => {
  it("builds a fixture that GitHub's webhook schema accepts", () => {
    const payload = deploymentProtectionRule({
      installationId: 1,
      environment: "production",
      sha: SHA,
      runId: 1,
      sender: "x",
    });
    expect(webhookSchemaProblems("webhook-deployment-protection-rule-requested", payload)).toEqual([]);
  });

  it("shows a check run with Approve and Reject, then approves and calls GitHub back once", async () => {
    const run = await requestDeploy();
    expect(run.status).toBe("completed");
    expect(run.conclusion).toBe("action_required");
    expect(run.actions.map((a: { identifier: string }) => a.identifier)).toEqual(["approve", "reject"]);
    for (const action of run.actions as { label: string; description: string; identifier: string }[]) {
      expect(action.label.length).toBeLessThanOrEqual(20);
      expect(action.description.length).toBeLessThanOrEqual(40);
      expect(action.identifier.length).toBeLessThanOrEqual(20);
    }
    expect(run.output.summary).toContain(SHA);
    expect(run.output.summary).toContain("production");
    await click(run, "alice");
    expect(callbacks()).toEqual([expect.objectContaining({ state: "approved", environment_name: "production" })]);
    expect(callbacks()[0]!.comment).toContain("@alice");
    const updated = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(updated.conclusion).toBe("success");
  });

  it("keeps the gate closed for an environment name with bidirectional and zero-width characters, shown visibly and never raw", async () => {
    const environment = "prod\u202Eevil\u200Buction";
    const shown = "prod⟦U+202E⟧evil⟦U+200B⟧uction";
    const payload = deploymentProtectionRule({ installationId, environment, sha: SHA, runId: 77, sender: "runner" });
    expect(webhookSchemaProblems("webhook-deployment-protection-rule-requested", payload)).toEqual([]);
    const res = await app.deliver("deployment_protection_rule", payload);
    expect(res.status).toBe(200);
    await app.server.worker.drain();

    const runs = fake.checkRuns(REPO);
    expect(runs.map((r) => r.name)).toEqual([`Agent Gate: deploy to ${shown}`]);
    const run = runs[0]!;
    expect(run.conclusion).toBe("action_required");
    expect(run.output.summary).toContain(`**${shown}**`);
    expect(run.output.summary).toContain(
      "**Warning:** the environment name holds characters that are invisible or reorder text",
    );
    expect(JSON.stringify(runs)).not.toMatch(/[\u202E\u200B]/);
    expect(callbacks()).toEqual([]);

    const [row] = await t.db.tenant(installationId, (tx) =>
      tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [run.external_id]),
    );
    expect(row?.status).toBe("pending");
    const [created] = (await t.db.tenant(installationId, (tx) => readAudit(tx, installationId))).filter(
      (e) => e.action === "proposal.created",
    );
    expect(created?.data).toMatchObject({
      environment,
      environment_hidden_characters: expect.stringMatching(/found U\+202E at position 4/),
    });
  });

  it("rejects on one eligible Reject", async () => {
    const run = await requestDeploy();
    await click(run, "bob", "reject");
    expect(callbacks().map((c) => c.state)).toEqual(["rejected"]);
  });

  it("counts two clicks by one person once when two approvals are required", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 2 }\n");
    const run = await requestDeploy();
    await click(run, "alice");
    await click(run, "alice");
    expect(callbacks()).toEqual([]);
    expect(fake.checkRuns(REPO).find((r) => r.id === run.id)!.output.title).toContain("1/2");
    await click(run, "bob");
    expect(callbacks().map((c) => c.state)).toEqual(["approved"]);
  });

  it.each([
    ["the user who triggered the run", "runner", "User", /trigger/i],
    ["a configured agent", "deploy-agent", "User", /agent/i],
    ["a bot", "helper[bot]", "Bot", /bot/i],
    ["a read-only user", "reader", "User", /read/i],
  ])("refuses a click by %s and shows why", async (_name, clicker, type, reason) => {
    const run = await requestDeploy();
    await click(run, clicker, "approve", type);
    expect(callbacks()).toEqual([]);
    const shown = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(shown.conclusion).toBe("action_required");
    expect(shown.output.summary).toMatch(reason);
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.find((e) => e.action === "vote.recorded")?.outcome).toBe("refused");
  });

  it("rejects with reason expired when nobody decides in time, from the sweep", async () => {
    await requestDeploy();
    offset = 2 * 3600_000 + 1000;
    expect(await expireDue(t.db, clock())).toBe(1);
    expect(await expireDue(t.db, clock())).toBe(0);
    await app.server.worker.drain();
    expect(callbacks()).toEqual([expect.objectContaining({ state: "rejected" })]);
    expect(callbacks()[0]!.comment).toContain("expired");
  });

  it("retries a callback that fails with 502 twice, ending with one decision", async () => {
    const run = await requestDeploy();
    fake.failNext("POST", CALLBACK, 2, 502);
    await click(run, "alice");
    const attempts = fake.callsTo("POST", CALLBACK);
    expect(attempts).toHaveLength(3);
    expect(attempts.map((call) => (call.body as { state: string }).state)).toEqual([
      "approved",
      "approved",
      "approved",
    ]);
    const [row] = await t.db.query<{ n: number }>(
      "SELECT count(*)::int8 AS n FROM outbox WHERE installation_id = $1 AND operation = 'deployment.review' AND outcome = 'done'",
      [installationId],
    );
    expect(row?.n).toBe(1);
  });

  it("resumes a decision committed before a crash, from another worker", async () => {
    const run = await requestDeploy();
    // The click is committed, then the process dies before the outbox runs.
    await app.deliver(
      "check_run",
      requestedAction({
        installationId,
        appId: TEST_APP_ID,
        proposalId: run.external_id!,
        checkRunId: run.id,
        identifier: "approve",
        clicker: "alice",
      }),
    );
    await app.close();
    expect(callbacks()).toEqual([]);
    app = await startTestApp({ db: t.db, fake, now: clock });
    await app.server.worker.drain();
    expect(callbacks().map((c) => c.state)).toEqual(["approved"]);
  });

  it("rejects a deploy to an environment mapped to an unverified site, telling the admin what to fix", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      "agents: [deploy-agent]\ndeploy:\n  environments: { production: example.com }\n",
    );
    const run = await requestDeploy();
    expect(run.conclusion).toBe("failure");
    expect(run.output.summary).toMatch(/example\.com/);
    expect(callbacks().map((c) => c.state)).toEqual(["rejected"]);
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.find((e) => e.action === "proposal.created")?.outcome).toBe("rejected");
  });
});
