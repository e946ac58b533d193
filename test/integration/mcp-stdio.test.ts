import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken, revokeToken } from "../../src/api/token-store.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { verifySite } from "./api-harness.ts";

// `agent-gate mcp` as the child process an MCP client starts, driven by the
// SDK's StdioClientTransport, bridged to the app on loopback.

const BIN = join(import.meta.dirname, "../../bin/agent-gate.js");
const REPO = "Codertocat/Hello-World";
const SHA = "d".repeat(40);
const INSTALLATION = 8201;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let key: string;
const stderr: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, startWorker: false, env: { AGENT_GATE_KEYS: generateKeyEntry("k1") } });
  const now = new Date();
  await recordInstallation(t.db, { id: INSTALLATION, account: "Codertocat" }, now);
  await recordRepositories(t.db, INSTALLATION, [{ id: 186853002, full_name: REPO }], [], now);
  await verifySite(t.db, INSTALLATION, "example.com", now);
  ({ token: key } = await createToken(
    t.db,
    { installationId: INSTALLATION, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test", name: "laptop-agent" },
    now,
  ));
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

function bridge(env: Record<string, string>): { client: Client; transport: StdioClientTransport } {
  const base = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  delete base.DATABASE_URL;
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, "mcp"], env: { ...base, ...env }, stderr: "pipe" });
  transport.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  return { client: new Client({ name: "mcp-stdio-test", version: "1.0.0" }), transport };
}

function bodyOf(result: CallToolResult): Record<string, any> {
  return JSON.parse(result.content.map((part) => (part.type === "text" ? part.text : "")).join("")) as Record<string, any>;
}

describe("agent-gate mcp (stdio bridge)", { timeout: 120_000 }, () => {
  it("lists the tools, proposes a deploy and relays progress while a decision is awaited", async () => {
    const { client, transport } = bridge({ AGENT_GATE_URL: app.url, AGENT_GATE_TOKEN: key });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(["get_proposal", "list_sites", "propose_deploy", "propose_outreach", "redeem_approval"]);

    const created = bodyOf(
      (await client.callTool({
        name: "propose_deploy",
        arguments: { repo: REPO, sha: SHA, environment: "production", site: "example.com", summary: "Deploy from a laptop" },
      })) as CallToolResult,
    );
    expect(created).toMatchObject({ status: "pending", url: `https://gate.example.test/proposals/${created.id}` });
    const checkRun = await vi.waitFor(
      async () => {
        await app.server.worker.drain();
        const found = fake.checkRuns(REPO).find((run) => run.external_id === created.id);
        if (!found) throw new Error("no check run yet");
        return found;
      },
      { timeout: 20_000, interval: 50 },
    );

    const progress: Progress[] = [];
    let firstProgress!: () => void;
    const waiting = new Promise<void>((resolve) => (firstProgress = resolve));
    const decided = client.callTool({ name: "get_proposal", arguments: { id: created.id, wait_seconds: 30 } }, CallToolResultSchema, {
      timeout: 90_000,
      resetTimeoutOnProgress: true,
      onprogress: (p) => {
        progress.push(p);
        firstProgress();
      },
    });
    await waiting;
    const res = await app.deliver(
      "check_run",
      requestedAction({ installationId: INSTALLATION, appId: TEST_APP_ID, proposalId: created.id, checkRunId: checkRun.id, identifier: "approve", clicker: "alice" }),
    );
    expect(res.status).toBe(200);
    const status = bodyOf((await decided) as CallToolResult);
    expect(status).toMatchObject({ id: created.id, status: "approved", approvers: ["alice"], url: created.url });
    expect(progress[0]?.message).toContain(created.url);

    const redeemed = bodyOf((await client.callTool({ name: "redeem_approval", arguments: { id: created.id, digest: created.digest } })) as CallToolResult);
    expect(redeemed).toMatchObject({ status: "redeemed", digest: created.digest });
    expect(typeof redeemed.receipt.receipt).toBe("string");
    await client.close();
  });

  it("a revoked key: the bridge answers every request with an error saying so, without the key", async () => {
    const { token: revoked } = await createToken(
      t.db,
      { installationId: INSTALLATION, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test", name: "revoked-agent" },
      new Date(),
    );
    await revokeToken(t.db, revoked.slice(0, 8), "test", new Date());
    const { client, transport } = bridge({ AGENT_GATE_URL: app.url, AGENT_GATE_TOKEN: revoked });
    const refused = await client.connect(transport).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(refused?.message).toContain("refused the key (401)");
    expect(secretsIn(refused?.message ?? "", [revoked])).toEqual([]);
    await client.close();
    expect(secretsIn(stderr.join(""), [revoked, key])).toEqual([]);
  });

  it("refuses to start without AGENT_GATE_URL and AGENT_GATE_TOKEN, naming both", async () => {
    const { client, transport } = bridge({ AGENT_GATE_URL: "", AGENT_GATE_TOKEN: "agt_not-a-key" });
    const exited = new Promise<void>((resolve) => (transport.onclose = resolve));
    await client.connect(transport).catch(() => undefined);
    await exited;
    const text = stderr.join("");
    expect(text).toContain("AGENT_GATE_URL: is required");
    expect(text).toContain("AGENT_GATE_TOKEN: is required");
    expect(text).not.toContain("agt_not-a-key");
  });
});
