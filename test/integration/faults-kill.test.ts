import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort, startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { startTestApp, TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { agentPullRequest, listedApproval, reviewSubmitted, shaFor } from "../support/pulls.ts";
import { chainOf, sendMany, statusOf } from "../support/fault-checks.ts";
import { inboxDrained } from "../support/inbox.ts";
import { checkRunShape } from "../support/github-fake/shapes.ts";

// kill -9 of the app (its own process, as `npm start` runs it) in the middle of
// a burst of 200 deliveries GitHub sends (the fake logs each attempt with the
// app's answer). The restarted app processes what it acknowledged from its
// inbox and asks GitHub's delivery log for the rest, with no redelivery by
// hand: every delivery processed once, every decision recorded once, one
// unbroken chain, and on GitHub one check run per head in its final state.
// (A second process cannot share embedded PGlite: this runs on PostgreSQL.)

const REPO = "Codertocat/Hello-World";
const AGENT = "kill-agent";
const INSTALLATION = 7100;
const PULLS = 150; // 150 agent pull requests, the first 50 of them approved: 200 deliveries
const APPROVED = 50;
const KILL_AFTER_ACKS = 60;
const KEYS = generateKeyEntry("k1");

interface Delivery {
  id: string;
  event: string;
  payload: Record<string, any>;
  pull: number;
}

const deliveries: Delivery[] = [
  ...Array.from({ length: PULLS }, (_, i) => ({
    id: `kill-open-${i + 1}`,
    event: "pull_request",
    payload: agentPullRequest({ installationId: INSTALLATION, number: i + 1, sha: shaFor(i + 1), agent: AGENT }),
    pull: i + 1,
  })),
  ...Array.from({ length: APPROVED }, (_, i) => ({
    id: `kill-review-${i + 1}`,
    event: "pull_request_review",
    payload: reviewSubmitted({
      installationId: INSTALLATION,
      number: i + 1,
      sha: shaFor(i + 1),
      agent: AGENT,
      reviewer: "maintainer",
      reviewId: i + 1,
    }),
    pull: i + 1,
  })),
];

describe.skipIf(backend() === "pglite")("kill -9 during a burst of 200 deliveries", () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  let app: ProcessApp | undefined;

  let port = 0;
  // The same port for both processes: GitHub's webhook URL does not change. A short inbox lease, so the
  // killed process's claimed deliveries come free soon; the delivery-log sweep every second.
  const start = () =>
    startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      databaseUrl: t.url!,
      env: {
        PORT: String(port),
        AGENT_GATE_KEYS: KEYS,
        AGENT_GATE_WRITE_INTERVAL_MS: "5",
        AGENT_GATE_INBOX_LEASE_MS: "2000",
        AGENT_GATE_RECOVERY_INTERVAL_MS: "1000",
        AGENT_GATE_INBOX_RETRY_MS: "50",
      },
    });

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
    port = await freePort();
    fake.sendWebhooksTo(`http://127.0.0.1:${port}`, TEST_SECRET);
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    fake.setPermission(REPO, "maintainer", "write");
    for (let n = 1; n <= APPROVED; n += 1) fake.setReviews(REPO, n, [listedApproval("maintainer", shaFor(n), n)]);
  });
  afterAll(async () => {
    await app?.stop("SIGKILL");
    await fake?.close();
    await t?.drop();
  });

  it("processes every acknowledged delivery after the restart and recovers the rest from GitHub's log, each exactly once", async () => {
    app = await start();
    const first = app;
    let acked = 0;
    let killed: Promise<void> | undefined;
    const burst = await sendMany(
      deliveries.length,
      10,
      async (i) => {
        const logged = await fake.sendWebhook(deliveries[i]!.event, deliveries[i]!.payload, {
          guid: deliveries[i]!.id,
        });
        if (logged.status_code === 200 && ++acked >= KILL_AFTER_ACKS) killed ??= first.stop("SIGKILL");
        return new Response(JSON.stringify(logged), { status: logged.status_code || 599 });
      },
      () => killed !== undefined,
    );
    expect(killed).toBeDefined();
    await killed;
    const ackedBeforeKill = deliveries.filter((_, i) => statusOf(burst[i]) === 200).map((d) => d.id);
    expect(ackedBeforeKill.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    // GitHub sends the rest while the app is down: each attempt fails and is logged as failed.
    const unsent = deliveries.filter((_, i) => burst[i] === undefined);
    for (const d of unsent) expect((await fake.sendWebhook(d.event, d.payload, { guid: d.id })).status_code).toBe(0);
    expect(unsent.length).toBeGreaterThan(0);

    // Acknowledged means durably recorded: every acknowledged delivery is in the inbox.
    const held = await t.db.query<{ delivery_id: string }>("SELECT delivery_id FROM webhook_inbox WHERE app_id = $1", [
      TEST_APP_ID,
    ]);
    expect(held.map((r) => r.delivery_id)).toEqual(expect.arrayContaining(ackedBeforeKill));

    // Restarted: it processes its inbox and asks GitHub for the failed ones; nobody redelivers by hand.
    app = await start();
    const second = app;
    await until(async () => {
      const [row] = await t.owner.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM webhook_deliveries WHERE app_id = $1",
        [TEST_APP_ID],
      );
      return row?.n === deliveries.length;
    }, 90_000);
    await inboxDrained(t.db);
    await fake.state.hooks.settled();
    await second.stop("SIGTERM");
    const redelivered = fake.deliveryLog().filter((e) => e.redelivery);
    expect(redelivered.length).toBeGreaterThan(0);
    expect(redelivered.every((e) => !ackedBeforeKill.includes(e.guid))).toBe(true);

    // Jobs leased by the killed process come free when their lease (60 s) runs out;
    // a survivor whose clock is past it performs them, pacing aside.
    const survivor = await startTestApp({ db: t.db, fake, now: () => new Date(Date.now() + 61_000) });
    try {
      await survivor.server.worker.drain(60_000);
    } finally {
      await survivor.close();
    }

    const received = await t.owner.query<{ delivery_id: string }>(
      "SELECT delivery_id FROM webhook_deliveries WHERE app_id = $1",
      [TEST_APP_ID],
    );
    expect(received.map((r) => r.delivery_id).sort()).toEqual(deliveries.map((d) => d.id).sort());
    const proposals = await t.owner.query<{ id: string; pr_number: number; status: string }>(
      "SELECT id, pr_number, status FROM proposals WHERE installation_id = $1 ORDER BY pr_number",
      [INSTALLATION],
    );
    expect(proposals.map((p) => p.pr_number)).toEqual(Array.from({ length: PULLS }, (_, i) => i + 1));
    for (const p of proposals)
      expect(p.status, `#${p.pr_number}`).toBe(p.pr_number <= APPROVED ? "approved" : "pending");

    const chain = await chainOf(t.db, INSTALLATION);
    expect(chain.broken).toBeNull();
    const receivedEvents = chain.of("webhook.received").map((e) => e.subject);
    expect(receivedEvents.sort()).toEqual(deliveries.map((d) => d.id).sort());
    expect(chain.of("proposal.created")).toHaveLength(PULLS);
    const decisions = chain.of("decision.recorded");
    expect(decisions).toHaveLength(deliveries.length);
    for (const p of proposals) {
      expect(
        decisions.filter((e) => e.subject === p.id),
        `#${p.pr_number}`,
      ).toHaveLength(p.pr_number <= APPROVED ? 2 : 1);
    }

    // On GitHub: one check run per head, created once, in the decided state.
    const runs = fake.checkRuns(REPO).filter((run) => run.name === "Agent Gate");
    expect(runs.map((run) => run.head_sha).sort()).toEqual(proposals.map((_, i) => shaFor(i + 1)).sort());
    for (const run of runs) {
      const n = parseInt(run.head_sha, 16);
      expect([run.status, run.conclusion], `#${n}`).toEqual(
        n <= APPROVED ? ["completed", "success"] : ["in_progress", null],
      );
    }
    const [left] = await t.owner.query<{ n: number }>("SELECT count(*)::int8 AS n FROM outbox WHERE done_at IS NULL");
    expect(left?.n).toBe(0);
    fake.assertClean();
    // Nothing secret in what either process logged.
    expect(secretsIn([...first.output, ...second.output].join(""), [TEST_SECRET, KEYS.split(":")[1]!])).toEqual([]);
  }, 240_000);
});

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// 60 agent pull requests queued, the app killed while GitHub has made check
// runs it never answered for, restarted on the same database and GitHub, and
// every delivery sent again: each head still has one `Agent Gate` run.
describe.skipIf(backend() === "pglite")(
  "kill -9 while check runs are being created, then every delivery sent again",
  () => {
    const QUEUED = 60;
    const BASE_INSTALLATION = 7200;
    let t: TestDatabase;
    let fake: GitHubFake;
    let app: ProcessApp | undefined;
    let port = 0;
    const start = () =>
      startProcessApp({
        appId: TEST_APP_ID,
        secret: TEST_SECRET,
        githubUrl: fake.url,
        databaseUrl: t.url!,
        env: {
          PORT: String(port),
          AGENT_GATE_KEYS: KEYS,
          AGENT_GATE_WRITE_INTERVAL_MS: "5",
          AGENT_GATE_INBOX_LEASE_MS: "2000",
          AGENT_GATE_RECOVERY_INTERVAL_MS: "1000",
          AGENT_GATE_INBOX_RETRY_MS: "50",
        },
      });
    const opened = (n: number) =>
      agentPullRequest({ installationId: BASE_INSTALLATION, number: n, sha: shaFor(n, 7), agent: AGENT });

    beforeAll(async () => {
      t = await createTestDatabase();
      fake = await GitHubFake.start();
      port = await freePort();
      fake.sendWebhooksTo(`http://127.0.0.1:${port}`, TEST_SECRET);
      fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    });
    afterAll(async () => {
      await app?.stop("SIGKILL");
      await fake?.close();
      await t?.drop();
    });

    it("makes no second check run for a head whose create GitHub performed but never answered", async () => {
      // GitHub makes each run at once and answers it late: the kill lands between the two.
      let made = 0;
      fake.on("POST", "/repos/{owner}/{repo}/check-runs", async (call) => {
        const run = fake.state.addCheckRun(REPO, call.body as Record<string, unknown>, new Date());
        made += 1;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        return { status: 201, body: checkRunShape(fake.apiUrl, run) };
      });
      app = await start();
      const first = app;
      for (let n = 1; n <= QUEUED; n += 1)
        expect((await fake.sendWebhook("pull_request", opened(n), { guid: `queued-${n}` })).status_code).toBe(200);
      await until(async () => made > 0, 60_000);
      await first.stop("SIGKILL");
      const madeBeforeKill = made;
      expect(madeBeforeKill).toBeGreaterThan(0);

      // Restarted on the same database and GitHub; every delivery is sent again (new delivery ids).
      fake.on("POST", "/repos/{owner}/{repo}/check-runs", (call) => {
        const run = fake.state.addCheckRun(REPO, call.body as Record<string, unknown>, new Date());
        made += 1;
        return { status: 201, body: checkRunShape(fake.apiUrl, run) };
      });
      app = await start();
      for (let n = 1; n <= QUEUED; n += 1)
        expect((await fake.sendWebhook("pull_request", opened(n), { guid: `again-${n}` })).status_code).toBe(200);
      await until(async () => {
        const [row] = await t.db.query<{ n: number }>(
          "SELECT count(*)::int8 AS n FROM webhook_deliveries WHERE app_id = $1",
          [TEST_APP_ID],
        );
        return row?.n === 2 * QUEUED;
      }, 90_000);
      await inboxDrained(t.db);
      await app.stop("SIGTERM");
      // The killed process's leased writes come free after their lease (60 s): a survivor past it performs them.
      const survivor = await startTestApp({ db: t.db, fake, now: () => new Date(Date.now() + 61_000) });
      try {
        await survivor.server.worker.drain(60_000);
      } finally {
        await survivor.close();
      }
      const runs = fake
        .checkRuns(REPO)
        .filter((run) => run.name === "Agent Gate" && parseInt(run.head_sha, 16) >= 7_000_000);
      const perHead = new Map<string, number>();
      for (const run of runs) perHead.set(run.head_sha, (perHead.get(run.head_sha) ?? 0) + 1);
      expect([...perHead.values()].filter((count) => count > 1)).toEqual([]);
      expect(perHead.size).toBe(QUEUED);
      const [left] = await t.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM outbox WHERE done_at IS NULL");
      expect(left?.n).toBe(0);
    }, 300_000);
  },
);
