import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { freePort } from "../support/process-app.ts";
import { npmStartCommand, run, type Running } from "../support/dist-app.ts";

// Bad App credentials stop `npm start` at once (exit 1), naming the variable and the fix, before anything
// listens: never a "ready" app that fails later, never the setup page in place of a half-configured App.

const cwd = mkdtempSync(join(tmpdir(), "agent-gate-refusals-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const ecKey = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const rsaKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

async function refused(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; listening: boolean }> {
  const port = await freePort();
  const app: Running = run(npmStartCommand(), cwd, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    HOST: "127.0.0.1",
    WEBHOOK_SECRET: "refusals-secret",
    AGENT_GATE_DATA_DIR: join(cwd, "data"),
    ...env,
  });
  const code = await Promise.race([
    app.exited,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000)),
  ]);
  const listening = await fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => true,
    () => false,
  );
  await app.stop("SIGKILL");
  return { code, output: app.output.join(""), listening };
}

describe.runIf(backend() === "pglite")("npm start refuses bad App credentials", { timeout: 120_000 }, () => {
  it("a PRIVATE_KEY that does not parse", async () => {
    const result = await refused({ APP_ID: "4242", PRIVATE_KEY: "not a key" });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/agent-gate: PRIVATE_KEY: is not a PEM private key .*paste the whole \.pem file/);
    expect(result.output).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(result.listening).toBe(false);
  });

  it("a PRIVATE_KEY that cannot sign RS256 (not RSA), without printing the key", async () => {
    const result = await refused({ APP_ID: "4242", PRIVATE_KEY: ecKey });
    expect(result.code).toBe(1);
    expect(result.output).toContain("PRIVATE_KEY: is a ec key, and GitHub Apps sign with RS256");
    expect(result.output).not.toContain(ecKey.split("\n")[1]!);
  });

  it("a GHE_HOST with a scheme, suggesting GHE_HOST and GHE_PROTOCOL", async () => {
    const result = await refused({ APP_ID: "4242", PRIVATE_KEY: rsaKey, GHE_HOST: "http://127.0.0.1:3999" });
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      'GHE_HOST: must be a host name (and port) without a scheme; got "http://127.0.0.1:3999": set GHE_HOST=127.0.0.1:3999 GHE_PROTOCOL=http',
    );
  });

  it("APP_ID without a key: no silent fallback to the setup page", async () => {
    const result = await refused({ APP_ID: "4242", PRIVATE_KEY: "" });
    expect(result.code).toBe(1);
    expect(result.output).toContain("PRIVATE_KEY: is required with APP_ID=4242");
    expect(result.output).not.toContain("setup code");
    expect(result.listening).toBe(false);
  });
});
