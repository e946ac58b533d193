import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import type { Database } from "../../src/db/database.ts";
import { openPg } from "../../src/db/pg.ts";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { startPrivatePostgres, type PrivatePostgres } from "../support/private-postgres.ts";
import { TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { deliverTo } from "../support/deliver.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { agentPullRequest, listedApproval, reviewSubmitted, shaFor } from "../support/pulls.ts";
import { answers, chainOf, outboxDrained, sendMany, statusOf } from "../support/fault-checks.ts";

// PostgreSQL restarted in the middle of a burst of approvals. The app runs in
// its own process on a PostgreSQL cluster of this test's own (the shared test
// server is never stopped). Deliveries during the outage are answered 5xx and
// approve nothing; once PostgreSQL is back, GitHub's redelivery converges.

const REPO = "Codertocat/Hello-World";
const AGENT = "restart-agent";
const INSTALLATION = 7200;
const PULLS = 30;
const BEFORE = 10; // approvals delivered before the outage
const DURING = 10; // approvals delivered while PostgreSQL is down
const KEYS = generateKeyEntry("k1");

const pull = (n: number) => ({ installationId: INSTALLATION, number: n, sha: shaFor(n), agent: AGENT });
const approvalId = (n: number) => `restart-review-${n}`;

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(backend() === "pglite")("PostgreSQL restarted during a burst", () => {
  let pg: PrivatePostgres;
  let db: Database;
  let fake: GitHubFake;
  let app: ProcessApp;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    fake = await GitHubFake.start();
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    fake.setPermission(REPO, "maintainer", "write");
    app = await startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      databaseUrl: pg.url,
      env: { AGENT_GATE_KEYS: KEYS, AGENT_GATE_WRITE_INTERVAL_MS: "5" },
    });
    db = openPg({ connectionString: pg.url });
  });
  afterAll(async () => {
    await app?.stop("SIGKILL");
    await db?.close();
    await fake?.close();
    await pg?.destroy();
  });

  // The review exists on GitHub from the moment it is submitted.
  const approve = (n: number) => {
    fake.setReviews(REPO, n, [listedApproval("maintainer", shaFor(n), n)]);
    return deliverTo(
      app.url,
      TEST_SECRET,
      "pull_request_review",
      reviewSubmitted({ ...pull(n), reviewer: "maintainer", reviewId: n }),
      { id: approvalId(n) },
    );
  };
  const statuses = async () =>
    new Map(
      (
        await db.query<{ pr_number: number; status: string }>(
          "SELECT pr_number, status FROM proposals WHERE installation_id = $1",
          [INSTALLATION],
        )
      ).map((r) => [r.pr_number, r.status]),
    );

  it("answers 5xx during the outage, approves nothing then, and converges after redelivery", async () => {
    // Agent PRs opened, the first approvals arrive and are written to GitHub.
    const opened = await sendMany(PULLS, 5, (i) =>
      deliverTo(app.url, TEST_SECRET, "pull_request", agentPullRequest(pull(i + 1)), { id: `restart-open-${i + 1}` }),
    );
    expect(opened.map(statusOf)).toEqual(Array(PULLS).fill(200));
    // Acknowledged is not yet decided: the openings are processed before the first review is submitted,
    // so each pull request is decided approved once, by its review's delivery.
    await outboxDrained(db);
    const before = await sendMany(BEFORE, 5, (i) => approve(i + 1));
    expect(before.map(statusOf)).toEqual(Array(BEFORE).fill(200));
    await outboxDrained(db);

    // A listener (what wakes long polls and the outbox) on a connection of its own.
    const heard: string[] = [];
    let resubscribed = 0;
    const unlisten = await db.listen(
      "agent_gate_restart_probe",
      (payload) => heard.push(payload),
      () => (resubscribed += 1),
    );

    // The outage: every delivery is refused with a 5xx (GitHub will redeliver), readiness says so.
    await pg.stop();
    const during = await sendMany(DURING, 5, (i) => approve(BEFORE + i + 1));
    for (const sent of during) expect(statusOf(sent)).toBeGreaterThanOrEqual(500);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { database: string } }).checks.database).toBe("unreachable");
    await pg.start();
    await answers(`${app.url}/readyz`, 200);

    // The listener connected again by itself and hears what is announced now.
    await until(() => resubscribed > 0);
    await db.query("SELECT pg_notify('agent_gate_restart_probe', 'after')");
    await until(() => heard.includes("after"));
    await unlisten();

    // Nothing of the outage's deliveries took effect.
    const afterOutage = await statuses();
    for (let n = 1; n <= PULLS; n += 1) expect(afterOutage.get(n), `#${n}`).toBe(n <= BEFORE ? "approved" : "pending");
    const recorded = await db.query<{ delivery_id: string }>(
      "SELECT delivery_id FROM webhook_deliveries WHERE delivery_id LIKE 'restart-review-%'",
    );
    expect(recorded.map((r) => r.delivery_id).sort()).toEqual(
      Array.from({ length: BEFORE }, (_, i) => approvalId(i + 1)).sort(),
    );
    const early = fake
      .checkRuns(REPO)
      .filter((run) => run.conclusion === "success")
      .map((run) => parseInt(run.head_sha, 16));
    expect(early.sort((a, b) => a - b)).toEqual(Array.from({ length: BEFORE }, (_, i) => i + 1));

    // GitHub redelivers the refused ones; the rest of the burst follows.
    const rest = await sendMany(PULLS - BEFORE, 5, (i) => approve(BEFORE + i + 1));
    expect(rest.map(statusOf)).toEqual(Array(PULLS - BEFORE).fill(200));
    await outboxDrained(db);

    const final = await statuses();
    expect([...final.values()]).toEqual(Array(PULLS).fill("approved"));
    const chain = await chainOf(db, INSTALLATION);
    expect(chain.broken).toBeNull();
    expect(chain.of("webhook.received")).toHaveLength(2 * PULLS);
    expect(chain.of("decision.recorded", "approved")).toHaveLength(PULLS);
    const runs = fake.checkRuns(REPO).filter((run) => run.name === "Agent Gate");
    expect(runs).toHaveLength(PULLS);
    expect(runs.every((run) => run.conclusion === "success")).toBe(true);
    fake.assertClean();
    // The outage was logged (errors with their causes), and nothing secret with it.
    const output = app.output.join("");
    expect(output).toContain("webhook delivery could not be recorded");
    expect(secretsIn(output, [TEST_SECRET, KEYS.split(":")[1]!])).toEqual([]);
  }, 120_000);
});
