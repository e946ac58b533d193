import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";

const REPO = "Codertocat/Hello-World";
const PACE_MS = 25;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [burst-agent]\n");
  app = await startTestApp({ db: t.db, fake, paceMs: PACE_MS });
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

function agentPr(installationId: number, number: number) {
  const payload = example("pull_request", "opened", installationId);
  payload.number = number;
  payload.pull_request.number = number;
  payload.pull_request.head.sha = number.toString(16).padStart(40, "0");
  payload.pull_request.user = { ...payload.pull_request.user, login: "burst-agent" };
  return payload;
}

async function writeTimes(installationId: number): Promise<number[]> {
  const rows = await t.db.tenant(installationId, (tx) =>
    tx.query<{ created_at: Date }>(
      "SELECT created_at FROM audit_events WHERE installation_id = $1 AND action = 'github.write' ORDER BY seq",
      [installationId],
    ),
  );
  return rows.map((row) => row.created_at.getTime());
}

describe("outbox under a burst", { timeout: 120_000 }, () => {
  it("acknowledges 100 agent PRs before any GitHub write, then writes each check run once at the paced rate", async () => {
    const burst = await Promise.all(
      Array.from({ length: 100 }, (_, i) => app.deliver("pull_request", agentPr(61, i + 1))),
    );
    expect(burst.map((res) => res.status)).toEqual(Array(100).fill(200));
    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs")).toHaveLength(0);
    expect((await app.server.worker.backlog()).depth).toBe(100);

    await app.server.worker.drain(60_000);
    const creates = fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs");
    expect(creates).toHaveLength(100);
    const shas = creates.map((call) => (call.body as { head_sha: string }).head_sha);
    expect(new Set(shas).size).toBe(100);
    const times = await writeTimes(61);
    expect(times).toHaveLength(100);
    // Each write reserves its slot before calling GitHub, so the recorded times
    // jitter by the call's own duration; across the run the pace holds.
    expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(99 * PACE_MS * 0.9);
    fake.assertClean();
  });

  it("lets two installations' writes proceed side by side", async () => {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        app.deliver("pull_request", agentPr(71, 200 + i)),
        app.deliver("pull_request", agentPr(72, 300 + i)),
      ]).flat(),
    );
    await app.server.worker.drain(60_000);
    const a = await writeTimes(71);
    const b = await writeTimes(72);
    expect(a).toHaveLength(10);
    expect(b).toHaveLength(10);
    // Interleaved: B's writes did not wait for all of A's.
    expect(Math.min(...b)).toBeLessThan(Math.max(...a));
    expect(Math.min(...a)).toBeLessThan(Math.max(...b));
  });

  it("sends a decision ahead of queued progress text", async () => {
    for (let i = 0; i < 20; i += 1) await app.deliver("pull_request", agentPr(81, 400 + i));
    // The first PR's decision arrives while 20 progress writes are queued.
    fake.setPermission(REPO, "maintainer", "write");
    const first = agentPr(81, 400);
    fake.setReviews(REPO, 400, [
      {
        id: 1,
        user: { login: "maintainer", id: 1, type: "User" },
        state: "APPROVED",
        commit_id: first.pull_request.head.sha,
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);
    const review = example("pull_request_review", "submitted", 81);
    review.pull_request = first.pull_request;
    review.review = {
      ...review.review,
      user: { ...review.review.user, login: "maintainer" },
      state: "approved",
      commit_id: first.pull_request.head.sha,
    };
    review.sender = { ...review.sender, login: "maintainer" };
    expect((await app.deliver("pull_request_review", review)).status).toBe(200);
    const before = fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs").length;
    await app.server.worker.runOnce();
    const next = fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs").slice(before)[0];
    expect(next?.body).toMatchObject({ head_sha: first.pull_request.head.sha, conclusion: "success" });
    await app.server.worker.drain(60_000);
    // The coalesced progress write for PR 400 was never sent: its check run was written once.
    const forFirst = fake.checkRuns(REPO).filter((run) => run.head_sha === first.pull_request.head.sha);
    expect(forFirst).toHaveLength(1);
  });
});
