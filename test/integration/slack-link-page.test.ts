import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { issueLinkToken } from "../../src/notify/links.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { Clock } from "./api-harness.ts";
import { INSTALLATION, startReviewWorld, type ReviewWorld } from "./review-harness.ts";

// A Slack user's one-time link, opened on the review page behind GitHub
// sign-in: it links that Slack user (and no other) to the signed-in login,
// only after a confirmation carrying the session's CSRF token, once, within
// ten minutes.

const clock = new Clock(new Date().toISOString());
const manual = { redirect: "manual" } as const;
let t: TestDatabase;
let w: ReviewWorld;

beforeAll(async () => {
  t = await createTestDatabase();
  w = await startReviewWorld(t, clock.now);
});
afterAll(async () => {
  await w?.close();
  await t?.drop();
});

function cookieOf(res: Response, name: RegExp): string {
  const found = res.headers.getSetCookie().find((c) => name.test(c.split("=")[0]!));
  if (!found) throw new Error(`no ${name} cookie in ${res.status}`);
  return found.split(";")[0]!;
}

async function signIn(login: string, page: string): Promise<string> {
  w.fake.signInAs(login);
  const visit = await fetch(`${w.app.url}${page}`, manual);
  expect(visit.status).toBe(303);
  const login1 = await fetch(new URL(visit.headers.get("location")!, w.app.url), manual);
  expect(login1.status).toBe(302);
  const state = cookieOf(login1, /agent_gate_oauth/);
  const authorize = await fetch(login1.headers.get("location")!, manual);
  const callback = await fetch(authorize.headers.get("location")!, { ...manual, headers: { cookie: state } });
  expect(callback.headers.get("location")).toBe(page);
  return cookieOf(callback, /agent_gate_session/);
}

async function links() {
  return t.db.tenant(INSTALLATION, (tx) =>
    tx.query<{ team_id: string; user_id: string; github_login: string }>(
      "SELECT team_id, user_id, github_login FROM slack_links ORDER BY user_id",
    ),
  );
}

function confirm(cookie: string, token: string, csrf: string | null) {
  return fetch(`${w.app.url}/slack/link/${token}`, {
    ...manual,
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(csrf === null ? {} : { csrf }),
  });
}

describe("linking a Slack user on the review page", () => {
  it("links after GitHub sign-in and a confirmation, once; nothing without the CSRF token", async () => {
    const token = await t.db.tenant(INSTALLATION, (tx) =>
      issueLinkToken(tx, INSTALLATION, "T0GATE", "U0ALICE", clock.now()),
    );
    const cookie = await signIn("alice", `/slack/link/${token}`);
    const page = await fetch(`${w.app.url}/slack/link/${token}`, { ...manual, headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("U0ALICE");
    expect(html).toContain("alice");
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    // Opening the link links nothing; a POST without the session's CSRF token neither.
    expect(await links()).toEqual([]);
    expect((await confirm(cookie, token, null)).status).toBe(403);
    expect((await confirm(cookie, token, "forged")).status).toBe(403);
    expect(await links()).toEqual([]);

    const done = await confirm(cookie, token, csrf);
    expect(done.status).toBe(200);
    expect(await links()).toEqual([{ team_id: "T0GATE", user_id: "U0ALICE", github_login: "alice" }]);
    const again = await confirm(cookie, token, csrf);
    expect(again.status).toBe(410);
    const events = await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION));
    expect(events.filter((e) => e.action === "slack.linked").map((e) => e.actor)).toEqual(["alice"]);
  });

  it("refuses a link after ten minutes", async () => {
    const token = await t.db.tenant(INSTALLATION, (tx) =>
      issueLinkToken(tx, INSTALLATION, "T0GATE", "U0LATE", clock.now()),
    );
    const cookie = await signIn("alice", `/slack/link/${token}`);
    clock.advance(10 * 60_000 + 1000);
    const page = await fetch(`${w.app.url}/slack/link/${token}`, { ...manual, headers: { cookie } });
    expect(page.status).toBe(410);
    expect((await links()).map((l) => l.user_id)).not.toContain("U0LATE");
  });
});
