import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { example, startTestApp, type TestApp } from "../support/app.ts";
import { recordInstallation } from "../../src/installations/store.ts";

const REPO = "Codertocat/Hello-World";
const AGENT = "seo-agent";

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake });
  fake.setFile(REPO, ".github/agent-gate.yml", `agents: [${AGENT}]\n`);
});
afterAll(async () => {
  await app.close();
  await fake.close();
  await t.drop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (samples only; # HELP/# TYPE kept apart). */
function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe("/metrics", () => {
  it("reports deliveries, decisions, the outbox, GitHub calls and long-poll waiters in Prometheus text", async () => {
    await recordInstallation(t.db, { id: 7001, account: "Codertocat" }, new Date());
    const payload = example("pull_request", "opened", 7001);
    payload.pull_request.user = { ...payload.pull_request.user, login: AGENT, type: "User" };
    payload.pull_request.head.sha = "a".repeat(40);
    expect((await app.deliver("pull_request", payload)).status).toBe(200);
    expect((await app.deliver("pull_request", payload, { secret: "wrong" })).status).toBe(400);

    const queued = await fetch(`${app.url}/metrics`);
    expect(queued.headers.get("content-type")).toMatch(/^text\/plain/);
    const before = parseMetrics(await queued.text());
    expect(value(before.samples, "agent_gate_outbox_depth")).toBe(1);
    expect(value(before.samples, "agent_gate_outbox_oldest_age_seconds")).toBeGreaterThanOrEqual(0);

    await app.server.worker.drain();
    const { samples, types } = parseMetrics(await (await fetch(`${app.url}/metrics`)).text());
    expect(value(samples, "agent_gate_webhook_deliveries_total", { event: "pull_request", outcome: "ok" })).toBe(1);
    expect(value(samples, "agent_gate_webhook_deliveries_total", { event: "pull_request", outcome: "refused" })).toBe(
      1,
    );
    expect(value(samples, "agent_gate_proposals", { kind: "commit", status: "pending" })).toBe(1);
    expect(value(samples, "agent_gate_outbox_depth")).toBe(0);
    expect(value(samples, "agent_gate_outbox_oldest_age_seconds")).toBe(0);
    expect(
      value(samples, "agent_gate_github_request_duration_seconds_count", { method: "POST", outcome: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(samples, "agent_gate_long_poll_waiters")).toBe(0);
    expect(types.get("agent_gate_github_request_duration_seconds")).toBe("histogram");
    expect(types.get("agent_gate_github_request_errors_total")).toBe("counter");
    // Process and Node metrics, in this server's own registry.
    expect(value(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === "nodejs_heap_size_used_bytes")).toBe(true);
    // HTTP durations by route pattern and status; the queues; GitHub calls by operation; the build.
    expect(
      value(samples, "agent_gate_http_request_duration_seconds_count", {
        method: "POST",
        route: "/api/github/webhooks",
        status: "200",
      }),
    ).toBe(1);
    expect(
      value(samples, "agent_gate_http_request_duration_seconds_count", {
        method: "POST",
        route: "/api/github/webhooks",
        status: "400",
      }),
    ).toBe(1);
    expect(
      value(samples, "agent_gate_http_request_duration_seconds_count", {
        method: "GET",
        route: "/metrics",
        status: "200",
      }),
    ).toBe(1);
    expect(value(samples, "agent_gate_queue_depth", { queue: "github_writes" })).toBe(0);
    expect(value(samples, "agent_gate_queue_depth", { queue: "deliveries" })).toBe(0);
    expect(value(samples, "agent_gate_queue_oldest_age_seconds", { queue: "github_writes" })).toBe(0);
    expect(value(samples, "agent_gate_queue_set_aside", { queue: "github_writes" })).toBe(0);
    expect(
      value(samples, "agent_gate_github_calls_total", {
        operation: "POST /repos/{owner}/{repo}/check-runs",
        status: "201",
      }),
    ).toBe(1);
    // The stand-in counts its window down from 5,000 as GitHub does (a 304 is free).
    const remaining = value(samples, "agent_gate_github_rate_remaining", { installation: "7001" });
    expect(remaining).toBeGreaterThan(4900);
    expect(remaining).toBeLessThan(5000);
    expect(value(samples, "agent_gate_github_rate_limit_remaining", { installation: "7001" })).toBe(remaining);
    expect(value(samples, "agent_gate_build_info", { node_version: process.version })).toBe(1);
    expect(types.get("agent_gate_queue_depth")).toBe("gauge");
    expect(types.get("agent_gate_http_request_duration_seconds")).toBe("histogram");
  });

  it("labels requests by route pattern, never by the raw path or its query", async () => {
    await fetch(`${app.url}/api/v1/proposals/prp_secret_looking_id?token=abc`);
    await fetch(`${app.url}/no/such/place?x=1`);
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const { samples } = parseMetrics(text);
    expect(
      value(samples, "agent_gate_http_request_duration_seconds_count", {
        method: "GET",
        route: "/api/v1/proposals/:id",
        status: "401",
      }),
    ).toBe(1);
    expect(
      value(samples, "agent_gate_http_request_duration_seconds_count", {
        method: "GET",
        route: "unmatched",
        status: "404",
      }),
    ).toBe(1);
    expect(text).not.toContain("prp_secret_looking_id");
    expect(text).not.toContain("token=abc");
  });
});

describe("/metrics on a port of its own (AGENT_GATE_METRICS_PORT)", () => {
  it("is served there and not on the app's port", async () => {
    const own = await startTestApp({ db: t.db, fake, env: { AGENT_GATE_METRICS_PORT: "0" } });
    try {
      expect(own.server.metricsUrl).toBeDefined();
      const res = await fetch(`${own.server.metricsUrl}/metrics`);
      expect(res.status).toBe(200);
      const { samples } = parseMetrics(await res.text());
      expect(value(samples, "agent_gate_build_info", { node_version: process.version })).toBe(1);
      expect((await fetch(`${own.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${own.server.metricsUrl}/healthz`)).status).toBe(404);
    } finally {
      await own.close();
    }
  });
});
