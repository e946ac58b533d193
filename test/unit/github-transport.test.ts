import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepAliveFetch } from "../../src/github/transport.ts";
import { GateOctokit } from "../../src/github/octokit.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  socket: number;
}

/** Two loopback servers (two origins) that record what reaches them and answer per path. */
async function origin(handle: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const sockets = new WeakMap<object, number>();
  let nextSocket = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!sockets.has(req.socket)) sockets.set(req.socket, nextSocket++);
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        socket: sockets.get(req.socket)!,
      });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    seen,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("keep-alive transport (Octokit's fetch)", () => {
  let other: Awaited<ReturnType<typeof origin>>;
  let main: Awaited<ReturnType<typeof origin>>;
  const transport = keepAliveFetch({ idleMs: 300 });

  beforeAll(async () => {
    other = await origin((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end('{"where":"other"}'),
    );
    main = await origin((req, res) => {
      const path = (req.url ?? "").split("?")[0];
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) =>
        res
          .writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
          .end(JSON.stringify(value));
      if (path === "/json") return json(200, { ok: true }, { "x-multi": "a" });
      if (path === "/echo") return json(201, { method: req.method });
      if (path === "/empty") return res.writeHead(204).end();
      if (path === "/not-modified") return res.writeHead(304, { etag: '"1"' }).end();
      if (path === "/missing") return json(404, { message: "Not Found" });
      if (path === "/moved") return res.writeHead(301, { location: "/json" }).end();
      if (path === "/see-other") return res.writeHead(303, { location: "/echo" }).end();
      if (path === "/away") return res.writeHead(302, { location: `${other.url}/there` }).end();
      if (path === "/loop") return res.writeHead(302, { location: "/loop" }).end();
      if (path === "/slow") return; // never answers
      if (path === "/closing") {
        // The server has closed this kept-alive connection: the second request on it gets no answer.
        const served = (req.socket as { served?: number }).served ?? 0;
        (req.socket as { served?: number }).served = served + 1;
        if (served > 0) return req.socket.destroy();
        return json(200, { fresh: true });
      }
      if (path === "/page1") return json(200, [{ id: 1 }], { link: `<${main.url}/page2>; rel="next"` });
      if (path === "/page2") return json(200, [{ id: 2 }]);
      json(500, { message: "unexpected" });
    });
  });
  afterAll(async () => {
    await main.close();
    await other.close();
  });

  it("sends the method, headers and body, and reads status, headers and JSON; connections are reused", async () => {
    const before = main.seen.length;
    const first = await transport(`${main.url}/json`, {
      headers: { Authorization: "token t1", Accept: "application/json" },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-multi")).toBe("a");
    expect(first.url).toBe(`${main.url}/json`);
    expect(await first.json()).toEqual({ ok: true });
    const posted = await transport(`${main.url}/echo`, {
      method: "POST",
      body: JSON.stringify({ a: 1 }),
      headers: { "content-type": "application/json" },
    });
    expect(posted.status).toBe(201);
    expect(await posted.json()).toEqual({ method: "POST" });
    const [get, post] = main.seen.slice(before);
    expect(get!.headers.authorization).toBe("token t1");
    expect(post!.body).toBe('{"a":1}');
    expect(post!.socket).toBe(get!.socket); // keep-alive
  });

  it("gives 204 and 304 answers no body", async () => {
    const empty = await transport(`${main.url}/empty`, { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe("");
    const notModified = await transport(`${main.url}/not-modified`, { headers: { "if-none-match": '"1"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe('"1"');
  });

  it("follows redirects: same origin keeps the credentials, another origin does not; 303 turns into GET", async () => {
    const moved = await transport(`${main.url}/moved`, { headers: { authorization: "token keep" } });
    expect(moved.status).toBe(200);
    expect(moved.url).toBe(`${main.url}/json`);
    expect(main.seen.at(-1)!.headers.authorization).toBe("token keep");

    const away = await transport(`${main.url}/away`, { headers: { authorization: "token secret" } });
    expect(await away.json()).toEqual({ where: "other" });
    expect(other.seen.at(-1)!.headers.authorization).toBeUndefined();

    const seeOther = await transport(`${main.url}/see-other`, {
      method: "POST",
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    expect(await seeOther.json()).toEqual({ method: "GET" });
    expect(main.seen.at(-1)!.body).toBe("");

    const manual = await transport(`${main.url}/moved`, { redirect: "manual" });
    expect(manual.status).toBe(301);
    await expect(transport(`${main.url}/moved`, { redirect: "error" })).rejects.toThrow(TypeError);
    await expect(transport(`${main.url}/loop`)).rejects.toMatchObject({
      name: "TypeError",
      cause: { message: "too many redirects" },
    });
  });

  it("fails like fetch: a refused connection is a TypeError with the cause; an abort is an AbortError; silence times out", async () => {
    const closed = await origin(() => {});
    const deadUrl = closed.url;
    await closed.close();
    await expect(transport(`${deadUrl}/x`)).rejects.toMatchObject({
      name: "TypeError",
      message: "fetch failed",
      cause: { code: "ECONNREFUSED" },
    });

    const aborted = new AbortController();
    aborted.abort();
    await expect(transport(`${main.url}/json`, { signal: aborted.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
    const later = new AbortController();
    const pending = transport(`${main.url}/slow`, { signal: later.signal });
    setTimeout(() => later.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });

    await expect(transport(`${main.url}/slow`)).rejects.toMatchObject({
      name: "TypeError",
      cause: { message: "no response within 300 ms" },
    });
  });

  it("sends a read again on a new connection when a kept-alive one turns out closed, never a write", async () => {
    const fresh = keepAliveFetch();
    expect((await fresh(`${main.url}/closing`)).status).toBe(200);
    const again = await fresh(`${main.url}/closing`);
    expect(await again.json()).toEqual({ fresh: true });
    const before = main.seen.length;
    const writer = keepAliveFetch();
    expect((await writer(`${main.url}/closing`, { method: "POST", body: "{}" })).status).toBe(200);
    await expect(writer(`${main.url}/closing`, { method: "POST", body: "{}" })).rejects.toMatchObject({
      name: "TypeError",
      cause: { code: "ECONNRESET" },
    });
    expect(main.seen.length - before).toBe(2); // the write was not sent a second time
  });

  it("reuses connections for many requests without piling up listeners", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      for (let i = 0; i < 40; i += 1) expect((await transport(`${main.url}/json`)).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it("is what the gate's Octokit uses: errors carry GitHub's status and message, pagination follows Link", async () => {
    const octokit = new GateOctokit({ auth: { token: "token-for-test" }, baseUrl: main.url } as never);
    const before = main.seen.length;
    const { data } = await octokit.request("GET /json");
    expect(data).toEqual({ ok: true });
    expect(main.seen[before]!.headers.authorization).toBe("token token-for-test");
    await expect(octokit.request("GET /missing")).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining("Not Found"),
    });
    expect(await octokit.paginate("GET /page1")).toEqual([{ id: 1 }, { id: 2 }]);
  });
});
