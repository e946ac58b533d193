import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { verifyChain, GENESIS_HASH } from "../../src/audit/chain.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { deliverySettled } from "../support/inbox.ts";

// GitHub failing the writes the outbox performs: the final state is right and
// there is one decision, however many attempts it took.

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const PR = 2;
const SHA = "a".repeat(40);
const CHECK_RUN = "/repos/{owner}/{repo}/check-runs/{check_run_id}";
let installationId = 5000;

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
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
  fake.setPermission(REPO, "maintainer", "write");
});
afterEach(async () => {
  await app.close();
  await fake.close();
});

function agentPr() {
  const payload = example("pull_request", "opened", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = SHA;
  payload.sender = { ...payload.sender, login: AGENT, type: "User" };
  return payload;
}

function approval() {
  const payload = example("pull_request_review", "submitted", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = SHA;
  payload.review = {
    ...payload.review,
    user: { ...payload.review.user, login: "maintainer", type: "User" },
    state: "approved",
    commit_id: SHA,
  };
  payload.sender = { ...payload.sender, login: "maintainer", type: "User" };
  return payload;
}

describe("GitHub failing writes", () => {
  it.each([
    ["500", 500, {}, 0],
    ["502", 502, {}, 0],
    // Probot's own throttling, left on, held this request in the process instead of failing it to the outbox.
    // The window it names resets at once: what holds the retry back is retry-after, not an hour-long primary window.
    [
      "403 rate limit with retry-after: 1",
      403,
      { "retry-after": "1", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000)) },
      1000,
    ],
  ] as const)(
    "answers %s twice to the decision's check-run update: retried, right in the end, one decision",
    async (_name, status, headers, waitMs) => {
      expect((await app.deliver("pull_request", agentPr())).status).toBe(200);
      await app.server.worker.drain();
      fake.setReviews(REPO, PR, [
        {
          id: 1,
          user: { login: "maintainer", id: 7, type: "User" },
          state: "APPROVED",
          commit_id: SHA,
          submitted_at: "2026-11-23T10:00:00Z",
          body: "",
        },
      ]);
      fake.failNext("PATCH", CHECK_RUN, 2, status, headers);
      expect((await app.deliver("pull_request_review", approval())).status).toBe(200);
      await app.server.worker.drain(20_000);

      const patches = fake.callsTo("PATCH", CHECK_RUN);
      expect(patches.length).toBeGreaterThanOrEqual(3);
      const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === SHA && run.name === "Agent Gate");
      expect(runs).toHaveLength(1);
      expect(runs[0]!.conclusion).toBe("success");
      const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
      expect(events.filter((e) => e.action === "decision.recorded").map((e) => e.outcome)).toEqual([
        "pending",
        "approved",
      ]);
      expect(verifyChain(events, GENESIS_HASH)).toBeNull();
      // Each retry waited at least what GitHub asked for (the backoff floor otherwise).
      const attempts = events.filter((e) => e.action === "github.write" && e.data.operation !== "checks.create");
      expect(attempts.map((e) => e.outcome)).toEqual(["retrying", "retrying", "ok"]);
      for (let i = 1; i < attempts.length; i += 1) {
        expect(Date.parse(attempts[i]!.created_at) - Date.parse(attempts[i - 1]!.created_at)).toBeGreaterThanOrEqual(
          waitMs,
        );
      }
      const [left] = await t.owner.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM outbox WHERE installation_id = $1 AND done_at IS NULL",
        [installationId],
      );
      expect(left?.n).toBe(0);
    },
  );

  it("acknowledges at once while a slow GitHub read holds the decision, approves nothing meanwhile, and decides once when GitHub answers", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.on("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", async () => {
      await held;
      return { status: 200, body: [] };
    });
    const id = `slow-${installationId}`;
    const res = await app.deliver("pull_request", agentPr(), { id, settle: false });
    expect(res.status).toBe(200);
    const seen = () => t.owner.query("SELECT 1 FROM webhook_deliveries WHERE delivery_id = $1", [id]);
    expect(await seen()).toHaveLength(0);
    const [none] = await t.owner.query<{ n: number }>(
      "SELECT count(*)::int8 AS n FROM proposals WHERE installation_id = $1",
      [installationId],
    );
    expect(none?.n).toBe(0);
    // GitHub sends it again meanwhile: already held, acknowledged, not recorded twice.
    const again = await app.deliver("pull_request", agentPr(), { id, settle: false });
    expect(await again.json()).toMatchObject({ ok: true, duplicate: true });

    release();
    await deliverySettled(t.db, TEST_APP_ID, id);
    expect(await seen()).toHaveLength(1);
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.filter((e) => e.action === "webhook.failed")).toHaveLength(0);
    expect(events.filter((e) => e.action === "webhook.received")).toHaveLength(1);
    expect(events.filter((e) => e.action === "proposal.created")).toHaveLength(1);
    expect(verifyChain(events, GENESIS_HASH)).toBeNull();
    await app.server.worker.drain();
  });
});
