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
  hook: { wrap(name: "request", fn: (request: (options: RequestOptions) => Promise<Answer>, options: RequestOptions) => Promise<Answer>): void };
  request: { endpoint: { parse(options: RequestOptions): { method: string; url: string; headers: Record<string, string | undefined> } } };
  auth(options?: { type: "installation" }): Promise<unknown>;
}

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
  if (/^\/app(\/|$)/.test(options.url) || /^https?:/.test(options.url)) return false;
  if (options.url.includes("/contents/")) return typeof options.path === "string" && KEPT_FILES.test(options.path);
  return true;
}

/**
 * Every cacheable read of an installation's client is sent conditionally:
 * the ETag GitHub last answered to the same request with the same token goes
 * as If-None-Match, and a 304 (which GitHub does not count against the rate
 * limit) is answered with the body kept from that 200, with status 304 so a
 * caller can tell "unchanged". Nothing is ever answered from the store
 * without GitHub's 304: a decision rests on GitHub's word of now.
 *
 * GitHub's ETags are specific to the token that asked (docs/rate-limit.md),
 * so the key holds a fingerprint of the token (SHA-256, never the token) with
 * the method, URL and Accept header. Narrowed tokens are reused per
 * installation, repository and permission set for their hour, so their reads
 * earn 304s for that hour.
 */
export function conditionalReads<T>(client: T, installationId: number, store: EtagStore, options: ConditionalOptions = {}): T {
  const octokit = client as unknown as Conditional;
  octokit.hook.wrap("request", async (request, requestOptions) => {
    if (!cacheable(requestOptions)) return request(requestOptions);
    const token = await tokenOf(octokit);
    if (token === undefined) return request(requestOptions);
    const parsed = octokit.request.endpoint.parse(requestOptions);
    const key = createHash("sha256")
      .update(JSON.stringify([createHash("sha256").update(token).digest("hex"), parsed.method, parsed.url, parsed.headers.accept ?? ""]))
      .digest("hex");
    let kept: Awaited<ReturnType<EtagStore["get"]>>;
    try {
      kept = await store.get(installationId, key);
    } catch (error) {
      options.onStoreError?.(error);
      return request(requestOptions);
    }
    const asked = kept ? { ...requestOptions, headers: { ...requestOptions.headers, "if-none-match": kept.etag } } : requestOptions;
    let answer: Answer;
    try {
      answer = await request(asked);
    } catch (error) {
      const e = error as { status?: unknown; response?: { headers?: Answer["headers"]; url?: string } };
      if (e.status !== 304 || !kept) throw error;
      return { status: 304, url: e.response?.url ?? parsed.url, headers: { ...kept.headers, ...(e.response?.headers ?? {}) }, data: kept.data };
    }
    const etag = answer.headers.etag;
    if (answer.status === 200 && typeof etag === "string" && etag) {
      const headers: Record<string, string> = {};
      for (const name of KEPT_HEADERS) if (answer.headers[name] !== undefined) headers[name] = String(answer.headers[name]);
      await store.put(installationId, key, { etag, headers, data: answer.data }).catch((error: unknown) => options.onStoreError?.(error));
    }
    return answer;
  });
  return client;
}

/** The client's installation token; undefined when it has none (the request itself then meets the auth error, if any). */
async function tokenOf(octokit: Conditional): Promise<string | undefined> {
  let auth: { token?: unknown };
  try {
    auth = (await octokit.auth({ type: "installation" })) as { token?: unknown };
  } catch {
    return undefined;
  }
  return typeof auth?.token === "string" && auth.token ? auth.token : undefined;
}
