import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { RateLimits } from "../../src/github/rate-limit.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const T0 = new Date("2026-12-01T12:00:00Z");
const resetIn = (seconds: number) => T0.getTime() / 1000 + seconds;

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let slept: number[];
let installationId = 9300;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
  slept = [];
  // The clock stands still and the sleeper only records: what is asserted is how long the app asked to wait.
  const rateLimits = new RateLimits({
    now: () => T0.getTime(),
    sleep: async (ms) => void slept.push(ms),
    threshold: 100,
  });
  app = await startTestApp({ db: t.db, fake, now: () => T0, rateLimits });
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});
beforeEach(() => {
  installationId += 1;
  slept.length = 0;
});

async function openAgentPr(sha: string) {
  const payload = example("pull_request", "opened", installationId);
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  expect((await app.deliver("pull_request", payload)).status).toBe(200);
}

describe("GitHub rate limits on writes", () => {
  it("waits for the window's reset when GitHub says nothing remains, then writes", async () => {
    fake.rateLimit(0, resetIn(60));
    await openAgentPr("1".repeat(40));
    await app.server.worker.drain();
    expect(
      fake
        .callsTo("POST", "/repos/{owner}/{repo}/check-runs")
        .filter((c) => (c.body as { head_sha: string }).head_sha === "1".repeat(40)),
    ).toHaveLength(1);
    expect(slept.length).toBeGreaterThan(0);
    expect(new Set(slept)).toEqual(new Set([60_000]));
  });

  it("spreads calls when few remain, and does not slow down when plenty do", async () => {
    fake.rateLimit(9, resetIn(100));
    await openAgentPr("2".repeat(40));
    await app.server.worker.drain();
    expect(slept.length).toBeGreaterThan(0);
    expect(new Set(slept)).toEqual(new Set([10_000]));

    installationId += 1;
    slept.length = 0;
    fake.rateLimit(4000, resetIn(3600));
    await openAgentPr("3".repeat(40));
    await app.server.worker.drain();
    expect(slept).toEqual([]);
  });

  it("retries a write refused by the rate limit (403, nothing remaining) no earlier than the reset", async () => {
    fake.rateLimit(4000, resetIn(3600));
    await openAgentPr("4".repeat(40));
    fake.failNext("POST", "/repos/{owner}/{repo}/check-runs", 1, 403, {
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(resetIn(900)),
    });
    expect(await app.server.worker.runOnce()).toBe(true);
    const [job] = await t.db.query<{ run_after: Date; last_error: string }>(
      "SELECT run_after, last_error FROM outbox WHERE installation_id = $1 AND done_at IS NULL",
      [installationId],
    );
    expect(job!.last_error).toContain("403");
    expect(job!.run_after.getTime()).toBe(T0.getTime() + 900_000);
  });

  it("retries a write refused by a secondary limit (429 with retry-after) no earlier than GitHub asked", async () => {
    fake.rateLimit(4000, resetIn(3600));
    await openAgentPr("5".repeat(40));
    fake.failNext("POST", "/repos/{owner}/{repo}/check-runs", 1, 429, { "retry-after": "120" });
    expect(await app.server.worker.runOnce()).toBe(true);
    const [job] = await t.owner.query<{ run_after: Date }>(
      "SELECT run_after FROM outbox WHERE installation_id = $1 AND done_at IS NULL",
      [installationId],
    );
    expect(job!.run_after.getTime()).toBe(T0.getTime() + 120_000);
  });
});
