import { HttpClient } from "@actions/http-client";

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  text: string;
}

/** Sends one request; rejects only when no HTTP answer arrived. */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

/**
 * The runner's own HTTP client: it honours the runner's proxy settings
 * (https_proxy, no_proxy), which Node's fetch does not. No redirects are
 * followed (a bearer token is never sent on elsewhere) and nothing is retried
 * here: retrying is the caller's decision.
 */
export const runnerTransport: Transport = async (request) => {
  const client = new HttpClient("agent-gate-action", [], {
    allowRedirects: false,
    allowRetries: false,
    socketTimeout: request.timeoutMs,
  });
  try {
    const response = await client.request(request.method, request.url, request.body ?? null, request.headers);
    return { status: response.message.statusCode ?? 0, text: await response.readBody() };
  } finally {
    client.dispose();
  }
};
