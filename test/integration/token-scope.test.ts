import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken, rotateToken } from "../../src/tokens/store.ts";
import { readAudit } from "../../src/audit/log.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { verifySite } from "./api-harness.ts";

// A key's scope holds on every route and tool, and an approval is redeemed
// only by whoever proposed it: the proposing key or its rotation successor,
// or the same workflow's OIDC identity. Anyone else gets the same 404 as a
// proposal that does not exist, over HTTP and MCP (the SDK's client), against
// the running app.

const REPO = "Codertocat/Hello-World";
const REPO_ID = 186853002;
const OTHER_REPO = "Codertocat/Other";
const SHA = "e".repeat(40);
const KEYS = generateKeyEntry("k1");
const INSTALLATION = 8301;
const AUDIENCE = "https://agent-gate.example";
const WORKFLOW = `${REPO}/.github/workflows/deploy.yml@refs/heads/main`;
const MISSING = "prp_00000000000000000000";

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let issuer: { url: string; server: Server };
let signingKey: CryptoKey;
const keys: Record<string, string> = {};

async function startIssuer(jwk: JWK): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === "/.well-known/openid-configuration")
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer: base, jwks_uri: `${base}/.well-known/jwks` }));
    else if (req.url === "/.well-known/jwks")
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** An Actions OIDC token of a run of `workflow_ref`. */
async function idToken(claims: Record<string, unknown>): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({
    repository: REPO,
    repository_id: String(REPO_ID),
    actor: "octocat",
    ref: "refs/heads/main",
    sha: SHA,
    run_id: "42",
    workflow_ref: WORKFLOW,
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(issuer.url)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .setSubject(`repo:${REPO}:ref:refs/heads/main`)
    .sign(signingKey);
}

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  signingKey = pair.privateKey;
  issuer = await startIssuer({ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" });
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({
    db: t.db,
    fake,
    startWorker: false,
    env: { AGENT_GATE_KEYS: KEYS, AGENT_GATE_OIDC_ISSUER: issuer.url, AGENT_GATE_OIDC_AUDIENCE: AUDIENCE },
  });
  const now = new Date();
  await recordInstallation(t.db, { id: INSTALLATION, account: "Codertocat" }, now);
  await recordRepositories(
    t.db,
    INSTALLATION,
    [
      { id: REPO_ID, full_name: REPO },
      { id: 77, full_name: OTHER_REPO },
    ],
    [],
    now,
  );
  await verifySite(t.db, INSTALLATION, "example.com", now);
  const scope = {
    installationId: INSTALLATION,
    repos: null,
    kinds: null,
    admin: false,
    expiresAt: null,
    createdBy: "test",
  };
  const scopes: [string, { kinds?: string[]; repos?: string[]; admin?: boolean }][] = [
    ["deployer", {}],
    ["sibling", {}],
    ["outreach-only", { kinds: ["outreach"] }],
    ["other-repo", { repos: [OTHER_REPO] }],
    ["admin", { admin: true }],
    ["admin-other-repo", { repos: [OTHER_REPO], admin: true }],
  ];
  for (const [name, extra] of scopes) {
    keys[name] = (await createToken(t.db, { ...scope, ...extra, name }, now)).token;
  }
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "write");
});

afterAll(async () => {
  await app.server.worker.drain();
  await app.close();
  fake.assertClean();
  await fake.close();
  await new Promise<void>((resolve) => issuer.server.close(() => resolve()));
  await t.drop();
});

function api(path: string, bearer: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${app.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
  });
}

async function propose(bearer: string): Promise<{ id: string; digest: string }> {
  const res = await api("/api/v1/proposals", bearer, {
    method: "POST",
    body: JSON.stringify({
      kind: "deploy",
      repo: REPO,
      sha: SHA,
      environment: "production",
      site: "example.com",
      summary: "Deploy v2",
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; digest: string };
}

/** alice presses Approve on the proposal's check run. */
async function approve(id: string): Promise<void> {
  const run = await vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.checkRuns(REPO).find((candidate) => candidate.external_id === id);
      if (!found) throw new Error("no check run yet");
      return found;
    },
    { timeout: 20_000, interval: 50 },
  );
  const res = await app.deliver(
    "check_run",
    requestedAction({
      installationId: INSTALLATION,
      appId: TEST_APP_ID,
      proposalId: id,
      checkRunId: run.id,
      identifier: "approve",
      clicker: "alice",
    }),
  );
  expect(res.status).toBe(200);
}

const redeem = (id: string, digest: string, bearer: string) =>
  api(`/api/v1/proposals/${id}/redeem`, bearer, { method: "POST", body: JSON.stringify({ digest }) });

/** A 404 answer, with the proposal id taken out so that it compares with a missing one's. */
async function notFound(res: Response, id: string): Promise<string> {
  expect(res.status).toBe(404);
  return (await res.text()).replaceAll(id, "<id>");
}

async function connect(bearer: string): Promise<Client> {
  const client = new Client({ name: "token-scope-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    }),
  );
  return client;
}

async function tool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ isError: boolean; body: Record<string, any> }> {
  const result = (await client.callTool({ name, arguments: args }, CallToolResultSchema, {
    timeout: 30_000,
  })) as CallToolResult;
  const text = result.content.map((part) => (part.type === "text" ? part.text : "")).join("");
  return { isError: result.isError === true, body: JSON.parse(text) as Record<string, any> };
}

describe("a key's scope on reads, waits and redemptions", { timeout: 60_000 }, () => {
  it("a key limited to another kind or repository reads, waits on and redeems nothing of a deploy: the same 404 as none", async () => {
    const proposal = await propose(keys.deployer!);
    await approve(proposal.id);
    const missing = await notFound(await api(`/api/v1/proposals/${MISSING}`, keys.deployer!), MISSING);
    const missingRedeem = await notFound(await redeem(MISSING, proposal.digest, keys.deployer!), MISSING);

    for (const name of ["outreach-only", "other-repo"]) {
      const key = keys[name]!;
      expect(await notFound(await api(`/api/v1/proposals/${proposal.id}`, key), proposal.id), name).toBe(missing);
      expect(await notFound(await api(`/api/v1/proposals/${proposal.id}?wait=1`, key), proposal.id), name).toBe(
        missing,
      );
      expect(await notFound(await redeem(proposal.id, proposal.digest, key), proposal.id), name).toBe(missingRedeem);

      const client = await connect(key);
      const read = await tool(client, "get_proposal", { id: proposal.id, wait_seconds: 1 });
      const none = await tool(client, "get_proposal", { id: MISSING });
      expect(read.isError).toBe(true);
      expect(JSON.stringify(read.body).replaceAll(proposal.id, "<id>")).toBe(
        JSON.stringify(none.body).replaceAll(MISSING, "<id>"),
      );
      const redeemed = await tool(client, "redeem_approval", { id: proposal.id, digest: proposal.digest });
      expect(redeemed.isError).toBe(true);
      expect(redeemed.body.error.code).toBe("not_found");
      await client.close();
    }
    // An admin key limited to another repository cannot replay this one's decisions either.
    const pull = example("pull_request", "opened", INSTALLATION);
    pull.pull_request.user = { ...pull.pull_request.user, login: "deploy-agent", type: "User" };
    expect((await app.deliver("pull_request", pull)).status).toBe(200);
    const explain = `/api/v1/explain?repo=${encodeURIComponent(REPO)}&pr=${pull.pull_request.number}`;
    expect((await api(explain, keys.admin!)).status).toBe(200);
    expect((await api(explain, keys["admin-other-repo"]!)).status).toBe(404);

    // The proposer's approval was not used up by any of them.
    const own = await redeem(proposal.id, proposal.digest, keys.deployer!);
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ id: proposal.id, status: "redeemed" });
  });

  it("another key of the installation reads the proposal but cannot redeem it first; the proposer then can", async () => {
    const proposal = await propose(keys.deployer!);
    await approve(proposal.id);
    const sibling = keys.sibling!;
    expect((await api(`/api/v1/proposals/${proposal.id}`, sibling)).status).toBe(200);
    const missingRedeem = await notFound(await redeem(MISSING, proposal.digest, sibling), MISSING);
    expect(await notFound(await redeem(proposal.id, proposal.digest, sibling), proposal.id)).toBe(missingRedeem);
    const client = await connect(sibling);
    const stolen = await tool(client, "redeem_approval", { id: proposal.id, digest: proposal.digest });
    expect([stolen.isError, stolen.body.error.code]).toEqual([true, "not_found"]);
    await client.close();

    // The attempts are audited; the answer said nothing.
    const events = await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION));
    expect(
      events
        .filter((event) => event.action === "proposal.redeem" && event.subject === proposal.id)
        .map((event) => event.outcome),
    ).toEqual(["not_proposer", "not_proposer"]);

    const mine = await connect(keys.deployer!);
    const redeemed = await tool(mine, "redeem_approval", { id: proposal.id, digest: proposal.digest });
    expect(redeemed.body).toMatchObject({ status: "redeemed", redeemed: true });
    await mine.close();
  });

  it("the proposing key's rotation successor redeems; the rotated key is refused", async () => {
    const { token: proposer } = await createToken(
      t.db,
      {
        installationId: INSTALLATION,
        repos: null,
        kinds: null,
        admin: false,
        expiresAt: null,
        createdBy: "test",
        name: "rotating-bot",
      },
      new Date(),
    );
    const proposal = await propose(proposer);
    await approve(proposal.id);
    const { token: successor } = await rotateToken(t.db, proposer.slice(0, 8), "admin", new Date(), {
      installationId: INSTALLATION,
    });
    expect((await redeem(proposal.id, proposal.digest, proposer)).status).toBe(401);
    const client = await connect(successor);
    const redeemed = await tool(client, "redeem_approval", { id: proposal.id, digest: proposal.digest });
    expect(redeemed.body).toMatchObject({ status: "redeemed", redeemed: true });
    await client.close();
  });

  it("a workflow's approval is redeemed by a run of the same workflow, not by another workflow of the repository", async () => {
    const proposal = await propose(await idToken({ run_id: "100" }));
    await approve(proposal.id);
    const other = await idToken({ run_id: "101", workflow_ref: `${REPO}/.github/workflows/other.yml@refs/heads/main` });
    const missingRedeem = await notFound(await redeem(MISSING, proposal.digest, other), MISSING);
    expect(await notFound(await redeem(proposal.id, proposal.digest, other), proposal.id)).toBe(missingRedeem);
    // An agent key of the installation is no workflow: refused the same way.
    expect(await notFound(await redeem(proposal.id, proposal.digest, keys.sibling!), proposal.id)).toBe(missingRedeem);
    const same = await redeem(proposal.id, proposal.digest, await idToken({ run_id: "102" }));
    expect(same.status).toBe(200);
  });
});
