import { generateKeyPairSync } from "node:crypto";
import { Probot, ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { OPERATIONS, type OpenApiExtract } from "../../scripts/extract-openapi.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { defaultRoutes } from "../support/github-fake/routes.ts";
import { seedFake, type FakeSeed } from "../support/github-fake/seed.ts";

let fake: GitHubFake;
let octokit: InstanceType<typeof ProbotOctokit>;

beforeEach(async () => {
  fake = await GitHubFake.start();
  octokit = new ProbotOctokit({
    auth: { token: "ghs_test" },
    baseUrl: `${fake.url}/api/v3`,
    retry: { enabled: false },
    throttle: { enabled: false },
  });
});

afterEach(async () => {
  await fake.close();
});

const validCheckRun = {
  owner: "octo-org",
  repo: "widgets",
  name: "Agent Gate",
  head_sha: "a".repeat(40),
  status: "completed" as const,
  conclusion: "action_required" as const,
  output: { title: "Waiting for approval", summary: "An agent wants to merge." },
  actions: [{ label: "Approve", description: "Let the agent proceed", identifier: "approve" }],
};

describe("the OpenAPI extract", () => {
  const extract = JSON.parse(
    readFileSync(new URL("../fixtures/github-openapi-extract.json", import.meta.url), "utf8"),
  ) as OpenApiExtract;

  it("holds exactly the operations the extraction script lists, each with an operationId", () => {
    expect(extract.operations.map((op) => [op.method, op.path])).toEqual(OPERATIONS);
    for (const op of extract.operations) expect(op.operationId).toMatch(/^[a-z-]+\/[a-z-]+$/);
  });

  it("describes every route the fake serves by default", () => {
    const described = new Set(extract.operations.map((op) => `${op.method} ${op.path}`));
    const undescribed = defaultRoutes.map((r) => `${r.method} ${r.route}`).filter((r) => !described.has(r));
    expect(undescribed).toEqual([]);
  });
});

describe("GitHubFake", () => {
  it("accepts a valid check-run create, stores it and answers in GitHub's shape", async () => {
    const { status, data } = await octokit.rest.checks.create(validCheckRun);
    expect(status).toBe(201);
    expect(data).toMatchObject({ id: 1, name: "Agent Gate", status: "completed", conclusion: "action_required" });
    const [run] = fake.checkRuns("octo-org/widgets");
    expect(run).toMatchObject({ id: 1, head_sha: "a".repeat(40), actions: validCheckRun.actions });
    expect(run!.history).toHaveLength(1);
    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs")).toHaveLength(1);
    expect(fake.violations()).toEqual([]);
    fake.assertClean();
  });

  it("updates a check run and lists it by commit and name", async () => {
    const { data } = await octokit.rest.checks.create({
      ...validCheckRun,
      status: "in_progress",
      conclusion: undefined,
    });
    await octokit.rest.checks.update({
      owner: "octo-org",
      repo: "widgets",
      check_run_id: data.id,
      conclusion: "success",
    });
    const listed = await octokit.rest.checks.listForRef({
      owner: "octo-org",
      repo: "widgets",
      ref: "a".repeat(40),
      check_name: "Agent Gate",
    });
    expect(listed.data.total_count).toBe(1);
    expect(listed.data.check_runs[0]).toMatchObject({ status: "completed", conclusion: "success" });
    expect(fake.checkRuns()[0]!.history).toHaveLength(2);
    fake.assertClean();
  });

  it("reports a check run with an unknown conclusion as a violation", async () => {
    await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
      ...validCheckRun,
      conclusion: "approved" as never,
    });
    const [violation] = fake.violations();
    expect(violation?.call.route).toBe("/repos/{owner}/{repo}/check-runs");
    expect(violation?.problems.join()).toMatch(/\/conclusion must be equal to one of the allowed values/);
    expect(() => fake.assertClean()).toThrow(/conclusion/);
  });

  it("reports an action label longer than 20 characters as a violation", async () => {
    const actions = [{ label: "Approve this request now", description: "Let it run", identifier: "approve" }];
    await octokit.rest.checks.create({ ...validCheckRun, actions });
    expect(
      fake
        .violations()
        .flatMap((v) => v.problems)
        .join(),
    ).toMatch(/\/actions\/0\/label must NOT have more than 20 characters/);
  });

  it("reports path and query parameters outside the description as violations", async () => {
    await fetch(`${fake.url}/api/v3/repos/octo-org/widgets/check-runs/not-a-number`);
    await fetch(
      `${fake.url}/api/v3/repos/octo-org/widgets/commits/${"a".repeat(40)}/check-runs?status=done&colour=red`,
    );
    const problems = fake.violations().flatMap((v) => v.problems);
    expect(problems).toEqual([
      expect.stringMatching(/^path parameter check_run_id=not-a-number: \/value must be integer/),
      expect.stringMatching(/^query parameter status=done: \/value must be equal to one of the allowed values/),
      "query parameter colour is not defined for checks/list-for-ref",
    ]);
  });

  it("answers an unknown path 404 and lists it as unexpected", async () => {
    const response = await fetch(`${fake.url}/api/v3/repos/octo-org/widgets/hooks`);
    expect(response.status).toBe(404);
    expect(fake.unexpected().map((c) => `${c.method} ${c.path}`)).toEqual(["GET /repos/octo-org/widgets/hooks"]);
    expect(fake.violations()[0]?.problems[0]).toMatch(/no operation GET \/repos\/octo-org\/widgets\/hooks/);
    expect(() => fake.assertClean()).toThrow(/unexpected call: GET \/repos\/octo-org\/widgets\/hooks/);
  });

  it("fails the next calls as told, then behaves normally", async () => {
    fake.failNext("GET", "/repos/{owner}/{repo}", 2, 502, { "retry-after": "1" });
    const first = await fetch(`${fake.url}/api/v3/repos/octo-org/widgets`);
    const second = await fetch(`${fake.url}/api/v3/repos/octo-org/widgets`);
    const third = await fetch(`${fake.url}/api/v3/repos/octo-org/widgets`);
    expect([first.status, second.status, third.status]).toEqual([502, 502, 200]);
    expect(first.headers.get("retry-after")).toBe("1");
    expect(await third.json()).toMatchObject({ full_name: "octo-org/widgets", private: false });
  });

  it("serves the same routes with and without the /api/v3 prefix", async () => {
    fake.setRepo("octo-org/secret", { private: true });
    const prefixed = await fetch(`${fake.url}/api/v3/repos/octo-org/secret`);
    const bare = await fetch(`${fake.url}/repos/octo-org/secret`);
    expect(((await prefixed.json()) as { private: boolean }).private).toBe(true);
    expect(((await bare.json()) as { private: boolean }).private).toBe(true);
    expect(fake.calls.map((c) => [c.path, c.route])).toEqual([
      ["/repos/octo-org/secret", "/repos/{owner}/{repo}"],
      ["/repos/octo-org/secret", "/repos/{owner}/{repo}"],
    ]);
  });

  it("serves files as base64 JSON, as raw text for the config plugin, and 404 when unset", async () => {
    fake.setFile("octo-org/widgets", ".github/agent-gate.yml", "mode: enforce\n");
    const json = await octokit.rest.repos.getContent({
      owner: "octo-org",
      repo: "widgets",
      path: ".github/agent-gate.yml",
    });
    expect(Buffer.from((json.data as { content: string }).content, "base64").toString()).toBe("mode: enforce\n");
    const config = await octokit.config.get({ owner: "octo-org", repo: "widgets", path: ".github/agent-gate.yml" });
    expect(config.config).toEqual({ mode: "enforce" });
    await expect(
      octokit.rest.repos.getContent({ owner: "octo-org", repo: "widgets", path: "missing.yml" }),
    ).rejects.toMatchObject({
      status: 404,
    });
    fake.assertClean();
  });

  it("answers permissions, paginated reviews and pull requests from state", async () => {
    fake.setPermission("octo-org/widgets", "maintainer", "maintain");
    const reviews = Array.from({ length: 35 }, (_, i) => ({ id: i + 1, state: "APPROVED", user: { login: `r${i}` } }));
    fake.setReviews("octo-org/widgets", 7, reviews);
    fake.setPullRequest("octo-org/widgets", { number: 7, title: "Agent change" });
    const permission = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner: "octo-org",
      repo: "widgets",
      username: "maintainer",
    });
    expect(permission.data).toMatchObject({
      permission: "write",
      role_name: "maintain",
      user: { login: "maintainer" },
    });
    const stranger = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner: "octo-org",
      repo: "widgets",
      username: "stranger",
    });
    expect(stranger.data.permission).toBe("read");
    const all = await octokit.paginate(octokit.rest.pulls.listReviews, {
      owner: "octo-org",
      repo: "widgets",
      pull_number: 7,
      per_page: 10,
    });
    expect(all.map((r) => r.id)).toEqual(reviews.map((r) => r.id));
    expect(fake.callsTo("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")).toHaveLength(4);
    const pull = await octokit.rest.pulls.get({ owner: "octo-org", repo: "widgets", pull_number: 7 });
    expect(pull.data).toMatchObject({ number: 7, title: "Agent change", base: { ref: "main" } });
    fake.assertClean();
  });

  it("issues installation tokens echoing the narrowed permissions and repositories", async () => {
    fake.setRepo("octo-org/widgets", { id: 42 });
    const { data } = await octokit.rest.apps.createInstallationAccessToken({
      installation_id: 9,
      repository_ids: [42],
      permissions: { checks: "write" },
    });
    expect(data.token).toMatch(/^ghs_/);
    expect(data.permissions).toEqual({ checks: "write" });
    expect(data.repositories?.map((r) => r.full_name)).toEqual(["octo-org/widgets"]);
    fake.assertClean();
  });

  it("refuses a token for permissions the installation lacks or another installation's repository", async () => {
    fake.setInstallation(9, { permissions: { metadata: "read", checks: "write", contents: "read" } });
    fake.setRepo("octo-org/other", { id: 43, installation_id: 10 });
    const ask = (body: object) =>
      octokit.request("POST /app/installations/{installation_id}/access_tokens", { installation_id: 9, ...body });
    await expect(ask({ permissions: { contents: "write" } })).rejects.toMatchObject({ status: 422 });
    await expect(ask({ permissions: { administration: "read" } })).rejects.toMatchObject({ status: 422 });
    await expect(ask({ repository_ids: [43] })).rejects.toMatchObject({ status: 422 });
    await expect(ask({ permissions: { contents: "read", checks: "write" } })).resolves.toMatchObject({ status: 201 });
    fake.assertClean();
  });

  it("loads repository state from the seed file the command-line fake takes", async () => {
    const seed = JSON.parse(
      readFileSync(new URL("../fixtures/github-fake-seed.json", import.meta.url), "utf8"),
    ) as FakeSeed;
    seedFake(fake, seed);
    const repo = { owner: "octo-org", repo: "widgets" };
    expect((await octokit.rest.repos.get(repo)).data.id).toBe(42);
    const permission = await octokit.rest.repos.getCollaboratorPermissionLevel({
      ...repo,
      username: "octo-maintainer",
    });
    expect(permission.data.role_name).toBe("maintain");
    expect((await octokit.rest.pulls.get({ ...repo, pull_number: 1 })).data.user?.login).toBe("octo-agent[bot]");
    const config = await octokit.config.get({ ...repo, path: ".github/agent-gate.yml" });
    expect(config.config).toEqual({ agents: ["octo-agent[bot]"] });
    fake.assertClean();
  });

  it("creates a branch, commits a file to it and opens a pull request", async () => {
    const repo = { owner: "octo-org", repo: "widgets" };
    const base = await octokit.rest.git.getRef({ ...repo, ref: "heads/main" });
    await octokit.rest.git.createRef({ ...repo, ref: "refs/heads/agent/fix", sha: base.data.object.sha });
    await octokit.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "docs/a.md",
      branch: "agent/fix",
      message: "Add a",
      content: Buffer.from("hello").toString("base64"),
    });
    const pull = await octokit.rest.pulls.create({ ...repo, head: "agent/fix", base: "main", title: "Add a" });
    expect(pull.status).toBe(201);
    expect(fake.pullRequests("octo-org/widgets")).toHaveLength(1);
    fake.assertClean();
  });

  it("serves a Probot app authenticating as an installation through GitHub Enterprise's base URL", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const probot = new Probot({
      appId: 1,
      privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      baseUrl: `${fake.url}/api/v3`,
      Octokit: ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } }),
    });
    const installation = await probot.auth(7);
    await installation.rest.checks.create(validCheckRun);
    const [tokenCall] = fake.callsTo("POST", "/app/installations/{installation_id}/access_tokens");
    expect(tokenCall?.path).toBe("/app/installations/7/access_tokens");
    expect(tokenCall?.headers.authorization).toMatch(/^bearer ey/i);
    const [createCall] = fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs");
    expect(createCall?.headers.authorization).toMatch(/^token ghs_/);
    fake.assertClean();
  });
});

describe("GitHub's web flow for the App's user-to-server tokens", () => {
  const secret = () => `s${Date.now().toString(36)}`;

  it("authorizes the signed-in user, exchanges the code once, and the token sees what that user may see", async () => {
    const clientSecret = secret();
    fake.setOAuthClient("Iv1.fake", clientSecret);
    fake.signInAs("alice");
    fake.setRepo("octo-org/private", { private: true, id: 77 });
    fake.setPermission("octo-org/private", "alice", "write");
    const authorize = await fetch(
      `${fake.url}/login/oauth/authorize?client_id=Iv1.fake&redirect_uri=${encodeURIComponent("http://127.0.0.1:1/cb")}&state=xyz`,
      { redirect: "manual" },
    );
    expect(authorize.status).toBe(302);
    const back = new URL(authorize.headers.get("location")!);
    expect(back.searchParams.get("state")).toBe("xyz");
    const exchange = async () =>
      (await (
        await fetch(`${fake.url}/login/oauth/access_token`, {
          method: "POST",
          headers: { accept: "application/json", "content-type": "application/json" },
          body: JSON.stringify({
            client_id: "Iv1.fake",
            client_secret: clientSecret,
            code: back.searchParams.get("code"),
            redirect_uri: "http://127.0.0.1:1/cb",
          }),
        })
      ).json()) as { access_token?: string; error?: string };
    const { access_token: token } = await exchange();
    expect(token).toMatch(/^ghu_/);
    expect((await exchange()).error).toBe("bad_verification_code");
    const asUser = (path: string) =>
      fetch(`${fake.url}/api/v3${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await (await asUser("/user")).json()) as { login: string }).login).toBe("alice");
    expect(((await (await asUser("/repos/octo-org/private")).json()) as { permissions: object }).permissions).toEqual({
      admin: false,
      maintain: false,
      push: true,
      triage: true,
      pull: true,
    });
    fake.state.userTokens.clear();
    expect((await asUser("/user")).status).toBe(401);
    fake.assertClean();
  });

  it("hides a private repository from a user who is not a collaborator, and flags a web-flow request without state", async () => {
    fake.setOAuthClient("Iv1.fake", secret());
    fake.signInAs("mallory");
    fake.setRepo("octo-org/private", { private: true, id: 77 });
    fake.state.userTokens.set("ghu_mallory", "mallory");
    expect(
      (await fetch(`${fake.url}/api/v3/repos/octo-org/private`, { headers: { authorization: "Bearer ghu_mallory" } }))
        .status,
    ).toBe(404);
    await fetch(
      `${fake.url}/login/oauth/authorize?client_id=Iv1.fake&redirect_uri=${encodeURIComponent("http://127.0.0.1:1/cb")}`,
      { redirect: "manual" },
    );
    expect(() => fake.assertClean()).toThrow(/web flow parameter state is required/);
  });
});
