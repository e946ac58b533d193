import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit, type AuditInput } from "../../src/audit/log.ts";
import type { Decision } from "../../src/policy/decision.ts";
import { newProposalId } from "../../src/proposals/ids.ts";
import { recordDecision } from "../../src/proposals/recorder.ts";
import { recordSuperseded, recordUninstalled } from "../../src/proposals/recorder-bulk.ts";
import { ProposalStateError } from "../../src/proposals/state.ts";
import {
  announceDecision,
  DECIDED_CHANNEL,
  findProposal,
  insertProposal,
  type NewProposal,
  type ProposalKind,
  type ProposalOf,
} from "../../src/proposals/store.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

// The one recorder of proposal changes (src/proposals/recorder.ts), on the
// real store: for each kind of change, the row, the audit events, the outbox
// jobs and the announcement to long polls.

const REPO = "Codertocat/Hello-World";
const T0 = new Date("2026-11-30T10:00:00Z");
const LATER = new Date("2026-11-30T10:05:00Z");
let installationId = 17000;

let t: TestDatabase;
let heard: string[] = [];
let stopListening: () => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase();
  stopListening = await t.db.listen(DECIDED_CHANNEL, (id) => heard.push(id));
});
afterAll(async () => {
  await stopListening();
  await t.drop();
});
beforeEach(async () => {
  installationId += 1;
  await recordInstallation(t.db, { id: installationId, account: `account-${installationId}` }, T0);
  await recordRepositories(t.db, installationId, [{ id: installationId, full_name: REPO }], [], T0);
  // What earlier tests announced has been heard before this one starts.
  await forgetAnnounced();
});

function create<K extends ProposalKind>(kind: K, more: Partial<NewProposal<K>> = {}): Promise<ProposalOf<K>> {
  return t.db.tenant(installationId, (tx) =>
    insertProposal(tx, {
      id: newProposalId(),
      installationId,
      repo: REPO,
      repoId: installationId,
      kind,
      status: "pending",
      digest: "d".repeat(64),
      headSha: "a".repeat(40),
      prNumber: kind === "commit" ? 7 : null,
      author: "deploy-agent",
      summary: `a ${kind} proposal`,
      details: {},
      state: {} as never,
      expiresAt: new Date(T0.getTime() + 3_600_000),
      now: T0,
      ...more,
    }),
  );
}

const reread = async (id: string) => (await t.db.tenant(installationId, (tx) => findProposal(tx, id)))!;
const events = async (subject: string) =>
  (await t.db.tenant(installationId, (tx) => readAudit(tx, installationId))).filter((e) => e.subject === subject);
const jobs = (id: string) =>
  t.db.tenant(installationId, (tx) =>
    tx.query<{ operation: string; priority: number; coalesce_key: string }>(
      "SELECT operation, priority, coalesce_key FROM outbox WHERE payload->>'proposal_id' = $1 ORDER BY id",
      [id],
    ),
  );
const deadline = async (id: string) =>
  (await t.db.query<{ expires_at: Date }>("SELECT expires_at FROM proposal_deadlines WHERE proposal_id = $1", [id]))[0]
    ?.expires_at ?? null;

/** The ids announced on DECIDED_CHANNEL up to now: a marker announced last is heard after everything before it. */
async function announced(): Promise<string[]> {
  const marker = `marker-${Math.random()}`;
  await t.db.tenant(installationId, (tx) => announceDecision(tx, marker));
  for (let i = 0; i < 200 && !heard.includes(marker); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(heard).toContain(marker);
  return heard.filter((id) => !id.startsWith("marker-"));
}

/** Forget what was announced so far (the inserts of decided rows), once it has all been heard. */
async function forgetAnnounced(): Promise<void> {
  await announced();
  heard = [];
}

function decision(status: Decision["status"], approvers: string[] = []): Decision {
  return {
    status,
    required: 1,
    approvers,
    rejectedBy: status === "rejected" ? ["bob"] : [],
    refused: [],
    reasons: status === "rejected" ? ["bob rejected it"] : [],
    title:
      status === "approved"
        ? `Approved by ${approvers.join(", ")}`
        : status === "rejected"
          ? "Rejected by bob"
          : "Waiting for approval (0/1)",
  };
}

const vote = {
  actor: { login: "alice", type: "User", permission: "write" as const },
  vote: "approve" as const,
  at: LATER.toISOString(),
  via: "check_run",
};

describe("the decision recorder", () => {
  it("records a pending tally: state and event, the check-run text queued as progress, nothing announced", async () => {
    const p = await create("deploy", { details: { run_id: 77 } });
    const pending = decision("pending");
    const status = await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        p,
        {
          type: "tally",
          decision: pending,
          state: { ...p.state, votes: [vote], decision: pending, required: 1 },
          actor: "alice",
          actorIsBot: false,
        },
        LATER,
      ),
    );
    expect(status).toBe("pending");
    const row = await reread(p.id);
    expect(row).toMatchObject({ status: "pending", reason: null, decided_at: null, approvers: [] });
    expect(row.kind === "deploy" && row.state.votes).toEqual([vote]);
    expect(row.updated_at).toEqual(LATER);
    const [event, ...more] = await events(p.id);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      action: "decision.recorded",
      outcome: "pending",
      actor: "alice",
      repo: REPO,
      data: {
        kind: "deploy",
        digest: p.digest,
        decision: { status: "pending", title: "Waiting for approval (0/1)", approvers: [] },
      },
    });
    expect(await jobs(p.id)).toEqual([{ operation: "check_run.sync", priority: 1, coalesce_key: `proposal:${p.id}` }]);
    expect(await announced()).toEqual([]);
  });

  it("records an approval: status, approvers and time; the deployment callback queued ahead of the check run; announced", async () => {
    const p = await create("deploy", { details: { run_id: 77 } });
    const approved = decision("approved", ["alice"]);
    await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        p,
        {
          type: "tally",
          decision: approved,
          state: { votes: [vote], decision: approved },
          summary: { rejected_by: [] },
        },
        LATER,
      ),
    );
    expect(await reread(p.id)).toMatchObject({
      status: "approved",
      approvers: ["alice"],
      decided_at: LATER,
      reason: null,
    });
    const [event] = await events(p.id);
    expect(event).toMatchObject({
      action: "decision.recorded",
      outcome: "approved",
      data: { decision: { status: "approved", approvers: ["alice"], rejected_by: [] } },
    });
    expect((await jobs(p.id)).map((job) => [job.operation, job.priority])).toEqual([
      ["deployment.review", 0],
      ["check_run.sync", 0],
    ]);
    expect(await announced()).toEqual([p.id]);
  });

  it("records a rejection with its first reason; no callback for a proposal without a run", async () => {
    const p = await create("deploy");
    await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        p,
        { type: "tally", decision: decision("rejected"), state: { decision: decision("rejected") } },
        LATER,
      ),
    );
    expect(await reread(p.id)).toMatchObject({ status: "rejected", reason: "bob rejected it", decided_at: LATER });
    expect((await jobs(p.id)).map((job) => job.operation)).toEqual(["check_run.sync"]);
    expect(await announced()).toEqual([p.id]);
  });

  it("records a commit evaluation into the caller's events, keeping the first decision time", async () => {
    const p = await create("commit", { status: "rejected", decidedAt: T0, reason: "changes requested" });
    await forgetAnnounced();
    const gathered: AuditInput[] = [];
    const state = {
      decision: { ...decision("approved", ["bob"]), agentProposed: true },
      facts_digest: "f".repeat(64),
      config_digest: "c".repeat(64),
      required: 1,
    };
    await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        p,
        {
          type: "evaluated",
          status: "approved",
          state,
          approvers: ["bob"],
          reason: null,
          actor: "bob",
          actorIsBot: false,
          actorIsAgent: false,
        },
        LATER,
        { events: gathered },
      ),
    );
    expect(await reread(p.id)).toMatchObject({ status: "approved", approvers: ["bob"], decided_at: T0, reason: null });
    // Gathered for the caller to append with its others, not appended.
    expect(await events(p.id)).toEqual([]);
    expect(gathered).toEqual([
      {
        action: "decision.recorded",
        outcome: "approved",
        actor: "bob",
        actorIsBot: false,
        actorIsAgent: false,
        repo: REPO,
        subject: p.id,
        data: {
          kind: "commit",
          digest: p.digest,
          facts_digest: "f".repeat(64),
          config_digest: "c".repeat(64),
          decision: { status: "approved", title: "Approved by bob", approvers: ["bob"], refused: [] },
        },
      },
    ]);
    expect(await jobs(p.id)).toEqual([{ operation: "check_run.sync", priority: 0, coalesce_key: `proposal:${p.id}` }]);
    expect(await announced()).toEqual([p.id]);
  });

  it("leaves a row just inserted as it is, adding its event and check run", async () => {
    const state = {
      decision: { ...decision("pending"), agentProposed: true },
      facts_digest: null,
      config_digest: null,
    };
    const p = await create("commit", { state });
    const gathered: AuditInput[] = [];
    await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        p,
        {
          type: "evaluated",
          status: "pending",
          state,
          approvers: [],
          reason: null,
          actor: null,
          actorIsBot: false,
          actorIsAgent: false,
          inserted: true,
        },
        LATER,
        {
          events: gathered,
        },
      ),
    );
    expect((await reread(p.id)).updated_at).toEqual(T0);
    expect(gathered.map((event) => [event.action, event.outcome])).toEqual([["decision.recorded", "pending"]]);
    expect((await jobs(p.id)).map((job) => [job.operation, job.priority])).toEqual([["check_run.sync", 1]]);
  });

  it("expires a proposal: rejected with reason expired, the earlier decision kept under a new title", async () => {
    const waiting = decision("pending");
    const p = await create("deploy", {
      details: { run_id: 5 },
      approvers: [],
      state: { votes: [], decision: waiting, required: 1 },
    });
    await t.db.tenant(installationId, (tx) => recordDecision(tx, p, { type: "expired" }, LATER));
    const row = await reread(p.id);
    expect(row).toMatchObject({ status: "rejected", reason: "expired", decided_at: LATER });
    expect(row.state.decision).toEqual({ ...waiting, status: "rejected", title: "Expired without a decision" });
    expect(await events(p.id)).toMatchObject([
      {
        action: "proposal.expired",
        outcome: "rejected",
        data: { kind: "deploy", digest: p.digest, expires_at: p.expires_at.toISOString() },
      },
    ]);
    expect((await jobs(p.id)).map((job) => job.operation)).toEqual(["deployment.review", "check_run.sync"]);
    expect(await announced()).toEqual([p.id]);
  });

  it("rejects an outreach proposal; its check run is brought up to date only once it was published", async () => {
    const published = await create("outreach", {
      state: {
        mode: "check_run",
        decision: { title: "Waiting for approval (0/1)", approvers: [], refused: [], reasons: [] },
      },
    });
    const unpublished = await create("outreach");
    for (const p of [published, unpublished]) {
      await t.db.tenant(installationId, (tx) =>
        recordDecision(
          tx,
          p,
          { type: "outreach_rejected", reason: "the pull request was closed without merging", actor: "carol" },
          LATER,
        ),
      );
    }
    const row = await reread(published.id);
    expect(row).toMatchObject({
      status: "rejected",
      reason: "the pull request was closed without merging",
      approvers: [],
      decided_at: LATER,
    });
    expect(row.state.decision).toMatchObject({
      title: "Rejected: the pull request was closed without merging",
      reasons: ["the pull request was closed without merging"],
    });
    expect(await events(published.id)).toMatchObject([
      {
        action: "decision.recorded",
        outcome: "rejected",
        actor: "carol",
        data: {
          kind: "outreach",
          decision: { status: "rejected", reason: "the pull request was closed without merging" },
        },
      },
    ]);
    expect((await jobs(published.id)).map((job) => job.operation)).toEqual(["check_run.sync"]);
    expect(await jobs(unpublished.id)).toEqual([]);
    expect((await reread(unpublished.id)).status).toBe("rejected");
    expect((await announced()).sort()).toEqual([published.id, unpublished.id].sort());
  });

  it("publishes an outreach proposal: pull request, head, state and a moved deadline; a decided one does not move", async () => {
    const p = await create("outreach");
    const expiresAt = new Date(T0.getTime() + 86_400_000);
    await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        p,
        {
          type: "published",
          prNumber: 12,
          headSha: "b".repeat(40),
          state: { mode: "pull_request", path: "outreach/x.md", file_sha: "e".repeat(40) },
          expiresAt,
        },
        LATER,
      ),
    );
    const row = await reread(p.id);
    expect(row).toMatchObject({ status: "pending", pr_number: 12, head_sha: "b".repeat(40), expires_at: expiresAt });
    expect(row.state).toEqual({ mode: "pull_request", path: "outreach/x.md", file_sha: "e".repeat(40) });
    expect(await deadline(p.id)).toEqual(expiresAt);
    expect(await events(p.id)).toEqual([]);

    const decided = await create("outreach", { status: "rejected", decidedAt: T0 });
    await t.db.tenant(installationId, (tx) =>
      recordDecision(
        tx,
        decided,
        { type: "published", prNumber: 13, headSha: "c".repeat(40), state: { mode: "pull_request" }, expiresAt },
        LATER,
      ),
    );
    expect(await reread(decided.id)).toMatchObject({ status: "rejected", pr_number: null, state: {} });
  });

  it("reports an outreach configuration error on the proposal, which stays pending", async () => {
    const p = await create("outreach");
    await t.db.tenant(installationId, (tx) =>
      recordDecision(tx, p, { type: "config_error", message: ".github/agent-gate.yml is invalid: expiry: bad" }, LATER),
    );
    expect(await reread(p.id)).toMatchObject({
      status: "pending",
      state: { config_error: ".github/agent-gate.yml is invalid: expiry: bad" },
      updated_at: LATER,
    });
    expect(await events(p.id)).toMatchObject([
      {
        action: "outreach.config_error",
        outcome: "failed",
        data: { error: ".github/agent-gate.yml is invalid: expiry: bad" },
      },
    ]);
    expect(await jobs(p.id)).toEqual([]);
    expect(await announced()).toEqual([]);
  });

  it("supersedes a pull request's commit proposals for other heads, each invalidated and announced", async () => {
    const oldPending = await create("commit", { headSha: "1".repeat(40) });
    const oldApproved = await create("commit", { headSha: "2".repeat(40), status: "approved", decidedAt: T0 });
    const current = await create("commit", { headSha: "3".repeat(40) });
    const otherPull = await create("commit", { headSha: "4".repeat(40), prNumber: 8 });
    await forgetAnnounced();
    const superseded = await t.db.tenant(installationId, (tx) =>
      recordSuperseded(tx, { installationId, repo: REPO, prNumber: 7, headSha: "3".repeat(40) }, "pusher", LATER),
    );
    expect(superseded.map((row) => row.id).sort()).toEqual([oldPending.id, oldApproved.id].sort());
    for (const old of [oldPending, oldApproved]) {
      expect(await reread(old.id)).toMatchObject({
        status: "superseded",
        reason: "a new commit was pushed",
        updated_at: LATER,
      });
      expect(await events(old.id)).toMatchObject([
        {
          action: "proposal.invalidated",
          outcome: "superseded",
          actor: "pusher",
          data: { kind: "commit", old_head: old.head_sha, new_head: "3".repeat(40), pr: 7 },
        },
      ]);
    }
    expect((await reread(current.id)).status).toBe("pending");
    expect((await reread(otherPull.id)).status).toBe("pending");
    expect((await announced()).sort()).toEqual([oldPending.id, oldApproved.id].sort());
  });

  it("rejects the pending proposals of an uninstalled scope, each audited and announced, decided ones untouched", async () => {
    const pending = await create("deploy");
    const decided = await create("deploy", { status: "approved", decidedAt: T0 });
    const elsewhere = await create("deploy", { repo: "Codertocat/Other" });
    await forgetAnnounced();
    const count = await t.db.tenant(installationId, (tx) =>
      recordUninstalled(tx, installationId, ["codertocat/hello-world"], LATER),
    );
    expect(count).toBe(1);
    expect(await reread(pending.id)).toMatchObject({ status: "rejected", reason: "uninstalled", decided_at: LATER });
    expect(await events(pending.id)).toMatchObject([
      {
        action: "proposal.rejected",
        outcome: "rejected",
        data: { reason: "uninstalled", kind: "deploy", digest: pending.digest },
      },
    ]);
    expect((await reread(decided.id)).status).toBe("approved");
    expect((await reread(elsewhere.id)).status).toBe("pending");
    expect(await jobs(pending.id)).toEqual([]);
    expect(await announced()).toEqual([pending.id]);

    await t.db.tenant(installationId, (tx) => recordUninstalled(tx, installationId, null, LATER));
    expect((await reread(elsewhere.id)).status).toBe("rejected");
  });

  it("refuses a new state its kind's schema does not read, writing nothing", async () => {
    const p = await create("deploy", { details: { run_id: 77 } });
    const approved = decision("approved", ["alice"]);
    await expect(
      t.db.tenant(installationId, (tx) =>
        recordDecision(
          tx,
          p,
          { type: "tally", decision: approved, state: { votes: "alice" as never, decision: approved } },
          LATER,
        ),
      ),
    ).rejects.toThrow(ProposalStateError);
    expect(await reread(p.id)).toMatchObject({ status: "pending", state: {} });
    expect(await events(p.id)).toEqual([]);
    expect(await jobs(p.id)).toEqual([]);
  });
});
