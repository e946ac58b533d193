import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake, type GitHubCall } from "../support/github-fake.ts";
import { startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { deliverTo } from "../support/deliver.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { agentPullRequest, listedApproval, reviewSubmitted, shaFor } from "../support/pulls.ts";
import { chainOf, outboxDrained, sendMany, statusOf } from "../support/fault-checks.ts";
import { deliverySettled } from "../support/inbox.ts";

// A burst of 200 agent pull requests in one installation, then an approval of
// the first, against the app in its own process on PostgreSQL: every delivery
// acknowledged without waiting for GitHub, the approval's check state written
// ahead of the queued progress text, the backlog written at the installation's
// pace with nothing lost. (How fast, in figures, is `npm run bench`.)

const REPO = "Codertocat/Hello-World";
const AGENT = "burst-agent";
const INSTALLATION = 7400;
const PULLS = 200;
const PACE_MS = 25;
const KEYS = generateKeyEntry("k1");
const pull = (n: number) => ({ installationId: INSTALLATION, number: n, sha: shaFor(n), agent: AGENT });

const isCheckWrite = (call: GitHubCall) =>
  (call.method === "POST" && call.route === "/repos/{owner}/{repo}/check-runs") ||
  (call.method === "PATCH" && call.route === "/repos/{owner}/{repo}/check-runs/{check_run_id}");

describe.skipIf(backend() === "pglite")("a burst of 200 agent pull requests, then an approval", () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  let app: ProcessApp;

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    fake.setPermission(REPO, "maintainer", "write");
    app = await startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      databaseUrl: t.url!,
      env: { AGENT_GATE_KEYS: KEYS, AGENT_GATE_WRITE_INTERVAL_MS: String(PACE_MS) },
    });
  });
  afterAll(async () => {
    await app?.stop("SIGKILL");
    await fake?.close();
    await t?.drop();
  });

  it("acknowledges every delivery at once, writes the decision first and the backlog at pace, losing nothing", async () => {
    const burst = await sendMany(PULLS, 10, (i) =>
      deliverTo(app.url, TEST_SECRET, "pull_request", agentPullRequest(pull(i + 1)), { id: `burst-open-${i + 1}` }),
    );
    expect(burst.map(statusOf)).toEqual(Array(PULLS).fill(200));
    // Acknowledged without waiting for GitHub: most check runs are still queued.
    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs").length).toBeLessThan(PULLS / 2);
    // Generous for a loaded machine; GitHub gives 10 s.
    for (const sent of burst) expect(sent!.ms).toBeLessThan(5_000);

    fake.setReviews(REPO, 1, [listedApproval("maintainer", shaFor(1))]);
    const sentAt = fake.calls.length;
    const approval = await deliverTo(
      app.url,
      TEST_SECRET,
      "pull_request_review",
      reviewSubmitted({ ...pull(1), reviewer: "maintainer" }),
      { id: "burst-approval" },
    );
    expect(approval.status).toBe(200);
    // Counted from when the approval is processed: its decision committed and queued behind the backlog.
    await deliverySettled(t.db, TEST_APP_ID, "burst-approval", 60_000);
    const acked = fake.calls.length;
    const queuedAtApproval = new Set(
      Array.from({ length: PULLS }, (_, i) => shaFor(i + 1)).filter(
        (sha) =>
          !fake
            .callsTo("POST", "/repos/{owner}/{repo}/check-runs")
            .some((c) => (c.body as { head_sha: string }).head_sha === sha),
      ),
    );
    expect(queuedAtApproval.size).toBeGreaterThan(0);

    await outboxDrained(t.db, 60_000);

    // The decision is the first check write after the approval was processed, bar the one that was in flight. The
    // test sees it processed a poll later, by when the decision may be written already: it counts from the send.
    const firstRun = fake.checkRuns(REPO).find((run) => run.head_sha === shaFor(1))!;
    const writes = fake.calls.slice(sentAt).filter(isCheckWrite);
    const beforeSeenProcessed = fake.calls.slice(sentAt, acked).filter(isCheckWrite).length;
    const decisionAt = writes.findIndex((c) => (c.body as { conclusion?: string }).conclusion === "success");
    expect(decisionAt).toBeGreaterThanOrEqual(0);
    expect(decisionAt).toBeLessThanOrEqual(beforeSeenProcessed + 1);
    expect(
      writes[decisionAt]!.path.endsWith(`/${firstRun.id}`) ||
        (writes[decisionAt]!.body as { head_sha?: string }).head_sha === shaFor(1),
    ).toBe(true);
    const backlogWrites = writes
      .slice(decisionAt + 1)
      .filter((c) => queuedAtApproval.has((c.body as { head_sha?: string }).head_sha ?? ""));
    expect(backlogWrites.length).toBeGreaterThanOrEqual(queuedAtApproval.size - 2);

    // Nothing lost, nothing twice: one check run per head, each created once, the first approved.
    const creates = fake
      .callsTo("POST", "/repos/{owner}/{repo}/check-runs")
      .map((c) => (c.body as { head_sha: string }).head_sha);
    expect(creates.sort()).toEqual(Array.from({ length: PULLS }, (_, i) => shaFor(i + 1)).sort());
    expect([firstRun.status, firstRun.conclusion]).toEqual(["completed", "success"]);
    expect(
      fake
        .checkRuns(REPO)
        .filter((run) => run.head_sha !== shaFor(1))
        .every((run) => run.status === "in_progress"),
    ).toBe(true);

    // Written at the installation's pace: each write reserves its slot before calling GitHub.
    const chain = await chainOf(t.db, INSTALLATION);
    expect(chain.broken).toBeNull();
    const times = chain.of("github.write", "ok").map((e) => Date.parse(e.created_at));
    expect(times.length).toBeGreaterThanOrEqual(PULLS);
    expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual((times.length - 1) * PACE_MS * 0.9);
    expect(chain.of("webhook.received")).toHaveLength(PULLS + 1);
    fake.assertClean();
    expect(secretsIn(app.output.join(""), [TEST_SECRET, KEYS.split(":")[1]!])).toEqual([]);
  }, 120_000);
});
