import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { TEST_SECRET } from "../support/app.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";
const INSTALLATION = 8101;
const SHA = "d".repeat(40);

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, logLevel: "info" });
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
  fake.setPermission(REPO, "maintainer", "write");
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

type Line = Record<string, unknown>;
const lines = (): Line[] => app.logs.map((text) => JSON.parse(text) as Line);

describe("logs of a pull request's flow", () => {
  it("write one access line per request, named by delivery id, and one line per decision, with no secret", async () => {
    const opened = example("pull_request", "opened", INSTALLATION);
    opened.pull_request.user = { ...opened.pull_request.user, login: AGENT, type: "User" };
    opened.pull_request.head.sha = SHA;
    opened.sender = { ...opened.sender, login: AGENT, type: "User" };
    expect((await app.deliver("pull_request", opened, { id: "delivery-opened-1" })).status).toBe(200);

    const review = example("pull_request_review", "submitted", INSTALLATION);
    review.pull_request.user = { ...review.pull_request.user, login: AGENT, type: "User" };
    review.pull_request.head.sha = SHA;
    review.review = {
      ...review.review,
      user: { ...review.review.user, login: "maintainer", type: "User" },
      state: "approved",
      commit_id: SHA,
    };
    review.sender = { ...review.sender, login: "maintainer", type: "User" };
    fake.setReviews(REPO, 2, [
      {
        id: 5,
        user: { login: "maintainer", id: 5, type: "User" },
        state: "APPROVED",
        commit_id: SHA,
        submitted_at: "2026-11-23T10:00:00Z",
        body: "",
      },
    ]);
    expect((await app.deliver("pull_request_review", review, { id: "delivery-review-2" })).status).toBe(200);
    // A query string that looks like a secret never reaches a line.
    expect((await fetch(`${app.url}/api/v1/proposals/prp_x?access_token=must-not-leak-0123`)).status).toBe(401);
    await app.server.worker.drain();

    const access = lines().filter((line) => line.msg === "request completed" || line.msg === "request failed");
    expect(access).toHaveLength(3);
    expect(access[0]).toMatchObject({
      request_id: "delivery-opened-1",
      method: "POST",
      route: "/api/github/webhooks",
      status: 200,
    });
    expect(access[1]).toMatchObject({
      request_id: "delivery-review-2",
      method: "POST",
      route: "/api/github/webhooks",
      status: 200,
    });
    expect(access[2]).toMatchObject({ method: "GET", route: "/api/v1/proposals/:id", status: 401 });
    expect(String(access[2]!.request_id)).toMatch(/^[0-9a-f-]{36}$/);
    expect([access[0]!.event, access[1]!.event, access[2]!.event]).toEqual([
      "pull_request",
      "pull_request_review",
      undefined,
    ]);
    for (const line of access) {
      expect(typeof line.duration_ms).toBe("number");
      const keys = [
        "duration_ms",
        "hostname",
        "level",
        "method",
        "msg",
        "name",
        "pid",
        "request_id",
        "route",
        "status",
        "time",
      ];
      expect(Object.keys(line).sort()).toEqual((line.event ? [...keys, "event"] : keys).sort());
    }

    const decisions = lines().filter((line) => line.msg === "decision recorded");
    expect(decisions.map((line) => [line.kind, line.repo, line.outcome, line.approvers])).toEqual([
      ["commit", REPO, "pending", 0],
      ["commit", REPO, "approved", 1],
    ]);
    expect(String(decisions[0]!.proposal)).toMatch(/^prp_/);
    expect(decisions.map((line) => line.delivery)).toEqual(["delivery-opened-1", "delivery-review-2"]);

    const all = app.logs.join("\n");
    expect(all).not.toContain("must-not-leak-0123");
    expect(secretsIn(all, [TEST_SECRET])).toEqual([]);
  });

  it("names the method and route of an API request that failed", async () => {
    app.server.router.add({
      method: "GET",
      path: "/api/v1/ops-test/:id",
      handler: async () => {
        throw new Error("boom");
      },
    });
    expect((await fetch(`${app.url}/api/v1/ops-test/42?token=abc`)).status).toBe(500);
    const failed = lines().find((line) => line.msg === "API request failed");
    expect(failed).toMatchObject({ method: "GET", route: "/api/v1/ops-test/:id" });
    expect(JSON.stringify(failed)).not.toContain("token=abc");
  });
});
