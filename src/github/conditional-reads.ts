import { createHash } from "node:crypto";
import type { EtagStore } from "./etag-store.ts";

interface RequestOptions {
  method: string;
  url: string;
  headers?: Record<string, string | undefined>;
  [param: string]: unknown;
}
interface Answer {
  status: number;
  url: string;
  headers: Record<string, string | number | undefined>;
  data: unknown;
}
interface Conditional {
  hook: {
    wrap(
      name: "request",
      fn: (request: (options: RequestOptions) => Promise<Answer>, options: RequestOptions) => Promise<Answer>,
    ): void;
  };
}

const made = new WeakSet<object>();

/** Headers of a 200 a caller reads again from a 304's reuse (pagination, dates). */
const KEPT_HEADERS = ["link", "last-modified", "content-type"] as const;

/**
 * The files read through repos.getContent whose answers may be kept: the
 * config and CODEOWNERS. Any other file (an outreach proposal, sealed at rest
 * in our own tables) is read without the cache.
 */
const KEPT_FILES = /(^|\/)(agent-gate\.ya?ml|CODEOWNERS)$/;

export interface ConditionalOptions {
  /** Told when the store fails; the read is then sent without a condition (or its 200 is not kept). */
  onStoreError?: (error: unknown) => void;
}

/** Whether a read's answer may be kept: GETs of the installation's repositories, not the App's own routes, not other files. */
export function cacheable(options: RequestOptions): boolean {
  if (options.method.toUpperCase() !== "GET") return false;
  // A next page of a listing comes as an absolute URL: judged by its path (GitHub Enterprise's under /api/v3).
  const path = /^https?:/.test(options.url)
    ? new URL(options.url).pathname.replace(/^\/api\/v3(?=\/)/, "")
    : options.url;
  if (/^\/app(\/|$)/.test(path)) return false;
  if (path.includes("/contents/"))
    return !/^https?:/.test(options.url) && typeof options.path === "string" && KEPT_FILES.test(options.path);
  return true;
}

/** Set by the conditional fetch on an answer rebuilt from a 304; removed before a caller sees the answer. */
const NOT_MODIFIED = "x-agent-gate-not-modified";

/**
 * Every cacheable read of an installation's client is sent conditionally:
 * the ETag GitHub last answered to the same request with the same token goes
 * as If-None-Match, and a 304 (which GitHub does not count against the rate
 * limit) is answered with the body kept from that 200, with status 304 so a
 * caller can tell "unchanged". Nothing is ever answered from the store
 * without GitHub's 304: a decision rests on GitHub's word of now.
 *
 * GitHub's ETags are specific to the token that asked (docs/rate-limit.md),
 * so the key holds a fingerprint of the Authorization header as sent
 * (SHA-256, never the token) with the method, URL and Accept header: the
 * cache works at the request's fetch, where the token is known whatever the
 * client's authentication. Narrowed tokens are reused per installation,
 * repository and permission set for their hour, so their reads earn 304s for
 * that hour.
 */
export function conditionalReads<T>(
  client: T,
  installationId: number,
  store: EtagStore,
  options: ConditionalOptions = {},
): T {
  // Octokit's `hook.wrap` is generic over every hook name; no client type states the "request" hook alone.
  const octokit = client as unknown as Conditional;
  // A client decorated twice (an installation client that is also a handler's base) is made conditional once.
  if (made.has(octokit)) return client;
  made.add(octokit);
  octokit.hook.wrap("request", async (request, requestOptions) => {
    if (!cacheable(requestOptions)) return request(requestOptions);
    const sent = requestOptions.request as { fetch?: typeof fetch } | undefined;
    // In place: before-after-hook hands the inner hooks the options object it was given, not one passed on.
    requestOptions.request = { ...sent, fetch: conditionalFetch(sent?.fetch ?? fetch, installationId, store, options) };
    const answer = await request(requestOptions);
    if (answer.headers[NOT_MODIFIED] === undefined) return answer;
    const { [NOT_MODIFIED]: _marker, ...headers } = answer.headers;
    return { ...answer, status: 304, headers };
  });
  return client;
}

/** A fetch that sends a GET with the kept ETag and answers a 304 with the kept body (marked); a fresh 200 with an ETag is kept. */
function conditionalFetch(
  inner: typeof fetch,
  installationId: number,
  store: EtagStore,
  options: ConditionalOptions,
): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    const authorization = headers.get("authorization");
    const method = (init.method ?? "GET").toUpperCase();
    if (!authorization || method !== "GET" || input instanceof Request) return inner(input, init);
    const url = String(input);
    const key = createHash("sha256")
      .update(
        JSON.stringify([
          createHash("sha256").update(authorization).digest("hex"),
          method,
          url,
          headers.get("accept") ?? "",
        ]),
      )
      .digest("hex");
    let kept: Awaited<ReturnType<EtagStore["get"]>>;
    try {
      kept = await store.get(installationId, key);
    } catch (error) {
      options.onStoreError?.(error);
      return inner(input, init);
    }
    if (kept) headers.set("if-none-match", kept.etag);
    const response = await inner(input, { ...init, headers: Object.fromEntries(headers.entries()) });
    if (response.status === 304 && kept) {
      const replayed = new Headers(kept.headers);
      response.headers.forEach((value, name) => replayed.set(name, value));
      replayed.set(NOT_MODIFIED, "1");
      return withUrl(
        new Response(typeof kept.data === "string" ? kept.data : "", { status: 200, headers: replayed }),
        response.url || url,
      );
    }
    const etag = response.headers.get("etag");
    if (response.status !== 200 || !etag) return response;
    const body = await response.text();
    const keptHeaders: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) keptHeaders[name] = value;
    }
    await store
      .put(installationId, key, { etag, headers: keptHeaders, data: body })
      .catch((error: unknown) => options.onStoreError?.(error));
    return withUrl(
      new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers }),
      response.url || url,
    );
  }) as typeof fetch;
}

function withUrl(response: Response, url: string): Response {
  Object.defineProperty(response, "url", { value: url });
  return response;
}
