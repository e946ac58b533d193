import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { checkFile, type FetchLike } from "../../src/sites/file-check.ts";
import { createResolver } from "../../src/sites/dns-check.ts";
import { addSite, verifySite, type SiteCheckDeps } from "../../src/sites/service.ts";
import { assertSiteVerified } from "../../src/sites/verified.ts";
import { readAudit } from "../../src/audit/log.ts";

const PATH = "/.well-known/agent-gate-verification.txt";
const now = new Date("2026-11-23T09:00:00Z");
const TOKEN = "abcDEF0123456789abcDEF0123456789";

/** What the local HTTPS server answers, per Host header. */
const files = new Map<string, { status: number; headers?: Record<string, string>; body?: string; hang?: boolean }>();

let t: TestDatabase;
let server: Server;
let port: number;
let ca: Buffer;
let certDir: string;

/**
 * The network edge: a fetch that sends every request to the local HTTPS
 * server, trusting its self-signed certificate, with the URL's host in the
 * Host header. Redirect decisions stay with the code under test.
 */
const localFetch: FetchLike = (url, init) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== "https:") {
      reject(new TypeError(`refusing ${target.protocol}`));
      return;
    }
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: `${target.pathname}${target.search}`,
        method: "GET",
        ca,
        servername: "localhost",
        headers: { ...init.headers, host: target.host },
        signal: init.signal,
      },
      (res) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === "string") headers.set(name, value);
        }
        resolve(
          new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode ?? 500, headers }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), "agent-gate-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(certDir, "key.pem"),
      "-out",
      join(certDir, "cert.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  ca = readFileSync(join(certDir, "cert.pem"));
  server = createServer({ key: readFileSync(join(certDir, "key.pem")), cert: ca }, (req, res) => {
    const host = (req.headers.host ?? "").toLowerCase();
    const entry = files.get(`${host}${req.url ?? ""}`);
    if (!entry) {
      res.writeHead(404).end("not here");
      return;
    }
    if (entry.hang) return;
    res.writeHead(entry.status, entry.headers).end(entry.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  t = await createTestDatabase();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(certDir, { recursive: true, force: true });
  await t.drop();
});

describe("well-known file check", () => {
  it.each([
    ["the token alone", "verified", { status: 200, body: `${TOKEN}\n` }],
    ["the record value", "verified", { status: 200, body: `agent-gate-verification=${TOKEN}` }],
    ["another token", "mismatch", { status: 200, body: "someone-else" }],
    ["a 404", "not_found", { status: 404, body: "gone" }],
    ["a server error", "could_not_check", { status: 503, body: "" }],
    ["a 64 KB+ body", "refused", { status: 200, body: TOKEN + " ".repeat(64 * 1024) }],
    [
      "a 64 KB+ body without a length",
      "refused",
      { status: 200, headers: { "transfer-encoding": "chunked" }, body: TOKEN + " ".repeat(64 * 1024) },
    ],
    [
      "a redirect to another host",
      "refused",
      { status: 302, headers: { location: `https://elsewhere.example${PATH}` } },
    ],
    ["a redirect to plain HTTP", "refused", { status: 301, headers: { location: `http://case.example${PATH}` } }],
    [
      "a redirect to another port",
      "refused",
      { status: 301, headers: { location: `https://case.example:8443${PATH}` } },
    ],
  ] as const)("%s: %s", async (_label, outcome, entry) => {
    files.set(`case.example${PATH}`, entry);
    expect((await checkFile(localFetch, "case.example", TOKEN)).outcome).toBe(outcome);
  });

  it("follows a redirect on the same host over HTTPS", async () => {
    files.set(`same.example${PATH}`, { status: 301, headers: { location: "/moved/token.txt" } });
    files.set("same.example/moved/token.txt", { status: 200, body: TOKEN });
    expect(await checkFile(localFetch, "same.example", TOKEN)).toMatchObject({ outcome: "verified" });
  });

  it("gives up on a redirect loop", async () => {
    files.set(`loop.example${PATH}`, { status: 302, headers: { location: PATH } });
    expect(await checkFile(localFetch, "loop.example", TOKEN)).toMatchObject({ outcome: "refused" });
  });

  it("reports a server that does not answer in time as could_not_check", async () => {
    files.set(`slow.example${PATH}`, { status: 200, hang: true });
    const result = await checkFile(localFetch, "slow.example", TOKEN, { timeoutMs: 200 });
    expect(result).toMatchObject({ outcome: "could_not_check" });
    expect(result.reason).toContain("did not answer in time");
  });

  it("reports a certificate it cannot trust as could_not_check", async () => {
    // The platform fetch with its default trust store, pointed at the self-signed server.
    const untrusting: FetchLike = (url, init) =>
      fetch(url.replace("https://tls.example", `https://127.0.0.1:${port}`), init);
    files.set(`127.0.0.1:${port}${PATH}`, { status: 200, body: TOKEN });
    const result = await checkFile(untrusting, "tls.example", TOKEN);
    expect(result.outcome).toBe("could_not_check");
    expect(result.reason).toMatch(/SELF_SIGNED|CERT/);
  });
});

describe("file method through the service", () => {
  const deps = (): SiteCheckDeps => ({
    resolver: createResolver({ servers: "127.0.0.1:9", timeoutMs: 100, tries: 1 }),
    fetch: localFetch,
  });

  it("verifies a site whose file holds the token", async () => {
    const challenge = await addSite(t.db, 1, "files.example", "file", "admin", now);
    expect(challenge.file_url).toBe(`https://files.example${PATH}`);
    files.set(`files.example${PATH}`, { status: 200, body: challenge.token });
    expect(await verifySite(t.db, deps(), 1, "files.example", "admin", now)).toMatchObject({
      state: "verified",
      outcome: "verified",
    });
    await t.db.tenant(1, (tx) => assertSiteVerified(tx, 1, "files.example", now));

    // Adding again without a method keeps the file method and the same token.
    expect(await addSite(t.db, 1, "files.example", undefined, "admin", now)).toEqual(challenge);
    expect(await addSite(t.db, 1, "files.example", "dns", "admin", now)).toEqual({ ...challenge, method: "dns" });
    const events = await t.db.tenant(1, (tx) => readAudit(tx, 1));
    expect(events.filter((event) => event.action === "site.added").map((event) => event.outcome)).toEqual([
      "created",
      "unchanged",
      "method_changed",
    ]);
  });

  it("refuses a file reached by a redirect to another host, and audits it", async () => {
    const challenge = await addSite(t.db, 2, "moved.example", "file", "admin", now);
    files.set(`moved.example${PATH}`, { status: 302, headers: { location: `https://attacker.example${PATH}` } });
    files.set(`attacker.example${PATH}`, { status: 200, body: challenge.token });
    const result = await verifySite(t.db, deps(), 2, "moved.example", "admin", now);
    expect(result).toMatchObject({ state: "pending", outcome: "refused" });
    expect(result.message).toContain("https://attacker.example");
    await expect(t.db.tenant(2, (tx) => assertSiteVerified(tx, 2, "moved.example", now))).rejects.toMatchObject({
      code: "site_not_verified",
    });
    const events = await t.db.tenant(2, (tx) => readAudit(tx, 2));
    expect(events.at(-1)).toMatchObject({
      action: "site.check_failed",
      outcome: "refused",
      subject: "site:moved.example",
    });
    expect(JSON.stringify(events)).not.toContain(challenge.token);
  });
});
