import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Runs the committed bundle the way the runner does: `node dist/index.js`,
// inputs and context in the environment only, outputs and the job summary in
// the files GITHUB_OUTPUT and GITHUB_STEP_SUMMARY name.

const bundle = path.resolve("action/dist/index.js");
const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const TOKEN = "agt_distTestToken0123456789abcdefXYZ";

function proposal(status: string, extra: Record<string, unknown> = {}) {
  return {
    id: "prop_dist",
    status,
    kind: "outreach",
    repo: "octo/site",
    digest: DIGEST,
    approvers: [],
    decided_at: null,
    reason: null,
    expires_at: "2026-11-26T10:00:00.000Z",
    redeemed: false,
    ...extra,
  };
}

let decision: Record<string, unknown> = {};
const seen: { method: string; url: string; body: string; authorization?: string }[] = [];
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
  req.on("end", () => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", body, authorization: req.headers.authorization });
    const reply = (status: number, json: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    if (req.method === "POST" && req.url === "/api/v1/proposals") {
      const { port } = server.address() as AddressInfo;
      return reply(201, {
        id: "prop_dist",
        kind: "outreach",
        repo: "octo/site",
        digest: DIGEST,
        status: "pending",
        expires_at: "2026-11-26T10:00:00.000Z",
        url: `http://127.0.0.1:${port}/proposals/prop_dist`,
      });
    }
    if (req.method === "GET" && req.url?.startsWith("/api/v1/proposals/prop_dist?wait=")) return reply(200, decision);
    if (req.method === "POST" && req.url === "/api/v1/proposals/prop_dist/redeem") {
      return reply(200, { id: "prop_dist", status: "redeemed", redeemed: true, redemption_id: "rdm_000000000000000000000002", digest: DIGEST, receipt: { receipt: "dist-receipt", kid: "rk_dist" } });
    }
    reply(404, { error: { code: "not_found", message: "No such route." } });
  });
});

let dir: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-dist-"));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

async function runBundle(name: string): Promise<{ code: number; stdout: string; outputs: Record<string, string>; summary: string }> {
  const output = path.join(dir, `${name}-output`);
  const summary = path.join(dir, `${name}-summary`);
  await writeFile(output, "");
  await writeFile(summary, "");
  const { port } = server.address() as AddressInfo;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "octo/site",
    GITHUB_SHA: SHA,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    "INPUT_SERVER-URL": `http://127.0.0.1:${port}`,
    INPUT_KIND: "outreach",
    INPUT_ENVIRONMENT: "",
    INPUT_SITE: "example.com",
    INPUT_SUMMARY: "Email the maintainers of example.com",
    INPUT_CONTENT: "Hello, we would like to ...",
    INPUT_TOKEN: TOKEN,
    INPUT_AUDIENCE: "agent-gate",
    "INPUT_TIMEOUT-MINUTES": "5",
    "INPUT_WAIT-SECONDS": "55",
  };
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [bundle], { env, cwd: dir, timeout: 60_000 }, (error, out) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out });
    });
  });
  const outputs: Record<string, string> = {};
  for (const match of (await readFile(output, "utf8")).matchAll(/^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm)) {
    outputs[match[1]!] = match[3]!;
  }
  return { code, stdout, outputs, summary: await readFile(summary, "utf8") };
}

describe("the committed action/dist/index.js run as the runner runs it", () => {
  it("approved: exits 0 and writes the outputs and the job summary", async () => {
    decision = proposal("approved", {
      approvers: ["alice"],
      decided_at: "2026-11-23T10:05:00.000Z",
    });
    const result = await runBundle("approved");

    expect(result.stdout).not.toMatch(/^::error::/m);
    expect(result.code).toBe(0);
    expect(result.outputs).toEqual({
      "proposal-id": "prop_dist",
      decision: "approved",
      approvers: "alice",
      receipt: "dist-receipt",
    });
    expect(result.stdout).toContain(`::add-mask::${TOKEN}`);
    expect(result.summary).toContain("rk_dist");
    expect(result.summary).toContain("/proposals/prop_dist");
    // Outreach text is never written to the summary, only its length.
    expect(result.summary).not.toContain("Hello, we would like to");
    const create = seen.find((request) => request.method === "POST" && request.url === "/api/v1/proposals");
    expect(JSON.parse(create!.body)).toMatchObject({ kind: "outreach", repo: "octo/site", sha: SHA, content: "Hello, we would like to ..." });
    expect(create!.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("rejected: exits non-zero with the reason", async () => {
    decision = proposal("rejected", { approvers: ["carol"], decided_at: "2026-11-23T10:06:00.000Z", reason: "wrong list" });
    const result = await runBundle("rejected");

    expect(result.code).toBe(1);
    expect(result.stdout).toContain("::error::Proposal prop_dist was rejected by carol at 2026-11-23T10:06:00.000Z: wrong list");
    expect(result.outputs.decision).toBe("rejected");
    expect(result.outputs.receipt).toBeUndefined();
  });
});
