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
import { startTestApp } from "../support/app.ts";
import { expireDue } from "../../src/gates/expiry.ts";
import {
  DEPLOY,
  INSTALLATION,
  REPO,
  startReviewWorld,
  submit,
  TOKEN_NAME,
  type ReviewWorld,
} from "./review-harness.ts";

// The review page in headless Chromium (Debian's package, driven by
// playwright-core) against the app and the GitHub fake on loopback. One
// browser for the file; each person gets the same browser with cookies cleared.

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) {
  throw new Error(
    `${CHROMIUM} is missing: CI installs Debian's chromium package (.ci/run); the review page's browser tests must run.`,
  );
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
    // A phone: 375 CSS pixels wide, the narrowest common one, with its meta viewport honoured.
    viewport: { width: 375, height: 812 },
    isMobile: true,
    hasTouch: true,
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
  const [row] = await t.db.tenant(INSTALLATION, (tx) =>
    tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [id]),
  );
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
    // Nothing of the proposal; only the way back in, to the page the visitor asked for.
    const html = await page.content();
    for (const shown of [DEPLOY.summary, REPO, DEPLOY.environment, DEPLOY.sha.slice(0, 12)])
      expect(html).not.toContain(shown);
    expect(await page.getByRole("link", { name: "Sign in with GitHub" }).getAttribute("href")).toBe(
      `/login?return_to=${encodeURIComponent(`/proposals/${id}`)}`,
    );
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
    expect(await page.locator("#decide + p").textContent()).toContain(
      "read permission on the repository is not enough",
    );
  });

  it("refuses forged decisions: cross-site (no cookie) and same-site without the CSRF token", async () => {
    const { id, digest } = await submit(w, DEPLOY);
    await as("alice");
    await page.goto(`${w.app.url}/proposals/${id}`);
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(1);

    // Another site (localhost is not the app's 127.0.0.1) posts a form to the app: SameSite keeps the cookie home.
    const attacker: Server = createServer((_req, res) => {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(
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
    const forged = await page.request.post(`${w.app.url}/proposals/${id}/decision`, {
      form: { vote: "approve", digest },
      maxRedirects: 0,
    });
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
      const id = await vi.waitFor(
        () => {
          const found = /\/proposals\/(prp_\w{20})/.exec(stdout)?.[1];
          if (!found) throw new Error("the Action has not printed its proposal link yet");
          return found;
        },
        { timeout: 20_000, interval: 50 },
      );
      await w.app.server.worker.drain();
      expect(w.fake.checkRuns(REPO).find((r) => r.external_id === id)?.conclusion).toBe("action_required");

      await as("alice");
      await page.goto(`${w.app.url}/proposals/${id}`);
      await Promise.all([
        page.waitForURL(`${w.app.url}/proposals/${id}?vote=counted`),
        page.getByRole("button", { name: "Approve" }).click(),
      ]);
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
        'Pay here: [bank.example](https://evil.example/phish) <a href="https://evil.example">click</a>',
        "Amount: \u202E0001\u202C EUR, reference\u200bX\u2066hidden\u2069",
        "</pre><h1>Approved already</h1><pre>",
      ].join("\n"),
    };
    const { id } = await submit(w, {
      kind: "outreach",
      repo: REPO,
      site: "example.com",
      summary: "Send the invoice <b>now</b>",
      content: hostile,
    });
    await w.app.server.worker.drain();
    await as("rita");
    await page.goto(`${w.app.url}/proposals/${id}`);

    expect(await page.locator("pre.body").textContent()).toBe(
      [
        "Hello <script>alert('body')</script> & welcome",
        'Pay here: [bank.example](https://evil.example/phish) <a href="https://evil.example">click</a>',
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
    await expectFitsThePhone("outreach", false);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(10_000);
  });
});

/** Where the screenshots of each state of the page are written (git-ignored), for a person to look at. */
export const STATES_DIR = path.resolve("test-results/review-page-states");
const VIEWPORT = { width: 375, height: 812 };

/**
 * A screenshot of the viewport, written for a person to look at, checked to
 * be a PNG (signature and IHDR) of the viewport's size with something in it.
 */
async function screenshot(state: string, o: { decide?: boolean } = {}): Promise<void> {
  await expectFitsThePhone(state, o.decide ?? false);
  const file = path.join(STATES_DIR, `${state}.png`);
  await mkdir(STATES_DIR, { recursive: true });
  await page.screenshot({ path: file });
  const png = await readFile(file);
  expect(png.subarray(0, 8).toString("hex"), `${state}: PNG signature`).toBe("89504e470d0a1a0a");
  expect(png.subarray(12, 16).toString("ascii"), `${state}: IHDR first`).toBe("IHDR");
  expect({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }, `${state}: the viewport's size`).toEqual(
    VIEWPORT,
  );
  expect(png.length, `${state}: not blank`).toBeGreaterThan(5_000);
}

/**
 * The page fits a 375 px phone: nothing scrolls sideways, and, where the
 * viewer may decide, Approve and Reject are visible, wholly on the screen's
 * width and large enough to tap.
 */
async function expectFitsThePhone(state: string, decide: boolean): Promise<void> {
  const scrollWidth = (await page.evaluate("document.scrollingElement.scrollWidth")) as number;
  expect(scrollWidth, `${state}: no horizontal overflow at ${VIEWPORT.width} px`).toBeLessThanOrEqual(VIEWPORT.width);
  if (!decide) return;
  for (const name of ["Approve", "Reject"]) {
    const button = page.getByRole("button", { name });
    await button.scrollIntoViewIfNeeded();
    expect(await button.isVisible(), `${state}: ${name} visible`).toBe(true);
    const box = (await button.boundingBox())!;
    expect(box.x, `${state}: ${name} starts on screen`).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, `${state}: ${name} ends on screen`).toBeLessThanOrEqual(VIEWPORT.width);
    expect(box.height, `${state}: ${name} tall enough to tap`).toBeGreaterThanOrEqual(40);
    expect(box.y + box.height, `${state}: ${name} within the screen's height`).toBeLessThanOrEqual(VIEWPORT.height);
  }
  // The screenshot that follows shows the page where the viewer decides.
}

/** The natural widths of the images `selector` finds, once loaded (0: broken). (A string: it runs in the page.) */
function loadedWidths(selector: string): Promise<number[]> {
  return page.evaluate(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].map((img) => (img.complete ? img.naturalWidth : -1))`,
  ) as Promise<number[]>;
}

/** The header's signed-in user: their login, and their GitHub picture, loaded from GitHub's host. */
async function expectSignedInAs(login: string): Promise<void> {
  expect(await page.locator("header .viewer").textContent()).toBe(`Signed in as ${login}`);
  const avatar = page.locator("header img.avatar");
  expect(await avatar.getAttribute("src")).toBe(`${w.fake.url}/${login}.png?size=40`);
  expect(await loadedWidths("header img.avatar")).toEqual([40]);
  expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(1);
  expect(await page.getByRole("link", { name: "Sign in with GitHub" }).count()).toBe(0);
}

/** Nobody signed in: no user, no sign-out; a sign-in link back to `returnTo` when given. */
async function expectSignedOut(returnTo: string | null): Promise<void> {
  expect(await page.locator("header .viewer").count()).toBe(0);
  expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
  const signIn = page.getByRole("link", { name: "Sign in with GitHub" });
  if (returnTo === null) expect(await signIn.count()).toBe(0);
  else expect(await signIn.getAttribute("href")).toBe(`/login?return_to=${encodeURIComponent(returnTo)}`);
}

/** Every relative time shows words, with the exact UTC time of its datetime in its title. */
async function expectRelativeTimes(): Promise<void> {
  const times = (await page.evaluate(
    "[...document.querySelectorAll('time')].map((el) => [el.textContent, el.getAttribute('datetime'), el.getAttribute('title')])",
  )) as [string, string, string][];
  expect(times.length).toBeGreaterThan(0);
  for (const [text, datetime, title] of times) {
    expect(text).toMatch(/^(just now|in \d+ (minute|hour|day)s?|\d+ (minute|hour|day)s? ago)$/);
    expect(title).toBe(
      new Date(datetime)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d{3}Z$/, " UTC"),
    );
  }
}

describe.skipIf(!available)("each state of the review page, in Chromium, with a screenshot", () => {
  const violations: string[] = [];
  beforeAll(() => {
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
  });

  it("signed out, declined at GitHub: no one shown, a way to sign in again to the same page", async () => {
    const { id } = await submit(w, DEPLOY);
    await as(null);
    const response = await page.goto(`${w.app.url}/proposals/${id}`);
    expect(response?.status()).toBe(403);
    expect(await page.locator("h1").textContent()).toBe("Not signed in");
    await expectSignedOut(`/proposals/${id}`);
    await screenshot("signed-out");
  });

  it("sign-in not set up: the reviewer is told whom to ask, with no way to sign in and no detail", async () => {
    const { id } = await submit(w, DEPLOY);
    const unset = await startTestApp({
      db: t.db,
      fake: w.fake,
      now: () => new Date(),
      env: {
        AGENT_GATE_KEYS: w.keys,
        AGENT_GATE_PUBLIC_URL: "",
        GHE_HOST: new URL(w.fake.url).host,
        GHE_PROTOCOL: "http",
      },
    });
    try {
      await as("rita");
      const response = await page.goto(`${unset.url}/proposals/${id}`);
      expect(response?.status()).toBe(503);
      expect(await page.locator("h1").textContent()).toBe("Sign-in is not set up");
      expect(await page.locator("main p").textContent()).toBe(
        "Sign-in is not set up for this app; ask its administrator.",
      );
      expect(await page.content()).not.toContain("GITHUB_CLIENT");
      await expectSignedOut(null);
      await screenshot("sign-in-not-set-up");
    } finally {
      await unset.close();
    }
  });

  it("a signed-in reader: their picture and login, the proposer by its token name, relative times, no buttons", async () => {
    const { id } = await submit(w, DEPLOY);
    await as("rita");
    const response = await page.goto(`${w.app.url}/proposals/${id}`);
    expect(response?.status()).toBe(200);
    // Images from the app and the GitHub host the app uses, nothing else.
    expect(response?.headers()["content-security-policy"]).toContain(`img-src 'self' ${w.fake.url};`);
    await expectSignedInAs("rita");
    // The proposer by the token's name, here and on the check run.
    const proposer = new RegExp(`^${TOKEN_NAME} \\(token agt_\\w{4}\\)$`);
    expect(await page.locator("dt:text-is('Proposed by') + dd").textContent()).toMatch(proposer);
    await w.app.server.worker.drain();
    const summary = String(w.fake.checkRuns(REPO).find((run) => run.external_id === id)?.output?.summary ?? "");
    // (markdown-escaped on the check run)
    expect(summary).toContain(`**Requested by:** ${TOKEN_NAME} \\(token agt\\_`);
    // The commit shown short, the whole of it on hover.
    expect(await page.locator("dt:text-is('Commit') + dd code").textContent()).toBe(DEPLOY.sha.slice(0, 12));
    expect(await page.locator("dt:text-is('Commit') + dd code").getAttribute("title")).toBe(DEPLOY.sha);
    await expectRelativeTimes();
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);
    await screenshot("signed-in-reader");
  });

  it("an eligible approver with a pending proposal, then approved: the buttons, then the approver with their picture", async () => {
    const { id } = await submit(w, DEPLOY);
    await as("alice");
    await page.goto(`${w.app.url}/proposals/${id}`);
    await expectSignedInAs("alice");
    expect(await page.locator(".status").textContent()).toBe("pending");
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Reject" }).count()).toBe(1);
    await screenshot("approver-pending", { decide: true });

    await Promise.all([
      page.waitForURL(`${w.app.url}/proposals/${id}?vote=counted`),
      page.getByRole("button", { name: "Approve" }).click(),
    ]);
    expect(await page.locator(".status").textContent()).toBe("approved");
    const approver = page.locator("dt:text-is('Approved by') + dd .person");
    expect(await approver.textContent()).toBe("alice");
    expect(await loadedWidths("#approvals + dl > dd:first-of-type img.avatar")).toEqual([40]);
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);
    await expectRelativeTimes();
    await screenshot("approved");
  });

  it("rejected: the status, the rejecting person with their picture, no buttons", async () => {
    const { id } = await submit(w, DEPLOY);
    await as("alice");
    await page.goto(`${w.app.url}/proposals/${id}`);
    await Promise.all([
      page.waitForURL(`${w.app.url}/proposals/${id}?vote=counted`),
      page.getByRole("button", { name: "Reject" }).click(),
    ]);
    expect(await page.locator(".status").textContent()).toBe("rejected");
    expect(await page.locator("dt:text-is('Rejected by') + dd .person").textContent()).toBe("alice");
    expect(await page.getByRole("button", { name: "Reject" }).count()).toBe(0);
    await expectSignedInAs("alice");
    await screenshot("rejected");
  });

  it("expired without a decision: the status and why, no buttons for an eligible approver", async () => {
    const { id } = await submit(w, DEPLOY);
    // Its deadline passes (moved into the past), and the app's expiry sweep runs.
    await t.db.tenant(INSTALLATION, (tx) =>
      tx.query("UPDATE proposals SET expires_at = now() - interval '1 minute', status = status WHERE id = $1", [id]),
    );
    expect(await expireDue(t.db, new Date())).toBeGreaterThanOrEqual(1);
    expect(await statusOf(id)).toBe("rejected");
    await as("alice");
    await page.goto(`${w.app.url}/proposals/${id}`);
    expect(await page.locator(".status").textContent()).toBe("rejected");
    expect(await page.locator("main").textContent()).toContain("Expired without a decision");
    expect(await page.getByRole("button", { name: "Approve" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Reject" }).count()).toBe(0);
    await expectSignedInAs("alice");
    await expectRelativeTimes();
    await screenshot("expired");
  });

  it("not found (or not theirs to see): the 404, still showing who is signed in", async () => {
    await as("rita");
    await page.goto(`${w.app.url}/proposals/${(await submit(w, DEPLOY)).id}`);
    const response = await page.goto(`${w.app.url}/proposals/prp_00000000000000000000`);
    expect(response?.status()).toBe(404);
    expect(await page.locator("h1").textContent()).toBe("Not found");
    await expectSignedInAs("rita");
    await screenshot("not-found");
  });

  it("signed out from a proposal: the session is gone, and a way to sign in again to it", async () => {
    const { id } = await submit(w, DEPLOY);
    await as("rita");
    await page.goto(`${w.app.url}/proposals/${id}`);
    await Promise.all([page.waitForURL(`${w.app.url}/logout`), page.getByRole("button", { name: "Sign out" }).click()]);
    expect(await page.locator("h1").textContent()).toBe("Signed out");
    await expectSignedOut(`/proposals/${id}`);
    await screenshot("signed-out-after-sign-out");
    // The link signs in again and comes back to the proposal.
    await Promise.all([
      page.waitForURL(`${w.app.url}/proposals/${id}`),
      page.getByRole("link", { name: "Sign in with GitHub" }).click(),
    ]);
    await expectSignedInAs("rita");
  });

  it("broke no Content-Security-Policy rule in any state", () => {
    expect(violations).toEqual([]);
  });
});
