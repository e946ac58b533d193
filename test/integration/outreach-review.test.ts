import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { GENESIS_HASH, verifyChain } from "../../src/audit/chain.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { dumpAllRows } from "../support/db-scan.ts";
import { requestedAction } from "../support/fixtures.ts";
import { bearer, issueToken, seedInstallations, verifySite } from "./api-harness.ts";

const KEYS = "k1:" + Buffer.alloc(32, 5).toString("base64");
const REPO = "acme/web";
const ADDRESS = "jane.private@customer-mail.example";
const BODY = "Dear Jane, the renewal price is 5821 euros (offer RNW-5821-QX).";
const now = new Date("2026-11-23T10:00:00.000Z");

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
/** Every log line of every app this file started. */
const logs: string[] = [];

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
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\n");
  fake.setPermission(REPO, "maintainer", "write");
  fake.setPermission(REPO, "second-maintainer", "maintain");
  fake.setPermission(REPO, "reader", "read");
  app = await startTestApp({ db: t.db, fake, now: () => now, env: { AGENT_GATE_KEYS: KEYS } });
});
afterEach(async () => {
  logs.push(...app.logs);
  await app.close();
  fake.assertClean();
  await fake.close();
});

interface Published {
  id: string;
  /** The review page link the API answered with. */
  url: string;
  digest: string;
  pull: { number: number; head: { ref: string; sha: string } };
  path: string;
}

async function propose(body = BODY): Promise<{ id: string; digest: string; url: string }> {
  const res = await fetch(`${app.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({
      kind: "outreach",
      repo: REPO,
      site: "example.com",
      summary: "renewal",
      content: { channel: "email", recipients: [ADDRESS], subject: "Renewal", body },
    }),
  });
  expect(res.status).toBe(201);
  const created = (await res.json()) as { id: string; digest: string; url: string };
  await app.server.worker.drain();
  return created;
}

async function publish(): Promise<Published> {
  const { id, digest, url } = await propose();
  const pull = fake.pullRequests(REPO).find((p) => p.head.ref === `agent-gate/outreach/${id}`);
  expect(pull).toBeDefined();
  return { id, digest, url, pull: pull as Published["pull"], path: `.agent-gate/outreach/${id}.md` };
}

function repository(): Record<string, any> {
  const base = example("pull_request", "opened", 1).repository;
  return { ...base, id: 11, name: "web", full_name: REPO, private: true, owner: { ...base.owner, login: "acme" } };
}

/** A pull_request webhook about the proposal's pull request, as GitHub sends it. */
function pullEvent(action: string, p: Published, o: { sha?: string; sender?: string; merged?: boolean } = {}) {
  const payload = example("pull_request", action === "closed" ? "closed" : "opened", 1);
  payload.action = action;
  payload.repository = repository();
  payload.pull_request.number = p.pull.number;
  payload.pull_request.head = { ...payload.pull_request.head, ref: p.pull.head.ref, sha: o.sha ?? p.pull.head.sha };
  payload.pull_request.user = { ...payload.pull_request.user, login: "agent-gate[bot]", type: "Bot" };
  payload.pull_request.merged = o.merged ?? false;
  payload.sender = { ...payload.sender, login: o.sender ?? "maintainer", type: "User" };
  return payload;
}

function reviewObject(reviewer: string, state: string, commitId: string, type = "User") {
  const id = Math.floor(Math.random() * 1e9);
  return {
    id,
    user: { login: reviewer, id, type },
    state,
    commit_id: commitId,
    submitted_at: "2026-11-23T10:01:00Z",
    body: "",
  };
}

/** A review is submitted: GitHub lists it from then on, and the webhook arrives. */
async function review(
  p: Published,
  reviewer: string,
  state: string,
  o: { commitId?: string; type?: string; head?: string } = {},
) {
  const listed = fake.state.reviews.get(`${REPO}\0${p.pull.number}`) ?? [];
  fake.setReviews(REPO, p.pull.number, [
    ...listed,
    reviewObject(reviewer, state, o.commitId ?? p.pull.head.sha, o.type),
  ]);
  const payload = example("pull_request_review", "submitted", 1);
  payload.repository = repository();
  payload.pull_request.number = p.pull.number;
  payload.pull_request.head = { ...payload.pull_request.head, ref: p.pull.head.ref, sha: o.head ?? p.pull.head.sha };
  payload.pull_request.user = { ...payload.pull_request.user, login: "agent-gate[bot]", type: "Bot" };
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: reviewer, type: o.type ?? "User" },
    state: state.toLowerCase(),
    commit_id: o.commitId ?? p.pull.head.sha,
  };
  payload.sender = { ...payload.sender, login: reviewer, type: o.type ?? "User" };
  const res = await app.deliver("pull_request_review", payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

async function deliver(event: string, payload: unknown): Promise<void> {
  const res = await app.deliver(event, payload);
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

async function status(id: string): Promise<{ status: string; reason: string | null; approvers: string[] }> {
  const res = await fetch(`${app.url}/api/v1/proposals/${id}`, { headers: bearer(token) });
  return (await res.json()) as { status: string; reason: string | null; approvers: string[] };
}

function outreachChecks(sha: string) {
  return fake.checkRuns(REPO).filter((run) => run.name === "Agent Gate: outreach" && run.head_sha === sha);
}

async function audit(id: string) {
  return (await t.db.tenant(1, (tx) => readAudit(tx, 1))).filter((event) => event.subject === id);
}

describe("outreach proposals as pull requests", () => {
  it("is approved by an eligible review of the head, and the executor redeems it with the digest", async () => {
    const p = await publish();
    const [waiting] = outreachChecks(p.pull.head.sha);
    expect(waiting).toMatchObject({ conclusion: "action_required", actions: [], details_url: p.url });
    expect(waiting?.output.summary).toMatch(/approve it with a review of this commit/);

    await review(p, "maintainer", "APPROVED");
    expect(await status(p.id)).toMatchObject({ status: "approved", approvers: ["maintainer"] });
    const [check] = outreachChecks(p.pull.head.sha);
    expect(check).toMatchObject({ conclusion: "success", actions: [] });
    expect(check?.output.title).toBe("Approved by maintainer");

    const wrong = await fetch(`${app.url}/api/v1/proposals/${p.id}/redeem`, {
      method: "POST",
      headers: bearer(token),
      body: JSON.stringify({ digest: "0".repeat(64) }),
    });
    expect(wrong.status).toBe(409);
    const redeemed = await fetch(`${app.url}/api/v1/proposals/${p.id}/redeem`, {
      method: "POST",
      headers: bearer(token),
      body: JSON.stringify({ digest: p.digest }),
    });
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toMatchObject({
      redeemed: true,
      digest: p.digest,
      receipt: { receipt: expect.any(String) },
    });
    const decision = (await audit(p.id)).find((e) => e.action === "decision.recorded" && e.outcome === "approved");
    expect(decision?.data).toMatchObject({
      kind: "outreach",
      digest: p.digest,
      head: p.pull.head.sha,
      facts_digest: expect.any(String),
    });
  });

  it("requests reviews of its pull request once per head, from notify.reviewers, never the agent that proposed it", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      'agents: [seo-agent]\nnotify:\n  reviewers: [maintainer, seo-agent, "@acme/comms"]\n',
    );
    const p = await publish();
    await deliver("pull_request", pullEvent("opened", p));
    await deliver("pull_request", pullEvent("reopened", p));
    const calls = fake.callsTo("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers");
    expect(calls.map((call) => [call.path, call.body])).toEqual([
      [
        `/repos/${REPO}/pulls/${p.pull.number}/requested_reviewers`,
        { reviewers: ["maintainer"], team_reviewers: ["comms"] },
      ],
    ]);
    const queued = (await audit(p.id)).filter((event) => event.action === "reviewers.requested");
    expect(queued).toHaveLength(1);
    expect(queued[0]!.data).toMatchObject({
      kind: "outreach",
      head: p.pull.head.sha,
      left_out: [{ who: "seo-agent", reason: expect.stringMatching(/author|agent/) }],
    });
  });

  it.each([
    ["a bot", "helper[bot]", "Bot", /bot/],
    ["a configured agent", "seo-agent", "User", /agent/],
    ["a read-only user", "reader", "User", /read permission/],
  ])("keeps waiting when approved by %s, saying why", async (_name, reviewer, type, reason) => {
    const p = await publish();
    await review(p, reviewer, "APPROVED", { type });
    expect((await status(p.id)).status).toBe("pending");
    expect(outreachChecks(p.pull.head.sha)[0]?.output.summary).toMatch(reason);
  });

  it("needs every required approver, and any eligible change request rejects", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\napprovals:\n  required: 2\n");
    const p = await publish();
    await review(p, "maintainer", "APPROVED");
    expect(await status(p.id)).toMatchObject({ status: "pending", approvers: ["maintainer"] });
    await review(p, "second-maintainer", "CHANGES_REQUESTED");
    expect((await status(p.id)).status).toBe("rejected");
    await review(p, "second-maintainer", "APPROVED");
    expect((await status(p.id)).status).toBe("rejected");
    expect((await audit(p.id)).at(-1)).toMatchObject({
      action: "review.ignored",
      data: { reason: "already rejected" },
    });
  });

  it('rejects with reason "content changed" when a push changes the proposal file, and nothing approves it after', async () => {
    const p = await publish();
    const tampered = fake.pushFile(REPO, p.pull.head.ref, p.path, "Send to: attacker@evil.example\n");
    await deliver("pull_request", pullEvent("synchronize", p, { sha: tampered, sender: "mallory" }));
    expect(await status(p.id)).toMatchObject({ status: "rejected", reason: "content changed" });
    const events = await audit(p.id);
    expect(events.find((e) => e.action === "proposal.invalidated")).toMatchObject({
      outcome: "content_changed",
      actor: "mallory",
      data: { new_head: tampered },
    });
    expect(outreachChecks(p.pull.head.sha)[0]).toMatchObject({ conclusion: "failure" });

    await review(p, "maintainer", "APPROVED", { commitId: tampered, head: tampered });
    expect((await status(p.id)).status).toBe("rejected");
    const redeem = await fetch(`${app.url}/api/v1/proposals/${p.id}/redeem`, {
      method: "POST",
      headers: bearer(token),
      body: JSON.stringify({ digest: p.digest }),
    });
    expect(redeem.status).toBe(409);
  });

  it("rejects when the proposal file is deleted by a push", async () => {
    const p = await publish();
    const removed = fake.pushFile(REPO, p.pull.head.ref, p.path, null);
    await deliver("pull_request", pullEvent("synchronize", p, { sha: removed }));
    expect(await status(p.id)).toMatchObject({ status: "rejected", reason: "content changed" });
  });

  it("follows a push that leaves the file as published: approvals of the old head no longer count", async () => {
    const p = await publish();
    const oldHead = p.pull.head.sha;
    const moved = fake.pushFile(REPO, p.pull.head.ref, "notes.txt", "unrelated\n");
    await deliver("pull_request", pullEvent("synchronize", p, { sha: moved, sender: "second-maintainer" }));
    expect((await status(p.id)).status).toBe("pending");
    expect(outreachChecks(moved)).toHaveLength(1);

    await review(p, "maintainer", "APPROVED", { commitId: oldHead, head: moved });
    expect((await status(p.id)).status).toBe("pending");
    expect(outreachChecks(moved)[0]?.output.summary).toMatch(/older commit/);
    // The user who pushed the new head never approves it.
    await review(p, "second-maintainer", "APPROVED", { commitId: moved, head: moved });
    expect((await status(p.id)).status).toBe("pending");
    expect(outreachChecks(moved)[0]?.output.summary).toMatch(/the user who pushed the head cannot approve it/);
    await review(p, "maintainer", "APPROVED", { commitId: moved, head: moved });
    expect((await status(p.id)).status).toBe("approved");
  });

  it("expires as the repository's expiry says, counted from the proposal's creation", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\nexpiry: 1h\n");
    const p = await publish();
    const view = (await (await fetch(`${app.url}/api/v1/proposals/${p.id}`, { headers: bearer(token) })).json()) as {
      expires_at: string;
    };
    expect(view.expires_at).toBe(new Date(now.getTime() + 3_600_000).toISOString());
    const [deadline] = await t.db.query<{ expires_at: Date }>(
      "SELECT expires_at FROM proposal_deadlines WHERE proposal_id = $1",
      [p.id],
    );
    expect(deadline?.expires_at.toISOString()).toBe(view.expires_at);
  });

  it("rejects when the pull request is closed without merging", async () => {
    const p = await publish();
    await deliver("pull_request", pullEvent("closed", p, { sender: "maintainer" }));
    expect(await status(p.id)).toMatchObject({
      status: "rejected",
      reason: "the pull request was closed without merging",
    });
    expect((await audit(p.id)).find((e) => e.action === "decision.recorded")).toMatchObject({
      outcome: "rejected",
      actor: "maintainer",
    });
    expect(outreachChecks(p.pull.head.sha)[0]).toMatchObject({ conclusion: "failure" });
  });

  it("leaves an approved proposal approved when its pull request is closed afterwards", async () => {
    const p = await publish();
    await review(p, "maintainer", "APPROVED");
    await deliver("pull_request", pullEvent("closed", p, { merged: true }));
    expect((await status(p.id)).status).toBe("approved");
  });

  it("ignores check-run buttons on a proposal decided by reviews", async () => {
    const p = await publish();
    const run = outreachChecks(p.pull.head.sha)[0]!;
    const click = requestedAction({
      installationId: 1,
      appId: TEST_APP_ID,
      proposalId: p.id,
      checkRunId: run.id,
      identifier: "approve",
      clicker: "maintainer",
    });
    click.repository = repository();
    await deliver("check_run", click);
    expect((await status(p.id)).status).toBe("pending");
    expect((await audit(p.id)).at(-1)).toMatchObject({
      action: "vote.ignored",
      data: { reason: expect.stringMatching(/pull request review/) },
    });
  });

  it("sends a look-alike branch that is no proposal's pull request to the commit gate", async () => {
    const payload = example("pull_request", "opened", 1);
    payload.repository = repository();
    payload.pull_request.number = 77;
    payload.pull_request.head = {
      ...payload.pull_request.head,
      ref: "agent-gate/outreach/prp_AAAAAAAAAAAAAAAAAAAA",
      sha: "c".repeat(40),
    };
    payload.pull_request.user = { ...payload.pull_request.user, login: "seo-agent", type: "User" };
    await deliver("pull_request", payload);
    const [check] = fake.checkRuns(REPO).filter((run) => run.head_sha === "c".repeat(40));
    expect(check).toMatchObject({ name: "Agent Gate", status: "in_progress" });
  });
});

describe("outreach proposals as check runs (outreach.mode: check_run)", () => {
  it("opens no pull request, shows the rendered text, and is decided by the buttons", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\noutreach:\n  mode: check_run\n");
    const { id, digest } = await propose("Hello \u202Edlrow\u200B **bold** <img src=x>");
    expect(fake.pullRequests(REPO)).toEqual([]);
    const [run] = fake.checkRuns(REPO).filter((r) => r.external_id === id);
    expect(run).toMatchObject({
      name: "Agent Gate: outreach",
      head_sha: "a".repeat(40),
      conclusion: "action_required",
    });
    expect(run?.actions.map((a: { identifier: string }) => a.identifier)).toEqual(["approve", "reject"]);
    expect(run?.output.text).toContain("⟦U+202E⟧dlrow⟦U+200B⟧");
    expect(run?.output.text).toMatch(/```+text\n[^`]*<img src=x>/);
    expect(run?.output.summary).toContain(digest);

    const click = (clicker: string) => {
      const payload = requestedAction({
        installationId: 1,
        appId: TEST_APP_ID,
        proposalId: id,
        checkRunId: run!.id,
        identifier: "approve",
        clicker,
      });
      payload.repository = repository();
      return payload;
    };
    await deliver("check_run", click("reader"));
    expect((await status(id)).status).toBe("pending");
    await deliver("check_run", click("maintainer"));
    expect(await status(id)).toMatchObject({ status: "approved", approvers: ["maintainer"] });
    const [updated] = fake.checkRuns(REPO).filter((r) => r.external_id === id);
    expect(updated).toMatchObject({ conclusion: "success", actions: [] });
  });
});

it("keeps recipient addresses and body text out of every log line and database row, and the chain verifies", async () => {
  const rows = await dumpAllRows(t.owner);
  expect(rows).toContain("proposals_outreach");
  // Distinctive pieces only: a bare four-digit number turns up in random hex by chance.
  for (const secret of [ADDRESS, "customer-mail", BODY, "RNW-5821-QX", "renewal price"]) {
    expect(rows).not.toContain(secret);
    expect([...logs, ...app.logs].join("\n")).not.toContain(secret);
  }
  const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
  expect(verifyChain(events, GENESIS_HASH)).toBeNull();
});
