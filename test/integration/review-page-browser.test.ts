import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { run } from "../../action/src/main.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { DEPLOY, INSTALLATION, REPO, startReviewWorld, submit, type ReviewWorld } from "./review-harness.ts";

// The review page in headless Chromium (Debian's package, driven by
// playwright-core) against the app and the GitHub fake on loopback. One
// browser for the file; each person gets the same browser with cookies cleared.

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing: CI installs Debian's chromium package (.ci/run); the review page's browser tests must run.`);
}
/** Where the screenshot of the hostile outreach page is written, for a person to look at. */
export const SCREENSHOT = path.resolve("test-results/review-page-outreach.png");

let t: TestDatabase;
let w: ReviewWorld;
let browser: BrowserContext;
let page: Page;
let profile: string;
const dialogs: string[] = [];

beforeAll(async () => {
  if (!available) return;
  t = await createTestDatabase();
  w = await startReviewWorld(t, () => new Date());
  // The outbox opens outreach text with AGENT_GATE_KEYS from the environment (as outreach-pr.test.ts does).
  vi.stubEnv("AGENT_GATE_KEYS", w.keys);
  profile = await mkdtemp(path.join(tmpdir(), "agent-gate-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    viewport: { width: 390, height: 844 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
  await t?.drop();
  if (profile) await rm(profile, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

/** A fresh visitor who is signed in to GitHub as `login` (or declines, with null). */
async function as(login: string | null): Promise<void> {
  await browser.clearCookies();
  w.fake.signInAs(login);
}

async function statusOf(id: string): Promise<string> {
  const [row] = await t.db.tenant(INSTALLATION, (tx) => tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [id]));
  return row!.status;
}

describe.skipIf(!available)("the review page in Chromium", () => {
  it("sends a signed-out visitor to GitHub's sign-in, and shows nothing to one who declines", async () => {
    const { id } = await submit(w, DEPLOY);
    await as(null);
    const before = w.fake.calls.length;
    const response = await page.goto(`${w.app.url}/proposals/${id}`);
    expect(w.fake.calls.slice(before).map((c) => `${c.method} ${c.path}`)).toEqual(["GET /login/oauth/authorize"]);
    expect(response?.status()).toBe(403);
    expect(await page.locator("h1").textContent()).toBe("Not signed in");
    expect(await page.content()).not.toContain(id);
  });

  it("signs a reader in and shows the proposal without Approve or Reject", async () => {
    const { id, digest } = await submit(w, DEPLOY);
    await as("rita");
    const response = await page.goto(`${w.app.url}/proposals/${id}`);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe(`/proposals/${id}`);
    expect(await page.locator("header").textContent()).toContain("Signed in as rita");
    // The digest is shown short, the whole of it on hover (its title).
    expect(await page.locator("#digest + p code").textContent()).toBe(digest.slice(0, 12));
    expect(await page.locator("#digest + p code").getAttribute("title")).toBe(digest);
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Reject" }).count()).toBe(0);
    expect(await page.locator("#decide + p").textContent()).toContain("read permission on the repository is not enough");
  });

  it("refuses forged decisions: cross-site (no cookie) and same-site without the CSRF token", async () => {
    const { id, digest } = await submit(w, DEPLOY);
    await as("alice");
    await page.goto(`${w.app.url}/proposals/${id}`);
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(1);

    // Another site (localhost is not the app's 127.0.0.1) posts a form to the app: SameSite keeps the cookie home.
    const attacker: Server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" }).end(
        `<form method="post" action="${w.app.url}/proposals/${id}/decision"><input name="vote" value="approve"><input name="digest" value="${digest}"></form><script>document.forms[0].submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    try {
      const port = (attacker.address() as AddressInfo).port;
      const landed = page.waitForURL(`${w.app.url}/proposals/${id}/decision`);
      await page.goto(`http://localhost:${port}/`);
      await landed;
      expect(await page.locator("main p").textContent()).toContain("Sign in first");
    } finally {
      attacker.close();
    }
    // The same browser, signed in, posting without the token.
    const forged = await page.request.post(`${w.app.url}/proposals/${id}/decision`, { form: { vote: "approve", digest }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain("CSRF token missing or wrong");
    expect(await statusOf(id)).toBe("pending");
  });

  it("an eligible person approves on the page; the check run and the waiting Action see it", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-"));
    const saved = { ...process.env };
    let stdout = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    try {
      await writeFile(path.join(dir, "output"), "");
      await writeFile(path.join(dir, "summary"), "");
      Object.assign(process.env, {
        GITHUB_REPOSITORY: REPO,
        GITHUB_SHA: DEPLOY.sha,
        GITHUB_OUTPUT: path.join(dir, "output"),
        GITHUB_STEP_SUMMARY: path.join(dir, "summary"),
        "INPUT_SERVER-URL": w.app.url,
        INPUT_KIND: "deploy",
        INPUT_ENVIRONMENT: DEPLOY.environment,
        INPUT_SITE: DEPLOY.site,
        INPUT_SUMMARY: DEPLOY.summary,
        INPUT_CONTENT: "",
        INPUT_TOKEN: w.agentToken,
        INPUT_AUDIENCE: "agent-gate",
        "INPUT_TIMEOUT-MINUTES": "5",
        "INPUT_WAIT-SECONDS": "20",
      });
      const step = run();
      const id = await vi.waitFor(() => {
        const found = /\/proposals\/(prp_\w{20})/.exec(stdout)?.[1];
        if (!found) throw new Error("the Action has not printed its proposal link yet");
        return found;
      }, { timeout: 20_000, interval: 50 });
      await w.app.server.worker.drain();
      expect(w.fake.checkRuns(REPO).find((r) => r.external_id === id)?.conclusion).toBe("action_required");

      await as("alice");
      await page.goto(`${w.app.url}/proposals/${id}`);
      await Promise.all([page.waitForURL(`${w.app.url}/proposals/${id}?vote=counted`), page.getByRole("button", { name: "Approve" }).click()]);
      expect(await page.locator(".banner").textContent()).toBe("Your vote was recorded and counted.");
      expect(await page.locator(".status").textContent()).toBe("approved");

      await step;
      const outputs = await readFile(path.join(dir, "output"), "utf8");
      expect(outputs).toMatch(/^decision<<(ghadelimiter_[\w-]+)\napproved\n\1$/m);
      expect(outputs).toMatch(/^approvers<<(ghadelimiter_[\w-]+)\nalice\n\1$/m);
      await w.app.server.worker.drain();
      expect(w.fake.checkRuns(REPO).find((r) => r.external_id === id)?.conclusion).toBe("success");
    } finally {
      vi.restoreAllMocks();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      process.exitCode = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("renders hostile outreach text inert and visible, readable on a phone (screenshot)", async () => {
    const hostile = {
      channel: "email",
      recipients: ["board@corp.example"],
      subject: 'Invoice <img src=x onerror=alert("subject")>',
      body: [
        "Hello <script>alert('body')</script> & welcome",
        "Pay here: [bank.example](https://evil.example/phish) <a href=\"https://evil.example\">click</a>",
        "Amount: \u202E0001\u202C EUR, reference\u200bX\u2066hidden\u2069",
        "</pre><h1>Approved already</h1><pre>",
      ].join("\n"),
    };
    const { id } = await submit(w, { kind: "outreach", repo: REPO, site: "example.com", summary: "Send the invoice <b>now</b>", content: hostile });
    await w.app.server.worker.drain();
    await as("rita");
    await page.goto(`${w.app.url}/proposals/${id}`);

    expect(await page.locator("pre.body").textContent()).toBe(
      [
        "Hello <script>alert('body')</script> & welcome",
        "Pay here: [bank.example](https://evil.example/phish) <a href=\"https://evil.example\">click</a>",
        "Amount: ⟦U+202E⟧0001⟦U+202C⟧ EUR, reference⟦U+200B⟧X⟦U+2066⟧hidden⟦U+2069⟧",
        "</pre><h1>Approved already</h1><pre>",
      ].join("\n"),
    );
    expect(await page.locator("pre.subject").textContent()).toBe('Invoice <img src=x onerror=alert("subject")>');
    expect(await page.locator("pre.recipients").textContent()).toBe("board@corp.example");
    expect(await page.locator("pre.body mark.hidden-char").count()).toBe(5);
    // Nothing of the text became markup: no script, image, link to the phishing site or second heading.
    expect(await page.locator("main script, main img, main a[href*='evil.example']").count()).toBe(0);
    expect(await page.locator("h1").count()).toBe(1);
    expect(dialogs).toEqual([]);
    // Readable on a phone: nothing wider than the screen.
    // (A string, as this project's TypeScript has no DOM types; it runs in the page.)
    expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(10_000);
  });
});
