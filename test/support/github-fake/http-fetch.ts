import { request } from "node:http";

// A fetch over node:http for talking to the fake. Under nock 15 on Node 20 the
// patched global fetch throws "TypeError: unusable" for every request that has
// a body, even to allowed loopback hosts (nock/nock#2841); node:http requests
// pass through intact. Give it to Octokit as `request: { fetch }`.

export async function httpFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  const body = await bodyBytes(init.body ?? (input instanceof Request && input.body ? await input.arrayBuffer() : null));
  if (body) headers.set("content-length", String(body.length));
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers: Object.fromEntries(headers) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v);
          }
          const status = res.statusCode ?? 500;
          const empty = status === 204 || status === 304 || method === "HEAD";
          const response = new Response(empty ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: responseHeaders });
          Object.defineProperty(response, "url", { value: url.toString() });
          resolve(response);
        });
      },
    );
    req.on("error", reject);
    init.signal?.addEventListener("abort", () => req.destroy(init.signal?.reason as Error));
    req.end(body ?? undefined);
  });
}

async function bodyBytes(body: unknown): Promise<Buffer | null> {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  return Buffer.from(await new Response(body as ConstructorParameters<typeof Response>[0]).arrayBuffer());
}
