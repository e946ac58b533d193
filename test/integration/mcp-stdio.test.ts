import { spawn } from "node:child_process";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, type CallToolResult, type Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken, revokeToken } from "../../src/tokens/store.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { runCli } from "../support/cli.ts";
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
    {
      installationId: INSTALLATION,
      repos: null,
      kinds: null,
      admin: false,
      expiresAt: null,
      createdBy: "test",
      name: "laptop-agent",
    },
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

/** The bridge's environment: the runner's, less its database, plus `env`. */
function bridgeEnv(env: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  delete base.DATABASE_URL;
  return { ...base, ...env };
}

function bridge(env: Record<string, string>): { client: Client; transport: StdioClientTransport } {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp"],
    env: bridgeEnv(env),
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  return { client: new Client({ name: "mcp-stdio-test", version: "1.0.0" }), transport };
}

function bodyOf(result: CallToolResult): Record<string, any> {
  return JSON.parse(result.content.map((part) => (part.type === "text" ? part.text : "")).join("")) as Record<
    string,
    any
  >;
}

describe("agent-gate mcp (stdio bridge)", { timeout: 120_000 }, () => {
  it("lists the tools, proposes a deploy and relays progress while a decision is awaited", async () => {
    const { client, transport } = bridge({ AGENT_GATE_URL: app.url, AGENT_GATE_TOKEN: key });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "get_proposal",
      "list_sites",
      "propose_deploy",
      "propose_outreach",
      "redeem_approval",
    ]);

    const created = bodyOf(
      (await client.callTool({
        name: "propose_deploy",
        arguments: {
          repo: REPO,
          sha: SHA,
          environment: "production",
          site: "example.com",
          summary: "Deploy from a laptop",
        },
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
    const decided = client.callTool(
      { name: "get_proposal", arguments: { id: created.id, wait_seconds: 30 } },
      CallToolResultSchema,
      {
        timeout: 90_000,
        resetTimeoutOnProgress: true,
        onprogress: (p) => {
          progress.push(p);
          firstProgress();
        },
      },
    );
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
    const status = bodyOf((await decided) as CallToolResult);
    expect(status).toMatchObject({ id: created.id, status: "approved", approvers: ["alice"], url: created.url });
    expect(progress[0]?.message).toContain(created.url);

    const redeemed = bodyOf(
      (await client.callTool({
        name: "redeem_approval",
        arguments: { id: created.id, digest: created.digest },
      })) as CallToolResult,
    );
    expect(redeemed).toMatchObject({ status: "redeemed", digest: created.digest });
    expect(typeof redeemed.receipt.receipt).toBe("string");
    await client.close();
  });

  it("a revoked key: the bridge answers every request with an error saying so, without the key", async () => {
    const { token: revoked } = await createToken(
      t.db,
      {
        installationId: INSTALLATION,
        repos: null,
        kinds: null,
        admin: false,
        expiresAt: null,
        createdBy: "test",
        name: "revoked-agent",
      },
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

  it("names itself with the package's version", async () => {
    const { client, transport } = bridge({ AGENT_GATE_URL: app.url, AGENT_GATE_TOKEN: key });
    await client.connect(transport);
    expect(client.getServerVersion()).toEqual({ name: "agent-gate", version: "0.1.0" });
    await client.close();
  });

  it("stdin closed while a request is in flight: the request finishes and its answer is written, not reported unreachable", async () => {
    const created = (await (
      await fetch(`${app.url}/api/v1/proposals`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({
          kind: "deploy",
          repo: REPO,
          sha: SHA,
          environment: "staging",
          site: "example.com",
          summary: "in flight",
        }),
      })
    ).json()) as { id: string };
    const env: NodeJS.ProcessEnv = { ...process.env, AGENT_GATE_URL: app.url, AGENT_GATE_TOKEN: key };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, [BIN, "mcp"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
    });
    await vi.waitFor(() => expect(out).toContain('"id":1'), { timeout: 30_000 });
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    // A wait of 3 s, and the client hangs up its end at once.
    send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "get_proposal", arguments: { id: created.id, wait_seconds: 3 } },
    });
    child.stdin.end();

    expect(await exited).toBe(0);
    const answer = out
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id?: number; result?: CallToolResult })
      .find((message) => message.id === 2);
    expect(answer?.result).toBeDefined();
    expect(bodyOf(answer!.result!)).toMatchObject({ id: created.id, status: "pending" });
    expect(err).not.toContain("could not be reached");
  });

  it.each([
    ["http://gate.example.com", true],
    ["http://10.0.0.5:3000", true],
    ["http://127.0.0.2:3000", false],
    ["http://localhost:3000", false],
    ["http://[::1]:3000", false],
  ])("AGENT_GATE_URL=%s: plain http refused except to loopback (%s)", async (url, refused) => {
    const env: NodeJS.ProcessEnv = { ...process.env, AGENT_GATE_URL: url, AGENT_GATE_TOKEN: key };
    delete env.DATABASE_URL;
    if (refused) {
      // Refused before stdin is read: the command's own check, run in process.
      const result = await runCli(["mcp"], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("AGENT_GATE_URL: must use https");
      expect(result.stderr).toContain("http is accepted only for loopback (127.0.0.0/8, ::1, localhost)");
      expect(secretsIn(result.stderr, [key])).toEqual([]);
      return;
    }
    // Accepted: the bridge serves stdio until its stdin ends, so it runs as the process an MCP client starts.
    const child = spawn(process.execPath, [BIN, "mcp"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await vi.waitFor(() => expect(err).toContain("bridging stdio to"), { timeout: 30_000 });
    child.stdin.end();
    expect(await exited).toBe(0);
  });

  it("a malformed key is reported as malformed, not as missing", async () => {
    const result = await runCli(
      ["mcp"],
      bridgeEnv({ AGENT_GATE_URL: app.url, AGENT_GATE_TOKEN: `${key.slice(0, -2)}zz` }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("AGENT_GATE_TOKEN: is malformed");
    expect(result.stderr).not.toContain("AGENT_GATE_TOKEN: is required");
  });

  it("refuses to start without AGENT_GATE_URL and AGENT_GATE_TOKEN, naming both", async () => {
    const result = await runCli(["mcp"], bridgeEnv({ AGENT_GATE_URL: "", AGENT_GATE_TOKEN: "" }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("AGENT_GATE_URL: is required");
    expect(result.stderr).toContain("AGENT_GATE_TOKEN: is required");
    expect(result.stderr).not.toContain("agt_not-a-key");
  });
});
