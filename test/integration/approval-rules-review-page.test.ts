import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { Clock } from "./api-harness.ts";
import { DEPLOY, INSTALLATION, REPO, startReviewWorld, submit, type ReviewWorld } from "./review-harness.ts";

// A team rule decided on the review page: the vote takes castVote's path, and
// the memberships are asked of GitHub before it is recorded, with a token
// narrowed from the installation's to members: read.

const MEMBERSHIP = "/orgs/{org}/teams/{team_slug}/memberships/{username}";
const clock = new Clock(new Date().toISOString());
let t: TestDatabase;
let w: ReviewWorld;

beforeAll(async () => {
  t = await createTestDatabase();
  w = await startReviewWorld(t, clock.now);
  w.fake.setFile(
    REPO,
    ".github/agent-gate.yml",
    "agents: [deploy-agent]\nrules:\n  - name: release team deploys\n    if: { kinds: [deploy] }\n    require: { teams: [acme/release] }\n",
  );
  w.fake.setTeam("acme/release", ["alice"]);
});
afterAll(async () => {
  await w?.close();
  await t?.drop();
});

const manual = { redirect: "manual" } as const;

function cookieOf(res: Response, name: RegExp): string {
  const found = res.headers.getSetCookie().find((c) => name.test(c.split("=")[0]!));
  if (!found) throw new Error(`no ${name} cookie in ${res.status}`);
  return found;
}

/** GitHub sign-in as a browser does it; returns the session cookie (name=value). */
async function signIn(login: string, page: string): Promise<string> {
  w.fake.signInAs(login);
  const visit = await fetch(`${w.app.url}${page}`, manual);
  const login1 = await fetch(new URL(visit.headers.get("location")!, w.app.url), manual);
  const state = cookieOf(login1, /agent_gate_oauth/).split(";")[0]!;
  const authorize = await fetch(login1.headers.get("location")!, manual);
  const callback = await fetch(authorize.headers.get("location")!, { ...manual, headers: { cookie: state } });
  expect(callback.status).toBe(303);
  return cookieOf(callback, /agent_gate_session/).split(";")[0]!;
}

async function approveOnPage(cookie: string, id: string, digest: string): Promise<string | null> {
  const html = await (await fetch(`${w.app.url}/proposals/${id}`, { ...manual, headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const res = await fetch(`${w.app.url}/proposals/${id}/decision`, {
    ...manual,
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ vote: "approve", digest, csrf }),
  });
  expect(res.status).toBe(303);
  await w.app.server.worker.drain();
  return res.headers.get("location");
}

describe("a team rule on the review page", () => {
  it("fails closed without members: read, naming the permission; once granted, the member's vote approves", async () => {
    const { id, digest } = await submit(w, DEPLOY);
    await w.app.server.worker.drain();
    const cookie = await signIn("alice", `/proposals/${id}`);
    const run = () => w.fake.checkRuns(REPO).find((r) => r.external_id === id)!;

    expect(await approveOnPage(cookie, id, digest)).toBe(`/proposals/${id}?vote=counted`);
    expect(run().conclusion).toBe("action_required");
    expect(run().output.title).toBe('Cannot evaluate rule "release team deploys"');
    expect(run().output.summary).toMatch(/organization permission "members: read"/);
    expect(w.fake.callsTo("GET", MEMBERSHIP)).toHaveLength(0);
    await w.app.server.deniedUses.flush();

    w.fake.setInstallation(INSTALLATION, {
      permissions: { ...w.fake.state.installation(INSTALLATION).permissions, members: "read" },
    });
    expect(await approveOnPage(cookie, id, digest)).toBe(`/proposals/${id}?vote=counted`);
    expect(run().conclusion).toBe("success");
    expect(run().output.summary).toMatch(/\| release team deploys \| ✅ satisfied \|[^\n]*@alice/);
    expect(w.fake.callsTo("GET", MEMBERSHIP).map((call) => call.path)).toEqual([
      "/orgs/acme/teams/release/memberships/alice",
    ]);
    w.fake.assertClean();
  });
});
