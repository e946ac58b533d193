import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort } from "../support/process-app.ts";
import { appEnvFor, npmStartCommand, run, waitFor, type Running } from "../support/dist-app.ts";

// A supervisor's SIGTERM can come at any moment of `npm start`, also while the app is still starting (its port
// may already answer while the worker and the delivery-log recovery start). It must never kill the app mid-start
// (exit by signal, the embedded database left locked): the app stops cleanly as soon as it can, and exits 0.

describe.runIf(backend() === "pglite")("signals while the app starts", { timeout: 120_000 }, () => {
  let fake: GitHubFake;
  let tmp: string;
  const running: Running[] = [];
  let env: (dataDir: string, port: number) => NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await GitHubFake.start();
    tmp = mkdtempSync(join(tmpdir(), "agent-gate-signals-"));
    const appEnv = appEnvFor(fake.url, "signals-secret");
    env = (dataDir, port) => appEnv({ PORT: String(port), LOG_LEVEL: "info", AGENT_GATE_DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop("SIGKILL")));
    await fake?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("SIGTERM while the database opens: the app finishes starting, stops cleanly and exits 0", async () => {
    const dataDir = join(tmp, "early");
    const app = run(npmStartCommand(), tmp, env(dataDir, await freePort()));
    running.push(app);
    // The data dir appears while the database opens, well before the server listens (the log is written
    // asynchronously, so its lines cannot say when the app is where).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(dataDir)) resolve(clearInterval(timer));
        else if (app.child.exitCode !== null) reject(new Error(`exited early:\n${app.output.join("")}`));
      }, 2);
    });
    expect(app.output.join("")).not.toContain("Agent Gate is listening");
    expect(await app.stop("SIGTERM")).toBe(0);
    expect(app.child.signalCode).toBeNull();
    expect(app.output.join("")).toContain("stopping");

    // Nothing was left locked: the same data dir starts again.
    const port = await freePort();
    const again = run(npmStartCommand(), tmp, env(dataDir, port));
    running.push(again);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, again);
    expect(await again.stop("SIGTERM")).toBe(0);
  });

  it("SIGTERM the moment the port answers: exits 0, never by the signal", async () => {
    const port = await freePort();
    const app = run(npmStartCommand(), tmp, env(join(tmp, "listening"), port));
    running.push(app);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 200, app);
    expect(await app.stop("SIGTERM")).toBe(0);
    expect(app.child.signalCode).toBeNull();
  });
});
