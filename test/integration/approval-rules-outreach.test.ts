import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { bearer, issueToken, seedInstallations, verifySite } from "./api-harness.ts";

// Team rules on the outreach gate: an outreach email needs someone from a named
// team. Proposed through the API, approved by a review of its pull request
// delivered to the webhook endpoint; memberships are asked of GitHub before the
// decision with a token narrowed to members: read.

const KEYS = "k1:" + Buffer.alloc(32, 7).toString("base64");
const REPO = "acme/web";
const MEMBERSHIP = "/orgs/{org}/teams/{team_slug}/memberships/{username}";
const TOKENS = "/app/installations/{installation_id}/access_tokens";
const RULES =
  "agents: [seo-agent]\nrules:\n  - name: comms team sends email\n    if: { kinds: [outreach], channels: [email] }\n    require: { teams: [acme/comms] }\n";
const now = new Date("2026-11-23T10:00:00.000Z");

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, now);
  await verifySite(t.db, 1, "example.com", now);
  token = await issueToken(t.db, now);
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  fake = await GitHubFake.start();
  fake.setRepo(REPO, { private: true, id: 11, default_branch: "main" });
  fake.setRef(REPO, "heads/main", "a".repeat(40));
  fake.setFile(REPO, ".github/agent-gate.yml", RULES);
  fake.setPermission(REPO, "maintainer", "write");
  fake.setPermission(REPO, "writer", "write");
  fake.setTeam("acme/comms", ["writer"]);
  app = await startTestApp({ db: t.db, fake, now: () => now, env: { AGENT_GATE_KEYS: KEYS } });
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

interface Published {
  id: string;
  pull: { number: number; head: { ref: string; sha: string } };
}

async function publish(channel = "email"): Promise<Published> {
  const content =
    channel === "email"
      ? {
          channel,
          recipients: ["jane@customer-mail.example"],
          subject: "Renewal",
          body: "Dear Jane, your renewal is due.",
        }
      : { channel, recipients: ["https://example.com/forum"], body: "Our renewal offer is out." };
  const res = await fetch(`${app.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({ kind: "outreach", repo: REPO, site: "example.com", summary: "renewal", content }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await app.server.worker.drain();
  const pull = fake.pullRequests(REPO).find((p) => p.head.ref === `agent-gate/outreach/${id}`);
  expect(pull).toBeDefined();
  return { id, pull: pull as Published["pull"] };
}

function repository(): Record<string, any> {
  const base = example("pull_request", "opened", 1).repository;
  return { ...base, id: 11, name: "web", full_name: REPO, private: true, owner: { ...base.owner, login: "acme" } };
}

/** An approving review of the published head: GitHub lists it from then on, and the webhook arrives. */
async function approve(p: Published, reviewer: string): Promise<void> {
  const listed = fake.state.reviews.get(`${REPO}\0${p.pull.number}`) ?? [];
  const id = listed.length + 1;
  fake.setReviews(REPO, p.pull.number, [
    ...listed,
    {
      id,
      user: { login: reviewer, id: 900 + id, type: "User" },
      state: "APPROVED",
      commit_id: p.pull.head.sha,
      submitted_at: "2026-11-23T10:01:00Z",
      body: "",
    },
  ]);
  const payload = example("pull_request_review", "submitted", 1);
  payload.repository = repository();
  payload.pull_request.number = p.pull.number;
  payload.pull_request.head = { ...payload.pull_request.head, ref: p.pull.head.ref, sha: p.pull.head.sha };
  payload.pull_request.user = { ...payload.pull_request.user, login: "agent-gate[bot]", type: "Bot" };
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: "User" },
    state: "approved",
    commit_id: p.pull.head.sha,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: "User" };
  const res = await app.deliver("pull_request_review", payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

async function status(id: string): Promise<{ status: string; approvers: string[] }> {
  const res = await fetch(`${app.url}/api/v1/proposals/${id}`, { headers: bearer(token) });
  return (await res.json()) as { status: string; approvers: string[] };
}

function check(p: Published) {
  const runs = fake
    .checkRuns(REPO)
    .filter((run) => run.name === "Agent Gate: outreach" && run.head_sha === p.pull.head.sha);
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

describe("approval rules on the outreach gate", () => {
  it("an outreach email needs a member of the named team; a member's review approves it", async () => {
    fake.setInstallation(1, { permissions: { ...fake.state.installation(1).permissions, members: "read" } });
    const p = await publish();
    await approve(p, "maintainer"); // eligible, not in the team
    expect((await status(p.id)).status).toBe("pending");
    expect(check(p).output.title).toBe('Waiting for rule "comms team sends email"');
    expect(check(p).output.summary).toContain("| comms team sends email | ⏳ waiting | kind outreach; channel email |");

    await approve(p, "writer");
    expect(await status(p.id)).toMatchObject({ status: "approved" });
    expect(check(p).conclusion).toBe("success");
    expect(check(p).output.summary).toMatch(/\| comms team sends email \| ✅ satisfied \|[^\n]*@writer/);
    expect(fake.callsTo("GET", MEMBERSHIP).map((call) => call.path)).toEqual([
      "/orgs/acme/teams/comms/memberships/maintainer",
      "/orgs/acme/teams/comms/memberships/maintainer",
      "/orgs/acme/teams/comms/memberships/writer",
    ]);
    const membersTokens = fake
      .callsTo("POST", TOKENS)
      .filter((call) => "members" in ((call.body as { permissions?: object }).permissions ?? {}));
    expect(membersTokens.map((call) => (call.body as { permissions: object }).permissions)).toEqual([
      { members: "read" },
    ]);
  });

  it("without members: read the team rule fails closed and the check run names the permission to add", async () => {
    const p = await publish();
    await approve(p, "writer");
    expect((await status(p.id)).status).toBe("pending");
    const run = check(p);
    expect(run.conclusion).not.toBe("success");
    expect(run.output.title).toBe('Cannot evaluate rule "comms team sends email"');
    expect(run.output.summary).toMatch(/organization permission "members: read"/);
    expect(run.output.summary).toContain("| comms team sends email | ⛔ cannot evaluate |");
    expect(fake.callsTo("GET", MEMBERSHIP)).toHaveLength(0);
    await app.server.deniedUses.flush();
  });

  it("a post to another channel needs no team, and nobody is asked about", async () => {
    const p = await publish("post");
    await approve(p, "maintainer");
    expect((await status(p.id)).status).toBe("approved");
    expect(check(p).output.summary).toContain("| comms team sends email | ➖ does not apply |");
    expect(fake.callsTo("GET", MEMBERSHIP)).toHaveLength(0);
  });
});
