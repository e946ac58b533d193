import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { runDoctor } from "../../src/cli/doctor.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, TEST_APP_ID, TEST_SECRET, type TestApp } from "../support/app.ts";
import { deliverTo } from "../support/deliver.ts";
import { inboxDrained } from "../support/inbox.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
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
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
});
afterEach(async () => {
  await app.close();
  fake.assertClean();
  await fake.close();
});

function agentPr(number: number, sha: string) {
  const payload = example("pull_request", "opened", installationId);
  payload.number = number;
  payload.pull_request.number = number;
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = sha;
  payload.sender = { ...payload.sender, login: AGENT, type: "User" };
  return payload;
}

const sha = (n: number) => n.toString(16).padStart(40, "0");

describe("webhook pipeline", () => {
  it("asks GitHub to redeliver what failed while the app was down, and processes each once", async () => {
    app = await startTestApp({ db: t.db, fake });
    fake.sendWebhooksTo("http://127.0.0.1:9", TEST_SECRET); // nothing listens: GitHub logs a failure
    for (let n = 1; n <= 3; n++) await fake.sendWebhook("pull_request", agentPr(n, sha(n)));
    expect(fake.deliveryLog().map((e) => e.status_code)).toEqual([0, 0, 0]);

    fake.sendWebhooksTo(app.url, TEST_SECRET);
    const sweep = await app.server.recover();
    expect(sweep).toMatchObject({ swept: true, seen: 3, requested: 3 });
    await fake.state.hooks.settled();
    await inboxDrained(t.db);
    await app.server.worker.drain();

    expect(fake.callsTo("GET", "/app/hook/deliveries").length).toBeGreaterThan(0);
    expect(fake.callsTo("POST", "/app/hook/deliveries/{delivery_id}/attempts")).toHaveLength(3);
    const redelivered = fake.deliveryLog().filter((e) => e.redelivery);
    expect(redelivered.map((e) => e.status_code)).toEqual([200, 200, 200]);
    expect(new Set(redelivered.map((e) => e.guid))).toEqual(
      new Set(
        fake
          .deliveryLog()
          .filter((e) => !e.redelivery)
          .map((e) => e.guid),
      ),
    );
    expect(
      fake
        .checkRuns(REPO)
        .map((run) => run.head_sha)
        .sort(),
    ).toEqual([sha(1), sha(2), sha(3)]);

    // The next sweep starts where this one ended: nothing more to ask for.
    expect(await app.server.recover()).toMatchObject({ swept: true, requested: 0 });
    expect(fake.callsTo("POST", "/app/hook/deliveries/{delivery_id}/attempts")).toHaveLength(3);
  });

  it("does not ask again for a failed delivery the inbox holds", async () => {
    app = await startTestApp({ db: t.db, fake });
    fake.sendWebhooksTo(app.url, TEST_SECRET);
    await fake.sendWebhook("pull_request", agentPr(7, sha(7)));
    await inboxDrained(t.db);
    // The app's answer was lost on the way: GitHub logs a failure for a delivery the app holds.
    fake.state.hooks.entries.at(-1)!.status_code = 0;
    fake.state.hooks.entries.at(-1)!.status = "timed out";
    await t.db.query("UPDATE webhook_recovery SET last_seen_id = NULL");
    expect(await app.server.recover()).toMatchObject({ swept: true, requested: 0 });
    expect(fake.callsTo("POST", "/app/hook/deliveries/{delivery_id}/attempts")).toHaveLength(0);
    await app.server.worker.drain();
  });

  it("counts 2,000 forged requests in one audit event per interval and a metric, without a row each", async () => {
    app = await startTestApp({ db: t.db, fake, pipeline: { refusalIntervalMs: 3_600_000 } });
    const before = await t.db.tenant(0, (tx) => readAudit(tx, 0));
    const body = JSON.stringify(agentPr(1, sha(1)));
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () =>
          deliverTo(app.url, TEST_SECRET, "pull_request", null, { rawBody: body, secret: "forged" }),
        ),
      );
      expect(answers.every((r) => r.status === 400)).toBe(true);
    }
    // Nothing written per request.
    expect(await t.db.tenant(0, (tx) => readAudit(tx, 0))).toHaveLength(before.length);
    await app.server.refusals.flush();
    const after = await t.db.tenant(0, (tx) => readAudit(tx, 0));
    const added = after.slice(before.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      action: "webhook.refused",
      outcome: "refused",
      data: { count: 2000, reasons: { signature_mismatch: 2000 } },
    });
    const metric = await app.server.metrics.registry.getSingleMetric("agent_gate_webhook_refused_total")!.get();
    expect(metric.values.find((v) => v.labels.reason === "signature_mismatch")?.value).toBe(2000);
    expect(await t.db.query("SELECT 1 FROM webhook_inbox WHERE installation_id = $1", [installationId])).toHaveLength(
      0,
    );
  }, 180_000);

  it("sets aside a delivery that keeps failing, audits and counts it, and lets other subjects through", async () => {
    app = await startTestApp({ db: t.db, fake, pipeline: { maxAttempts: 3 } });
    const broken = agentPr(11, sha(11));
    broken.pull_request.head = null; // the handler cannot read it: fails on every try
    const bad = await app.deliver("pull_request", broken, { id: "keeps-failing" });
    expect(bad.status).toBe(200);
    const good = await app.deliver("pull_request", agentPr(12, sha(12)), { id: "fine-one" });
    expect(good.status).toBe(200);
    await app.server.worker.drain();
    expect(fake.checkRuns(REPO).map((run) => run.head_sha)).toEqual([sha(12)]);

    const [row] = await t.db.query<{ attempts: number; set_aside: boolean }>(
      "SELECT attempts, set_aside_at IS NOT NULL AS set_aside FROM webhook_inbox WHERE delivery_id = 'keeps-failing'",
    );
    expect(row).toEqual({ attempts: 3, set_aside: true });
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.filter((e) => e.subject === "keeps-failing").map((e) => `${e.action}:${e.outcome}`)).toEqual([
      "webhook.failed:retrying",
      "webhook.failed:retrying",
      "webhook.set_aside:set_aside",
    ]);
    const metric = await app.server.metrics.registry.getSingleMetric("agent_gate_webhook_processed_total")!.get();
    expect(metric.values.find((v) => v.labels.outcome === "set_aside")?.value).toBe(1);
    const doctor = (await runDoctor({ APP_ID: String(TEST_APP_ID) }, { openDb: async () => t.db })).find(
      (c) => c.name === "webhook_inbox",
    );
    expect(doctor?.ok).toBe(false);
    expect(doctor?.detail).toContain("keeps-failing");
    await t.db.query("UPDATE webhook_inbox SET processed_at = now() WHERE delivery_id = 'keeps-failing'");
  });

  it("processes the deliveries of one pull request in the order they arrived", async () => {
    app = await startTestApp({ db: t.db, fake, startProcessor: false });
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) {
      const payload = agentPr(21, sha(100 + n));
      payload.action = n === 0 ? "opened" : "synchronize";
      const id = `ordered-${n}`;
      ids.push(id);
      expect((await app.deliver("pull_request", payload, { id, settle: false })).status).toBe(200);
    }
    // Acknowledged and not yet processed: the deliveries queue of /metrics reads them from the inbox.
    const depth = await app.server.metrics.registry.getSingleMetric("agent_gate_queue_depth")!.get();
    expect(depth.values.find((v) => v.labels.queue === "deliveries")?.value).toBe(5);
    await app.close();
    // By the time they are processed, GitHub says the pull request is at the last push.
    fake.setPullRequest(REPO, { number: 21, head: { sha: sha(104) } });
    app = await startTestApp({ db: t.db, fake, pipeline: { concurrency: 8 } });
    await inboxDrained(t.db);
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    expect(events.filter((e) => e.action === "webhook.received").map((e) => e.subject)).toEqual(ids);
    await app.server.worker.drain();
    const waiting = fake.checkRuns(REPO).filter((run) => run.status !== "completed");
    expect(waiting.map((run) => run.head_sha)).toEqual([sha(104)]);
  });

  it("converges from GitHub's current state when an approval's delivery was lost beyond the log", async () => {
    app = await startTestApp({ db: t.db, fake });
    fake.setPermission(REPO, "maintainer", "write");
    const opened = agentPr(31, sha(31));
    fake.setRepo(REPO, { id: opened.repository.id });
    await app.deliver("pull_request", opened);
    await app.server.worker.drain();
    // On GitHub: the pull request at that head, approved; the review's delivery never arrived.
    fake.setPullRequest(REPO, { number: 31, user: { login: AGENT, id: 9, type: "User" }, head: { sha: sha(31) } });
    fake.setReviews(REPO, 31, [
      {
        id: 1,
        user: { login: "maintainer", id: 7, type: "User" },
        state: "APPROVED",
        commit_id: sha(31),
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);

    // (Pending proposals of this file's earlier installations are read too: GitHub no longer has them.)
    expect(await app.server.reconcile()).toMatchObject({ queued: 1 });
    await inboxDrained(t.db);
    await app.server.worker.drain();
    const runs = fake.checkRuns(REPO).filter((run) => run.head_sha === sha(31));
    expect(runs).toHaveLength(1);
    expect([runs[0]!.status, runs[0]!.conclusion]).toEqual(["completed", "success"]);
    const events = await t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
    const received = events.filter((e) => e.action === "webhook.received").at(-1)!;
    expect(received).toMatchObject({
      actor: "agent-gate[reconcile]",
      data: { event: "pull_request", action: "synchronize" },
    });
    expect(events.filter((e) => e.action === "decision.recorded").map((e) => e.outcome)).toEqual([
      "pending",
      "approved",
    ]);
    // Nothing pending is left to re-read.
    expect(await app.server.reconcile()).toMatchObject({ queued: 0 });
  });
});
