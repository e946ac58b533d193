/**
 * The `notify` step of bench/run.ts: how soon the people who decide hear of
 * a waiting proposal, and how soon their Slack click reaches GitHub.
 *
 * The whole app (startTestApp, outbox worker and notifier running) with the
 * production paces (one GitHub write per installation a second; Slack one
 * message a second per channel, email 200 ms), three real channels (the
 * Slack Web API stand-in, a real SMTP server from `smtp-server`, a Standard
 * Webhooks receiver verifying with the library's own verifier) and the
 * GitHub fake. A proposal is an agent's deploy waiting on its protection
 * rule: a signed `deployment_protection_rule` delivery, processed from the
 * inbox, the proposal and its `pending` notification committed in one
 * transaction (the moment is taken from that transaction's NOTIFY, heard on
 * this process's own connection), then fanned out to the three channels.
 * Measured on an idle write queue and behind 200 queued GitHub writes of the
 * same installation (kept at 200 by more agent pull requests), proposals one
 * at a time, spaced beyond the channels' pace. Then a linked, eligible Slack
 * user's signed click (POST /slack/interactions) → the deployment review
 * (and, on the idle queue, the check run) at the GitHub fake.
 */
import { randomBytes } from "node:crypto";
import { NOTIFY_CHANNEL } from "../src/notify/jobs.ts";
import { DEFAULT_NOTIFY_PACE_MS } from "../src/notify/notifier.ts";
import { addChannel } from "../src/notify/channels.ts";
import { issueLinkToken, redeemLinkToken } from "../src/notify/links.ts";
import { parseKeyring } from "../src/crypto/keyring.ts";
import type { Database } from "../src/db/database.ts";
import { GitHubFake } from "../test/support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../test/support/app.ts";
import { deploymentProtectionRule } from "../test/support/fixtures.ts";
import { inboxDrained } from "../test/support/inbox.ts";
import {
  signedInteraction,
  startSlackStandIn,
  startSmtpServer,
  startWebhookReceiver,
  type SlackCall,
} from "../test/support/notify-standins.ts";

export interface BenchRow {
  measure: string;
  value: string;
  baseline: string;
  ratio: string;
}

const PROPOSALS = Number(process.env.BENCH_NOTIFY ?? 40);
const CLICKS = Number(process.env.BENCH_NOTIFY_CLICKS ?? 20);
/** GitHub's asked-for gap between two writes of one installation, the app's default (AGENT_GATE_WRITE_INTERVAL_MS). */
const WRITE_PACE_MS = 1000;
const BACKLOG = 200;
const INSTALLATION = 30_000;
const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const SLACK_TEAM = "T0GATE";
const SLACK_USER = "U0DECIDER";
const TARGET_IDLE_MS = 1000;
const TARGET_BACKLOG_MS = 2000;
const TARGET_CLICK_MS = 100 + WRITE_PACE_MS;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (v: number) => `${v.toFixed(1)} ms`;
function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const p50p99 = (values: number[]) => `${ms(pct(values, 50))} / ${ms(pct(values, 99))}`;
const against = (p99: number, target: number) => (p99 <= target ? "met" : `not met (gap p99 ${ms(p99 - target)})`);

/**
 * Arrival times at the stand-ins: every append to the lists they record into
 * (and every answer of the GitHub fake) re-tests the waits, so an arrival is
 * timed when it happens, not when a poll notices it.
 */
class Arrivals {
  readonly #waits = new Set<{ test: () => boolean; resolve: (at: number) => void }>();

  watchList(list: unknown[]): void {
    const push = list.push.bind(list);
    list.push = (...items: unknown[]) => {
      const length = push(...items);
      this.poke();
      return length;
    };
  }

  poke(): void {
    const at = performance.now();
    for (const wait of this.#waits)
      if (wait.test()) {
        this.#waits.delete(wait);
        wait.resolve(at);
      }
  }

  /** Resolves with the time `test` first holds after now. */
  until(what: string, test: () => boolean, timeoutMs = 60_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waits.delete(wait);
        reject(new Error(`notify bench: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const wait = {
        test,
        resolve: (at: number) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.#waits.add(wait);
    });
  }
}

interface Sample {
  sent: number;
  committed: number;
  slack: number;
  mail: number;
  hook: number;
  /** What the Slack message's Approve button carries. */
  approveValue: string;
  runId: number;
  sha: string;
  /** GitHub writes queued in the installation when the proposal was sent, and those reaching GitHub until all three arrived. */
  queued: number;
  writesMeanwhile: number;
}

interface Rig {
  app: TestApp;
  fake: GitHubFake;
  db: Database;
  slack: Awaited<ReturnType<typeof startSlackStandIn>>;
  smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  arrivals: Arrivals;
  commits: number[];
  signing: string;
  nextRun: number;
  nextPull: number;
}

const isPost = (call: SlackCall) => call.method === "chat.postMessage";
const writes = (fake: GitHubFake) =>
  fake.calls.filter((c) => c.method !== "GET" && !c.path.includes("access_tokens")).length;

async function queuedWrites(db: Database): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    "SELECT count(*)::int8 AS n FROM outbox WHERE installation_id = $1 AND done_at IS NULL",
    [INSTALLATION],
  );
  return Number(row?.n ?? 0);
}

/** One agent deploy waiting on its protection rule: sent → committed → Slack, email and webhook. */
async function propose(rig: Rig): Promise<Sample> {
  const { app, slack, smtp, hooks, arrivals } = rig;
  const sha = randomBytes(20).toString("hex");
  const runId = (rig.nextRun += 1);
  const posts = slack.calls.filter(isPost).length;
  const mails = smtp.mails.length;
  const received = hooks.received.length;
  const commits = rig.commits.length;
  const queued = await queuedWrites(rig.db);
  const writesBefore = writes(rig.fake);
  const committed = arrivals.until("commit", () => rig.commits.length > commits);
  const atSlack = arrivals.until("Slack message", () => slack.calls.filter(isPost).length > posts);
  const atMail = arrivals.until("mail", () => smtp.mails.length > mails);
  const atHook = arrivals.until("webhook", () => hooks.received.length > received);
  const sent = performance.now();
  const res = await app.deliver(
    "deployment_protection_rule",
    deploymentProtectionRule({ installationId: INSTALLATION, environment: "production", sha, runId, sender: "runner" }),
    { settle: false },
  );
  if (res.status !== 200) throw new Error(`deployment_protection_rule answered ${res.status}`);
  const [c, s, m, h] = await Promise.all([committed, atSlack, atMail, atHook]);
  const writesMeanwhile = writes(rig.fake) - writesBefore;
  // The three messages are this proposal's: the webhook's id is the Slack button's and the mail's link.
  const post = slack.calls.filter(isPost).at(-1)!;
  const approve = (post.args.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[])
    .find((b) => b.type === "actions")
    ?.elements?.find((e) => e.action_id === "approve");
  const id = String(hooks.received.at(-1)!.body.proposal.id);
  if (!approve?.value || (JSON.parse(approve.value) as { p: string }).p !== id)
    throw new Error("notify bench: the Slack message is not the webhook's proposal");
  if (!smtp.mails.at(-1)!.data.includes(`/proposals/${id}`))
    throw new Error("notify bench: the mail is not the webhook's proposal");
  return {
    sent,
    committed: c,
    slack: s,
    mail: m,
    hook: h,
    approveValue: approve.value,
    runId,
    sha,
    queued,
    writesMeanwhile,
  };
}

/** Agent pull requests of the same installation until `BACKLOG` GitHub writes are queued. */
async function topUp(rig: Rig): Promise<void> {
  for (let queued = await queuedWrites(rig.db); queued < BACKLOG; queued = await queuedWrites(rig.db)) {
    const batch = Array.from({ length: BACKLOG - queued }, () => (rig.nextPull += 1));
    for (const pull of batch) await rig.app.deliver("pull_request", agentPr(pull), { settle: false });
    await inboxDrained(rig.db, 300_000);
  }
  // Their own notifications (no channel takes commits here) are fanned out before the proposal is sent.
  await rig.app.server.notifier.drain(120_000);
}

function agentPr(pull: number): Record<string, any> {
  const payload = example("pull_request", "opened", INSTALLATION);
  payload.number = pull;
  payload.pull_request.number = pull;
  payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
  payload.pull_request.head.sha = randomBytes(20).toString("hex");
  payload.sender = { ...payload.sender, login: AGENT, type: "User" };
  return payload;
}

/** Proposals one at a time, each once the earlier ones' messages are out and every channel's pace has passed. */
async function proposals(rig: Rig, count: number, backlog: boolean): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < count; i += 1) {
    if (backlog) await topUp(rig);
    await rig.app.server.notifier.drain(120_000);
    await channelsFree(rig);
    out.push(await propose(rig));
  }
  return out;
}

async function channelsFree(rig: Rig): Promise<void> {
  for (;;) {
    const [row] = await rig.db.query<{ busy: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM notify_pace WHERE installation_id = $1 AND next_at > now()) AS busy",
      [INSTALLATION],
    );
    if (!row?.busy) return;
    await sleep(50);
  }
}

/** The linked, eligible Slack user approves a proposal: click → deployment review (and check run) at GitHub. */
async function click(
  rig: Rig,
  sample: Sample,
  withCheckRun: boolean,
): Promise<{ answered: number; review: number; checkRun?: number }> {
  const { app, fake, arrivals } = rig;
  const callback = `/repos/${REPO}/actions/runs/${sample.runId}/deployment_protection_rule`;
  const review = arrivals.until("deployment review", () =>
    fake.calls.some((c) => c.method === "POST" && c.path === callback),
  );
  const checkRun = withCheckRun
    ? arrivals.until("check run update", () =>
        fake.checkRuns(REPO).some((r) => r.head_sha === sample.sha && r.conclusion === "success"),
      )
    : undefined;
  const payload = {
    type: "block_actions",
    trigger_id: `${Date.now()}.${randomBytes(6).toString("hex")}`,
    team: { id: SLACK_TEAM },
    user: { id: SLACK_USER },
    channel: { id: "C0DEPLOYS1" },
    actions: [{ action_id: "approve", value: sample.approveValue }],
  };
  const signed = signedInteraction(rig.signing, payload);
  const t0 = performance.now();
  const res = await fetch(`${app.url}/slack/interactions`, {
    method: "POST",
    headers: signed.headers,
    body: signed.body,
  });
  const answered = performance.now() - t0;
  if (res.status !== 200) throw new Error(`/slack/interactions answered ${res.status}`);
  return {
    answered,
    review: (await review) - t0,
    ...(checkRun ? { checkRun: (await checkRun) - t0 } : {}),
  };
}

/** No decision write of an earlier click still queued, and the installation's write slot free. */
async function decisionsWritten(rig: Rig): Promise<void> {
  for (;;) {
    const [row] = await rig.db.query<{ n: number; busy: boolean }>(
      `SELECT (SELECT count(*) FROM outbox WHERE installation_id = $1 AND done_at IS NULL AND priority = 0)::int8 AS n,
              EXISTS (SELECT 1 FROM outbox_pace WHERE installation_id = $1 AND next_at > now()) AS busy`,
      [INSTALLATION],
    );
    if (Number(row?.n ?? 0) === 0 && !row?.busy) return;
    await sleep(50);
  }
}

async function clicks(rig: Rig, samples: Sample[], backlog: boolean) {
  const out: { answered: number; review: number; checkRun?: number }[] = [];
  for (const sample of samples) {
    await decisionsWritten(rig);
    if (backlog) await topUp(rig);
    out.push(await click(rig, sample, !backlog));
  }
  return out;
}

async function setUp(db: Database): Promise<Rig> {
  const keyring = parseKeyring(`k1:${randomBytes(32).toString("base64")}`);
  const signing = randomBytes(16).toString("hex");
  const smtpPass = randomBytes(9).toString("hex");
  const fake = await GitHubFake.start({ validate: false });
  const slack = await startSlackStandIn();
  const smtp = await startSmtpServer("gate", smtpPass);
  const hooks = await startWebhookReceiver();
  fake.setFile(
    REPO,
    ".github/agent-gate.yml",
    [
      `agents: [${AGENT}]`,
      "approvals: { required: 1 }",
      "notify:",
      "  routes:",
      "    - { kinds: [deploy], channels: [deploys, mail, hook] }",
      "",
    ].join("\n"),
  );
  fake.setPermission(REPO, "runner", "admin");
  fake.setPermission(REPO, "decider", "write");
  const app = await startTestApp({
    db,
    fake,
    keyring,
    startWorker: true,
    paceMs: WRITE_PACE_MS,
    notifyPaceMs: DEFAULT_NOTIFY_PACE_MS,
    logLevel: "warn",
    env: { AGENT_GATE_SLACK_API_URL: slack.url },
  });
  const now = new Date();
  const token = `xoxb-${randomBytes(12).toString("hex")}`;
  await addChannel(
    db,
    keyring,
    INSTALLATION,
    { type: "slack", name: "deploys", token, signingSecret: signing, channel: "#deploys" },
    "bench",
    now,
  );
  await addChannel(
    db,
    keyring,
    INSTALLATION,
    {
      type: "email",
      name: "mail",
      smtpUrl: `smtp://gate:${smtpPass}@127.0.0.1:${smtp.port}`,
      from: "gate@example.test",
      to: ["ops@example.test"],
    },
    "bench",
    now,
  );
  const hook = await addChannel(
    db,
    keyring,
    INSTALLATION,
    { type: "webhook", name: "hook", url: hooks.url },
    "bench",
    now,
  );
  hooks.setSecret(hook.secret!);
  // The Slack user linked to an eligible GitHub login, as the review page does after GitHub sign-in.
  const link = await db.tenant(INSTALLATION, (tx) => issueLinkToken(tx, INSTALLATION, SLACK_TEAM, SLACK_USER, now));
  await redeemLinkToken(db, link, { login: "decider", id: 4711 }, now);

  const arrivals = new Arrivals();
  for (const list of [slack.calls, smtp.mails, hooks.received, fake.calls]) arrivals.watchList(list);
  const previous = fake.log;
  fake.log = (line) => {
    previous?.(line);
    arrivals.poke();
  };
  const rig: Rig = { app, fake, db, slack, smtp, hooks, arrivals, commits: [], signing, nextRun: 9000, nextPull: 5000 };
  // The proposal's transaction announces its notification at commit (the payload is its installation).
  const unlisten = await db.listen(NOTIFY_CHANNEL, (payload) => {
    if (payload !== String(INSTALLATION)) return;
    rig.commits.push(performance.now());
    arrivals.poke();
  });
  const close = app.close.bind(app);
  app.close = async () => {
    await unlisten();
    await close();
    await Promise.all([fake.close(), slack.close(), smtp.close(), hooks.close()]);
  };
  return rig;
}

function notifyRows(label: string, samples: Sample[], target: number, backlog: boolean): BenchRow[] {
  const all = samples.map((s) => Math.max(s.slack, s.mail, s.hook) - s.committed);
  const rows: BenchRow[] = [
    {
      measure: `notification, ${label}: deploy proposal committed → Slack, email and webhook all arrived, p50 / p99 (${samples.length})`,
      value: p50p99(all),
      baseline: `target p99 ≤ ${ms(target)}`,
      ratio: against(pct(all, 99), target),
    },
  ];
  const part = (name: string, pick: (s: Sample) => number) => ({
    measure: `  of which: ${name}, p50 / p99`,
    value: p50p99(samples.map((s) => pick(s) - s.committed)),
    baseline: "",
    ratio: "",
  });
  rows.push(
    part("Slack chat.postMessage at the stand-in", (s) => s.slack),
    part("mail received by the SMTP server", (s) => s.mail),
    part("Standard Webhooks delivery verified", (s) => s.hook),
  );
  const fromSend = samples.map((s) => Math.max(s.slack, s.mail, s.hook) - s.sent);
  rows.push({
    measure: "  from the delivery sent (adds acknowledgement and inbox processing), p50 / p99",
    value: p50p99(fromSend),
    baseline: "",
    ratio: "",
  });
  if (backlog) {
    const queued = samples.map((s) => s.queued);
    const meanwhile = Math.max(...samples.map((s) => s.writesMeanwhile));
    const drainS = (Math.min(...queued) * WRITE_PACE_MS) / 1000;
    rows.push({
      measure: `  GitHub writes queued in the installation at each proposal (pace ${WRITE_PACE_MS} ms), min / max`,
      value: `${Math.min(...queued)} / ${Math.max(...queued)}`,
      baseline: `writes reaching GitHub until all three arrived: at most ${meanwhile}`,
      ratio:
        meanwhile < Math.min(...queued) && pct(all, 99) < drainS * 1000
          ? `not behind them (they take ≥ ${drainS} s to write)`
          : "BEHIND them",
    });
  }
  return rows;
}

function clickRows(label: string, results: Awaited<ReturnType<typeof clicks>>): BenchRow[] {
  const review = results.map((r) => r.review);
  const rows: BenchRow[] = [
    {
      measure: `Slack click, ${label}: signed approve from a linked eligible user → deployment review at GitHub, p50 / p99 (${results.length})`,
      value: p50p99(review),
      baseline: `target p99 ≤ 100 ms + ${WRITE_PACE_MS} ms write pace`,
      ratio: against(pct(review, 99), TARGET_CLICK_MS),
    },
    {
      measure: "  of which: /slack/interactions answered (vote counted, decision committed), p50 / p99",
      value: p50p99(results.map((r) => r.answered)),
      baseline: "",
      ratio: "",
    },
  ];
  const checkRuns = results.flatMap((r) => (r.checkRun === undefined ? [] : [r.checkRun]));
  if (checkRuns.length)
    rows.push({
      measure: "  check run updated at GitHub (the write after the review, one pace later), p50 / p99",
      value: p50p99(checkRuns),
      baseline: `target p99 ≤ 100 ms + 2 × ${WRITE_PACE_MS} ms`,
      ratio: against(pct(checkRuns, 99), 100 + 2 * WRITE_PACE_MS),
    });
  return rows;
}

export async function notifyLatency(db: Database): Promise<BenchRow[]> {
  const rig = await setUp(db);
  try {
    // Not counted: mints the installation's tokens and reads the config first.
    const [warm] = await proposals(rig, 1, false);
    await clicks(rig, [warm!], false);
    const idle = await proposals(rig, PROPOSALS, false);
    const idleClicks = await clicks(rig, idle.slice(0, CLICKS), false);
    await rig.app.server.notifier.drain(120_000);
    await topUp(rig);
    const behind = await proposals(rig, PROPOSALS, true);
    const behindClicks = await clicks(rig, behind.slice(0, CLICKS), true);
    return [
      ...notifyRows("idle write queue", idle, TARGET_IDLE_MS, false),
      ...notifyRows(`behind ${BACKLOG} queued GitHub writes`, behind, TARGET_BACKLOG_MS, true),
      ...clickRows("idle write queue", idleClicks),
      ...clickRows(`behind ${BACKLOG} queued GitHub writes`, behindClicks),
    ];
  } finally {
    await rig.app.close();
  }
}
