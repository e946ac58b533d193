/**
 * GitHub's rate limit: what an agent pull request costs. Run:
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:rate
 *
 * Replays a realistic mix against the GitHub stand-in (test/support), which
 * answers conditional requests as GitHub does (token-specific ETags, a 304
 * not counted, every other installation answer counted) and prints
 * rate-limited requests per agent pull request, per delivery and per idle
 * pending pull request per reconciliation sweep, each beside its floor:
 * - 6 agent pull requests: opened, labelled, assigned, pushed 3 more times,
 *   commented on twice, approved once, merged;
 * - 4 people's pull requests: opened, one push, one approval, merged;
 * - other apps' check runs on every head, 8 jobs created and completed.
 * Then `BENCH_IDLE_PRS` (default 20) agent pull requests left pending and
 * reconciled `BENCH_SWEEPS` (default 3) times after a first sweep.
 * It creates and drops its own scratch database.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openPg } from "../src/db/pg.ts";
import { migrate } from "../src/db/migrate.ts";
import { GitHubFake, type GitHubCall } from "../test/support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../test/support/app.ts";
import { inboxDrained } from "../test/support/inbox.ts";

const ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const IDLE_PRS = Number(process.env.BENCH_IDLE_PRS ?? 20);
const SWEEPS = Number(process.env.BENCH_SWEEPS ?? 3);
const AGENT_PRS = 6;
const PEOPLE_PRS = 4;
const JOBS_PER_PUSH = 8;
/** The floor of the mix, people's pull requests folded in: commits per head, reviews per review event, the approver's permission, check-run writes. */
const FLOOR_PER_AGENT_PR = 15;

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const HUMAN = "human-dev";
const INSTALLATION = 4100;
const sha = (pr: number, n: number) => `${pr.toString(16).padStart(4, "0")}${n.toString(16).padStart(36, "0")}`;

async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `agent_gate_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: ADMIN_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

function listedCommit(commitSha: string, login: string) {
  return {
    sha: commitSha,
    commit: {
      author: { name: login, email: `${login}@example.com`, date: "2026-11-23T09:00:00Z" },
      committer: { name: login, email: `${login}@example.com`, date: "2026-11-23T09:00:00Z" },
      message: "Change things",
    },
    author: { login, id: 7, type: "User" },
    committer: { login, id: 7, type: "User" },
    parents: [],
  };
}

class Mix {
  deliveries = 0;
  readonly reviews = new Map<number, object[]>();
  constructor(
    private readonly app: TestApp,
    private readonly fake: GitHubFake,
  ) {}

  private pull(
    action: string,
    pr: number,
    head: string,
    author: string,
    commits: number,
    extra: Record<string, unknown> = {},
  ) {
    const payload = example("pull_request", action === "synchronize" ? "synchronize" : "opened", INSTALLATION);
    payload.action = action;
    payload.number = pr;
    payload.pull_request.number = pr;
    payload.pull_request.user = { ...payload.pull_request.user, login: author, type: "User" };
    payload.pull_request.head.sha = head;
    payload.pull_request.commits = commits;
    payload.sender = { ...payload.sender, login: author, type: "User" };
    Object.assign(payload, extra);
    return payload;
  }

  async send(event: string, payload: unknown): Promise<void> {
    const res = await this.app.deliver(event, payload);
    if (res.status !== 200) throw new Error(`${event} answered ${res.status}`);
    this.deliveries += 1;
  }

  async open(pr: number, author: string): Promise<string> {
    const head = sha(pr, 0);
    this.fake.setPullRequest(REPO, { number: pr, user: { login: author, id: 9, type: "User" }, head: { sha: head } });
    this.fake.setPullCommits(REPO, pr, [listedCommit(head, author)]);
    await this.send("pull_request", this.pull("opened", pr, head, author, 1));
    await this.otherAppsChecks(head);
    return head;
  }

  async push(pr: number, author: string, n: number): Promise<string> {
    const before = sha(pr, n - 1);
    const head = sha(pr, n);
    const commits = Array.from({ length: n + 1 }, (_, i) => listedCommit(sha(pr, i), author));
    this.fake.setPullCommits(REPO, pr, commits);
    this.fake.setHistory(REPO, before, head, [{ sha: head, message: "Change things", committer: author }]);
    this.fake.setPullRequest(REPO, { number: pr, user: { login: author, id: 9, type: "User" }, head: { sha: head } });
    await this.send("pull_request", this.pull("synchronize", pr, head, author, n + 1, { before, after: head }));
    await this.otherAppsChecks(head);
    return head;
  }

  async review(pr: number, author: string, head: string, state: "commented" | "approved"): Promise<void> {
    const list = this.reviews.get(pr) ?? [];
    list.push({
      id: list.length + 1,
      user: { login: "maintainer", id: 7, type: "User" },
      state: state.toUpperCase(),
      commit_id: head,
      submitted_at: "2026-11-23T10:00:00Z",
      body: "",
    });
    this.reviews.set(pr, list);
    this.fake.setReviews(REPO, pr, list);
    const payload = example("pull_request_review", "submitted", INSTALLATION);
    payload.pull_request.number = pr;
    payload.pull_request.user = { ...payload.pull_request.user, login: author, type: "User" };
    payload.pull_request.head.sha = head;
    payload.review = {
      ...payload.review,
      id: pr * 100 + list.length,
      user: { ...payload.review.user, login: "maintainer", type: "User" },
      state,
      commit_id: head,
    };
    payload.sender = { ...payload.sender, login: "maintainer", type: "User" };
    await this.send("pull_request_review", payload);
  }

  async label(pr: number, author: string, head: string, action: "labeled" | "assigned" | "closed"): Promise<void> {
    const payload = this.pull(action, pr, head, author, 1);
    if (action === "closed") payload.pull_request = { ...payload.pull_request, state: "closed", merged: true };
    await this.send("pull_request", payload);
  }

  /** Another app's CI on a head: its check runs created and completed, as GitHub sends them to every app subscribed to check_run. */
  async otherAppsChecks(head: string): Promise<void> {
    for (let job = 0; job < JOBS_PER_PUSH; job++) {
      for (const action of ["created", "completed"] as const) {
        const payload = example("check_run", action, INSTALLATION);
        payload.check_run = {
          ...payload.check_run,
          id: Number.parseInt(head.slice(0, 6), 16) * 10 + job,
          head_sha: head,
          name: `ci / job ${job}`,
          app: { ...payload.check_run.app, id: 15368, slug: "github-actions" },
        };
        await this.send("check_run", payload);
      }
    }
  }
}

interface Counts {
  total: number;
  byRoute: Map<string, number>;
}

function count(calls: GitHubCall[]): Counts {
  const byRoute = new Map<string, number>();
  for (const call of calls) {
    const name = `${call.method} ${call.route ?? call.path}`;
    byRoute.set(name, (byRoute.get(name) ?? 0) + 1);
  }
  return { total: calls.length, byRoute };
}

async function main(): Promise<void> {
  const scratch = await scratchDatabase();
  const db = openPg({ connectionString: scratch.url });
  const fake = await GitHubFake.start({ validate: false });
  let app: TestApp | undefined;
  try {
    await migrate(db);
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
    fake.setPermission(REPO, "maintainer", "write");
    app = await startTestApp({ db, fake, paceMs: 0, logLevel: "warn" });
    const mix = new Mix(app, fake);
    const drain = async () => {
      await inboxDrained(db);
      await app!.server.worker.drain();
    };

    // 1. The mix.
    const from = fake.rateLimited.length;
    const notModifiedFrom = fake.notModified.length;
    for (let i = 0; i < AGENT_PRS; i++) {
      const pr = 100 + i;
      let head = await mix.open(pr, AGENT);
      await mix.label(pr, AGENT, head, "labeled");
      await mix.label(pr, AGENT, head, "assigned");
      for (let n = 1; n <= 3; n++) head = await mix.push(pr, AGENT, n);
      await mix.review(pr, AGENT, head, "commented");
      await mix.review(pr, AGENT, head, "commented");
      await mix.review(pr, AGENT, head, "approved");
      await drain();
      await mix.label(pr, AGENT, head, "closed");
    }
    for (let i = 0; i < PEOPLE_PRS; i++) {
      const pr = 200 + i;
      await mix.open(pr, HUMAN);
      const head = await mix.push(pr, HUMAN, 1);
      await mix.review(pr, HUMAN, head, "approved");
      await mix.label(pr, HUMAN, head, "closed");
    }
    await drain();
    const mixCalls = fake.rateLimited.slice(from);
    const mixed = count(mixCalls);
    const notModified = fake.notModified.length - notModifiedFrom;
    const decided = fake.checkRuns(REPO).filter((run) => run.name === "Agent Gate");
    const outcome = (conclusion: string | null) => decided.filter((run) => run.conclusion === conclusion).length;

    // 2. Other apps' check runs alone (one more head's CI): what they cost.
    const checksFrom = fake.rateLimited.length;
    await mix.otherAppsChecks(sha(999, 0));
    await drain();
    const checksCost = fake.rateLimited.length - checksFrom;

    // 3. Idle pending agent pull requests, reconciled.
    for (let i = 0; i < IDLE_PRS; i++) await mix.open(300 + i, AGENT);
    await drain();
    await app.server.reconcile(); // the first sweep after their events
    await drain();
    const sweepFrom = fake.rateLimited.length;
    for (let s = 0; s < SWEEPS; s++) {
      await app.server.reconcile();
      await drain();
    }
    const perIdleSweep = (fake.rateLimited.length - sweepFrom) / (IDLE_PRS * SWEEPS);

    const rows: Array<[string, string, string]> = [
      [
        "rate-limited requests per agent pull request (people's folded in)",
        (mixed.total / AGENT_PRS).toFixed(1),
        `floor ≈ ${FLOOR_PER_AGENT_PR}; goal ≤ 15`,
      ],
      [
        `rate-limited requests per delivery (${mix.deliveries} deliveries)`,
        (mixed.total / mix.deliveries).toFixed(3),
        `floor ≈ ${((FLOOR_PER_AGENT_PR * AGENT_PRS) / mix.deliveries).toFixed(3)}`,
      ],
      [
        `rate-limited requests per idle pending pull request per sweep (${IDLE_PRS} PRs, ${SWEEPS} sweeps)`,
        perIdleSweep.toFixed(2),
        "floor 0",
      ],
      [
        `other apps' check runs (${JOBS_PER_PUSH} jobs created and completed on one head)`,
        String(checksCost),
        "floor 0",
      ],
      ["answers 304 (not counted) during the mix", String(notModified), ""],
      [
        "Agent Gate check runs: success / action_required or pending / failure",
        `${outcome("success")} / ${decided.length - outcome("success") - outcome("failure")} / ${outcome("failure")}`,
        "the same before and after",
      ],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log(`Agent Gate rate-limit benchmark, ${new Date().toISOString()}, node ${process.version}`);
    console.log(`| ${"measure".padEnd(width)} | value | floor / goal |`);
    console.log(`|${"-".repeat(width + 2)}|-------|--------------|`);
    for (const [measure, value, floor] of rows) console.log(`| ${measure.padEnd(width)} | ${value} | ${floor} |`);
    console.log("\nRate-limited requests of the mix by route:");
    for (const [route, n] of [...mixed.byRoute].sort((a, b) => b[1] - a[1]))
      console.log(`  ${String(n).padStart(4)}  ${route}`);
  } finally {
    await app?.close();
    await fake.close();
    await db.close();
    await scratch.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
