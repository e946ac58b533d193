import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { sign } from "../../src/webhooks/signature.ts";
import { agentPullRequest, shaFor } from "../support/pulls.ts";

// WEBHOOK_PROXY_URL: GitHub delivers to a smee.io channel and the app, on a laptop, receives the deliveries
// through it (smee-client). Here the channel is an event stream on loopback speaking smee.io's format: each
// event one delivery, its headers as fields and its parsed JSON as `body`.

describe.runIf(backend() === "pglite")("deliveries through WEBHOOK_PROXY_URL", { timeout: 120_000 }, () => {
  let fake: GitHubFake;
  let app: ProcessApp | undefined;
  let tmp: string;
  const listeners: ServerResponse[] = [];
  const channel = createServer((req, res) => {
    if (req.url !== "/channel-first-run") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write(`event: ready\ndata: {}\n\n`);
    listeners.push(res);
  });

  beforeAll(async () => {
    fake = await GitHubFake.start();
    tmp = mkdtempSync(join(tmpdir(), "agent-gate-proxy-"));
    await new Promise<void>((resolve) => channel.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await app?.stop("SIGKILL");
    for (const res of listeners) res.end();
    channel.closeAllConnections();
    await new Promise((resolve) => channel.close(resolve));
    await fake?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("receives a signed delivery from the proxy channel and gates the pull request", async () => {
    const { port } = channel.address() as AddressInfo;
    const source = `http://127.0.0.1:${port}/channel-first-run`;
    app = await startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      dataDir: join(tmp, "data"),
      env: { WEBHOOK_PROXY_URL: source },
    });
    const deadline = Date.now() + 30_000;
    while (listeners.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listeners).toHaveLength(1);

    const sha = shaFor(7);
    fake.setFile("Codertocat/Hello-World", ".github/agent-gate.yml", "agents: [proxy-agent]\n");
    const payload = agentPullRequest({ installationId: 1, number: 7, sha, agent: "proxy-agent" });
    const event = {
      "x-github-event": "pull_request",
      "x-github-delivery": "proxy-delivery-1",
      "x-hub-signature-256": sign(TEST_SECRET, JSON.stringify(payload)),
      "content-type": "application/json",
      host: "smee.io",
      body: payload,
      query: {},
      timestamp: Date.now(),
    };
    listeners[0]!.write(`id: 1\ndata: ${JSON.stringify(event)}\n\n`);
    // A delivery whose signature does not match is refused, and gates nothing.
    const other = agentPullRequest({ installationId: 1, number: 8, sha: shaFor(8), agent: "proxy-agent" });
    const forged = {
      ...event,
      "x-github-delivery": "proxy-delivery-2",
      "x-hub-signature-256": sign("another-secret", JSON.stringify(other)),
      body: other,
    };
    listeners[0]!.write(`id: 2\ndata: ${JSON.stringify(forged)}\n\n`);

    while (fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs").length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const checks = fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs");
    expect(checks, app.output.join("")).toHaveLength(1);
    expect(checks[0]!.body).toMatchObject({ name: "Agent Gate", head_sha: sha });
    fake.assertClean();
  });
});
