import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createToken, revokeToken } from "../../src/tokens/store.ts";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { verifyReceipt } from "../../src/crypto/receipts.ts";
import { recordInstallation, recordRepositories, removeInstallation } from "../../src/installations/store.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { readOutreach } from "../../src/outreach/store.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { verifySite } from "./api-harness.ts";

// The committed action/dist/index.js, run as the runner runs it (`node
// dist/index.js`, inputs as INPUT_* variables, outputs and the job summary in
// the files the runner names), against the whole app on loopback. The
// maintainer's decision arrives as GitHub would send it: a signed check-run
// button click or a pull-request review.

const bundle = path.resolve("action/dist/index.js");
/** The repository of GitHub's example payloads, which the click fixture sends. */
const REPO = "Codertocat/Hello-World";
const REPO_ID = 186853002;
const SHA = "c".repeat(40);
const KEYS = generateKeyEntry("k1");
const now = new Date();

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
let tokenPrefix: string;
let installationId = 8100;
let dir: string;

/**
 * GitHub's side of OIDC on loopback: the issuer's discovery document and keys
 * (which the app reads), and the runner's token endpoint (which the step asks).
 */
const RUNTIME_TOKEN = "runner-request-token";
let issuer: Server;
let issuerUrl: string;
let issuerKey: CryptoKey;
let issued: string[] = [];

async function startIssuer(): Promise<void> {
  const pair = await generateKeyPair("RS256");
  issuerKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  issuer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", issuerUrl);
    const json = (body: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/.well-known/openid-configuration")
      return json({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/.well-known/jwks` });
    if (url.pathname === "/.well-known/jwks") return json({ keys: [jwk] });
    if (url.pathname === "/runner-token" && req.headers.authorization === `Bearer ${RUNTIME_TOKEN}`) {
      const iat = Math.floor(Date.now() / 1000);
      void new SignJWT({
        repository: REPO,
        repository_id: String(REPO_ID),
        actor: "deploy-agent",
        triggering_actor: "deploy-agent",
        ref: "refs/heads/main",
        sha: SHA,
        run_id: "42",
      })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(issuerUrl)
        .setAudience(url.searchParams.get("audience") ?? "")
        .setIssuedAt(iat)
        .setExpirationTime(iat + 300)
        .setSubject(`repo:${REPO}:ref:refs/heads/main`)
        .sign(issuerKey)
        .then((value) => {
          issued.push(value);
          json({ value });
        });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => issuer.listen(0, "127.0.0.1", resolve));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-bundle-"));
  await startIssuer();
});
afterAll(async () => {
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
  await new Promise<void>((resolve) => issuer.close(() => resolve()));
});

beforeEach(async () => {
  installationId += 1;
  fake = await GitHubFake.start();
  fake.setRepo(REPO, { private: true, id: REPO_ID, default_branch: "main" });
  fake.setRef(REPO, "heads/main", "a".repeat(40));
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "write");
  app = await startTestApp({
    db: t.db,
    fake,
    env: { AGENT_GATE_KEYS: KEYS, AGENT_GATE_OIDC_ISSUER: issuerUrl, AGENT_GATE_OIDC_AUDIENCE: "agent-gate" },
  });
  issued = [];
  await recordInstallation(t.db, { id: installationId, account: "Codertocat" }, now);
  await recordRepositories(t.db, installationId, [{ id: REPO_ID, full_name: REPO }], [], now);
  await verifySite(t.db, installationId, "example.com", now);
  const created = await createToken(
    t.db,
    { installationId, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" },
    now,
  );
  ({ token } = created);
  tokenPrefix = created.row.prefix;
});
afterEach(async () => {
  // Each test has its own installation of the one example repository; the
  // last one is uninstalled, so an OIDC token's repository names one live installation.
  await removeInstallation(t.db, installationId, new Date());
  await app.server.worker.drain();
  await app.close();
  fake.assertClean();
  await fake.close();
});

interface StepResult {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

let runs = 0;
/** Runs the bundle with the given inputs (names as in action.yml); every other input empty. */
async function runStep(inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}): Promise<StepResult> {
  runs += 1;
  const output = path.join(dir, `output-${runs}`);
  const summary = path.join(dir, `summary-${runs}`);
  await writeFile(output, "");
  await writeFile(summary, "");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: REPO,
    GITHUB_SHA: SHA,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    ...extraEnv,
  };
  const all = { "server-url": app.url, token, "timeout-minutes": "2", "wait-seconds": "5", ...inputs };
  for (const [name, value] of Object.entries(all)) env[`INPUT_${name.toUpperCase()}`] = value;
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [bundle], { env, cwd: dir, timeout: 150_000 }, (error, out) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out });
    });
  });
  const outputs: Record<string, string> = {};
  for (const match of (await readFile(output, "utf8")).matchAll(
    /^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm,
  )) {
    outputs[match[1]!] = match[3]!;
  }
  return { code, stdout, outputs, summary: await readFile(summary, "utf8") };
}

function failure(result: StepResult): string | undefined {
  return /^::error::(.*)$/m.exec(result.stdout)?.[1];
}

async function proposalCount(): Promise<number> {
  const rows = await t.db.tenant(installationId, (tx) =>
    tx.query<{ n: string }>("SELECT count(*)::text AS n FROM proposals"),
  );
  return Number(rows[0]?.n);
}

/** Waits for the step's proposal to get its check run, then a maintainer clicks a button on it. */
async function click(identifier: "approve" | "reject", clicker = "alice"): Promise<string> {
  const checkRun = await vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.checkRuns(REPO).find((r) => r.external_id?.startsWith("prp_"));
      if (!found) throw new Error("no check run yet");
      return found;
    },
    { timeout: 30_000, interval: 100 },
  );
  const res = await app.deliver(
    "check_run",
    requestedAction({
      installationId,
      appId: TEST_APP_ID,
      proposalId: checkRun.external_id!,
      checkRunId: checkRun.id,
      identifier,
      clicker,
    }),
  );
  expect(res.status).toBe(200);
  await app.server.worker.drain();
  return checkRun.external_id!;
}

/** Waits for the outreach pull request the gate opens, then a maintainer approves it with a review. */
async function approvePull(reviewer = "alice"): Promise<void> {
  const pull = await vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.pullRequests(REPO).find((p) => String(p.head.ref).startsWith("agent-gate/outreach/"));
      if (!found) throw new Error("no outreach pull request yet");
      return found;
    },
    { timeout: 30_000, interval: 100 },
  );
  const headSha = String(pull.head.sha);
  fake.setReviews(REPO, Number(pull.number), [
    {
      id: 501,
      user: { login: reviewer, id: 501, type: "User" },
      state: "APPROVED",
      commit_id: headSha,
      submitted_at: now.toISOString(),
      body: "",
    },
  ]);
  const payload = example("pull_request_review", "submitted", installationId);
  const base = example("pull_request", "opened", installationId).repository;
  payload.repository = { ...base, private: true };
  payload.pull_request.number = pull.number;
  payload.pull_request.head = { ...payload.pull_request.head, ref: pull.head.ref, sha: headSha };
  payload.pull_request.user = { ...payload.pull_request.user, login: "agent-gate[bot]", type: "Bot" };
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state: "approved",
    commit_id: headSha,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  const res = await app.deliver("pull_request_review", payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

async function storedOutreach(id: string) {
  return t.db.tenant(installationId, (tx) => readOutreach(tx, parseKeyring(KEYS), id));
}

async function verifiedReceipt(result: StepResult) {
  const id = result.outputs["proposal-id"]!;
  const [row] = await t.db.tenant(installationId, (tx) =>
    tx.query<{ digest: string; repo: string; kind: string }>("SELECT digest, repo, kind FROM proposals WHERE id = $1", [
      id,
    ]),
  );
  return verifyReceipt(result.outputs.receipt!, await publishedKeys(t.db), {
    digest: row!.digest,
    repo: row!.repo,
    kind: row!.kind,
  });
}

describe("the committed Action bundle against the running app: outreach", { timeout: 200_000 }, () => {
  it("channel, recipients (commas and newlines) and subject inputs, the text in content: approved on the outreach pull request", async () => {
    const step = runStep({
      kind: "outreach",
      site: "example.com",
      summary: "Announce v1.4 to the partners",
      channel: "email",
      recipients: "ann@partner.example, bob@partner.example\ncarol@other.example\n",
      subject: "v1.4 is out",
      content: "We released v1.4 today!",
    });
    await approvePull();
    const result = await step;

    expect(failure(result)).toBeUndefined();
    expect(result.code).toBe(0);
    expect(result.outputs).toMatchObject({ decision: "approved", approvers: "alice" });
    expect(await storedOutreach(result.outputs["proposal-id"]!)).toEqual({
      channel: "email",
      recipients: ["ann@partner.example", "bob@partner.example", "carol@other.example"],
      subject: "v1.4 is out",
      body: "We released v1.4 today!",
    });
    expect(await verifiedReceipt(result)).toMatchObject({ kind: "outreach", repo: REPO, decision: "approved" });
    // The job summary says how much, never what or to whom.
    expect(result.summary).toContain("3 (not shown)");
    for (const secret of ["We released", "ann@partner", "v1.4 is out"]) expect(result.summary).not.toContain(secret);
    // Every header cell is closed (core.summary leaves an empty one open).
    expect(result.summary.match(/<th>/g)?.length).toBe(result.summary.match(/<\/th>/g)?.length);
  });

  it("content as the JSON object {channel, recipients, subject?, body}: approved on the check run", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\noutreach: { mode: check_run }\n");
    const content = {
      channel: "post",
      recipients: ["@gate@social.example"],
      body: "Agent Gate 1.4: ask before you act.",
    };
    const step = runStep({
      kind: "outreach",
      site: "example.com",
      summary: "Post the release note",
      content: JSON.stringify(content),
    });
    const id = await click("approve");
    const result = await step;

    expect(failure(result)).toBeUndefined();
    expect(result.outputs).toMatchObject({ "proposal-id": id, decision: "approved" });
    expect(await storedOutreach(id)).toEqual({ ...content, subject: null });
    expect(await verifiedReceipt(result)).toMatchObject({ proposal_id: id, kind: "outreach" });
  });

  it("rejected on the check run: the step fails and nothing is redeemed", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\noutreach: { mode: check_run }\n");
    const step = runStep({
      kind: "outreach",
      site: "example.com",
      summary: "s",
      channel: "email",
      recipients: "ann@partner.example",
      content: "Hello",
    });
    const id = await click("reject");
    const result = await step;

    expect(result.code).toBe(1);
    expect(failure(result)).toContain(`Proposal ${id} was rejected`);
    expect(failure(result)).toContain("alice rejected the proposal");
    expect(result.outputs.receipt).toBeUndefined();
  });

  it.each([
    [{ content: "Hello" }, "input 'channel' is required when kind is outreach"],
    [
      { channel: "email", content: "Hello" },
      "input 'recipients' is required when kind is outreach (comma- or newline-separated)",
    ],
    [
      { channel: "email", recipients: "a@b.example" },
      "input 'content' is required when kind is outreach: the text to send",
    ],
    [
      { channel: "fax", recipients: "a@b.example", content: "Hello" },
      "input 'channel' must be one of: email, post, message, api",
    ],
    [
      { channel: "email", recipients: " , \n ", content: "Hello" },
      "input 'recipients' must name at least one recipient",
    ],
    [
      { content: '{"channel": "email", "recipients": ["a@b.example"]' },
      "input 'content' starts with '{' but is not valid JSON",
    ],
    [
      { content: '{"channel": "email", "recipients": "a@b.example", "body": "Hi"}' },
      "input 'content' field 'recipients' must be a list of recipients",
    ],
    [
      { content: '{"channel": "email", "recipients": ["a@b.example"], "body": "Hi", "bcc": []}' },
      "input 'content' has unknown field(s) bcc",
    ],
    [
      { content: '{"channel": "email", "recipients": ["a@b.example"], "body": "Hi"}', subject: "S" },
      "input 'subject' must be empty when 'content' is a JSON object",
    ],
  ])("refuses bad outreach inputs before sending anything: %j", async (inputs, message) => {
    const result = await runStep({ kind: "outreach", site: "example.com", summary: "s", ...inputs });

    expect(result.code).toBe(1);
    expect(failure(result)).toContain(message);
    expect(await proposalCount()).toBe(0);
  });

  it("a recipient the app refuses is named by its input and position, once", async () => {
    const result = await runStep({
      kind: "outreach",
      site: "example.com",
      summary: "s",
      channel: "email",
      recipients: "ann@partner.example, not-an-address",
      content: "Hello",
    });

    expect(result.code).toBe(1);
    const message = failure(result)!;
    expect(message).toContain(
      "(400 invalid_request): input 'recipients' item 2: must be an email address local@domain",
    );
    expect(message.split("must be an email address")).toHaveLength(2);
    expect(message).not.toContain("not-an-address");
  });

  it("outreach inputs on a deploy are refused, not silently dropped", async () => {
    const result = await runStep({
      kind: "deploy",
      environment: "production",
      site: "example.com",
      summary: "s",
      channel: "email",
      content: "Hello",
    });

    expect(result.code).toBe(1);
    expect(failure(result)).toContain(
      "input 'channel' is only for kind outreach; input 'content' is only for kind outreach",
    );
    expect(await proposalCount()).toBe(0);
  });
});

describe("the committed Action bundle against the running app: deploy and authentication", { timeout: 200_000 }, () => {
  it("takes the receipt only from its own redemption: deploy approved on the check run, the receipt verifies, the token is masked", async () => {
    const step = runStep({
      kind: "deploy",
      environment: "production",
      site: "example.com",
      summary: "Deploy v1.4 to production",
    });
    const id = await click("approve");
    const result = await step;

    expect(failure(result)).toBeUndefined();
    expect(result.code).toBe(0);
    expect(result.outputs).toMatchObject({ "proposal-id": id, decision: "approved", approvers: "alice" });
    const receipt = await verifiedReceipt(result);
    expect(receipt).toMatchObject({ proposal_id: id, kind: "deploy", repo: REPO });
    // The receipt names the redemption this step made, which it printed.
    expect(result.stdout).toContain(`redeemed as ${receipt.redemption_id}`);
    expect(result.stdout).toContain(`::add-mask::${token}`);
    expect(result.stdout.split(token)).toHaveLength(2);
  });

  it("a revoked token fails at once with the hint, and creates nothing", async () => {
    await revokeToken(t.db, tokenPrefix, "test", now);
    const result = await runStep({ kind: "deploy", environment: "production", site: "example.com", summary: "s" });

    expect(result.code).toBe(1);
    expect(failure(result)).toContain("(401 unauthorized)");
    expect(failure(result)).toContain("check the token input");
    expect(await proposalCount()).toBe(0);
  });

  it("without a token: a GitHub Actions OIDC token for the audience, which the app verifies", async () => {
    const oidcEnv = {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${issuerUrl}/runner-token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: RUNTIME_TOKEN,
    };
    const step = runStep(
      { kind: "deploy", environment: "production", site: "example.com", summary: "s", token: "" },
      oidcEnv,
    );
    await click("approve");
    const result = await step;

    expect(failure(result), result.stdout).toBeUndefined();
    expect(result.outputs.decision, result.stdout).toBe("approved");
    expect(issued.length).toBeGreaterThan(0);
    expect(result.stdout).toContain(`::add-mask::${issued[0]}`);
  });

  it("without a token and without id-token permission: fails saying what to do, sends nothing", async () => {
    const result = await runStep({
      kind: "deploy",
      environment: "production",
      site: "example.com",
      summary: "s",
      token: "",
    });

    expect(result.code).toBe(1);
    expect(failure(result)).toContain("give the job `permissions: id-token: write`, or set the token input");
    expect(await proposalCount()).toBe(0);
  });

  it.each([
    [{ kind: "delete" }, "input 'kind' must be one of: deploy, outreach"],
    [{ "server-url": "http://gate.example.com" }, "input 'server-url' must use https"],
    [{ "server-url": "not a url" }, "input 'server-url' must be a URL"],
    [{ "timeout-minutes": "0" }, "input 'timeout-minutes' must be at least 1"],
    [{ "timeout-minutes": "1441" }, "input 'timeout-minutes' must be at most 1440"],
    [{ "timeout-minutes": "ten" }, "input 'timeout-minutes' must be a whole number from 1 to 1440"],
    [{ "wait-seconds": "61" }, "input 'wait-seconds' must be at most 60"],
    [{ summary: "" }, "input 'summary' is required"],
    [{ environment: "" }, "input 'environment' is required when kind is deploy"],
  ])("a bad input %j fails naming it, before sending anything", async (inputs, message) => {
    const result = await runStep({
      kind: "deploy",
      environment: "production",
      site: "example.com",
      summary: "s",
      ...inputs,
    });

    expect(result.code).toBe(1);
    expect(failure(result)).toContain(message);
    expect(await proposalCount()).toBe(0);
  });
});
