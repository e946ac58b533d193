import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { deploymentProtectionRule, requestedAction } from "../support/fixtures.ts";

const REPO = "Codertocat/Hello-World";
const SHA = "d".repeat(40);
const CALLBACK = "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule";
const MEMBERSHIP = "/orgs/{org}/teams/{team_slug}/memberships/{username}";
const TOKENS = "/app/installations/{installation_id}/access_tokens";
let installationId = 5200;

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
  await t.db.query("DELETE FROM proposal_deadlines");
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake });
  fake.setFile(
    REPO,
    ".github/agent-gate.yml",
    "agents: [deploy-agent]\nrules:\n  - name: production needs two\n    if: { environments: [production] }\n    require: { approvals: 2 }\n",
  );
  fake.setPermission(REPO, "alice", "write");
  fake.setPermission(REPO, "bob", "maintain");
  fake.setPermission(REPO, "runner", "admin");
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

async function requestDeploy(environment: string, o: { creator?: string } = {}) {
  const res = await app.deliver(
    "deployment_protection_rule",
    deploymentProtectionRule({ installationId, environment, sha: SHA, runId: 77, sender: "runner", ...o }),
  );
  expect(res.status).toBe(200);
  await app.server.worker.drain();
  return fake.checkRuns(REPO).find((r) => r.name === `Agent Gate: deploy to ${environment}`)!;
}

async function click(run: { id: number; external_id?: string }, clicker: string) {
  const res = await app.deliver(
    "check_run",
    requestedAction({
      installationId,
      appId: TEST_APP_ID,
      proposalId: run.external_id!,
      checkRunId: run.id,
      identifier: "approve",
      clicker,
      clickerType: "User",
    }),
  );
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

describe("approval rules on the deploy gate", () => {
  it("a deploy to production needs two people; the user who triggered the run never counts", async () => {
    const run = await requestDeploy("production");
    await click(run, "runner"); // triggered the run: refused under every rule
    await click(run, "alice");
    let current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.output.title).toBe('Waiting for rule "production needs two"');
    expect(current.output.summary).toContain("| production needs two | ⏳ waiting | environment production |");
    expect(fake.callsTo("POST", CALLBACK)).toHaveLength(0);

    await click(run, "bob");
    current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.conclusion).toBe("success");
    expect(current.output.summary).toContain("| production needs two | ✅ satisfied |");
    expect(fake.callsTo("POST", CALLBACK).map((call) => (call.body as { state: string }).state)).toEqual(["approved"]);
  });

  it("a deploy to another environment needs only approvals:", async () => {
    const run = await requestDeploy("staging");
    await click(run, "alice");
    const current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.conclusion).toBe("success");
    expect(current.output.summary).toContain("| production needs two | ➖ does not apply |");
  });

  it("a team rule on production is satisfied by a member, asked of GitHub before the vote is recorded", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      "agents: [deploy-agent]\nrules:\n  - name: release team\n    if: { environments: [production] }\n    require: { teams: [octo-org/release] }\n",
    );
    fake.setTeam("octo-org/release", ["bob"]);
    fake.setInstallation(installationId, {
      permissions: { ...fake.state.installation(installationId).permissions, members: "read" },
    });
    const run = await requestDeploy("production");

    await click(run, "alice"); // eligible, but not in the team
    let current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.output.title).toBe('Waiting for rule "release team"');
    expect(current.output.summary).toContain("| release team | ⏳ waiting | environment production |");
    expect(fake.callsTo("POST", CALLBACK)).toHaveLength(0);

    await click(run, "bob");
    current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.conclusion).toBe("success");
    expect(current.output.summary).toContain("| release team | ✅ satisfied |");
    expect(fake.callsTo("POST", CALLBACK).map((call) => (call.body as { state: string }).state)).toEqual(["approved"]);
    // Each vote asked about everyone approving so far, with a token holding members: read and nothing else.
    expect(fake.callsTo("GET", MEMBERSHIP).map((call) => call.path)).toEqual([
      "/orgs/octo-org/teams/release/memberships/alice",
      "/orgs/octo-org/teams/release/memberships/alice",
      "/orgs/octo-org/teams/release/memberships/bob",
    ]);
    const membersTokens = fake
      .callsTo("POST", TOKENS)
      .filter((call) => "members" in ((call.body as { permissions?: object }).permissions ?? {}));
    expect(membersTokens.map((call) => (call.body as { permissions: object }).permissions)).toEqual([
      { members: "read" },
    ]);
  });

  it("a team rule on production without members: read fails closed and names the permission to add", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      "agents: [deploy-agent]\nrules:\n  - name: release team\n    if: { environments: [production] }\n    require: { teams: [octo-org/release] }\n",
    );
    fake.setTeam("octo-org/release", ["bob"]);
    const run = await requestDeploy("production");
    await click(run, "bob");
    const current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.conclusion).toBe("action_required"); // still waiting, buttons shown
    expect(current.output.title).toBe('Cannot evaluate rule "release team"');
    expect(current.output.summary).toMatch(/organization permission "members: read"/);
    expect(current.output.summary).toContain("| release team | ⛔ cannot evaluate |");
    expect(fake.callsTo("GET", MEMBERSHIP)).toHaveLength(0); // the narrowed token was refused
    expect(fake.callsTo("POST", CALLBACK)).toHaveLength(0);
    await app.server.deniedUses.flush();
  });

  it("the run's actor and the user who triggered it never count, under a users: rule either", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      "agents: [deploy-agent]\nrules:\n  - name: named deployers\n    if: { environments: [production] }\n    require: { users: [runner, carol, alice] }\n",
    );
    fake.setPermission(REPO, "carol", "admin");
    const run = await requestDeploy("production", { creator: "carol" }); // carol's run, re-run by runner
    await click(run, "carol");
    await click(run, "runner");
    let current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.output.title).toBe("Waiting for approval (0/1)");
    expect(current.output.summary).toContain("| named deployers | ⏳ waiting |");
    await click(run, "alice");
    current = fake.checkRuns(REPO).find((r) => r.id === run.id)!;
    expect(current.conclusion).toBe("success");
    expect(current.output.summary).toMatch(/\| named deployers \| ✅ satisfied \|[^\n]*@alice/);
  });
});
