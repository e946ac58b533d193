import type { RateLimits } from "./rate-limit.ts";

interface Hookable {
  hook: {
    wrap(
      name: "request",
      fn: (request: (options: RequestOptions) => Promise<Answer>, options: RequestOptions) => Promise<Answer>,
    ): void;
  };
}
interface RequestOptions {
  method: string;
  url: string;
}
interface Answer {
  status: number;
  headers: Record<string, string | number | undefined>;
}

/** Told of every GitHub call: its operation (method and route template) and the status answered (0: none). */
export type CallObserver = (call: { operation: string; status: number }) => void;

/**
 * Every call of one installation's client waits as the rate limits say and
 * reports what GitHub answered to them, so reads (webhook handlers, the review
 * page) and writes (the outbox worker) share one budget per installation.
 */
export function watchGitHub<T>(client: T, installationId: number, limits: RateLimits, observe?: CallObserver): T {
  // Octokit's `hook.wrap` is generic over every hook name; no client type states the "request" hook alone.
  (client as unknown as Hookable).hook.wrap("request", async (request, options) => {
    const operation = `${options.method} ${options.url}`;
    await limits.before(installationId);
    try {
      const answer = await request(options);
      limits.observe(installationId, { status: answer.status, headers: answer.headers });
      observe?.({ operation, status: answer.status });
      return answer;
    } catch (error) {
      const e = error as { status?: unknown; message?: unknown; response?: { headers?: Answer["headers"] } };
      const status = typeof e.status === "number" ? e.status : 0;
      limits.observe(installationId, {
        status,
        headers: e.response?.headers ?? {},
        message: typeof e.message === "string" ? e.message : "",
      });
      observe?.({ operation, status });
      throw error;
    }
  });
  return client;
}
