import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, webhookExamples, type TestApp } from "../support/app.ts";

// Every example GitHub publishes for the events the app handles is delivered
// to the app: none may cause an unhandled error.
const EVENTS = ["pull_request", "pull_request_review", "check_run", "installation", "installation_repositories"];

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake });
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

describe("GitHub's example payloads", () => {
  const cases = EVENTS.flatMap((event) =>
    webhookExamples(event).map((payload, i) => [event, `${payload.action ?? ""}#${i}`, payload] as const),
  );

  it.each(cases)("%s %s is handled or ignored without error", async (event, _label, payload) => {
    const res = await app.deliver(event, payload);
    expect(res.status).toBe(200);
    await app.server.worker.drain();
    expect(fake.unexpected()).toEqual([]);
    expect(fake.violations()).toEqual([]);
  });
});

describe("installation lifecycle", () => {
  it("records installations and rejects pending proposals of a removed repository", async () => {
    const created = example("installation", "created", 777);
    const res = await app.deliver("installation", created);
    expect(res.status).toBe(200);
    const [row] = await t.db.query<{ id: number; deleted_at: Date | null }>(
      "SELECT id, deleted_at FROM installations WHERE id = 777",
    );
    expect(row?.deleted_at).toBeNull();

    const deleted = example("installation", "deleted", 777);
    expect((await app.deliver("installation", deleted)).status).toBe(200);
    const [gone] = await t.db.query<{ deleted_at: Date | null }>("SELECT deleted_at FROM installations WHERE id = 777");
    expect(gone?.deleted_at).toBeInstanceOf(Date);
    const events = await t.db.tenant(777, (tx) =>
      tx.query<{ action: string }>("SELECT action FROM audit_events ORDER BY seq"),
    );
    expect(events.map((e) => e.action)).toContain("installation.deleted");
  });
});
