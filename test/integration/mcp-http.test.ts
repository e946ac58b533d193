import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, type CallToolResult, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken, revokeToken } from "../../src/tokens/store.ts";
import { readAudit } from "../../src/audit/log.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { verifyReceipt } from "../../src/crypto/receipts.ts";
import { verifyAttestation } from "../../src/crypto/attestation.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { dumpAllRows } from "../support/db-scan.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { sigstoreVerify } from "../support/sigstore-dsse.ts";
import { verifySite } from "./api-harness.ts";

// The MCP server on /mcp driven by the SDK's own client over Streamable HTTP,
// against the whole app and the GitHub fake: discovery, every tool, a decision
// taken through a check run's Approve button while get_proposal waits, and
// what an agent must never see.

const REPO = "Codertocat/Hello-World";
const REPO_ID = 186853002;
const OTHER_REPO = "other-org/site";
const SHA = "e".repeat(40);
const KEYS = generateKeyEntry("k1");
const INSTALLATION = 8101;
const OTHER = 8102;
const OUTREACH_BODY = "Hello Zephyrine, our quarterly note is ready: unsubscribe-9f3e.";
const RECIPIENTS = ["zephyrine.quill@example.org", "marlow.tansy@example.org"];

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let key: string;
let otherKey: string;
/** Every tool result and error an agent saw, for the secret scan. */
const seen: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, startWorker: false, env: { AGENT_GATE_KEYS: KEYS } });
  const now = new Date();
  await recordInstallation(t.db, { id: INSTALLATION, account: "Codertocat" }, now);
  await recordRepositories(t.db, INSTALLATION, [{ id: REPO_ID, full_name: REPO }], [], now);
  await recordInstallation(t.db, { id: OTHER, account: "other-org" }, now);
  await recordRepositories(t.db, OTHER, [{ id: 99, full_name: OTHER_REPO }], [], now);
  await verifySite(t.db, INSTALLATION, "example.com", now);
  await verifySite(t.db, OTHER, "other.example", now);
  const scope = { repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" };
  ({ token: key } = await createToken(t.db, { ...scope, installationId: INSTALLATION, name: "release-bot" }, now));
  ({ token: otherKey } = await createToken(t.db, { ...scope, installationId: OTHER, name: "other-bot" }, now));
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "write");
});

afterAll(async () => {
  await app.server.worker.drain();
  await app.close();
  fake.assertClean();
  await fake.close();
  await t.drop();
});

async function connect(bearer: string): Promise<Client> {
  const client = new Client({ name: "mcp-http-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${bearer}` } },
    }),
  );
  return client;
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  onprogress?: (progress: Progress) => void,
): Promise<{ result: CallToolResult; body: Record<string, any> }> {
  const result = (await client.callTool({ name, arguments: args }, CallToolResultSchema, {
    timeout: 90_000,
    ...(onprogress ? { onprogress, resetTimeoutOnProgress: true } : {}),
  })) as CallToolResult;
  const text = result.content.map((part) => (part.type === "text" ? part.text : "")).join("");
  seen.push(JSON.stringify(result));
  return { result, body: JSON.parse(text) as Record<string, any> };
}

const deployArgs = {
  repo: REPO,
  sha: SHA,
  environment: "production",
  site: "example.com",
  summary: "Deploy v1.4 to production",
};

async function checkRunOf(id: string) {
  return vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.checkRuns(REPO).find((run) => run.external_id === id);
      if (!found) throw new Error("no check run yet");
      return found;
    },
    { timeout: 20_000, interval: 50 },
  );
}

describe("MCP over Streamable HTTP", { timeout: 60_000 }, () => {
  it("lists the tools with the API's input schemas and descriptions", async () => {
    const client = await connect(key);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "get_proposal",
      "list_sites",
      "propose_deploy",
      "propose_outreach",
      "redeem_approval",
    ]);
    for (const tool of tools) expect(tool.description?.length).toBeGreaterThan(60);
    const deploy = tools.find((tool) => tool.name === "propose_deploy")!;
    expect(deploy.inputSchema).toMatchObject({ type: "object", additionalProperties: false });
    expect([...(deploy.inputSchema.required ?? [])].sort()).toEqual(["environment", "repo", "sha", "site", "summary"]);
    expect((deploy.inputSchema.properties as Record<string, { pattern?: string }>).sha?.pattern).toBe(
      "^[0-9a-f]{40}([0-9a-f]{24})?$",
    );
    const outreach = tools.find((tool) => tool.name === "propose_outreach")!;
    const content = (outreach.inputSchema.properties as Record<string, any>).content;
    expect(content.properties.channel.enum).toEqual(["email", "post", "message", "api"]);
    expect(content.required.sort()).toEqual(["body", "channel", "recipients"]);
    const wait = tools.find((tool) => tool.name === "get_proposal")!;
    expect((wait.inputSchema.properties as Record<string, any>).wait_seconds).toMatchObject({
      type: "integer",
      minimum: 0,
      maximum: 60,
    });
    expect(client.getInstructions()).toContain("redeem_approval");
    await client.close();
  });

  it("list_sites answers only this installation's verified sites", async () => {
    const client = await connect(key);
    const { body } = await call(client, "list_sites", {});
    expect(body.sites.map((site: { domain: string }) => site.domain)).toEqual(["example.com"]);
    expect(JSON.stringify(body)).not.toContain("A".repeat(32));
    await client.close();
  });

  it("propose_deploy, a decision arriving while get_proposal waits with progress, then redeem_approval returns a receipt that verifies", async () => {
    const client = await connect(key);
    const { body: created } = await call(client, "propose_deploy", deployArgs);
    expect(created).toMatchObject({
      kind: "deploy",
      repo: REPO,
      status: "pending",
      url: `https://gate.example.test/proposals/${created.id}`,
    });
    const checkRun = await checkRunOf(created.id);
    // The proposer is the key's name, not `token:agt_…`.
    expect(checkRun.output?.summary).toContain(
      `**Requested by:** release-bot \\(token ${key.slice(0, 8).replace("_", "\\_")}\\)`,
    );

    const progress: Progress[] = [];
    let firstProgress!: () => void;
    const waiting = new Promise<void>((resolve) => (firstProgress = resolve));
    const decided = call(client, "get_proposal", { id: created.id, wait_seconds: 30 }, (p) => {
      progress.push(p);
      firstProgress();
    });
    await waiting;
    const res = await app.deliver(
      "check_run",
      requestedAction({
        installationId: INSTALLATION,
        appId: TEST_APP_ID,
        proposalId: created.id,
        checkRunId: checkRun.id,
        identifier: "approve",
        clicker: "alice",
      }),
    );
    expect(res.status).toBe(200);
    const { body: status } = await decided;
    expect(status).toMatchObject({ id: created.id, status: "approved", approvers: ["alice"], url: created.url });
    expect(progress[0]).toMatchObject({ total: 30 });
    expect(progress[0]?.message).toContain(created.url);

    const { result: wrong, body: refused } = await call(client, "redeem_approval", {
      id: created.id,
      digest: "0".repeat(64),
    });
    expect(wrong.isError).toBe(true);
    expect(refused).toMatchObject({ error: { code: "digest_mismatch" }, url: created.url });

    const { body: redeemed } = await call(client, "redeem_approval", { id: created.id, digest: created.digest });
    expect(redeemed).toMatchObject({
      id: created.id,
      status: "redeemed",
      redeemed: true,
      digest: created.digest,
      url: created.url,
    });
    const payload = verifyReceipt(redeemed.receipt.receipt, await publishedKeys(t.db), {
      digest: created.digest,
      repo: REPO,
      kind: "deploy",
    });
    expect(payload).toMatchObject({
      proposal_id: created.id,
      repo: REPO,
      kind: "deploy",
      decision: "approved",
      approvers: ["alice"],
      redemption_id: redeemed.redemption_id,
    });
    // Beside the receipt, the attestation: checked by Sigstore's verifier and by ours.
    sigstoreVerify(redeemed.attestation, await publishedKeys(t.db));
    const statement = verifyAttestation(redeemed.attestation, await publishedKeys(t.db), { digest: SHA, repo: REPO });
    expect(statement.subject).toEqual([{ name: `${REPO}@${SHA} to production`, digest: { gitCommit: SHA } }]);
    expect(statement.predicate).toMatchObject({
      proposal: { id: created.id, kind: "deploy" },
      redemption: { id: redeemed.redemption_id },
    });

    const { body: again } = await call(client, "redeem_approval", { id: created.id, digest: created.digest });
    expect(again.error.code).toBe("already_redeemed");
    await client.close();
  });

  it("propose_outreach answers the digest and counts, never the text or the recipients", async () => {
    const client = await connect(key);
    const { body } = await call(client, "propose_outreach", {
      repo: REPO,
      site: "example.com",
      summary: "Quarterly note",
      content: { channel: "email", recipients: RECIPIENTS, subject: "Quarterly note", body: OUTREACH_BODY },
    });
    expect(body).toMatchObject({
      kind: "outreach",
      status: "pending",
      channel: "email",
      recipients: 2,
      body_bytes: Buffer.byteLength(OUTREACH_BODY),
    });
    expect(body.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(body.url).toBe(`https://gate.example.test/proposals/${body.id}`);
    const { body: status } = await call(client, "get_proposal", { id: body.id });
    expect(status).toMatchObject({ status: "pending", url: body.url });
    expect(status).not.toHaveProperty("receipt");
    await client.close();
  });

  it("malformed arguments: a tool error naming each field, and nothing is created", async () => {
    const client = await connect(key);
    const before = await t.db.tenant(INSTALLATION, (tx) => tx.query("SELECT id FROM proposals"));
    const { result, body } = await call(client, "propose_deploy", { ...deployArgs, sha: "HEAD", extra: 1 });
    expect(result.isError).toBe(true);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.fields).toEqual(
      expect.arrayContaining([
        { field: "sha", message: "must be a full commit SHA: 40 (or 64) lowercase hex characters" },
        { field: "extra", message: "is not a known field" },
      ]),
    );
    const { body: waitBody } = await call(client, "get_proposal", { id: "prp_x", wait_seconds: 600 });
    expect(waitBody.error.fields.map((f: { field: string }) => f.field).sort()).toEqual(["id", "wait_seconds"]);
    const { body: recipient } = await call(client, "propose_outreach", {
      repo: REPO,
      site: "example.com",
      summary: "x",
      content: { channel: "email", recipients: ["not an address"], body: OUTREACH_BODY },
    });
    expect(recipient.error.fields).toEqual([
      { field: "content.recipients.0", message: "must be an email address local@domain" },
    ]);
    const { body: unverified } = await call(client, "propose_deploy", { ...deployArgs, site: "other.example" });
    expect(unverified.error.code).toBe("site_not_verified");
    expect(await t.db.tenant(INSTALLATION, (tx) => tx.query("SELECT id FROM proposals"))).toEqual(before);
    await client.close();
  });

  it("another installation's proposal is not found, exactly as a missing one", async () => {
    const owner = await connect(key);
    const { body: created } = await call(owner, "propose_deploy", { ...deployArgs, summary: "not theirs" });
    await owner.close();
    const stranger = await connect(otherKey);
    const missing = "prp_" + "Z".repeat(20);
    const { body: foreign } = await call(stranger, "get_proposal", { id: created.id });
    const { body: none } = await call(stranger, "get_proposal", { id: missing });
    expect(foreign.error).toEqual({ code: "not_found", message: `Proposal ${created.id} was not found.` });
    expect(none.error).toEqual({ code: "not_found", message: `Proposal ${missing} was not found.` });
    const { body: redeemForeign } = await call(stranger, "redeem_approval", { id: created.id, digest: created.digest });
    expect(redeemForeign.error).toEqual(foreign.error);
    expect(foreign.url).toBeUndefined();
    const { body: sites } = await call(stranger, "list_sites", {});
    expect(sites.sites.map((site: { domain: string }) => site.domain)).toEqual(["other.example"]);
    await stranger.close();
  });

  it("a revoked key is refused before any work, with the API's own 401", async () => {
    const { token: revoked } = await createToken(
      t.db,
      {
        installationId: INSTALLATION,
        repos: null,
        kinds: null,
        admin: false,
        expiresAt: null,
        createdBy: "test",
        name: "soon-revoked",
      },
      new Date(),
    );
    const client = await connect(revoked);
    await revokeToken(t.db, revoked.slice(0, 8), "test", new Date());
    const before = (await readAudit(t.owner, INSTALLATION)).length;
    await expect(client.callTool({ name: "propose_deploy", arguments: deployArgs })).rejects.toMatchObject({
      code: 401,
    });
    await client.close();

    const init = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} };
    const headers = {
      authorization: `Bearer ${revoked}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    const mcp = await fetch(`${app.url}/mcp`, { method: "POST", headers, body: JSON.stringify(init) });
    const api = await fetch(`${app.url}/api/v1/proposals`, {
      method: "POST",
      headers,
      body: JSON.stringify({ kind: "deploy", ...deployArgs }),
    });
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get("www-authenticate")).toBe("Bearer");
    expect(await mcp.text()).toBe(await api.text());
    // The refusals wrote nothing on the request path; the server's timer writes one event for the key with the count.
    expect((await readAudit(t.owner, INSTALLATION)).length).toBe(before);
    await app.server.deniedUses.flush();
    const after = (await readAudit(t.owner, INSTALLATION)).slice(before);
    expect(after.map((event) => event.action)).toEqual(["token.use_denied"]);
    expect(after[0]?.data).toMatchObject({ count: 3, reasons: { revoked: 3 }, prefix: revoked.slice(0, 8) });
  });

  it("no tool result or error holds a key, a token, the outreach text or its addresses", async () => {
    expect(seen.length).toBeGreaterThan(10);
    const text = seen.join("\n");
    expect(secretsIn(text, [key, otherKey])).toEqual([]);
    for (const secret of [OUTREACH_BODY, ...RECIPIENTS, "Zephyrine", "zephyrine.quill"])
      expect(text).not.toContain(secret);
    expect(app.logs.join("\n")).not.toContain(OUTREACH_BODY);
    expect(secretsIn(app.logs.join("\n"), [key, otherKey])).toEqual([]);
    const rows = await dumpAllRows(t.owner);
    expect(secretsIn(rows, [key, otherKey])).toEqual([]);
    expect(rows).not.toContain(OUTREACH_BODY);
  });
});
