import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort, startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { agentPullRequest, listedApproval, reviewSubmitted, shaFor } from "../support/pulls.ts";
import { chainOf, outboxDrained, sendMany } from "../support/fault-checks.ts";
import { secretsIn } from "../support/secret-scan.ts";

// GitHub answering every read with 502, or not answering at all, while it
// sends deliveries to the app (its own process, as `npm start` runs it, on
// PostgreSQL). Acknowledging needs no GitHub call, so every delivery is
// acknowledged as usual; nothing is decided while GitHub cannot be read; once
// it recovers, every delivery is processed once and every decision lands.

const REPO = "Codertocat/Hello-World";
const AGENT = "reads-agent";
const PULLS = 12;
const APPROVED = 6;
const KEYS = generateKeyEntry("k1");
const LEASE_MS = 1000;

function deliveries(installationId: number) {
  return [
    ...Array.from({ length: PULLS }, (_, i) => ({
      id: `reads-${installationId}-open-${i + 1}`,
      event: "pull_request",
      payload: agentPullRequest({ installationId, number: i + 1, sha: shaFor(i + 1), agent: AGENT }),
    })),
    ...Array.from({ length: APPROVED }, (_, i) => ({
      id: `reads-${installationId}-review-${i + 1}`,
      event: "pull_request_review",
      payload: reviewSubmitted({
        installationId,
        number: i + 1,
        sha: shaFor(i + 1),
        agent: AGENT,
        reviewer: "maintainer",
        reviewId: i + 1,
      }),
    })),
  ];
}

describe.skipIf(backend() === "pglite")("GitHub failing or stalling every read", () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  let app: ProcessApp | undefined;

  beforeEach(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    fake.setPermission(REPO, "maintainer", "write");
    for (let n = 1; n <= APPROVED; n += 1) fake.setReviews(REPO, n, [listedApproval("maintainer", shaFor(n), n)]);
    const port = await freePort();
    fake.sendWebhooksTo(`http://127.0.0.1:${port}`, TEST_SECRET);
    app = await startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      databaseUrl: t.url!,
      // Retries soon, a short inbox lease (renewed while a delivery waits on GitHub), and no sweep of the delivery log: what converges here converges from the inbox.
      env: {
        PORT: String(port),
        AGENT_GATE_KEYS: KEYS,
        AGENT_GATE_WRITE_INTERVAL_MS: "5",
        AGENT_GATE_INBOX_RETRY_MS: "100",
        AGENT_GATE_INBOX_POLL_MS: "50",
        AGENT_GATE_INBOX_LEASE_MS: String(LEASE_MS),
        AGENT_GATE_RECOVERY_INTERVAL_MS: "0",
      },
    });
  });
  afterEach(async () => {
    await app?.stop("SIGKILL");
    app = undefined;
    await fake?.close();
    await t?.drop();
  });

  const send = async (installationId: number) => {
    const all = deliveries(installationId);
    const sent = await sendMany(all.length, 6, async (i) => {
      const logged = await fake.sendWebhook(all[i]!.event, all[i]!.payload, { guid: all[i]!.id });
      return new Response(JSON.stringify(logged), { status: logged.status_code || 599 });
    });
    return { all, sent };
  };

  const undecided = async (installationId: number) => {
    const [row] = await t.owner.query<{ n: number }>(
      "SELECT count(*)::int8 AS n FROM proposals WHERE installation_id = $1 AND status <> 'pending'",
      [installationId],
    );
    return Number(row?.n);
  };

  /** Every delivery processed once, every proposal decided as its reviews say, on GitHub one check run per head. */
  const converged = async (installationId: number, ids: string[]) => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [row] = await t.owner.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM webhook_deliveries WHERE app_id = $1",
        [TEST_APP_ID],
      );
      if (Number(row?.n) === ids.length) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.n} of ${ids.length} deliveries processed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await outboxDrained(t.db, 60_000);
    await fake.state.hooks.settled();

    const received = await t.owner.query<{ delivery_id: string }>(
      "SELECT delivery_id FROM webhook_deliveries WHERE app_id = $1",
      [TEST_APP_ID],
    );
    expect(received.map((r) => r.delivery_id).sort()).toEqual([...ids].sort());
    const [aside] = await t.db.query<{ n: number }>(
      "SELECT count(*)::int8 AS n FROM webhook_inbox WHERE set_aside_at IS NOT NULL",
    );
    expect(Number(aside?.n)).toBe(0);
    const proposals = await t.owner.query<{ pr_number: number; status: string }>(
      "SELECT pr_number, status FROM proposals WHERE installation_id = $1 ORDER BY pr_number",
      [installationId],
    );
    expect(proposals.map((p) => p.pr_number)).toEqual(Array.from({ length: PULLS }, (_, i) => i + 1));
    for (const p of proposals)
      expect(p.status, `#${p.pr_number}`).toBe(p.pr_number <= APPROVED ? "approved" : "pending");

    const chain = await chainOf(t.db, installationId);
    expect(chain.broken).toBeNull();
    expect(
      chain
        .of("webhook.received")
        .map((e) => e.subject)
        .sort(),
    ).toEqual([...ids].sort());
    expect(chain.of("proposal.created")).toHaveLength(PULLS);
    // One decision per delivery, each recorded once (an opening reads the reviews GitHub lists by then).
    expect(chain.of("decision.recorded")).toHaveLength(ids.length);
    const runs = fake.checkRuns(REPO).filter((run) => run.name === "Agent Gate");
    expect(runs.map((run) => run.head_sha).sort()).toEqual(
      Array.from({ length: PULLS }, (_, i) => shaFor(i + 1)).sort(),
    );
    for (const run of runs) {
      const n = parseInt(run.head_sha, 16);
      expect([run.status, run.conclusion], `#${n}`).toEqual(
        n <= APPROVED ? ["completed", "success"] : ["in_progress", null],
      );
    }
    fake.assertClean();
    expect(secretsIn(app!.output.join(""), [TEST_SECRET, KEYS.split(":")[1]!])).toEqual([]);
  };

  it("acknowledges every delivery while GitHub answers reads with 502, decides nothing meanwhile, and converges when GitHub recovers", async () => {
    const installationId = 7500;
    fake.failReads(502);
    const { all, sent } = await send(installationId);
    // Acknowledged as usual: GitHub's log records a 200 for each, and nobody has to redeliver.
    expect(fake.deliveryLog().map((e) => [e.guid, e.status_code])).toEqual(
      expect.arrayContaining(all.map((d) => [d.id, 200])),
    );
    expect(sent.every((s) => s && "status" in s && s.status === 200)).toBe(true);

    // Every opening has been tried against the outage and failed (to be retried, not set aside); each
    // review waits behind its pull request's opening, untried; nothing is decided.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [row] = await t.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM webhook_inbox WHERE event = 'pull_request' AND attempts >= 1 AND processed_at IS NULL AND set_aside_at IS NULL AND last_error IS NOT NULL",
      );
      if (Number(row?.n) === PULLS) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.n} of ${PULLS} openings tried during the outage`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const reviews = await t.db.query<{ attempts: number; processed_at: unknown }>(
      "SELECT attempts, processed_at FROM webhook_inbox WHERE event = 'pull_request_review'",
    );
    expect(reviews).toHaveLength(APPROVED);
    expect(reviews.every((r) => r.attempts === 0 && r.processed_at === null)).toBe(true);
    expect(await undecided(installationId)).toBe(0);
    expect(fake.checkRuns(REPO).filter((run) => run.conclusion === "success")).toHaveLength(0);

    fake.failReads(null);
    await converged(
      installationId,
      all.map((d) => d.id),
    );
    const retried = (await chainOf(t.db, installationId)).of("webhook.failed", "retrying");
    expect(retried.length).toBeGreaterThanOrEqual(PULLS);
  }, 180_000);

  it("acknowledges every delivery while every GitHub read stalls, decides nothing meanwhile, and converges when GitHub answers", async () => {
    const installationId = 7600;
    const release = fake.stallReads();
    const { all, sent } = await send(installationId);
    expect(sent.every((s) => s && "status" in s && s.status === 200)).toBe(true);
    expect(
      fake
        .deliveryLog()
        .filter((e) => e.status_code === 200)
        .map((e) => e.guid)
        .sort(),
    ).toEqual(all.map((d) => d.id).sort());
    // The reads are in flight at GitHub, unanswered, for several leases' time: nothing is processed twice
    // or given up, nothing is decided.
    await new Promise((resolve) => setTimeout(resolve, 5 * LEASE_MS));
    const stalled = fake.calls.filter((call) => call.method === "GET" && !call.web);
    expect(stalled.length).toBeGreaterThan(0);
    const [processed] = await t.owner.query<{ n: number }>(
      "SELECT count(*)::int8 AS n FROM webhook_deliveries WHERE app_id = $1",
      [TEST_APP_ID],
    );
    expect(Number(processed?.n)).toBe(0);
    expect(await undecided(installationId)).toBe(0);

    release();
    await converged(
      installationId,
      all.map((d) => d.id),
    );
  }, 180_000);
});
