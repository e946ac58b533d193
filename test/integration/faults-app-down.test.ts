import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort, startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { TEST_APP_ID, TEST_SECRET } from "../support/app.ts";
import { agentPullRequest, shaFor } from "../support/pulls.ts";
import { chainOf, outboxDrained } from "../support/fault-checks.ts";

// The app is down while GitHub sends 20 deliveries: each attempt fails and
// GitHub's delivery log says so. GitHub does not try again by itself; the
// app, once started, reads the log and asks for each one. Nobody redelivers
// by hand. (Runs the app as `npm start` does, on PostgreSQL.)

const REPO = "Codertocat/Hello-World";
const AGENT = "down-agent";
const INSTALLATION = 7300;
const DELIVERIES = 20;
const KEYS = generateKeyEntry("k1");

describe.skipIf(backend() === "pglite")("the app down while GitHub sends 20 deliveries", () => {
  let t: TestDatabase;
  let fake: GitHubFake;
  let app: ProcessApp | undefined;

  beforeAll(async () => {
    t = await createTestDatabase();
    fake = await GitHubFake.start();
    fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
  });
  afterAll(async () => {
    await app?.stop("SIGKILL");
    await fake?.close();
    await t?.drop();
  });

  it("processes every one after the start, asked of GitHub's delivery log, each once", async () => {
    const port = await freePort();
    fake.sendWebhooksTo(`http://127.0.0.1:${port}`, TEST_SECRET);
    for (let n = 1; n <= DELIVERIES; n += 1) {
      const logged = await fake.sendWebhook(
        "pull_request",
        agentPullRequest({ installationId: INSTALLATION, number: n, sha: shaFor(n), agent: AGENT }),
        { guid: `down-${n}` },
      );
      expect(logged.status_code).toBe(0);
    }

    app = await startProcessApp({
      appId: TEST_APP_ID,
      secret: TEST_SECRET,
      githubUrl: fake.url,
      databaseUrl: t.url!,
      env: { PORT: String(port), AGENT_GATE_KEYS: KEYS, AGENT_GATE_WRITE_INTERVAL_MS: "5" },
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await t.owner.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM webhook_deliveries WHERE app_id = $1",
        [TEST_APP_ID],
      );
      if (row?.n === DELIVERIES) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.n} of ${DELIVERIES} deliveries processed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await outboxDrained(t.db, 60_000);

    const redelivered = fake.deliveryLog().filter((e) => e.redelivery);
    expect(redelivered.map((e) => e.guid).sort()).toEqual(
      Array.from({ length: DELIVERIES }, (_, i) => `down-${i + 1}`).sort(),
    );
    expect(redelivered.every((e) => e.status_code === 200)).toBe(true);
    const chain = await chainOf(t.db, INSTALLATION);
    expect(chain.broken).toBeNull();
    expect(chain.of("webhook.received")).toHaveLength(DELIVERIES);
    expect(chain.of("proposal.created")).toHaveLength(DELIVERIES);
    const runs = fake.checkRuns(REPO).filter((run) => run.name === "Agent Gate");
    expect(runs.map((run) => run.head_sha).sort()).toEqual(
      Array.from({ length: DELIVERIES }, (_, i) => shaFor(i + 1)).sort(),
    );
    fake.assertClean();
  }, 120_000);
});
