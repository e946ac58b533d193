import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { reencryptSealed } from "../../src/keys/reencrypt.ts";
import { startTestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { agentPullRequest } from "../support/pulls.ts";
import { Clock, bearer } from "./api-harness.ts";
import {
  DEPLOY,
  INSTALLATION,
  PUBLIC_REPO,
  REPO,
  startReviewWorld,
  submit,
  type ReviewWorld,
} from "./review-harness.ts";

// The review page over plain HTTP on both storage backends: GitHub sign-in
// against the fake's web flow, sessions, read access, CSRF, and a decision
// taking the same path as a check-run button. (The browser drives the same
// page in review-page-browser.test.ts.)

const clock = new Clock(new Date().toISOString());
let t: TestDatabase;
let w: ReviewWorld;
let id: string;
let digest: string;

beforeAll(async () => {
  t = await createTestDatabase();
  w = await startReviewWorld(t, clock.now);
  // The outbox opens outreach text with AGENT_GATE_KEYS from the environment (as outreach-pr.test.ts does).
  vi.stubEnv("AGENT_GATE_KEYS", w.keys);
  ({ id, digest } = await submit(w, DEPLOY));
  await w.app.server.worker.drain();
});
afterAll(async () => {
  await w?.close();
  await t?.drop();
  vi.unstubAllEnvs();
});

async function post(cookie: string, path: string, form: Record<string, string>): Promise<Response> {
  return fetch(`${w.app.url}${path}`, {
    ...manual,
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
}

const manual = { redirect: "manual" } as const;

function cookieOf(res: Response, name: RegExp): string {
  const found = res.headers.getSetCookie().find((c) => name.test(c.split("=")[0]!));
  if (!found) throw new Error(`no ${name} cookie in ${res.status}`);
  return found;
}

/** The whole sign-in as a browser does it; returns the session cookie (name=value). */
async function signIn(login: string, page = `/proposals/${id}`): Promise<string> {
  w.fake.signInAs(login);
  const visit = await fetch(`${w.app.url}${page}`, manual);
  expect(visit.status).toBe(303);
  const login1 = await fetch(new URL(visit.headers.get("location")!, w.app.url), manual);
  expect(login1.status).toBe(302);
  const state = cookieOf(login1, /agent_gate_oauth/).split(";")[0]!;
  const authorize = await fetch(login1.headers.get("location")!, manual);
  expect(authorize.status).toBe(302);
  const callback = await fetch(authorize.headers.get("location")!, { ...manual, headers: { cookie: state } });
  expect(callback.status).toBe(303);
  expect(callback.headers.get("location")).toBe(page);
  return cookieOf(callback, /agent_gate_session/).split(";")[0]!;
}

async function page(cookie: string, path = `/proposals/${id}`): Promise<{ status: number; html: string }> {
  const res = await fetch(`${w.app.url}${path}`, { ...manual, headers: { cookie } });
  return { status: res.status, html: await res.text() };
}

function csrfOf(html: string): string {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
}

describe("signing in", () => {
  it("sends a signed-out visitor to GitHub's authorize page with the client id, callback and a state bound to the browser", async () => {
    const visit = await fetch(`${w.app.url}/proposals/${id}`, manual);
    expect(visit.status).toBe(303);
    expect(visit.headers.get("location")).toBe(`/login?return_to=%2Fproposals%2F${id}`);
    const login = await fetch(new URL(visit.headers.get("location")!, w.app.url), manual);
    const target = new URL(login.headers.get("location")!);
    expect(`${target.origin}${target.pathname}`).toBe(`${w.fake.url}/login/oauth/authorize`);
    expect(target.searchParams.get("client_id")).toBe("Iv1.reviewpagetest");
    expect(target.searchParams.get("redirect_uri")).toBe(`${w.app.url}/login/oauth/callback`);
    expect(target.searchParams.get("state")).toMatch(/^[\w-]{43}$/);
    expect(cookieOf(login, /agent_gate_oauth/)).toMatch(/; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
  });

  it("refuses a callback whose state is not the browser's, and starts no session", async () => {
    w.fake.signInAs("alice");
    const login = await fetch(`${w.app.url}/login?return_to=/proposals/${id}`, manual);
    const state = cookieOf(login, /agent_gate_oauth/).split(";")[0]!;
    const authorize = await fetch(login.headers.get("location")!, manual);
    const callback = new URL(authorize.headers.get("location")!);
    callback.searchParams.set("state", "forged-state-from-another-browser");
    const before = await t.db.query("SELECT 1 FROM review_sessions");
    const forged = await fetch(callback, { ...manual, headers: { cookie: state } });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain("state does not match");
    const noCookie = await fetch(authorize.headers.get("location")!, manual);
    expect(noCookie.status).toBe(400);
    expect(await t.db.query("SELECT 1 FROM review_sessions")).toHaveLength(before.length);
  });

  it("refuses a return path off the app", async () => {
    const res = await fetch(`${w.app.url}/login?return_to=https://evil.example/`, manual);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("return_to: must be a proposal page");
  });

  it("keeps the session 8 hours in a signed HttpOnly SameSite cookie, with the token only sealed in the database", async () => {
    const before = w.fake.calls.length;
    const cookie = await signIn("rita");
    const calls = w.fake.calls.slice(before).map((c) => `${c.method} ${c.route}`);
    expect(calls).toEqual(["GET /login/oauth/authorize", "POST /login/oauth/access_token", "GET /user"]);
    const [row] = await t.db.query<{ login: string; sealed_token: string; created_at: Date; expires_at: Date }>(
      "SELECT login, sealed_token, created_at, expires_at FROM review_sessions WHERE login = 'rita'",
    );
    expect(row!.expires_at.getTime() - row!.created_at.getTime()).toBe(8 * 3600_000);
    const token = [...w.fake.state.userTokens].find(([, login]) => login === "rita")![0];
    expect(row!.sealed_token).toMatch(/^v1\.k1\./);
    expect(JSON.stringify(await t.db.query("SELECT * FROM review_sessions"))).not.toContain(token);
    expect(w.app.logs.join("")).not.toContain(token);
    expect(w.app.logs.join("")).not.toContain(cookie.split("=")[1]!);
    // A cookie whose signature does not match is no session.
    const [name, value] = cookie.split("=") as [string, string];
    const tampered = `${name}=${value.slice(0, -2)}${value.endsWith("AA") ? "BB" : "AA"}`;
    expect((await page(tampered)).status).toBe(303);
  });
});

describe("sign-in not set up by the operator", () => {
  it("tells a reviewer whom to ask, and only the log what to set", async () => {
    const bare = await startTestApp({
      db: t.db,
      fake: w.fake,
      env: {
        AGENT_GATE_KEYS: w.keys,
        AGENT_GATE_PUBLIC_URL: "https://gate.example.test",
        GITHUB_CLIENT_ID: "",
        GITHUB_CLIENT_SECRET: "",
      },
    });
    try {
      const res = await fetch(`${bare.url}/login?return_to=/`, manual);
      expect(res.status).toBe(503);
      const html = await res.text();
      expect(html).toContain("Sign-in is not set up for this app; ask its administrator.");
      expect(html).not.toContain("GITHUB_CLIENT");
      const logged = bare.logs
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.msg === "review page is not set up");
      expect(logged).toMatchObject({
        code: "sign_in_unconfigured",
        problem: expect.stringContaining("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET"),
      });
    } finally {
      await bare.close();
    }
  });
});

describe("the page", () => {
  it("shows a reader everything about the proposal, with its audit hashes, but no buttons", async () => {
    const cookie = await signIn("rita");
    const before = w.fake.calls.length;
    const { status, html } = await page(cookie);
    expect(status).toBe(200);
    expect(html).toContain(`Deploy proposal <code>${id}</code>`);
    expect(html).toContain(digest);
    expect(html).toContain("b".repeat(40));
    expect(html).toContain("production");
    expect(html).toContain("Needs <strong>1</strong> distinct approver with at least <strong>write</strong>");
    expect(html).toContain("You cannot decide this proposal: read permission on the repository is not enough");
    expect(html).not.toContain('value="approve"');
    const [created] = await t.db
      .tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION))
      .then((events) => events.filter((e) => e.subject === id));
    expect(html).toContain(created!.hash);
    const calls = w.fake.calls.slice(before).map((c) => `${c.method} ${c.path}`);
    expect(calls).toContain(`GET /repos/${REPO}`);
    expect(calls).toContain(`GET /repos/${REPO}/collaborators/rita/permission`);
  });

  it("answers a person without access to the repository, and a missing proposal, with the same 404", async () => {
    const cookie = await signIn("mallory");
    const hidden = await page(cookie);
    const missing = await page(cookie, "/proposals/prp_00000000000000000000");
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.html).toBe(missing.html);
  });

  it("refuses a forged POST without the CSRF token, changing nothing", async () => {
    const cookie = await signIn("alice");
    const forged = await fetch(`${w.app.url}/proposals/${id}/decision`, {
      ...manual,
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ vote: "approve", digest }),
    });
    expect(forged.status).toBe(403);
    const wrong = await fetch(`${w.app.url}/proposals/${id}/decision`, {
      ...manual,
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ vote: "approve", digest, csrf: "A".repeat(43) }),
    });
    expect(wrong.status).toBe(403);
    const [row] = await t.db.tenant(INSTALLATION, (tx) =>
      tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [id]),
    );
    expect(row!.status).toBe("pending");
  });

  it("names the field at fault in a bad form, changing nothing", async () => {
    const cookie = await signIn("alice");
    const csrf = csrfOf((await page(cookie)).html);
    const res = await fetch(`${w.app.url}/proposals/${id}/decision`, {
      ...manual,
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ vote: "maybe", digest, csrf }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("vote: must be approve or reject");
  });

  it("lets an eligible person approve, through the same path as the check run's button, seen by the check run and the API", async () => {
    const cookie = await signIn("alice");
    const { html } = await page(cookie);
    expect(html).toContain('value="approve"');
    const waiting = fetch(`${w.app.url}/api/v1/proposals/${id}?wait=20`, { headers: bearer(w.agentToken) });
    const res = await fetch(`${w.app.url}/proposals/${id}/decision`, {
      ...manual,
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ vote: "approve", digest, csrf: csrfOf(html) }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/proposals/${id}?vote=counted`);
    expect(((await (await waiting).json()) as { status: string }).status).toBe("approved");
    await w.app.server.worker.drain();
    const run = w.fake.checkRuns(REPO).find((r) => r.external_id === id)!;
    expect(run.conclusion).toBe("success");
    expect(run.details_url).toBe(`${w.app.url}/proposals/${id}`);
    const events = (await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION))).filter(
      (e) => e.subject === id,
    );
    const vote = events.find((e) => e.action === "vote.recorded")!;
    expect(vote).toMatchObject({
      actor: "alice",
      outcome: "counted",
      data: { vote: "approve", permission: "write", via: "review_page" },
    });
    expect(events.find((e) => e.action === "decision.recorded")?.outcome).toBe("approved");
    const after = await page(cookie);
    expect(after.html).toContain("This proposal is approved");
    w.fake.assertClean();
  });
});

describe("other kinds", () => {
  it("outreach in a public repository: GitHub gets the redacted summary, a reader the redacted page, an approver the text to approve", async () => {
    const content = {
      channel: "email",
      recipients: ["jane@private.example"],
      subject: "Offer",
      body: "Dear Jane, the price is OFR-4711-ZK.",
    };
    const outreach = await submit(w, {
      kind: "outreach",
      repo: PUBLIC_REPO,
      site: "example.com",
      summary: "Send the offer",
      content,
    });
    await w.app.server.worker.drain();
    const run = () => w.fake.checkRuns(PUBLIC_REPO).find((r) => r.external_id === outreach.id)!;
    expect(run().output.text).toContain("**Recipients:** 1 · **Domains:** `private.example`");
    expect(JSON.stringify(run())).not.toMatch(/jane@|Dear Jane|OFR-4711-ZK/);

    const reader = await page(await signIn("rita", `/proposals/${outreach.id}`), `/proposals/${outreach.id}`);
    expect(reader.status).toBe(200);
    expect(reader.html).toContain(
      "This repository is public: the recipients and the text are shown only to people with permission to approve.",
    );
    expect(reader.html).not.toMatch(/jane@|Dear Jane|OFR-4711-ZK/);

    const cookie = await signIn("alice", `/proposals/${outreach.id}`);
    const approver = await page(cookie, `/proposals/${outreach.id}`);
    expect(approver.html).toContain("Dear Jane, the price is OFR-4711-ZK.");
    expect(approver.html).toContain('value="approve"');
    const res = await post(cookie, `/proposals/${outreach.id}/decision`, {
      vote: "approve",
      digest: outreach.digest,
      csrf: csrfOf(approver.html),
    });
    expect(res.headers.get("location")).toBe(`/proposals/${outreach.id}?vote=counted`);
    await w.app.server.worker.drain();
    expect(run().conclusion).toBe("success");
  });

  it("a commit proposal links to its pull request review; a vote posted anyway is ignored and audited", async () => {
    // Commit proposals come from pull requests only: the agent's pull request opens one.
    const pull = agentPullRequest({
      installationId: INSTALLATION,
      number: 7,
      sha: "e".repeat(40),
      agent: "deploy-agent",
    });
    pull.repository = {
      ...pull.repository,
      id: 11,
      name: "web",
      full_name: REPO,
      owner: { ...pull.repository.owner, login: "acme" },
    };
    expect((await w.app.deliver("pull_request", pull)).status).toBe(200);
    await w.app.server.worker.drain();
    const [commit] = await t.db.tenant(INSTALLATION, (tx) =>
      tx.query<{ id: string; digest: string }>(
        "SELECT id, digest FROM proposals WHERE kind = 'commit' AND pr_number = 7",
      ),
    );
    if (!commit) throw new Error("no commit proposal");
    const cookie = await signIn("alice", `/proposals/${commit.id}`);
    const { html } = await page(cookie, `/proposals/${commit.id}`);
    expect(html).toContain("Commits are decided by a pull request review of the head commit");
    expect(html).not.toContain('value="approve"');
    const res = await post(cookie, `/proposals/${commit.id}/decision`, {
      vote: "approve",
      digest: commit.digest,
      csrf: csrfOf(html),
    });
    expect(res.headers.get("location")).toBe(`/proposals/${commit.id}?vote=ignored`);
    const events = (await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION))).filter(
      (e) => e.subject === commit.id,
    );
    expect(events.find((e) => e.action === "vote.ignored")).toMatchObject({
      actor: "alice",
      data: { reason: "decided by a pull request review", via: "review_page" },
    });
    const [row] = await t.db.tenant(INSTALLATION, (tx) =>
      tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [commit.id]),
    );
    expect(row!.status).toBe("pending");
  });
});

describe("signing out and expiry", () => {
  it("signing out deletes the session with its token", async () => {
    const cookie = await signIn("rita");
    const csrf = csrfOf((await page(cookie)).html);
    const count = async () => (await t.db.query("SELECT 1 FROM review_sessions WHERE login = 'rita'")).length;
    const before = await count();
    const res = await fetch(`${w.app.url}/logout`, {
      ...manual,
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf }),
    });
    expect(res.status).toBe(200);
    expect(cookieOf(res, /agent_gate_session/)).toContain("Max-Age=0");
    expect(await count()).toBe(before - 1);
    expect((await page(cookie)).status).toBe(303);
  });

  it("a token revoked at GitHub ends the session: the visitor is sent to sign in again", async () => {
    const cookie = await signIn("rita");
    for (const [token, login] of w.fake.state.userTokens) if (login === "rita") w.fake.state.userTokens.delete(token);
    const before = (await t.db.query("SELECT 1 FROM review_sessions WHERE login = 'rita'")).length;
    const res = await fetch(`${w.app.url}/proposals/${id}`, { ...manual, headers: { cookie } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/login?return_to=%2Fproposals%2F${id}`);
    expect(cookieOf(res, /agent_gate_session/)).toContain("Max-Age=0");
    expect((await t.db.query("SELECT 1 FROM review_sessions WHERE login = 'rita'")).length).toBe(before - 1);
  });

  it("served over https, the cookies are Secure and __Host- prefixed and the callback is the public URL's", async () => {
    const secure = await startTestApp({
      db: t.db,
      fake: w.fake,
      env: {
        AGENT_GATE_KEYS: w.keys,
        AGENT_GATE_PUBLIC_URL: "https://gate.example.test",
        GITHUB_CLIENT_ID: "Iv1.reviewpagetest",
        GITHUB_CLIENT_SECRET: "unused-here",
        GHE_HOST: new URL(w.fake.url).host,
        GHE_PROTOCOL: "http",
      },
    });
    try {
      const res = await fetch(`${secure.url}/login?return_to=/proposals/${id}`, manual);
      expect(new URL(res.headers.get("location")!).searchParams.get("redirect_uri")).toBe(
        "https://gate.example.test/login/oauth/callback",
      );
      expect(cookieOf(res, /^__Host-agent_gate_oauth$/)).toMatch(
        /; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/,
      );
    } finally {
      await secure.close();
    }
  });

  it("key rotation re-seals session tokens; a token this process cannot open ends the session instead of failing", async () => {
    const cookie = await signIn("rita");
    const next = parseKeyring(`${generateKeyEntry("k2")},${w.keys}`);
    expect(await reencryptSealed(t.owner, next)).toBeGreaterThan(0);
    const rows = await t.db.query<{ sealed_token: string }>("SELECT sealed_token FROM review_sessions");
    expect(rows.every((row) => row.sealed_token.startsWith("v1.k2."))).toBe(true);
    // This app still holds only k1: the session cannot be opened, so it ends and the visitor signs in again.
    expect((await page(cookie)).status).toBe(303);
    expect(await t.db.query("SELECT 1 FROM review_sessions")).toHaveLength(rows.length - 1);
    await t.db.query("DELETE FROM review_sessions");
  });

  it("ends a session after 8 hours: the visitor is sent to sign in again and the row is gone", async () => {
    const cookie = await signIn("rita");
    const before = (await t.db.query("SELECT 1 FROM review_sessions WHERE login = 'rita'")).length;
    clock.advance(8 * 3600_000);
    expect((await page(cookie)).status).toBe(303);
    // The expired session was deleted, sealed token and all, when it was presented.
    const rows = await t.db.query<{ login: string }>("SELECT login FROM review_sessions WHERE expires_at <= $1", [
      clock.now(),
    ]);
    expect(rows.filter((row) => row.login === "rita")).toHaveLength(before - 1);
  });
});
