import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { deliverTo } from "../support/deliver.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { agentPullRequest, listedApproval, reviewSubmitted, shaFor } from "../support/pulls.ts";
import { chainOf, outboxDrained, sendMany, statusOf } from "../support/fault-checks.ts";

// 50 maintainers approve one agent pull request at once, and GitHub's
// deliveries race into two app processes sharing one PostgreSQL: each
// delivery reaches both. One proposal, decided once, one unbroken chain, one
// check run on GitHub. (Two processes cannot share embedded PGlite.)

const REPO = "Codertocat/Hello-World";
const AGENT = "race-agent";
const INSTALLATION = 7300;
const APPROVALS = 50;
const KEYS = generateKeyEntry("k1");
const PR = { installationId: INSTALLATION, number: 1, sha: shaFor(1), agent: AGENT };
const reviewer = (i: number) => `maintainer-${i}`;

describe.skipIf(backend() === "pglite")("50 concurrent approvals across two app processes", () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  const apps: ProcessApp[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    for (let i = 0; i < APPROVALS; i += 1) fake.setPermission(REPO, reviewer(i), "write");
    const start = () =>
      startProcessApp({
        appId: TEST_APP_ID,
        secret: TEST_SECRET,
        githubUrl: fake.url,
        databaseUrl: t.url!,
        env: { AGENT_GATE_KEYS: KEYS, AGENT_GATE_WRITE_INTERVAL_MS: "5" },
      });
    // Both at once, as replicas start: their migrations of the one database take turns on an advisory lock.
    apps.push(...(await Promise.all([start(), start()])));
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop("SIGKILL")));
    await fake?.close();
    await t?.drop();
  });

  it("records one decision in one unbroken chain and writes one check run", async () => {
    const [a, b] = apps as [ProcessApp, ProcessApp];
    expect(
      (await deliverTo(a.url, TEST_SECRET, "pull_request", agentPullRequest(PR), { id: "race-open" })).status,
    ).toBe(200);
    await outboxDrained(t.db);

    fake.setReviews(
      REPO,
      1,
      Array.from({ length: APPROVALS }, (_, i) => listedApproval(reviewer(i), PR.sha, i + 1)),
    );
    // Delivery i goes to both processes at the same moment: 100 requests, 50 deliveries.
    const sent = await sendMany(2 * APPROVALS, 2 * APPROVALS, (k) => {
      const i = k >> 1;
      const payload = reviewSubmitted({ ...PR, reviewer: reviewer(i), reviewId: i + 1 });
      return deliverTo((k & 1 ? b : a).url, TEST_SECRET, "pull_request_review", payload, { id: `race-review-${i}` });
    });
    expect(sent.map(statusOf)).toEqual(Array(2 * APPROVALS).fill(200));
    // One pull request: its 50 deliveries are processed one after another (each asks for 50 reviewers' permissions).
    await outboxDrained(t.db, 180_000);

    const proposals = await t.owner.query<{ id: string; status: string; decided_at: Date }>(
      "SELECT id, status, decided_at FROM proposals WHERE installation_id = $1",
      [INSTALLATION],
    );
    expect(proposals).toHaveLength(1);
    const [proposal] = proposals as [{ id: string; status: string; decided_at: Date }];
    expect(proposal.status).toBe("approved");

    const chain = await chainOf(t.db, INSTALLATION);
    expect(chain.broken).toBeNull();
    expect(chain.events.map((e) => e.seq)).toEqual(chain.events.map((_, i) => i + 1));
    expect(chain.of("webhook.received")).toHaveLength(1 + APPROVALS);
    // Each delivery reached both processes: one recorded it, the other found it held.
    const duplicates = sent.filter(
      (r) => r && "body" in r && (JSON.parse(r.body) as { duplicate?: boolean }).duplicate === true,
    );
    expect(duplicates).toHaveLength(APPROVALS);
    // The two processors took the pull request's deliveries one at a time, in the order they were recorded.
    const recorded = await t.db.query<{ delivery_id: string }>(
      "SELECT delivery_id FROM webhook_inbox WHERE app_id = $1 AND installation_id = $2 ORDER BY id",
      [TEST_APP_ID, INSTALLATION],
    );
    expect(chain.of("webhook.received").map((e) => e.subject)).toEqual(recorded.map((r) => r.delivery_id));
    // The decision is taken once: the first approving evaluation; later ones find it taken and keep its time.
    const decisions = chain.of("decision.recorded").filter((e) => e.subject === proposal.id);
    expect(decisions.map((e) => e.outcome)).toEqual(["pending", ...Array(APPROVALS).fill("approved")]);
    expect(proposal.decided_at.toISOString()).toBe(decisions[1]!.created_at);

    const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === PR.sha);
    expect(runs).toHaveLength(1);
    expect([runs[0]!.status, runs[0]!.conclusion]).toEqual(["completed", "success"]);
    expect(fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs")).toHaveLength(1);
    fake.assertClean();
    expect(secretsIn([...a.output, ...b.output].join(""), [TEST_SECRET, KEYS.split(":")[1]!])).toEqual([]);
  }, 300_000);
});
