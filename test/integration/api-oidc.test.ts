import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeInstallation, recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { readAudit } from "../../src/audit/log.ts";
import { castVote, type VoteSources } from "../../src/gates/vote.ts";
import { configDigest, DEFAULT_CONFIG } from "../../src/policy/config.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { Clock, bearer, seedInstallations, startApi, verifySite, type ApiServer } from "./api-harness.ts";

/** A GitHub Actions-like OIDC issuer on loopback: openid-configuration and JWKS. */
async function startIssuer(jwk: JWK): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer: base, jwks_uri: `${base}/.well-known/jwks` }));
    } else if (req.url === "/.well-known/jwks") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let t: TestDatabase;
let api: ApiServer;
let issuer: { url: string; server: Server };
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
const clock = new Clock("2026-11-23T10:00:00.000Z");
const AUDIENCE = "https://agent-gate.example";
const SHA = "a".repeat(40);

async function idToken(
  claims: Record<string, unknown>,
  options: { key?: CryptoKey; audience?: string; issuer?: string } = {},
): Promise<string> {
  const iat = Math.floor(clock.now().getTime() / 1000);
  return new SignJWT({
    repository: "acme/web",
    repository_id: "11",
    actor: "octocat",
    ref: "refs/heads/main",
    sha: SHA,
    run_id: "42",
    ...claims,
  })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(options.issuer ?? issuer.url)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .setSubject("repo:acme/web:ref:refs/heads/main")
    .sign(options.key ?? signingKey);
}

async function submit(token: string, repo = "acme/web"): Promise<Response> {
  return fetch(`${api.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(token),
    body: JSON.stringify({
      kind: "deploy",
      repo,
      sha: SHA,
      environment: "production",
      site: "example.com",
      summary: "release 1.2",
    }),
  });
}

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair("RS256")).privateKey;
  issuer = await startIssuer({ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" });
  t = await createTestDatabase();
  await seedInstallations(t.db, clock.now());
  await recordInstallation(t.db, { id: 5, account: "leaving" }, clock.now());
  await recordRepositories(t.db, 5, [{ id: 51, full_name: "leaving/site" }], [], clock.now());
  await verifySite(t.db, 1, "example.com", clock.now());
  api = await startApi({
    db: t.db,
    now: clock.now,
    env: { AGENT_GATE_OIDC_ISSUER: issuer.url, AGENT_GATE_OIDC_AUDIENCE: AUDIENCE },
  });
});
afterAll(async () => {
  await api.close();
  await new Promise<void>((resolve) => issuer.server.close(() => resolve()));
  await t.drop();
});

describe("GitHub Actions OIDC bearer", () => {
  it("accepts a token from the issuer for a repository of a live installation", async () => {
    const res = await submit(await idToken({}));
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; repo: string };
    expect(created.repo).toBe("acme/web");
    const [row] = await t.db.tenant(1, (tx) =>
      tx.query<{ author: string; details: Record<string, unknown> }>(
        "SELECT author, details FROM proposals WHERE id = $1",
        [created.id],
      ),
    );
    expect(row?.author).toBe("octocat");
    expect(row?.details).toMatchObject({ via: "oidc", triggered_by: "octocat" });
  });

  it("excludes both the run's actor and the user who re-ran it from approving, each vote refused and audited", async () => {
    // A re-run by someone else keeps `actor` (who started the workflow) and
    // names the re-runner in `triggering_actor`.
    const res = await submit(await idToken({ actor: "octocat", triggering_actor: "rerunner" }));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const [row] = await t.db.tenant(1, (tx) =>
      tx.query<{ author: string; details: Record<string, unknown> }>(
        "SELECT author, details FROM proposals WHERE id = $1",
        [id],
      ),
    );
    expect(row).toMatchObject({ author: "octocat", details: { triggered_by: "rerunner" } });

    // The vote path the check-run buttons and the review page take; GitHub's
    // answers (config, the voter's write permission) given as its sources.
    const sources: VoteSources = {
      config: async () => ({ ok: true, config: DEFAULT_CONFIG, present: false, digest: configDigest(DEFAULT_CONFIG) }),
      permission: async () => "write",
      // DEFAULT_CONFIG has no rules, so no team is ever asked about.
      memberships: async () => {
        throw new Error("no rule names a team here");
      },
    };
    const vote = (login: string) =>
      castVote({ db: t.db, now: clock.now }, sources, {
        installationId: 1,
        proposalId: id,
        voter: { login, type: "User" },
        identifier: "approve",
        via: "check_run",
      });
    expect(await vote("rerunner")).toEqual({
      outcome: "refused",
      status: "pending",
      reason: "the user who triggered the run cannot approve it",
    });
    expect(await vote("OctoCat")).toEqual({
      outcome: "refused",
      status: "pending",
      reason: "the author cannot approve their own proposal",
    });
    const [after] = await t.db.tenant(1, (tx) =>
      tx.query<{ status: string }>("SELECT status FROM proposals WHERE id = $1", [id]),
    );
    expect(after?.status).toBe("pending");
    const votes = (await t.db.tenant(1, (tx) => readAudit(tx, 1, 0, 10_000))).filter(
      (e) => e.subject === id && e.action === "vote.recorded",
    );
    expect(votes.map((e) => [e.actor, e.outcome])).toEqual([
      ["rerunner", "refused"],
      ["OctoCat", "refused"],
    ]);
    expect(await vote("maintainer")).toMatchObject({ outcome: "counted", status: "approved" });
  });

  it("limits the workflow to its own repository", async () => {
    const res = await submit(await idToken({}), "acme/api");
    expect(res.status).toBe(404);
  });

  it.each([
    ["a wrong audience", () => idToken({}, { audience: "https://someone-else.example" })],
    ["a signature by another key", () => idToken({}, { key: strangerKey })],
    ["another issuer", () => idToken({}, { issuer: "https://token.actions.githubusercontent.com" })],
    ["a repository of no installation", () => idToken({ repository: "stranger/repo", repository_id: "999" })],
    ["a repository id that does not match the name", () => idToken({ repository_id: "12" })],
    ["a missing actor claim", () => idToken({ actor: undefined })],
  ])("refuses %s with the common 401", async (_name, make) => {
    const res = await submit(await make());
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "A valid bearer token is required." } });
  });

  it("refuses an expired token", async () => {
    const token = await idToken({});
    clock.advance(10 * 60 * 1000);
    try {
      expect((await submit(token)).status).toBe(401);
    } finally {
      clock.advance(-10 * 60 * 1000);
    }
  });

  it("stops working for a repository once its installation is removed", async () => {
    const token = await idToken({ repository: "leaving/site", repository_id: "51" });
    const before = await fetch(`${api.url}/api/v1/proposals/prp_00000000000000000000`, { headers: bearer(token) });
    expect(before.status).toBe(404);
    await removeInstallation(t.db, 5, clock.now());
    const after = await fetch(`${api.url}/api/v1/proposals/prp_00000000000000000000`, { headers: bearer(token) });
    expect(after.status).toBe(401);
  });
});
