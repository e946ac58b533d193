import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Clock as ActionClock } from "../../action/src/clock.ts";
import { run } from "../../action/src/main.ts";
import { createToken } from "../../src/tokens/store.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { verifyReceipt } from "../../src/crypto/receipts.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { verifySite } from "./api-harness.ts";

// The Action's run() against the whole app on loopback: proposals over the
// agent API, the decision made by a maintainer's click delivered as a signed
// check_run.requested_action webhook, the long-poll woken by the decision.

const REPO = "Codertocat/Hello-World";
const REPO_ID = 186853002;
const SHA = "e".repeat(40);
/** One keyring for the file: the signing key is stored sealed in the shared database. */
const KEYS = generateKeyEntry("k1");

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
let installationId = 7000;
let dir: string;
let stdout: string;
let savedEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

beforeEach(async () => {
  installationId += 1;
  const now = new Date();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, startWorker: false, env: { AGENT_GATE_KEYS: KEYS } });
  await recordInstallation(t.db, { id: installationId, account: "Codertocat" }, now);
  await recordRepositories(t.db, installationId, [{ id: REPO_ID, full_name: REPO }], [], now);
  await verifySite(t.db, installationId, "example.com", now);
  ({ token } = await createToken(
    t.db,
    { installationId, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" },
    now,
  ));
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "write");
  fake.setPermission(REPO, "bob", "maintain");

  savedEnv = { ...process.env };
  dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-app-"));
  await writeFile(path.join(dir, "output"), "");
  await writeFile(path.join(dir, "summary"), "");
  stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  Object.assign(process.env, {
    GITHUB_REPOSITORY: REPO,
    GITHUB_SHA: SHA,
    GITHUB_OUTPUT: path.join(dir, "output"),
    GITHUB_STEP_SUMMARY: path.join(dir, "summary"),
    "INPUT_SERVER-URL": app.url,
    INPUT_KIND: "deploy",
    INPUT_ENVIRONMENT: "production",
    INPUT_SITE: "example.com",
    INPUT_SUMMARY: "Deploy v1.4 to production",
    INPUT_CONTENT: "",
    INPUT_TOKEN: token,
    INPUT_AUDIENCE: "agent-gate",
    "INPUT_TIMEOUT-MINUTES": "10",
    "INPUT_WAIT-SECONDS": "20",
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  process.exitCode = undefined;
  // Whatever the app queued for GitHub goes to this test's fake, not the next one's.
  await app.server.worker.drain();
  await app.close();
  fake.assertClean();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

async function outputs(): Promise<Record<string, string>> {
  const text = await readFile(path.join(dir, "output"), "utf8");
  const found: Record<string, string> = {};
  for (const match of text.matchAll(/^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm))
    found[match[1]!] = match[3]!;
  return found;
}

function failure(): string | undefined {
  return /^::error::(.*)$/m.exec(stdout)?.[1];
}

/** Waits for the Action's proposal to have its check run, then clicks a button on it. */
async function click(identifier: "approve" | "reject", clicker: string): Promise<string> {
  const checkRun = await vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.checkRuns(REPO).find((r) => r.external_id?.startsWith("prp_"));
      if (!found) throw new Error("no check run yet");
      return found;
    },
    { timeout: 20_000, interval: 50 },
  );
  const res = await app.deliver(
    "check_run",
    requestedAction({
      installationId,
      appId: TEST_APP_ID,
      proposalId: checkRun.external_id!,
      checkRunId: checkRun.id,
      identifier,
      clicker,
    }),
  );
  expect(res.status).toBe(200);
  await app.server.worker.drain();
  return checkRun.external_id!;
}

describe("the Action against the app", () => {
  it("approved through the check run's button: redeems, and the receipt verifies against the app's keys", async () => {
    const step = run();
    const id = await click("approve", "alice");
    await step;

    expect(failure()).toBeUndefined();
    const out = await outputs();
    expect(out).toMatchObject({ "proposal-id": id, decision: "approved", approvers: "alice" });
    const [proposal] = await t.db.tenant(installationId, (tx) =>
      tx.query<{ digest: string; repo: string; kind: string }>(
        "SELECT digest, repo, kind FROM proposals WHERE id = $1",
        [id],
      ),
    );
    const payload = verifyReceipt(out.receipt!, await publishedKeys(t.db), {
      digest: proposal!.digest,
      repo: proposal!.repo,
      kind: proposal!.kind,
    });
    expect(payload).toMatchObject({ proposal_id: id, repo: REPO, kind: "deploy", decision: "approved" });
    const [redeemed] = await t.db.tenant(installationId, (tx) =>
      tx.query("SELECT proposal_id FROM redemptions WHERE proposal_id = $1", [id]),
    );
    expect(redeemed).toEqual({ proposal_id: id });
    expect(await readFile(path.join(dir, "summary"), "utf8")).toContain("alice");
  });

  it("rejected through the check run's button: fails the step and redeems nothing", async () => {
    const step = run();
    const id = await click("reject", "bob");
    await step;

    expect(process.exitCode).toBe(1);
    expect(failure()).toContain(`Proposal ${id} was rejected`);
    expect((await outputs()).decision).toBe("rejected");
    const rows = await t.db.tenant(installationId, (tx) =>
      tx.query("SELECT 1 FROM redemptions WHERE proposal_id = $1", [id]),
    );
    expect(rows).toEqual([]);
  });

  it("times out while the proposal stays pending", async () => {
    process.env["INPUT_TIMEOUT-MINUTES"] = "1";
    process.env["INPUT_WAIT-SECONDS"] = "1";
    // One real second of the app's long-poll counts as a minute for the step.
    const start = Date.now();
    const scaled: ActionClock = {
      now: () => start + (Date.now() - start) * 60,
      sleep: async () => {},
      random: () => 0.5,
    };
    await run({ clock: scaled });

    expect(process.exitCode).toBe(1);
    expect(failure()).toContain("within 1 minute(s) (timeout-minutes)");
    const [row] = await t.db.tenant(installationId, (tx) =>
      tx.query<{ status: string }>("SELECT status FROM proposals"),
    );
    expect(row?.status).toBe("pending");
  });

  it("server down, then up: reconnects with backoff and gets the decision", async () => {
    // A loopback relay in front of the app that is closed at first.
    const appPort = new URL(app.url).port;
    const relay = net.createServer((socket) => {
      const upstream = net.connect(Number(appPort), "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
    const relayPort = (relay.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => relay.close(() => resolve()));
    process.env["INPUT_SERVER-URL"] = `http://127.0.0.1:${relayPort}`;

    const sleeps: number[] = [];
    let now = Date.now();
    const clock: ActionClock = {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
        if (sleeps.length === 2) await new Promise<void>((resolve) => relay.listen(relayPort, "127.0.0.1", resolve));
      },
      random: () => 0.5,
    };
    try {
      const step = run({ clock });
      await click("approve", "alice");
      await step;
    } finally {
      relay.close();
    }

    expect(failure()).toBeUndefined();
    expect(sleeps.slice(0, 2)).toEqual([750, 1_500]);
    expect(stdout).toContain("ECONNREFUSED");
    expect((await outputs()).decision).toBe("approved");
  });
});
