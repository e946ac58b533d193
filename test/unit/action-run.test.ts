import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelay } from "../../action/src/backoff.ts";
import type { Clock } from "../../action/src/clock.ts";
import { failureMessage } from "../../action/src/errors.ts";
import { run } from "../../action/src/main.ts";

// A stand-in for the Agent Gate API that follows its contract, on loopback.
// Scripted answers for GET let each test choose what the app says and when.

const SHA = "0123456789abcdef0123456789abcdef01234567";
const DIGEST = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";
const TOKEN = "agt_0123456789abcdefghijABCDEFGHIJ0a1b2c3d";
const OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.oidc-claims.signature";

type Reply = { status: number; body?: unknown } | "drop";
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

class StandIn {
  readonly seen: Seen[] = [];
  /** Answers to GET /api/v1/proposals/:id, in order; when empty, "pending". */
  readonly polls: Reply[] = [];
  createReply: Reply | undefined;
  private redeemed = false;
  private server: http.Server | undefined;
  port = 0;

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  state(status: string, extra: Record<string, unknown> = {}): Reply {
    return {
      status: 200,
      body: {
        id: "prop_1",
        status,
        kind: "deploy",
        repo: "octo/site",
        digest: DIGEST,
        approvers: [],
        decided_at: null,
        reason: null,
        expires_at: "2026-11-26T10:00:00.000Z",
        redeemed: false,
        ...extra,
      },
    };
  }

  approved(): Reply {
    return this.state("approved", {
      approvers: ["alice", "bob"],
      decided_at: "2026-11-23T10:05:00.000Z",
    });
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = req.url ?? "";
    this.seen.push({ method: req.method ?? "", url, authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined });
    const send = (reply: Reply): void => {
      if (reply === "drop") {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
    };
    if (url.startsWith("/oidc")) {
      const ok = req.headers.authorization === "Bearer runtime-request-token" && url.includes("audience=agent-gate");
      return send(ok ? { status: 200, body: { value: OIDC_TOKEN } } : { status: 403, body: {} });
    }
    if (req.method === "POST" && url === "/api/v1/proposals") {
      return send(
        this.createReply ?? {
          status: 201,
          body: {
            id: "prop_1",
            kind: "deploy",
            repo: "octo/site",
            digest: DIGEST,
            status: "pending",
            expires_at: "2026-11-26T10:00:00.000Z",
            url: `${this.base}/proposals/prop_1`,
          },
        },
      );
    }
    if (req.method === "GET" && url.startsWith("/api/v1/proposals/prop_1?wait=")) {
      return send(this.polls.shift() ?? this.state("pending"));
    }
    if (req.method === "POST" && url === "/api/v1/proposals/prop_1/redeem") {
      const body = JSON.parse(text) as { digest?: string };
      if (this.redeemed || body.digest !== DIGEST) {
        return send({ status: 409, body: { error: { code: "conflict", message: "Already redeemed or wrong digest." } } });
      }
      this.redeemed = true;
      return send({
        status: 200,
        body: {
          id: "prop_1",
          status: "redeemed",
          redeemed: true,
          redemption_id: "rdm_000000000000000000000001",
          redeemed_at: "2026-11-23T10:06:00.000Z",
          digest: DIGEST,
          receipt: { receipt: "signed-receipt-value", kid: "rk_2026" },
        },
      });
    }
    send({ status: 404, body: { error: { code: "not_found", message: "No such route." } } });
  }

  requests(method: string, prefix: string): Seen[] {
    return this.seen.filter((seen) => seen.method === method && seen.url.startsWith(prefix));
  }
}

/** A clock that never waits: sleeping moves time forward and is recorded. */
class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  onSleep: (ms: number, count: number) => Promise<void> | void = () => {};
  constructor(private time = Date.parse("2026-11-23T10:00:00Z")) {}
  now = (): number => this.time;
  random = (): number => 0.5;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.time += ms;
    await this.onSleep(ms, this.sleeps.length);
  };
}

let dir: string;
let stdout: string;
let savedEnv: NodeJS.ProcessEnv;
let app: StandIn;
let clock: FakeClock;

beforeEach(async () => {
  savedEnv = { ...process.env };
  dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-run-"));
  await writeFile(path.join(dir, "output"), "");
  await writeFile(path.join(dir, "summary"), "");
  stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  app = new StandIn();
  await app.start();
  clock = new FakeClock();
  for (const key of Object.keys(process.env)) {
    if (key.startsWith("INPUT_") || key.startsWith("GITHUB_") || key.startsWith("ACTIONS_")) delete process.env[key];
  }
  Object.assign(process.env, {
    GITHUB_REPOSITORY: "octo/site",
    GITHUB_SHA: SHA,
    GITHUB_OUTPUT: path.join(dir, "output"),
    GITHUB_STEP_SUMMARY: path.join(dir, "summary"),
    "INPUT_SERVER-URL": app.base,
    INPUT_KIND: "deploy",
    INPUT_ENVIRONMENT: "production",
    INPUT_SITE: "example.com",
    INPUT_SUMMARY: "Deploy v1.4 to production",
    INPUT_TOKEN: TOKEN,
    INPUT_AUDIENCE: "agent-gate",
    "INPUT_TIMEOUT-MINUTES": "60",
    "INPUT_WAIT-SECONDS": "55",
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  process.exitCode = undefined;
  await app.stop();
  await rm(dir, { recursive: true, force: true });
});

async function outputs(): Promise<Record<string, string>> {
  const text = await readFile(path.join(dir, "output"), "utf8");
  const found: Record<string, string> = {};
  for (const match of text.matchAll(/^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm)) {
    found[match[1]!] = match[3]!;
  }
  return found;
}

function failure(): string | undefined {
  return /^::error::(.*)$/m.exec(stdout)?.[1];
}

describe("run() against the API", () => {
  it("approved: creates the proposal for the repo and SHA, prints the link, redeems with the digest, sets outputs", async () => {
    app.polls.push(app.state("pending"), app.approved());
    await run({ clock });

    expect(failure()).toBeUndefined();
    expect(process.exitCode).toBeUndefined();
    const [create] = app.requests("POST", "/api/v1/proposals");
    expect(create?.body).toEqual({
      kind: "deploy",
      repo: "octo/site",
      sha: SHA,
      environment: "production",
      site: "example.com",
      summary: "Deploy v1.4 to production",
    });
    expect(create?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(stdout).toContain(`${app.base}/proposals/prop_1`);
    expect(app.requests("GET", "/api/v1/proposals/prop_1").map((seen) => seen.url)).toEqual([
      "/api/v1/proposals/prop_1?wait=55",
      "/api/v1/proposals/prop_1?wait=55",
    ]);
    expect(app.requests("POST", "/api/v1/proposals/prop_1/redeem").map((seen) => seen.body)).toEqual([{ digest: DIGEST }]);
    expect(await outputs()).toEqual({
      "proposal-id": "prop_1",
      decision: "approved",
      approvers: "alice,bob",
      receipt: "signed-receipt-value",
    });
    const summary = await readFile(path.join(dir, "summary"), "utf8");
    for (const text of ["Agent Gate: approved", "Deploy v1.4 to production", "production", "example.com", `${app.base}/proposals/prop_1`, "alice, bob", "2026-11-23T10:05:00.000Z", "rk_2026"]) {
      expect(summary).toContain(text);
    }
  });

  it("rejected: fails the step with who and why, never redeems, sets no receipt", async () => {
    app.polls.push(
      app.state("rejected", { approvers: ["carol"], decided_at: "2026-11-23T10:07:00.000Z", reason: "not during the freeze" }),
    );
    await run({ clock });

    expect(process.exitCode).toBe(1);
    expect(failure()).toBe("Proposal prop_1 was rejected by carol at 2026-11-23T10:07:00.000Z: not during the freeze");
    expect(app.requests("POST", "/api/v1/proposals/prop_1/redeem")).toHaveLength(0);
    expect(await outputs()).toEqual({ "proposal-id": "prop_1", decision: "rejected" });
    expect(await readFile(path.join(dir, "summary"), "utf8")).toContain("not during the freeze");
  });

  it("expired: fails the step", async () => {
    app.polls.push(app.state("expired"));
    await run({ clock });
    expect(process.exitCode).toBe(1);
    expect(failure()).toContain("expired at 2026-11-26T10:00:00.000Z");
    expect(app.requests("POST", "/api/v1/proposals/prop_1/redeem")).toHaveLength(0);
  });

  it("timed out: one long-poll request per window, the last window cut to what is left, then fails", async () => {
    process.env["INPUT_TIMEOUT-MINUTES"] = "1";
    await run({ clock });

    expect(process.exitCode).toBe(1);
    expect(failure()).toContain("No decision on proposal prop_1 within 1 minute(s) (timeout-minutes)");
    // The stand-in answers "pending" at once; the Action still waits out each window.
    expect(app.requests("GET", "/api/v1/proposals/prop_1").map((seen) => seen.url)).toEqual([
      "/api/v1/proposals/prop_1?wait=55",
      "/api/v1/proposals/prop_1?wait=5",
    ]);
    expect(clock.sleeps).toEqual([55_000, 5_000]);
    expect((await outputs()).decision).toBe("timed out");
  });

  it("server down, then up: reconnects with exponential backoff and jitter, then succeeds", async () => {
    const port = app.port;
    await app.stop();
    app.polls.push("drop", app.approved());
    clock.onSleep = async (_ms, count) => {
      if (count === 3) await app.start(port);
    };
    await run({ clock });

    expect(failure()).toBeUndefined();
    // 3 refused connections on create (750, 1500, 3000 ms at random()=0.5),
    // then one dropped poll: the backoff starts over after a success.
    expect(clock.sleeps).toEqual([750, 1_500, 3_000, 750]);
    expect(stdout).toMatch(/::warning::Could not reach Agent Gate at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); retrying in 1 s/);
    expect((await outputs()).decision).toBe("approved");
  });

  it("5xx while waiting is retried with backoff", async () => {
    app.polls.push({ status: 503, body: { error: { code: "unavailable", message: "Database unavailable." } } }, { status: 500 }, app.approved());
    await run({ clock });

    expect(failure()).toBeUndefined();
    expect(clock.sleeps).toEqual([750, 1_500]);
    expect(app.requests("GET", "/api/v1/proposals/prop_1")).toHaveLength(3);
    expect(stdout).toContain("(503 unavailable): Database unavailable.");
  });

  it("401 fails at once with a hint, without retrying", async () => {
    app.createReply = { status: 401, body: { error: { code: "unauthorized", message: "A valid bearer token is required." } } };
    await run({ clock });

    expect(process.exitCode).toBe(1);
    expect(failure()).toContain("(401 unauthorized): A valid bearer token is required. — check the token input");
    expect(app.seen).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("422 names the fields the app refused", async () => {
    app.createReply = {
      status: 422,
      body: { error: { code: "invalid_request", message: "Invalid proposal.", fields: [{ field: "site", message: "is not verified" }] } },
    };
    await run({ clock });
    expect(failure()).toContain("(422 invalid_request): Invalid proposal.; site: is not verified");
  });

  it("a redeem conflict fails the step even though the proposal was approved", async () => {
    app.polls.push(app.approved(), app.approved());
    await run({ clock });
    expect(failure()).toBeUndefined();
    await run({ clock });
    expect(process.exitCode).toBe(1);
    expect(failure()).toContain("409 conflict");
  });

  it("takes the receipt only from its own redemption, never from the status answer", async () => {
    app.polls.push(app.state("approved", { approvers: ["alice"], decided_at: "2026-11-23T10:05:00.000Z", receipt: { receipt: "from-the-status-route", kid: "k" } }));
    await run({ clock });
    expect(failure()).toBeUndefined();
    expect(app.requests("POST", "/api/v1/proposals/prop_1/redeem").map((seen) => seen.body)).toEqual([{ digest: DIGEST }]);
    expect((await outputs()).receipt).toBe("signed-receipt-value");
  });

  it("an approval already redeemed elsewhere fails the step without redeeming", async () => {
    app.polls.push(app.state("approved", { approvers: ["alice"], decided_at: "2026-11-23T10:05:00.000Z", redeemed: true }));
    await run({ clock });
    expect(process.exitCode).toBe(1);
    expect(failure()).toContain("already redeemed");
    expect(app.requests("POST", "/api/v1/proposals/prop_1/redeem")).toHaveLength(0);
    expect((await outputs()).receipt).toBeUndefined();
  });

  it("a decision about another digest fails the step", async () => {
    app.polls.push(app.state("approved", { digest: "sha256:other", approvers: ["alice"] }));
    await run({ clock });
    expect(failure()).toContain("different proposal");
    expect(app.requests("POST", "/api/v1/proposals/prop_1/redeem")).toHaveLength(0);
  });

  it("masks the token before anything else is printed", async () => {
    process.env.INPUT_SUMMARY = "";
    await run({ clock });
    expect(stdout.startsWith(`::add-mask::${TOKEN}\n`)).toBe(true);
    expect(stdout.split(TOKEN)).toHaveLength(2);
  });

  it("uses a GitHub OIDC token for the audience when no token is given", async () => {
    process.env.INPUT_TOKEN = "";
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = `${app.base}/oidc?api-version=2.0`;
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = "runtime-request-token";
    app.polls.push(app.approved());
    await run({ clock });

    expect(failure()).toBeUndefined();
    expect(stdout).toContain(`::add-mask::${OIDC_TOKEN}`);
    expect(app.requests("POST", "/api/v1/proposals")[0]?.authorization).toBe(`Bearer ${OIDC_TOKEN}`);
  });

  it("without a token and without id-token permission, fails saying what to do", async () => {
    process.env.INPUT_TOKEN = "";
    await run({ clock });
    expect(failure()).toContain("give the job `permissions: id-token: write`, or set the token input");
    expect(app.seen).toHaveLength(0);
  });

  it.each([
    ["INPUT_KIND", "delete", "input 'kind' must be one of: deploy, outreach"],
    ["INPUT_SERVER-URL", "http://gate.example.com", "input 'server-url' must use https"],
    ["INPUT_SERVER-URL", "not a url", "input 'server-url' must be a URL"],
    ["INPUT_TIMEOUT-MINUTES", "0", "input 'timeout-minutes' must be at least 1"],
    ["INPUT_TIMEOUT-MINUTES", "1441", "input 'timeout-minutes' must be at most 1440"],
    ["INPUT_TIMEOUT-MINUTES", "ten", "input 'timeout-minutes' must be a whole number from 1 to 1440"],
    ["INPUT_WAIT-SECONDS", "61", "input 'wait-seconds' must be at most 60"],
    ["INPUT_SUMMARY", "", "input 'summary' is required"],
    ["INPUT_ENVIRONMENT", "", "input 'environment' is required when kind is deploy"],
    ["INPUT_KIND", "outreach", "input 'content' is required when kind is outreach"],
    ["GITHUB_SHA", "", "GITHUB_SHA must be set to a full commit SHA"],
    ["GITHUB_REPOSITORY", "nope", "GITHUB_REPOSITORY must be set to owner/name"],
  ])("bad %s=%j fails naming it", async (name, value, message) => {
    process.env[name] = value;
    await run({ clock });
    expect(process.exitCode).toBe(1);
    expect(failure()).toContain(message);
    expect(app.seen).toHaveLength(0);
  });

  it("a non-Error throw fails the step", async () => {
    const broken: Clock = { ...clock, now: () => { throw "clock unavailable"; } };
    await run({ clock: broken });
    expect(process.exitCode).toBe(1);
    expect(failure()).toBe("Unexpected failure: clock unavailable");
  });
});

describe("backoffDelay", () => {
  it.each([
    [0, 0, 500],
    [0, 1, 1_000],
    [3, 0.5, 6_000],
    [5, 0, 15_000],
    [5, 1, 30_000],
    [40, 1, 30_000],
  ])("attempt %i with random()=%d waits %i ms", (attempt, random, expected) => {
    expect(backoffDelay(attempt, () => random)).toBe(expected);
  });
});

describe("failureMessage", () => {
  it.each([
    [new Error("boom"), "Unexpected error: boom"],
    ["text", "Unexpected failure: text"],
    [{ code: 1 }, "Unexpected failure: {\"code\":1}"],
    [undefined, "Unexpected failure: undefined"],
  ])("renders %j", (thrown, expected) => {
    expect(failureMessage(thrown)).toBe(expected);
  });
});
