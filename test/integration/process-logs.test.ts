import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { startProcessApp, type ProcessApp } from "../support/process-app.ts";
import { deliverTo } from "../support/deliver.ts";
import { agentPullRequest, shaFor } from "../support/pulls.ts";

// The log lines of the app as `npm start` runs it, read from its output: a wrong webhook secret says which
// delivery and what to check; request lines name the event, decision lines the delivery; every JSON line
// parses with one "name"; LOG_FORMAT=pretty writes lines for a person at a terminal.

const SECRET = "process-logs-secret";
const REPO = "Codertocat/Hello-World";
let fake: GitHubFake;
const apps: ProcessApp[] = [];

beforeAll(async () => {
  fake = await GitHubFake.start();
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [log-agent]\n");
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop("SIGKILL")));
  await fake?.close();
});

async function settled(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe.runIf(backend() === "pglite")("the app's log lines, from its output", { timeout: 180_000 }, () => {
  it("hints at the webhook secret, names the event and the delivery, and never repeats a key", async () => {
    const app = await startProcessApp({ appId: 4242, secret: SECRET, githubUrl: fake.url, env: { LOG_LEVEL: "info" } });
    apps.push(app);
    const payload = agentPullRequest({ installationId: 1, number: 7, sha: shaFor(7), agent: "log-agent" });
    expect(
      (await deliverTo(app.url, "the-wrong-secret", "pull_request", payload, { id: "wrong-secret-delivery-1" })).status,
    ).toBe(400);
    expect((await deliverTo(app.url, SECRET, "pull_request", payload, { id: "good-delivery-2" })).status).toBe(200);
    await settled(() => app.output.join("").includes('"msg":"decision recorded"'));

    const raw = app.output
      .join("")
      .split("\n")
      .filter((line) => line.startsWith("{"));
    // JSON.parse keeps the last of two equal keys: count them in the text itself.
    for (const line of raw) expect((line.match(/"name":/g) ?? []).length, line).toBeLessThanOrEqual(1);
    const lines = raw.map((line) => JSON.parse(line) as Record<string, unknown>);

    const hint = lines.find((line) =>
      String(line.msg).startsWith("webhook refused: the X-Hub-Signature-256 signature did not match"),
    );
    expect(hint).toMatchObject({ level: 40, delivery: "wrong-secret-delivery-1", event: "pull_request" });
    expect(String(hint!.msg)).toContain("verify that the webhook secret matches the App's");
    expect(app.output.join("")).not.toContain(SECRET);

    const requests = lines.filter((line) => line.msg === "request completed" && line.route === "/api/github/webhooks");
    expect(requests.map((line) => [line.request_id, line.event, line.status])).toEqual([
      ["wrong-secret-delivery-1", "pull_request", 400],
      ["good-delivery-2", "pull_request", 200],
    ]);
    const decision = lines.find((line) => line.msg === "decision recorded");
    expect(decision).toMatchObject({
      name: "decision",
      kind: "commit",
      repo: REPO,
      outcome: "pending",
      delivery: "good-delivery-2",
    });
  });

  it("writes readable lines with LOG_FORMAT=pretty", async () => {
    const app = await startProcessApp({
      appId: 4242,
      secret: SECRET,
      githubUrl: fake.url,
      env: { LOG_LEVEL: "info", LOG_FORMAT: "pretty" },
    });
    apps.push(app);
    const output = app.output.join("");
    expect(output).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO \(agent-gate\): Agent Gate is listening$/m);
    expect(output.split("\n").filter((line) => line.startsWith("{"))).toEqual([]);
  });
});
