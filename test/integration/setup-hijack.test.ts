import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { readSettings } from "../../src/config/settings.ts";
import { createLogger } from "../../src/log.ts";
import { startSetupServer, type SetupServer } from "../../src/setup/server.ts";
import { foreignManifestCode, registerAtGitHub, setupCodeIn, startRegistration } from "../support/setup-flow.ts";

// The setup page and its callback over HTTP, against the real setup server: only the operator (who reads
// the app's log, in the browser that started the registration) can register the App, once. Every refused
// attempt writes nothing and asks GitHub nothing.

let fake: GitHubFake;
let dir: string;
let server: SetupServer | undefined;
let logs: string[];

beforeAll(async () => {
  fake = await GitHubFake.start();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function setup(env: NodeJS.ProcessEnv = {}, host?: string) {
  dir = mkdtempSync(join(tmpdir(), "agent-gate-setup-"));
  const envFile = join(dir, ".env");
  logs = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const github = new URL(fake.url);
  // LOG_LEVEL=error: the setup code is printed anyway (without it nobody could register).
  const settings = readSettings({ GHE_HOST: github.host, GHE_PROTOCOL: "http", LOG_LEVEL: "error", ...env });
  server = await startSetupServer({
    settings,
    log: createLogger(settings, sink),
    port: 0,
    envFile,
    ...(host ? { host } : {}),
  });
  return { url: server.url, envFile, code: setupCodeIn(logs.join("")) };
}

const conversions = () => fake.callsTo("POST", "/app-manifests/{code}/conversions").length;

describe.runIf(backend() === "pglite")("setup only its operator can complete", { timeout: 60_000 }, () => {
  it("prints a one-time setup code in the log and asks for it; a wrong code gets no registration form", async () => {
    const s = await setup();
    expect(s.code).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{8}){3}$/);
    const page = await (await fetch(`${s.url}/`)).text();
    expect(page).toContain('name="setup_code"');
    expect(page).not.toContain('name="manifest"');
    expect(page).not.toContain(s.code);
    const wrong = await startRegistration(s.url, "00000000-00000000-00000000-00000000");
    expect(wrong.status).toBe(403);
    expect(wrong.cookie).toBe("");
    expect(wrong.manifest).toBe("");
    expect(wrong.html).toContain("That is not the setup code");
    expect(existsSync(s.envFile)).toBe(false);
    // The code as copied from a terminal, in capitals with spaces around, is the code.
    expect((await startRegistration(s.url, ` ${s.code.toUpperCase()} `)).status).toBe(200);
  });

  it("refuses a cross-site callback with a foreign code: no state, or a state this browser never got", async () => {
    const s = await setup();
    const foreign = await foreignManifestCode(fake, `${s.url}/probot/setup`);
    const before = conversions();
    // A link on another site, followed by the operator's browser: no state at all.
    const bare = await fetch(`${s.url}/probot/setup?code=${foreign}`);
    expect(bare.status).toBe(403);
    expect(await bare.text()).toContain("not started from this browser's setup page");
    // A state made up, and the operator's real state without the operator's cookie (another browser).
    const mine = await startRegistration(s.url, s.code);
    expect(
      (await fetch(`${s.url}/probot/setup?code=${foreign}&state=made-up`, { headers: { cookie: mine.cookie } })).status,
    ).toBe(403);
    expect((await fetch(`${s.url}/probot/setup?code=${foreign}&state=${mine.state}`)).status).toBe(403);
    // The operator's cookie with another state: refused too.
    const other = await startRegistration(s.url, s.code);
    expect(
      (await fetch(`${s.url}/probot/setup?code=${foreign}&state=${other.state}`, { headers: { cookie: mine.cookie } }))
        .status,
    ).toBe(403);
    expect(conversions()).toBe(before);
    expect(existsSync(s.envFile)).toBe(false);
  });

  it("accepts the operator's callback once; a second callback, even with a fresh state, writes nothing", async () => {
    const s = await setup();
    const registration = await startRegistration(s.url, s.code);
    expect(registration.cookie).toMatch(/^agent_gate_setup=[A-Za-z0-9_-]{43}$/);
    const callback = await registerAtGitHub(registration);
    expect(new URL(callback).searchParams.get("state")).toBe(registration.state);
    const done = await fetch(callback, { headers: { cookie: registration.cookie } });
    expect(done.status, await done.clone().text()).toBe(200);
    const written = readFileSync(s.envFile, "utf8");
    expect(written).toMatch(/^APP_ID=\d+$/m);

    const again = await startRegistration(s.url, s.code);
    const foreign = await foreignManifestCode(fake, `${s.url}/probot/setup`);
    const before = conversions();
    const second = await fetch(`${s.url}/probot/setup?code=${foreign}&state=${again.state}`, {
      headers: { cookie: again.cookie },
    });
    expect(second.status).toBe(409);
    expect(await second.text()).toContain("nothing was changed");
    // The same state twice: refused as well.
    expect((await fetch(callback, { headers: { cookie: registration.cookie } })).status).toBe(409);
    expect(conversions()).toBe(before);
    expect(readFileSync(s.envFile, "utf8")).toBe(written);
  });

  it("refuses the callback without asking GitHub when .env already holds credentials", async () => {
    const s = await setup();
    const registration = await startRegistration(s.url, s.code);
    const callback = await registerAtGitHub(registration);
    writeFileSync(s.envFile, "APP_ID=99\nWEBHOOK_SECRET=someone-elses\n");
    const before = conversions();
    const reply = await fetch(callback, { headers: { cookie: registration.cookie } });
    expect(reply.status).toBe(409);
    expect(conversions()).toBe(before);
    expect(readFileSync(s.envFile, "utf8")).toBe("APP_ID=99\nWEBHOOK_SECRET=someone-elses\n");
  });

  it("listens on loopback only while HOST is unset, and the page says so", async () => {
    const s = await setup();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${s.url}/`)).text()).toContain("this machine only (HOST is unset)");
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === "IPv4" && !address.internal);
    if (outside) {
      const port = new URL(s.url).port;
      await expect(fetch(`http://${outside.address}:${port}/`)).rejects.toThrow();
    }
    await server!.close();
    rmSync(dir, { recursive: true, force: true });
    const open = await setup({}, "0.0.0.0");
    expect(await (await fetch(`${open.url}/`)).text()).toContain("whoever reaches it still needs the setup code");
  });

  it("answers /healthz 200 and /readyz 503 with the reason while unregistered", async () => {
    const s = await setup();
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: "not ready",
      checks: { github_app: expect.stringContaining("not registered: open the setup page") },
    });
  });

  it("shows GitHub's own error when the code exchange fails", async () => {
    const s = await setup();
    const registration = await startRegistration(s.url, s.code);
    const reply = await fetch(`${s.url}/probot/setup?code=0123456789abcdef&state=${registration.state}`, {
      headers: { cookie: registration.cookie },
    });
    expect(reply.status).toBe(502);
    const html = await reply.text();
    expect(html).toContain("GitHub answered 404: Not Found");
    expect(existsSync(s.envFile)).toBe(false);
  });

  it("keeps GHE_HOST and GHE_PROTOCOL, and the chosen webhook proxy, in the .env it writes", async () => {
    const s = await setup();
    const registration = await startRegistration(s.url, s.code, "https://smee.io/agent-gate-test-channel");
    expect(JSON.parse(registration.manifest).hook_attributes.url).toBe("https://smee.io/agent-gate-test-channel");
    const done = await fetch(await registerAtGitHub(registration), { headers: { cookie: registration.cookie } });
    expect(done.status).toBe(200);
    const written = readFileSync(s.envFile, "utf8");
    const github = new URL(fake.url);
    expect(written).toContain(`GHE_HOST=${github.host}\n`);
    expect(written).toContain("GHE_PROTOCOL=http\n");
    expect(written).toContain("WEBHOOK_PROXY_URL=https://smee.io/agent-gate-test-channel\n");
  });
});
