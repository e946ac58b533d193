import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { expireDue } from "../../src/gates/expiry.ts";
import { findProposal } from "../../src/proposals/store.ts";
import { ProposalStateError } from "../../src/proposals/state.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { deploymentProtectionRule, requestedAction } from "../support/fixtures.ts";

// A proposal whose stored state does not read under its kind's schema is
// neither decided nor approved: the handler stops with ProposalStateError,
// the row keeps its status, no decision is audited and no approval reaches
// GitHub.

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const PR = 2;
const SHA = "a".repeat(40);
const CALLBACK = "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule";
let installationId = 19000;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});
beforeEach(async () => {
  installationId += 1;
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake });
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}, deploy-agent]\napprovals: { required: 1 }\n`);
  fake.setPermission(REPO, "alice", "write");
  fake.setPermission(REPO, "runner", "admin");
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

/** Overwrite a proposal's stored state as a damaged row or a bad migration would (owner role, outside the app). */
async function corrupt(id: string, state: unknown): Promise<void> {
  await t.owner.query("UPDATE proposals SET state = $2 WHERE id = $1", [id, JSON.stringify(state)]);
}

/** Deliver without waiting for success, then wait until the processor's first try failed; returns the error it recorded. */
async function deliverFailing(event: string, payload: unknown): Promise<string> {
  const id = randomUUID();
  const res = await app.deliver(event, payload, { id, settle: false });
  expect(res.status).toBe(200);
  for (let i = 0; i < 1500; i += 1) {
    const [row] = await t.db.query<{ last_error: string | null; processed: boolean }>(
      "SELECT last_error, processed_at IS NOT NULL AS processed FROM webhook_inbox WHERE app_id = $1 AND delivery_id = $2",
      [TEST_APP_ID, id],
    );
    expect(row?.processed ?? false).toBe(false);
    if (row?.last_error) return row.last_error;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`delivery ${id} neither failed nor was processed`);
}

const decisions = async (id: string) =>
  (await t.db.tenant(installationId, (tx) => readAudit(tx, installationId))).filter(
    (e) => e.subject === id && e.action === "decision.recorded",
  );

describe("an unreadable proposal state", () => {
  it("is refused where the row is read, naming the field", async () => {
    const payload = deploymentProtectionRule({
      installationId,
      environment: "production",
      sha: SHA,
      runId: 77,
      sender: "runner",
    });
    expect((await app.deliver("deployment_protection_rule", payload)).status).toBe(200);
    await app.server.worker.drain();
    const run = fake.checkRuns(REPO).find((r) => r.name === "Agent Gate: deploy to production")!;
    await corrupt(run.external_id!, { votes: "alice approved" });
    const read = t.db.tenant(installationId, (tx) => findProposal(tx, run.external_id!));
    await expect(read).rejects.toThrow(ProposalStateError);
    await expect(read).rejects.toThrow(/unreadable deploy state \(votes: /);
  });

  it("keeps a deploy pending when an eligible user clicks Approve: no decision, no callback", async () => {
    const payload = deploymentProtectionRule({
      installationId,
      environment: "production",
      sha: SHA,
      runId: 77,
      sender: "runner",
    });
    expect((await app.deliver("deployment_protection_rule", payload)).status).toBe(200);
    await app.server.worker.drain();
    const run = fake.checkRuns(REPO).find((r) => r.name === "Agent Gate: deploy to production")!;
    const id = run.external_id!;
    await corrupt(id, {
      votes: [{ actor: { login: "alice", type: "User", permission: "admin" }, vote: "approve" }],
      decision: { status: "approved" },
    });

    const error = await deliverFailing(
      "check_run",
      requestedAction({
        installationId,
        appId: TEST_APP_ID,
        proposalId: id,
        checkRunId: run.id,
        identifier: "approve",
        clicker: "alice",
        clickerType: "User",
      }),
    );
    // The inbox keeps the error's code only.
    expect(error).toBe("proposal_state_unreadable");
    await app.server.worker.drain();
    const [row] = await t.owner.query<{ status: string; approvers: string[] }>(
      "SELECT status, approvers FROM proposals WHERE id = $1",
      [id],
    );
    expect(row).toEqual({ status: "pending", approvers: [] });
    expect(await decisions(id)).toEqual([]);
    expect(fake.callsTo("POST", CALLBACK)).toEqual([]);
    expect(fake.checkRuns(REPO).find((r) => r.id === run.id)?.conclusion).toBe("action_required");
  });

  it("keeps a commit proposal waiting when an eligible reviewer approves its head", async () => {
    const opened = example("pull_request", "opened", installationId);
    opened.pull_request.user = { ...opened.pull_request.user, login: AGENT, type: "User" };
    opened.pull_request.head.sha = SHA;
    opened.sender = { ...opened.sender, login: AGENT, type: "User" };
    expect((await app.deliver("pull_request", opened)).status).toBe(200);
    await app.server.worker.drain();
    const [proposal] = await t.owner.query<{ id: string }>(
      "SELECT id FROM proposals WHERE installation_id = $1 AND kind = 'commit'",
      [installationId],
    );
    await corrupt(proposal!.id, { decision: { status: "approved", approvers: "alice" } });
    const before = await decisions(proposal!.id);

    fake.setReviews(REPO, PR, [
      {
        id: 1,
        user: { login: "alice", id: 1, type: "User" },
        state: "APPROVED",
        commit_id: SHA,
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);
    const submitted = example("pull_request_review", "submitted", installationId);
    submitted.pull_request.user = { ...submitted.pull_request.user, login: AGENT, type: "User" };
    submitted.pull_request.head.sha = SHA;
    submitted.review = {
      ...submitted.review,
      user: { ...submitted.review.user, login: "alice", type: "User" },
      state: "approved",
      commit_id: SHA,
    };
    submitted.sender = { ...submitted.sender, login: "alice", type: "User" };
    expect(await deliverFailing("pull_request_review", submitted)).toBe("proposal_state_unreadable");
    await expect(t.db.tenant(installationId, (tx) => findProposal(tx, proposal!.id))).rejects.toThrow(
      /unreadable commit state \(decision\.approvers: /,
    );
    await app.server.worker.drain();

    const [row] = await t.owner.query<{ status: string; approvers: string[] }>(
      "SELECT status, approvers FROM proposals WHERE id = $1",
      [proposal!.id],
    );
    expect(row).toEqual({ status: "pending", approvers: [] });
    expect(await decisions(proposal!.id)).toEqual(before);
    const runs = fake.checkRuns(REPO).filter((r) => r.head_sha === SHA && r.name === "Agent Gate");
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe("in_progress");
  });

  it("is not expired, and does not hold up the expiry of the others", async () => {
    // Earlier tests' deadlines must not expire into this test's fake.
    await t.db.query("DELETE FROM proposal_deadlines");
    for (const runId of [77, 78]) {
      const payload = deploymentProtectionRule({
        installationId,
        environment: "production",
        sha: SHA,
        runId,
        sender: "runner",
      });
      expect((await app.deliver("deployment_protection_rule", payload)).status).toBe(200);
    }
    await app.server.worker.drain();
    const runs = fake.checkRuns(REPO).filter((r) => r.name === "Agent Gate: deploy to production");
    expect(runs).toHaveLength(2);
    const [damaged, sound] = [runs[0]!.external_id!, runs[1]!.external_id!];
    await corrupt(damaged, { decision: "expired" });

    const later = new Date(Date.now() + 365 * 86_400_000);
    await expect(expireDue(t.db, later)).rejects.toThrow(ProposalStateError);
    expect(await expireDue(t.db, later)).toBe(0);
    await app.server.worker.drain();
    const rows = await t.owner.query<{ id: string; status: string; reason: string | null }>(
      "SELECT id, status, reason FROM proposals WHERE id = ANY($1) ORDER BY id",
      [[damaged, sound]],
    );
    expect(Object.fromEntries(rows.map((row) => [row.id, [row.status, row.reason]]))).toEqual({
      [damaged]: ["pending", null],
      [sound]: ["rejected", "expired"],
    });
    expect(fake.callsTo("POST", CALLBACK).map((call) => (call.body as { state: string }).state)).toEqual(["rejected"]);
  });
});
