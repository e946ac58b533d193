import http from "node:http";
import https from "node:https";

/** A response that takes longer than this between bytes is failed (undici's fetch waits 300 s). */
export const RESPONSE_IDLE_MS = 60_000;
const MAX_REDIRECTS = 20;
const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const STALE_SOCKET = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

export interface TransportOptions {
  idleMs?: number;
}

/**
 * A `fetch` for Octokit over node:http(s) with keep-alive agents: the subset
 * of fetch Octokit uses (method, string or byte bodies, headers, abort
 * signals, redirects), at about a third of the CPU of Node's built-in fetch
 * per GitHub call. Bodies of any other kind (streams) go to the built-in
 * fetch unchanged.
 */
export function keepAliveFetch(options: TransportOptions = {}): typeof fetch {
  const agents = {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  };
  const idleMs = options.idleMs ?? RESPONSE_IDLE_MS;

  const send = (
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ) =>
    new Promise<{ status: number; statusText: string; headers: http.IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        if (signal?.aborted) {
          reject(abortError(signal));
          return;
        }
        const transport = url.protocol === "https:" ? https : http;
        const req = transport.request(
          url,
          { method, headers, agent: agents[url.protocol as "http:" | "https:"] },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              signal?.removeEventListener("abort", onAbort);
              resolve({
                status: res.statusCode ?? 0,
                statusText: res.statusMessage ?? "",
                headers: res.headers,
                body: Buffer.concat(chunks),
              });
            });
            res.on("error", fail);
          },
        );
        function fail(error: Error) {
          signal?.removeEventListener("abort", onAbort);
          // A kept-alive connection the server closed as it was reused: nothing reached the server.
          if (req.reusedSocket && STALE_SOCKET.has((error as NodeJS.ErrnoException).code ?? ""))
            (error as Error & { staleSocket?: boolean }).staleSocket = true;
          reject(error);
        }
        function onAbort() {
          req.destroy(abortError(signal!));
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        req.setTimeout(idleMs, () => req.destroy(new Error(`no response within ${idleMs} ms`)));
        req.on("error", fail);
        req.end(body);
      },
    );

  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    if (
      input instanceof Request ||
      (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array))
    ) {
      return fetch(input, init);
    }
    let url = new URL(String(input));
    let method = (init.method ?? "GET").toUpperCase();
    let payload: string | Uint8Array | undefined = body ?? undefined;
    const headers = headerRecord(init.headers);
    const signal = init.signal ?? undefined;
    for (let hops = 0; ; hops += 1) {
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) });
      let answer;
      try {
        answer = await send(url, method, headers, payload, signal).catch((error: Error & { staleSocket?: boolean }) => {
          // As browsers do: a read sent on a kept-alive connection that turned out closed is sent once more, on a new one.
          if (error.staleSocket && (method === "GET" || method === "HEAD"))
            return send(url, method, headers, payload, signal);
          throw error;
        });
      } catch (error) {
        if ((error as Error).name === "AbortError") throw error;
        throw new TypeError("fetch failed", { cause: error });
      }
      const location = answer.headers.location;
      if ([301, 302, 303, 307, 308].includes(answer.status) && location && init.redirect !== "manual") {
        if (init.redirect === "error")
          throw new TypeError("fetch failed", { cause: new Error("redirect not allowed") });
        if (hops >= MAX_REDIRECTS) throw new TypeError("fetch failed", { cause: new Error("too many redirects") });
        const next = new URL(location, url);
        if (next.origin !== url.origin) {
          // As fetch does: credentials do not follow a redirect to another origin.
          delete headers.authorization;
          delete headers.cookie;
        }
        if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === "POST")) {
          method = method === "HEAD" ? "HEAD" : "GET";
          payload = undefined;
          delete headers["content-type"];
          delete headers["content-length"];
        }
        url = next;
        continue;
      }
      if (answer.status < 200 || answer.status > 599)
        throw new TypeError("fetch failed", { cause: new Error(`unexpected status ${answer.status}`) });
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value === undefined) continue;
        for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
      }
      const response = new Response(NULL_BODY.has(answer.status) || method === "HEAD" ? null : answer.body, {
        status: answer.status,
        statusText: answer.statusText,
        headers: responseHeaders,
      });
      Object.defineProperty(response, "url", { value: url.toString() });
      return response;
    }
  }) as typeof fetch;
}

function headerRecord(headers: ConstructorParameters<typeof Headers>[0] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  const entries =
    headers instanceof Headers ? [...headers.entries()] : Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of entries) out[name.toLowerCase()] = String(value);
  return out;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === "AbortError") return reason;
  return new DOMException("This operation was aborted", "AbortError");
}
