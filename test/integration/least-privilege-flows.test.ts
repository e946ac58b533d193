import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OPERATIONS, requiredPermissions, type OperationName } from "../../src/github/operations.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake, type GitHubCall } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { deploymentProtectionRule, requestedAction } from "../support/fixtures.ts";

// The gates run end to end against an installation granted exactly app.yml's
// permissions, and every repository call is checked against the token it used.

const REPO = "Codertocat/Hello-World";
const TOKENS = "/app/installations/{installation_id}/access_tokens";
const SHA = "a".repeat(40);
let installationId = 9000;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
/** Each token the fake minted, with what was asked for it. */
let minted: Map<
  string,
  {
    installationId: number;
    body: { permissions?: Record<string, string>; repository_ids?: number[]; repositories?: string[] };
  }
>;

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
  fake.setInstallation(installationId, { permissions: requiredPermissions() });
  minted = new Map();
  fake.on("POST", TOKENS, (call) => {
    const id = Number(call.path.split("/")[3]);
    const body = (call.body ?? {}) as {
      permissions?: Record<string, string>;
      repository_ids?: number[];
      repositories?: string[];
    };
    const granted = requiredPermissions() as Record<string, string>;
    for (const [permission, access] of Object.entries(body.permissions ?? {})) {
      if (!granted[permission] || (access === "write" && granted[permission] !== "write")) {
        return { status: 422, body: { message: "The permissions requested are not granted to this installation." } };
      }
    }
    const token = `ghs_minted${minted.size + 1}`;
    minted.set(token, { installationId: id, body });
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: body.permissions ?? granted,
        repository_selection: body.repository_ids ? "selected" : "all",
      },
    };
  });
  app = await startTestApp({ db: t.db, fake });
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

const repoId = () => example("pull_request", "opened", installationId).repository.id as number;

function operationOf(call: GitHubCall): OperationName | undefined {
  return (Object.entries(OPERATIONS) as [OperationName, (typeof OPERATIONS)[OperationName]][]).find(
    ([, operation]) => operation.method === call.method && operation.route === call.route,
  )?.[0];
}

/** Every repository call, with its operation and the token's narrowing. */
function repositoryCalls() {
  return fake.calls
    .filter((call) => call.path.startsWith("/repos/"))
    .map((call) => {
      const token = String(call.headers.authorization ?? "").replace(/^token /, "");
      return { operation: operationOf(call), path: call.path, token: minted.get(token) };
    });
}

function expectNarrowed(operation: OperationName) {
  const uses = repositoryCalls().filter((use) => use.operation === operation);
  expect(uses.length, operation).toBeGreaterThan(0);
  for (const use of uses) {
    expect(use.token, `${operation} used a token the fake minted`).toBeDefined();
    expect(use.token!.installationId).toBe(installationId);
    // Exactly the operation's own permissions (or its job's, all of one kind) and its one repository.
    expect(use.token!.body.repository_ids).toEqual([repoId()]);
    const needed = OPERATIONS[operation].permissions as Record<string, string>;
    for (const [permission, access] of Object.entries(needed)) {
      expect(["write", access]).toContain(use.token!.body.permissions?.[permission]);
    }
    expect(Object.keys(use.token!.body.permissions ?? {})).toEqual(Object.keys(needed));
  }
}

describe("least privilege, end to end", () => {
  it("the commit gate reads reviews and permissions and writes its check with narrowed tokens", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\n");
    fake.setPermission(REPO, "maintainer", "write");
    fake.setReviews(REPO, 2, [
      {
        id: 1,
        user: { login: "maintainer", id: 1, type: "User" },
        state: "APPROVED",
        commit_id: SHA,
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);
    const payload = example("pull_request", "opened", installationId);
    payload.pull_request.user = { ...payload.pull_request.user, login: "seo-agent", type: "User" };
    payload.pull_request.head.sha = SHA;
    payload.sender = { ...payload.sender, login: "seo-agent", type: "User" };
    expect((await app.deliver("pull_request", payload)).status).toBe(200);
    await app.server.worker.drain();

    expect(fake.checkRuns(REPO).find((run) => run.head_sha === SHA)?.conclusion).toBe("success");
    expectNarrowed("pulls.listReviews");
    expectNarrowed("repos.getCollaboratorPermissionLevel");
    expectNarrowed("checks.create");
    // One token per permission set: reviews, permission, check runs.
    expect(
      fake
        .callsTo("POST", TOKENS)
        .map((call) => call.body)
        .filter((body) => body),
    ).toEqual(
      expect.arrayContaining([
        { repository_ids: [repoId()], permissions: { pull_requests: "read" } },
        { repository_ids: [repoId()], permissions: { metadata: "read" } },
        { repository_ids: [repoId()], permissions: { checks: "write" } },
      ]),
    );
    // No call on the installation's own token, the config read included.
    expectNarrowed("repos.getContent");
    const unnarrowed = repositoryCalls().filter(
      (use) => !use.token?.body.repository_ids && !use.token?.body.repositories,
    );
    expect(unnarrowed).toEqual([]);
  });

  it("reads the config with contents: read tokens for the repository and for the owner's .github repository", async () => {
    // No file in the repository: the config comes from the account's .github repository.
    fake.setFile("Codertocat/.github", ".github/agent-gate.yml", "agents: [seo-agent]\n");
    const payload = example("pull_request", "opened", installationId);
    payload.pull_request.user = { ...payload.pull_request.user, login: "seo-agent", type: "User" };
    payload.pull_request.head.sha = SHA;
    payload.sender = { ...payload.sender, login: "seo-agent", type: "User" };
    expect((await app.deliver("pull_request", payload)).status).toBe(200);
    await app.server.worker.drain();

    // The org-wide config applied: the agent's pull request waits for approval.
    const run = fake.checkRuns(REPO).find((candidate) => candidate.head_sha === SHA);
    expect(run?.status).not.toBe("completed");
    const reads = repositoryCalls().filter((use) => use.operation === "repos.getContent");
    expect(reads.map((use) => decodeURIComponent(use.path))).toEqual([
      `/repos/${REPO}/contents/.github/agent-gate.yml`,
      "/repos/Codertocat/.github/contents/.github/agent-gate.yml",
    ]);
    expect(reads.map((use) => use.token?.body)).toEqual([
      { repository_ids: [repoId()], permissions: { contents: "read" } },
      { repositories: [".github"], permissions: { contents: "read" } },
    ]);
    for (const read of reads) expect(read.token?.installationId).toBe(installationId);
    expect(repositoryCalls().filter((use) => !use.token)).toEqual([]);
    // Every read, the webhook handler's narrowed ones included, is in the GitHub metrics.
    const histogram = (
      await app.server.metrics.registry.getSingleMetric("agent_gate_github_request_duration_seconds")!.get()
    ).values;
    const counted = histogram
      .filter(
        (value) => (value as { metricName?: string }).metricName?.endsWith("_count") && value.labels.method === "GET",
      )
      .reduce((sum, value) => sum + value.value, 0);
    const gets = fake.calls.filter((call) => call.method === "GET" && !call.web);
    expect(counted, gets.map((call) => call.path).join(", ")).toBe(gets.length);
  });

  it("the deploy gate answers the protection rule with a deployments-only token", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
    fake.setPermission(REPO, "alice", "write");
    const rule = deploymentProtectionRule({
      installationId,
      environment: "production",
      sha: "d".repeat(40),
      runId: 77,
      sender: "runner",
    });
    expect((await app.deliver("deployment_protection_rule", rule)).status).toBe(200);
    await app.server.worker.drain();
    const run = fake.checkRuns(REPO).find((r) => r.name === "Agent Gate: deploy to production")!;
    const click = requestedAction({
      installationId,
      appId: TEST_APP_ID,
      proposalId: run.external_id!,
      checkRunId: run.id,
      identifier: "approve",
      clicker: "alice",
    });
    expect((await app.deliver("check_run", click)).status).toBe(200);
    await app.server.worker.drain();

    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule")).toHaveLength(
      1,
    );
    expectNarrowed("actions.reviewCustomGatesForRun");
    expectNarrowed("repos.getCollaboratorPermissionLevel");
    expectNarrowed("checks.update");
    expect(
      fake
        .callsTo("POST", TOKENS)
        .some(
          (call) =>
            JSON.stringify(call.body) ===
            JSON.stringify({ repository_ids: [repoId()], permissions: { deployments: "write" } }),
        ),
    ).toBe(true);
  });
});
