import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseKeyring } from "../../src/crypto/keyring.ts";
import { findProposal } from "../../src/proposals/store.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { bearer, issueToken, seedInstallations, verifySite } from "./api-harness.ts";

// A check run is created at most once per proposal and head. A try is
// recorded before GitHub is asked; when its outcome is unknown (GitHub made
// the run but the answer was lost, or the process died before recording it),
// the next try lists the head's runs and finds it by its external_id instead
// of creating a second.

const KEYS = "k1:" + Buffer.alloc(32, 7).toString("base64");
const now = new Date("2026-11-23T10:00:00.000Z");
const REPO = "acme/web";
const CREATE = "/repos/{owner}/{repo}/check-runs";
const LIST = "/repos/{owner}/{repo}/commits/{ref}/check-runs";
let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
const started = Date.now();
const ticking = () => new Date(now.getTime() + (Date.now() - started));

beforeAll(async () => {
  t = await createTestDatabase();
  await seedInstallations(t.db, now);
  await verifySite(t.db, 1, "example.com", now);
  token = await issueToken(t.db, now);
});
beforeEach(async () => {
  await app?.close();
  if (fake) {
    fake.assertClean();
    await fake.close();
  }
  fake = await GitHubFake.start();
  fake.setRepo(REPO, { private: true, id: 11, default_branch: "main" });
  fake.setRef(REPO, "heads/main", "a".repeat(40));
  app = await startTestApp({ db: t.db, fake, now: ticking, keyring: parseKeyring(KEYS) });
});
afterAll(async () => {
  await app?.close();
  fake?.assertClean();
  await fake?.close();
  await t?.drop();
});

const runsOf = (id: string) => fake.checkRuns(REPO).filter((run) => run.external_id === id);

describe("check-run creation after an unknown outcome", () => {
  it("an outreach check run whose create answer was lost is found, not made twice", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "outreach: { mode: check_run }\n");
    fake.loseAnswerOfNext("POST", CREATE, 1, 502);
    const res = await fetch(`${app.url}/api/v1/proposals`, {
      method: "POST",
      headers: bearer(token),
      body: JSON.stringify({
        kind: "outreach",
        repo: REPO,
        site: "example.com",
        summary: "s",
        content: { channel: "email", recipients: ["x@y.example"], body: "hello" },
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await app.server.worker.drain();
    const runs = runsOf(id);
    expect(runs).toHaveLength(1);
    expect(fake.callsTo("POST", CREATE)).toHaveLength(1);
    // The retry asked GitHub for the head's runs of that name.
    const listed = fake.callsTo("GET", LIST);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed[0]!.query.get("check_name")).toBe(runs[0]!.name);
    const proposal = await t.db.tenant(1, (tx) => findProposal(tx, id));
    expect(proposal?.check_run_id).toBe(runs[0]!.id);
  });

  it("an agent pull request's run whose create answer was lost is found and brought up to date, not made twice", async () => {
    fake.setFile(REPO, ".github/agent-gate.yml", "agents: [seo-agent]\n");
    fake.loseAnswerOfNext("POST", CREATE, 1, 502);
    const payload = example("pull_request", "opened", 1);
    payload.repository = {
      ...payload.repository,
      id: 11,
      name: "web",
      full_name: REPO,
      owner: { ...payload.repository.owner, login: "acme" },
    };
    payload.pull_request.user = { ...payload.pull_request.user, login: "seo-agent", type: "User" };
    payload.sender = { ...payload.sender, login: "seo-agent", type: "User" };
    expect((await app.deliver("pull_request", payload)).status).toBe(200);
    await app.server.worker.drain();
    const [proposal] = await t.db.tenant(1, (tx) =>
      tx.query<{ id: string; check_run_id: number }>("SELECT id, check_run_id FROM proposals WHERE kind = 'commit'"),
    );
    const runs = runsOf(proposal!.id);
    expect(runs).toHaveLength(1);
    expect(fake.callsTo("POST", CREATE)).toHaveLength(1);
    expect(proposal!.check_run_id).toBe(runs[0]!.id);
    expect(runs[0]!.name).toBe("Agent Gate");
  });
});
