import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { createLogger } from "../../src/log.ts";
import { startSetupServer, type SetupServer } from "../../src/setup/server.ts";
import { setupCodeIn } from "../support/setup-flow.ts";

// The setup page in headless Chromium against the real setup server and the GitHub stand-in, reached as
// github.com would be (not an Enterprise Server on this network): the page warns that GitHub cannot
// deliver to localhost and offers a smee.io channel, asks for the setup code from the log, shows GitHub's
// own error when the code exchange fails, and registers the App with the channel as its webhook URL.

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: CI installs Debian's chromium package (.ci/run).`);

let fake: GitHubFake;
let server: SetupServer;
let browser: Browser;
let dir: string;
let code: string;
const envFile = () => join(dir, ".env");

beforeAll(async () => {
  if (!available || backend() !== "pglite") return;
  fake = await GitHubFake.start();
  dir = mkdtempSync(join(tmpdir(), "agent-gate-setup-browser-"));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const settings = {
    github: { web: fake.url, api: fake.apiUrl, enterprise: false },
    publicUrl: undefined,
    webhookProxyUrl: undefined,
    org: undefined,
  };
  server = await startSetupServer({
    settings,
    log: createLogger({ logLevel: "info" }, sink),
    port: 0,
    envFile: envFile(),
  });
  code = setupCodeIn(logs.join(""));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function freshPage(): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

describe.runIf(available && backend() === "pglite")("the setup page in Chromium", { timeout: 90_000 }, () => {
  it("warns that GitHub cannot reach localhost, offers smee.io and says where it listens", async () => {
    const page = await freshPage();
    await page.goto(`${server.url}/`);
    const warning = page.locator("#webhook-warning");
    await expect.poll(() => warning.isVisible()).toBe(true);
    expect(await warning.innerText()).toMatch(
      /GitHub cannot deliver webhooks to http:\/\/127\.0\.0\.1:\d+\/api\/github\/webhooks: 127\.0\.0\.1 is this machine \(loopback\)/,
    );
    expect(await warning.locator('a[href="https://smee.io/new"]').count()).toBe(1);
    expect(await warning.innerText()).toContain("WEBHOOK_PROXY_URL");
    expect(await page.locator("#listening").innerText()).toContain("this machine only (HOST is unset)");
    await page.context().close();
  });

  it("refuses a wrong setup code, and shows GitHub's error when the code exchange fails", async () => {
    const page = await freshPage();
    await page.goto(`${server.url}/`);
    await page.fill("#setup_code", "not-the-code");
    await page.click("button[type=submit]");
    expect(await page.locator("#setup-error").innerText()).toContain("That is not the setup code");
    expect(await page.locator('input[name="manifest"]').count()).toBe(0);

    await page.fill("#setup_code", code);
    await page.click("button[type=submit]");
    const action = (await page.locator("form").getAttribute("action"))!;
    const state = new URL(action).searchParams.get("state")!;
    // GitHub sends the browser back with a code it no longer knows (used, or over an hour old).
    await page.goto(`${server.url}/probot/setup?code=0123456789abcdef&state=${state}`);
    expect(await page.locator("h1").innerText()).toBe("Setup failed");
    expect(await page.locator("#setup-error").innerText()).toBe("GitHub answered 404: Not Found");
    expect(existsSync(envFile())).toBe(false);
    await page.context().close();
  });

  it("registers the App with a smee.io channel as its webhook URL and saves it as WEBHOOK_PROXY_URL", async () => {
    const page = await freshPage();
    await page.goto(`${server.url}/`);
    await page.fill("#setup_code", code);
    await page.fill("#webhook_proxy_url", "https://smee.io/agent-gate-browser-test");
    await page.click("button[type=submit]");
    expect(await page.locator("body").innerText()).toContain("Webhooks go to https://smee.io/agent-gate-browser-test");
    expect(await page.locator("#webhook-warning").count()).toBe(0);
    // The form goes to GitHub (the stand-in), which sends this browser back to the callback.
    await Promise.all([page.waitForURL(/\/probot\/setup\?/), page.click("text=Register GitHub App")]);
    expect(await page.locator("h1").innerText()).toBe("Agent Gate is registered");
    const created = fake.state.createdApps.at(-1)!;
    expect(created.manifest.hook_attributes.url).toBe("https://smee.io/agent-gate-browser-test");
    const written = readFileSync(envFile(), "utf8");
    expect(written).toContain(`APP_ID=${created.id}\n`);
    expect(written).toContain("WEBHOOK_PROXY_URL=https://smee.io/agent-gate-browser-test\n");
    expect(written).not.toContain("GHE_HOST");
    // The callback again (reloaded, or replayed) is refused; the page says what to do next.
    await page.reload();
    expect(await page.locator("h1").innerText()).toBe("Already registered");
    await page.goto(`${server.url}/`);
    expect(await page.locator("body").innerText()).toContain("run npm start again");
    await page.context().close();
  });
});
