import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { createToken } from "../../src/tokens/store.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { explainCommit, type Explanation } from "../../src/explain/replay.ts";
import { loadLatestCommitProposal } from "../../src/explain/load.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const INSTALLATION = 8101;
const PR = 2;
const SHA = "a".repeat(40);

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake });
  fake.setFile(
    REPO,
    ".github/agent-gate.yml",
    `agents: [${AGENT}]\napprovals:\n  required: 1\n  min_permission: maintain\n`,
  );
  fake.setPermission(REPO, "maintainer", "maintain");
  fake.setPermission(REPO, "writer", "write");
  await recordInstallation(t.db, { id: INSTALLATION, account: "Codertocat" }, new Date());
  await recordInstallation(t.db, { id: INSTALLATION + 1, account: "someone" }, new Date());
  await recordRepositories(t.db, INSTALLATION, [{ id: 1296269, full_name: REPO }], [], new Date());

  // Drive a decision through the webhook path: an agent's PR, approved by a writer (refused) and a maintainer.
  const opened = example("pull_request", "opened", INSTALLATION);
  opened.pull_request.user = { ...opened.pull_request.user, login: AGENT, type: "User" };
  opened.pull_request.head.sha = SHA;
  opened.sender = { ...opened.sender, login: AGENT, type: "User" };
  expect((await app.deliver("pull_request", opened)).status).toBe(200);
  const review = (login: string, id: number) => ({
    id,
    user: { login, id, type: "User" },
    state: "APPROVED",
    commit_id: SHA,
    submitted_at: `2026-11-23T10:0${id}:00Z`,
    body: "",
  });
  fake.setReviews(REPO, PR, [review("writer", 1), review("maintainer", 2)]);
  const submitted = example("pull_request_review", "submitted", INSTALLATION);
  submitted.pull_request.user = { ...submitted.pull_request.user, login: AGENT, type: "User" };
  submitted.pull_request.head.sha = SHA;
  submitted.review = {
    ...submitted.review,
    user: { ...submitted.review.user, login: "maintainer", type: "User" },
    state: "approved",
    commit_id: SHA,
  };
  submitted.sender = { ...submitted.sender, login: "maintainer", type: "User" };
  expect((await app.deliver("pull_request_review", submitted)).status).toBe(200);
  await app.server.worker.drain();
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

function expectReproduced(e: Explanation): void {
  expect(e.matches).toBe(true);
  expect(e.problems).toEqual([]);
  expect(e.proposal).toMatchObject({ repo: REPO, pr: PR, headSha: SHA, status: "approved" });
  expect(e.mayApprove).toEqual({ required: 1, minPermission: "maintain", agents: [AGENT], configPresent: true });
  expect(e.replayed?.approvers).toEqual(["maintainer"]);
  expect(e.replayed?.refused.map((r) => r.login)).toEqual(["writer"]);
  expect(e.replayed?.refused[0]?.reason).toMatch(/write/);
}

describe("explain", { timeout: 120_000 }, () => {
  it("replays the recorded facts and config to the recorded decision", async () => {
    expectReproduced(explainCommit(await loadLatestCommitProposal(t.owner, REPO.toLowerCase(), PR)));
  });

  it("says when the recorded decision no longer follows from its facts", async () => {
    const row = await loadLatestCommitProposal(t.owner, REPO, PR, INSTALLATION);
    const tampered = {
      ...row,
      state: { ...row.state, decision: { ...row.state.decision!, approvers: ["someone-else"] } },
    };
    expect(explainCommit(tampered).matches).toBe(false);
  });

  it("answers GET /api/v1/explain for an admin token of the installation only", async () => {
    const now = new Date();
    const admin = await createToken(
      t.db,
      { installationId: INSTALLATION, repos: null, kinds: null, admin: true, expiresAt: null, createdBy: "test" },
      now,
    );
    const plain = await createToken(
      t.db,
      { installationId: INSTALLATION, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" },
      now,
    );
    const other = await createToken(
      t.db,
      { installationId: INSTALLATION + 1, repos: null, kinds: null, admin: true, expiresAt: null, createdBy: "test" },
      now,
    );
    const url = `${app.url}/api/v1/explain?repo=${encodeURIComponent(REPO)}&pr=${PR}`;
    const get = (token: string) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

    const ok = await get(admin.token);
    expect(ok.status).toBe(200);
    expectReproduced((await ok.json()) as Explanation);
    expect((await get(plain.token)).status).toBe(403);
    expect((await get(other.token)).status).toBe(404);
    expect((await fetch(url)).status).toBe(401);
    expect(
      (await fetch(`${app.url}/api/v1/explain?repo=nope&pr=x`, { headers: { authorization: `Bearer ${admin.token}` } }))
        .status,
    ).toBe(400);
  });

  // The CLI opens a database by its URL: the PostgreSQL test database.
  it.runIf(backend() === "postgres")("runs as `agent-gate explain owner/repo#12`", async () => {
    const env = { ...process.env, DATABASE_URL: t.url };
    const run = (args: string[]) => runCli(["explain", ...args], env);
    const text = await run([`${REPO}#${PR}`]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout).toContain("Approved by: maintainer");
    expect(text.stdout).toMatch(/Not counted: writer — .*write/);
    expect(text.stdout).toContain("the policy gives the recorded decision again");
    const json = await run([`${REPO}#${PR}`, "--json", "--installation", String(INSTALLATION)]);
    // The CLI prints snake_case keys, as every --json output does.
    const printed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({
      matches: true,
      proposal: { head_sha: SHA, decided_at: expect.any(String) },
      may_approve: { min_permission: "maintain", config_present: true },
    });
    expect(json.stdout).not.toMatch(/"[a-z]+[A-Z][A-Za-z]*":/);
    const missing = await run([`${REPO}#999`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not found/);
    // Another installation's proposals stay out of reach, as in the API.
    expect((await run([`${REPO}#${PR}`, "--installation", String(INSTALLATION + 1)])).code).toBe(2);
    // A recorded decision that no longer follows from its facts: exit 1, saying so.
    await t.db.tenant(INSTALLATION, (tx) =>
      tx.query(
        `UPDATE proposals SET state = jsonb_set(state, '{decision,approvers}', '["someone-else"]'::jsonb) WHERE kind = 'commit' AND pr_number = $1`,
        [PR],
      ),
    );
    const differs = await run([`${REPO}#${PR}`, "--json"]);
    expect(differs.code).toBe(1);
    expect(JSON.parse(differs.stdout)).toMatchObject({ matches: false });
  });
});
