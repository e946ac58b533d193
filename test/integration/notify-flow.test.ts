import { randomBytes } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { readAudit } from "../../src/audit/log.ts";
import { parseKeyring } from "../../src/crypto/keyring.ts";
import { expireDue } from "../../src/gates/expiry.ts";
import { addChannel } from "../../src/notify/channels.ts";
import { claimJob } from "../../src/notify/jobs.ts";
import { redeemLinkToken } from "../../src/notify/links.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { deploymentProtectionRule } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import {
  signedInteraction,
  startSlackStandIn,
  startSmtpServer,
  startWebhookReceiver,
} from "../support/notify-standins.ts";

const REPO = "Codertocat/Hello-World";
const SHA = "e".repeat(40);
const CALLBACK = "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule";
const keyring = parseKeyring(`k1:${randomBytes(32).toString("base64")}`);
const SIGNING = randomBytes(16).toString("hex");
const BOT_TOKEN = `xoxb-${randomBytes(12).toString("hex")}`;
const SMTP_PASS = randomBytes(9).toString("hex");
let installationId = 7100;
let offset = 0;
const clock = () => new Date(Date.now() + offset);

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let slack: Awaited<ReturnType<typeof startSlackStandIn>>;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});
beforeEach(async () => {
  installationId += 1;
  offset = 0;
  await t.db.query("DELETE FROM proposal_deadlines");
  fake = await GitHubFake.start();
  slack = await startSlackStandIn();
  smtp = await startSmtpServer("gate", SMTP_PASS);
  hooks = await startWebhookReceiver();
  app = await startTestApp({ db: t.db, fake, now: clock, keyring, env: { AGENT_GATE_SLACK_API_URL: slack.url } });
  fake.setFile(
    REPO,
    ".github/agent-gate.yml",
    [
      "agents: [deploy-agent]",
      "approvals: { required: 1 }",
      "expiry: 2h",
      "notify:",
      "  channels: [mail, hook]",
      "  routes:",
      "    - { kinds: [deploy], environments: [production], channels: [deploys] }",
      "  escalate_after: 30m",
      "  escalate_to: [oncall]",
      "",
    ].join("\n"),
  );
  for (const [login, permission] of [
    ["alice", "write"],
    ["runner", "admin"],
  ] as const)
    fake.setPermission(REPO, login, permission);
  const now = clock();
  await addChannel(
    t.db,
    keyring,
    installationId,
    { type: "slack", name: "deploys", token: BOT_TOKEN, signingSecret: SIGNING, channel: "#deploys" },
    "cli",
    now,
  );
  await addChannel(
    t.db,
    keyring,
    installationId,
    {
      type: "email",
      name: "mail",
      smtpUrl: `smtp://gate:${SMTP_PASS}@127.0.0.1:${smtp.port}`,
      from: "gate@example.test",
      to: ["ops@example.test"],
    },
    "cli",
    now,
  );
  const hook = await addChannel(
    t.db,
    keyring,
    installationId,
    { type: "webhook", name: "hook", url: hooks.url },
    "cli",
    now,
  );
  hooks.setSecret(hook.secret!);
  await addChannel(
    t.db,
    keyring,
    installationId,
    { type: "slack", name: "oncall", token: BOT_TOKEN, signingSecret: SIGNING, channel: "#oncall" },
    "cli",
    now,
  );
});
afterEach(async () => {
  await app.close();
  await fake.close();
  await slack.close();
  await smtp.close();
  await hooks.close();
});

async function settle() {
  for (let i = 0; i < 3; i += 1) {
    await app.server.worker.drain();
    await app.server.notifier.drain();
  }
}

async function requestDeploy() {
  const res = await app.deliver(
    "deployment_protection_rule",
    deploymentProtectionRule({ installationId, environment: "production", sha: SHA, runId: 91, sender: "runner" }),
  );
  expect(res.status).toBe(200);
  await settle();
  const [row] = await t.db.tenant(installationId, (tx) =>
    tx.query<{ id: string; digest: string; status: string }>(
      "SELECT id, digest, status FROM proposals WHERE kind = 'deploy'",
    ),
  );
  return row!;
}

function click(proposal: { id: string; digest: string }, user: string, action = "approve", digest = proposal.digest) {
  return {
    type: "block_actions",
    trigger_id: `${Date.now()}.${randomBytes(6).toString("hex")}`,
    team: { id: "T0GATE" },
    user: { id: user },
    channel: { id: "C0DEPLOYS1" },
    actions: [{ action_id: action, value: JSON.stringify({ p: proposal.id, d: digest }) }],
  };
}

async function post(signed: { body: string; headers: Record<string, string> }) {
  return fetch(`${app.url}/slack/interactions`, { method: "POST", headers: signed.headers, body: signed.body });
}

/** Signed at the app's clock (a test may move it forward). */
function sign(secret: string, payload: unknown, timestamp = Math.floor(clock().getTime() / 1000)) {
  return signedInteraction(secret, payload, timestamp);
}

async function audit() {
  return t.db.tenant(installationId, (tx) => readAudit(tx, installationId));
}

describe("notifications, end to end", () => {
  it("tells Slack, email and the webhook, escalates, takes a linked eligible Slack approval, and updates every message", async () => {
    const proposal = await requestDeploy();
    expect(proposal.status).toBe("pending");

    // Slack: chat.postMessage to the routed channel, with the bot token and Block Kit.
    const posts = slack.calls.filter((c) => c.method === "chat.postMessage");
    expect(posts).toHaveLength(1);
    expect(posts[0]!.token).toBe(BOT_TOKEN);
    expect(posts[0]!.args.channel).toBe("#deploys");
    const blocks = JSON.stringify(posts[0]!.args.blocks);
    expect(blocks).toContain(proposal.digest);
    expect(blocks).toContain(`https://gate.example.test/proposals/${proposal.id}`);
    expect(blocks).toContain("Deploy eeeeeee to production");
    expect(blocks).toContain("runner");
    const actions = (
      posts[0]!.args.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]
    ).find((b) => b.type === "actions")!.elements!;
    expect(actions.map((a) => a.action_id)).toEqual(["approve", "reject", "open"]);
    expect(JSON.parse(actions[0]!.value!)).toEqual({ p: proposal.id, d: proposal.digest });

    // Email over real SMTP with the login; text and HTML, a link, no secret.
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(["ops@example.test"]);
    expect(smtp.mails[0]!.user).toBe("gate");
    expect(smtp.mails[0]!.data).toContain("text/html");
    expect(smtp.mails[0]!.data).toContain(`/proposals/${proposal.id}`);
    expect(smtp.mails[0]!.data).not.toContain(SMTP_PASS);

    // Webhook, verified by the receiver with Standard Webhooks' own verifier.
    expect(hooks.refused).toBe(0);
    expect(hooks.received.map((h) => h.body.type)).toEqual(["proposal.pending"]);
    expect(hooks.received[0]!.body.proposal).toMatchObject({
      id: proposal.id,
      kind: "deploy",
      repo: REPO,
      digest: proposal.digest,
      status: "pending",
      review_page_url: `https://gate.example.test/proposals/${proposal.id}`,
    });

    // Nothing escalates before 30 minutes; after, the next tier (#oncall) is told, and nothing is approved.
    offset = 29 * 60_000;
    expect(await app.server.notifier.sweep()).toBe(0);
    offset = 31 * 60_000;
    expect(await app.server.notifier.sweep()).toBe(1);
    await settle();
    const oncall = slack.calls.filter((c) => c.method === "chat.postMessage" && c.args.channel === "#oncall");
    expect(oncall).toHaveLength(1);
    expect(JSON.stringify(oncall[0]!.args.blocks)).toContain("escalated");
    expect(fake.callsTo("POST", CALLBACK)).toEqual([]);
    expect(await app.server.notifier.sweep()).toBe(0);

    // An unlinked Slack user's click approves nothing and gets a one-time link, ephemerally.
    const unlinked = await post(sign(SIGNING, click(proposal, "U0ALICE")));
    expect(unlinked.status).toBe(200);
    const ephemeral = slack.calls.filter((c) => c.method === "chat.postEphemeral");
    expect(ephemeral).toHaveLength(1);
    expect(ephemeral[0]!.args.user).toBe("U0ALICE");
    const token = /\/slack\/link\/([A-Za-z0-9_-]+)/.exec(String(ephemeral[0]!.args.text))![1]!;
    expect(fake.callsTo("POST", CALLBACK)).toEqual([]);
    expect((await audit()).filter((e) => e.action === "slack.click_refused")).toHaveLength(1);

    // The link binds that Slack user (not another) to the login signed in; once.
    await redeemLinkToken(t.db, token, { login: "alice", id: 1001 }, clock());
    await expect(redeemLinkToken(t.db, token, { login: "mallory", id: 666 }, clock())).rejects.toThrow(
      /used, expired or unknown/,
    );

    // A linked user whose login may not approve (the one who triggered the run) counts for nothing.
    const second = await post(sign(SIGNING, click(proposal, "U0RUNNER")));
    expect(second.status).toBe(200);
    const runnerToken = /\/slack\/link\/([A-Za-z0-9_-]+)/.exec(
      String(slack.calls.filter((c) => c.method === "chat.postEphemeral").at(-1)!.args.text),
    )![1]!;
    await redeemLinkToken(t.db, runnerToken, { login: "runner", id: 1002 }, clock());
    const ineligible = await post(sign(SIGNING, click(proposal, "U0RUNNER")));
    expect(ineligible.status).toBe(200);
    await settle();
    expect(fake.callsTo("POST", CALLBACK)).toEqual([]);
    expect(
      (await audit()).filter((e) => e.action === "vote.recorded" && e.outcome === "refused" && e.actor === "runner"),
    ).toHaveLength(1);

    // A click for another digest than the proposal's changes nothing.
    const wrongDigest = await post(sign(SIGNING, click(proposal, "U0ALICE", "approve", "f".repeat(64))));
    expect(wrongDigest.status).toBe(200);
    expect(fake.callsTo("POST", CALLBACK)).toEqual([]);

    // The linked, eligible user approves: the deployment is approved at GitHub.
    const approve = sign(SIGNING, click(proposal, "U0ALICE"));
    expect((await post(approve)).status).toBe(200);
    await settle();
    const callbacks = fake.callsTo("POST", CALLBACK).map((c) => c.body as { state: string });
    expect(callbacks.map((c) => c.state)).toEqual(["approved"]);

    // Every message is updated (Slack chat.update on both), and the others told of the decision.
    const updates = slack.calls.filter((c) => c.method === "chat.update");
    expect(updates.map((u) => u.args.ts).sort()).toEqual(["1700000000.000001", "1700000000.000002"]);
    for (const u of updates) {
      expect(String(u.args.text)).toContain("Approved by alice via slack");
      expect(JSON.stringify(u.args.blocks)).not.toContain('"action_id":"approve"');
    }
    expect(hooks.received.map((h) => h.body.type)).toEqual(["proposal.pending", "proposal.decided"]);
    expect(smtp.mails).toHaveLength(2);

    // A replay of the approving request is refused.
    expect((await post(approve)).status).toBe(401);

    // The audit log shows each step, without secrets.
    const events = await audit();
    const actions2 = events.map((e) => e.action);
    for (const step of [
      "channel.added",
      "proposal.created",
      "notification.sent",
      "slack.click_refused",
      "slack.linked",
      "vote.recorded",
      "decision.recorded",
      "notification.updated",
      "slack.interaction_refused",
    ]) {
      expect(actions2).toContain(step);
    }
    const text = JSON.stringify(events);
    for (const secret of [SIGNING, BOT_TOKEN, SMTP_PASS, "ops@example.test"]) expect(text).not.toContain(secret);
  });

  it("answers 401 to a forged or stale signature, audits it and changes nothing", async () => {
    const proposal = await requestDeploy();
    const forged = await post(sign("0".repeat(32), click(proposal, "U0ALICE")));
    expect(forged.status).toBe(401);
    const stale = await post(sign(SIGNING, click(proposal, "U0ALICE"), Math.floor(clock().getTime() / 1000) - 6 * 60));
    expect(stale.status).toBe(401);
    const unsigned = await fetch(`${app.url}/slack/interactions`, { method: "POST", body: "payload=%7B%7D" });
    expect(unsigned.status).toBe(401);
    expect(slack.calls.filter((c) => c.method === "chat.postEphemeral")).toEqual([]);
    const refused = (await audit())
      .filter((e) => e.action === "slack.interaction_refused")
      .map((e) => (e.data as { reason: string }).reason);
    expect(refused).toEqual(["bad signature", "stale timestamp"]);
    const [row] = await t.db.tenant(installationId, (tx) =>
      tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [proposal.id]),
    );
    expect(row!.status).toBe("pending");
  });

  it("loses nothing and sends nothing twice when a worker dies between claiming a message and sending it", async () => {
    const res = await app.deliver(
      "deployment_protection_rule",
      deploymentProtectionRule({ installationId, environment: "production", sha: SHA, runId: 92, sender: "runner" }),
    );
    expect(res.status).toBe(200);
    await app.server.worker.drain();
    // A worker claims the proposal's event, then dies: nothing is sent.
    const claimed = await claimJob(t.db, clock(), 60_000, "dead-worker", () => 0);
    expect(claimed && "job" in claimed).toBe(true);
    await app.server.notifier.runOnce();
    expect(slack.calls).toEqual([]);
    // After its lease, another takes it once.
    offset = 61_000;
    await settle();
    expect(slack.calls.filter((c) => c.method === "chat.postMessage")).toHaveLength(1);
    expect(hooks.received).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    await settle();
    expect(slack.calls.filter((c) => c.method === "chat.postMessage")).toHaveLength(1);
  });

  it("fails a message for good when Slack refuses the channel: audited, counted, shown as failed, and the decision is not held up", async () => {
    await addChannel(
      t.db,
      keyring,
      installationId,
      { type: "slack", name: "gone", token: "xoxb-000000000000", signingSecret: SIGNING, channel: "#gone" },
      "cli",
      clock(),
    );
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\nnotify:\n  channels: [gone]\n");
    slack.failWith = "channel_not_found";
    const proposal = await requestDeploy();
    expect(proposal.status).toBe("pending");
    const failed = (await audit()).filter((e) => e.action === "notification.failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ channel: "gone", type: "slack", error: "slack: channel_not_found" });
    const metrics = await app.server.metrics.registry.getSingleMetricAsString("agent_gate_notifications_total");
    expect(metrics).toContain('type="slack",outcome="failed"} 1');
  });
});

describe("a proposal's channels are told at the same time", () => {
  it("sends the mail while a webhook receiver still holds its request unanswered, then completes the webhook", async () => {
    const held: ServerResponse[] = [];
    const stall = createServer((_req, res) => held.push(res));
    await new Promise<void>((resolve) => stall.listen(0, "127.0.0.1", resolve));
    try {
      await addChannel(
        t.db,
        keyring,
        installationId,
        { type: "webhook", name: "stall", url: `http://127.0.0.1:${(stall.address() as AddressInfo).port}/hook` },
        "cli",
        clock(),
      );
      // The stalled channel's message is queued first: one message after another, the mail would wait for it.
      fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\nnotify:\n  channels: [stall, mail]\n");
      // The notifier's own loops (woken at commit), as the app runs them; app.close() stops them.
      await app.server.notifier.start();
      const res = await app.deliver(
        "deployment_protection_rule",
        deploymentProtectionRule({ installationId, environment: "production", sha: SHA, runId: 94, sender: "runner" }),
      );
      expect(res.status).toBe(200);
      await vi.waitFor(() => expect(smtp.mails).toHaveLength(1), { timeout: 8_000, interval: 20 });
      expect(held).toHaveLength(1);
      expect(held[0]!.writableEnded).toBe(false);
      held[0]!.writeHead(204).end();
      await app.server.notifier.drain();
      const sent = (await audit())
        .filter((e) => e.action === "notification.sent")
        .map((e) => (e.data as { channel: string }).channel);
      expect(sent.sort()).toEqual(["mail", "stall"]);
    } finally {
      stall.closeAllConnections();
      await new Promise((resolve) => stall.close(resolve));
    }
  });
});

describe("reminders, the warning before expiry and the message at expiry", () => {
  it("reminds at the notify.remind_every cadence, warns before expiry, tells at expiry, and approves nothing", async () => {
    fake.setFile(
      REPO,
      ".github/agent-gate.yml",
      [
        "agents: [deploy-agent]",
        "approvals: { required: 1 }",
        "expiry: 2h",
        "notify:",
        "  channels: [hook]",
        "  remind_every: 30m",
        "",
      ].join("\n"),
    );
    // Only this proposal's steps: the earlier tests' proposals (other installations) have theirs too.
    await t.owner.query("UPDATE notify_schedule SET done_at = now() WHERE done_at IS NULL");
    const proposal = await requestDeploy();
    const sentEvents = async () =>
      (await audit())
        .filter((e) => e.action === "notification.sent" && e.subject === proposal.id)
        .map((e) => (e.data as { event: string }).event);
    expect(await sentEvents()).toEqual(["pending"]);

    // The cadence counts from the proposal, not from when a sweep happened to run.
    const at = async (minutes: number) => {
      offset = minutes * 60_000;
      const queued = await app.server.notifier.sweep();
      await settle();
      return queued;
    };
    expect(await at(29)).toBe(0);
    expect(await at(31)).toBe(1);
    expect(await sentEvents()).toEqual(["pending", "reminder"]);
    expect(await at(59)).toBe(0);
    expect(await at(60.2)).toBe(1);
    expect(await sentEvents()).toEqual(["pending", "reminder", "reminder"]);
    // Half an hour before the 2 h expiry (a quarter of its life, at most an hour): the warning, and the third reminder.
    expect(await at(90.2)).toBe(2);
    expect((await sentEvents()).sort()).toEqual(["expiring", "pending", "reminder", "reminder", "reminder"]);
    // No reminder at or after the expiry.
    expect(await at(119.9)).toBe(0);

    // At expiry the proposal is rejected ("expired"), GitHub is told rejected, and the channel hears it.
    offset = 120.1 * 60_000;
    expect(await expireDue(t.db, clock())).toBe(1);
    await settle();
    expect(await app.server.notifier.sweep()).toBe(0);
    await settle();
    const [row] = await t.db.tenant(installationId, (tx) =>
      tx.query<{ status: string; reason: string }>("SELECT status, reason FROM proposals WHERE id = $1", [proposal.id]),
    );
    expect(row).toMatchObject({ status: "rejected", reason: "expired" });
    expect(fake.callsTo("POST", CALLBACK).map((c) => (c.body as { state: string }).state)).toEqual(["rejected"]);
    const types = hooks.received.map((h) => h.body.type);
    expect(types.at(-1)).toBe("proposal.expired");
    expect(types.filter((type) => type === "proposal.decided")).toEqual([]);
    expect(hooks.refused).toBe(0);
    // Nothing was ever approved: no approving vote, decision or redemption.
    const events = await audit();
    expect(events.filter((e) => e.action === "decision.recorded").map((e) => e.outcome)).not.toContain("approved");
    expect(events.filter((e) => e.action === "vote.recorded")).toEqual([]);
  });
});
