import { generateKeyPairSync } from "node:crypto";
import { Probot, ProbotOctokit } from "probot";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GitHubClient } from "../../src/github/client.ts";
import { narrowedClients, narrowFrom, REFRESH_BEFORE_MS } from "../../src/github/narrowed.ts";
import { OPERATIONS, permissionsFor, type OperationName } from "../../src/github/operations.ts";
import { GitHubFake } from "../support/github-fake.ts";

const TOKENS = "/app/installations/{installation_id}/access_tokens";
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

let fake: GitHubFake;
let probot: Probot;
let clock: Date;
const now = () => clock;

function newProbot(): Probot {
  return new Probot({
    appId: 4242,
    privateKey,
    secret: "s",
    baseUrl: fake.apiUrl,
    log: pino({ level: "silent" }),
    Octokit: ProbotOctokit.defaults({ throttle: { enabled: false }, retry: { enabled: false } }),
  });
}

beforeEach(async () => {
  fake = await GitHubFake.start();
  clock = new Date("2026-03-01T10:00:00Z");
  fake.now = now;
  probot = newProbot();
});

afterEach(async () => {
  fake.assertClean();
  await fake.close();
});

const github = (installationId: number) => probot.auth(installationId) as Promise<GitHubClient>;

describe("narrowed installation tokens", () => {
  // Each operation, alone, asks for exactly its own permissions and its one repository.
  const cases = Object.entries(OPERATIONS).map(([name, operation]) => ({
    name: name as OperationName,
    permissions: operation.permissions,
  }));
  it.each(cases)("$name asks for $permissions on one repository", async ({ name, permissions }) => {
    const client = await narrowedClients(github, { now })(7, 1234, [name]);
    const calls = fake.callsTo("POST", TOKENS);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.path).toBe("/app/installations/7/access_tokens");
    expect(calls[0]!.body).toEqual({ repository_ids: [1234], permissions });
    expect(calls[0]!.headers.authorization).toMatch(/^bearer /i); // the app's JWT, not a token

    // The client uses the narrowed token, against the same GitHub.
    fake.on("GET", "/repos/{owner}/{repo}", () => ({ status: 200, body: { id: 1234 } }));
    const reply = await client.request("GET /repos/{owner}/{repo}", { owner: "o", repo: "r" });
    expect(reply.data).toEqual({ id: 1234 });
    const used = fake.calls.at(-1)!;
    expect(used.headers.authorization).toMatch(/^token ghs_/);
  });

  it("asks for the union of several operations, write beating read", async () => {
    await narrowedClients(github, { now })(7, 55, ["checks.listForRef", "checks.create", "checks.update"]);
    await narrowedClients(github, { now })(7, 55, ["git.getRef", "git.createRef", "repos.get", "pulls.create"]);
    expect(fake.callsTo("POST", TOKENS).map((call) => call.body)).toEqual([
      { repository_ids: [55], permissions: { checks: "write" } },
      { repository_ids: [55], permissions: { contents: "write", metadata: "read", pull_requests: "write" } },
    ]);
    expect(permissionsFor(["checks.listForRef"])).toEqual({ checks: "read" });
  });

  it("reuses a token per installation, repository and permission set until five minutes before it expires", async () => {
    const narrowed = narrowedClients(github, { now });
    await narrowed(7, 1, ["checks.create"]);
    await narrowed(7, 1, ["checks.update", "checks.create"]); // same permission set
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(1);

    await narrowed(7, 2, ["checks.create"]); // another repository
    await narrowed(8, 1, ["checks.create"]); // another installation
    await narrowed(7, 1, ["checks.listForRef"]); // another permission set (checks: read)
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(4);

    // The fake's tokens live an hour: at 54:59 the first is still used, at 55:00 it is replaced.
    clock = new Date(clock.getTime() + 3600_000 - REFRESH_BEFORE_MS - 1000);
    await narrowed(7, 1, ["checks.create"]);
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(4);
    clock = new Date(clock.getTime() + 1000);
    await narrowed(7, 1, ["checks.create"]);
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(5);
    await narrowed(7, 1, ["checks.create"]);
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(5);
  });

  it("asks once for concurrent requests of one token, and again after a failure", async () => {
    const narrowed = narrowedClients(github, { now });
    await Promise.all([narrowed(7, 1, ["pulls.listReviews"]), narrowed(7, 1, ["pulls.listReviews"])]);
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(1);

    fake.failNext("POST", TOKENS, 1, 500);
    await expect(narrowed(7, 3, ["pulls.listReviews"])).rejects.toMatchObject({ status: 500 });
    await narrowed(7, 3, ["pulls.listReviews"]);
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(3);
  });

  it("keeps the caches of two apps apart", async () => {
    const other = newProbot();
    await narrowFrom(await github(7), 7, 1, ["checks.create"], { now });
    await narrowFrom((await other.auth(7)) as GitHubClient, 7, 1, ["checks.create"], { now });
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(2);
  });

  it("refuses an unknown operation and a missing repository id", async () => {
    const narrowed = narrowedClients(github, { now });
    await expect(narrowed(7, 1, ["repos.delete" as OperationName])).rejects.toThrow(
      /unknown GitHub operation repos.delete/,
    );
    await expect(narrowed(7, 0, ["checks.create"])).rejects.toThrow(/needs a repository id/);
    expect(fake.callsTo("POST", TOKENS)).toHaveLength(0);
  });

  it("applies the factory's decoration (metrics hooks) to narrowed clients", async () => {
    const seen: string[] = [];
    const decorated = Object.assign((installationId: number) => github(installationId), {
      decorate: (client: GitHubClient) => {
        client.hook.before("request", (options) => void seen.push(`${options.method} ${options.url}`));
        return client;
      },
    });
    const client = await narrowedClients(decorated, { now })(7, 9, ["repos.get"]);
    fake.on("GET", "/repos/{owner}/{repo}", () => ({ status: 200, body: { id: 9 } }));
    await client.request("GET /repos/{owner}/{repo}", { owner: "o", repo: "r" });
    // The token request, made with the factory's client, is decorated too.
    expect(seen).toEqual(["POST /app/installations/{installation_id}/access_tokens", "GET /repos/{owner}/{repo}"]);
    // A second narrowed client decorates nothing twice.
    await narrowedClients(decorated, { now })(7, 10, ["repos.get"]);
    await client.request("GET /repos/{owner}/{repo}", { owner: "o", repo: "r" });
    expect(seen).toEqual([
      "POST /app/installations/{installation_id}/access_tokens",
      "GET /repos/{owner}/{repo}",
      "POST /app/installations/{installation_id}/access_tokens",
      "GET /repos/{owner}/{repo}",
    ]);
  });
});
