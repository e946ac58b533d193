import { ProbotOctokit } from "probot";
import { keepAliveFetch } from "./transport.ts";

/** One keep-alive transport for every GitHub client of the process (Probot's app authentication included). */
export const gateFetch = keepAliveFetch();

/**
 * Probot's Octokit with its own throttling and retries switched off: the
 * outbox paces and retries GitHub writes itself, across every app process.
 * Requests go through the keep-alive transport unless a fetch is given.
 * (A function default, because Probot sets throttle options on each instance.)
 */
export const GateOctokit = ProbotOctokit.defaults((instanceOptions: Record<string, unknown>) => {
  const request = (instanceOptions.request ?? {}) as { fetch?: typeof fetch };
  return {
    ...instanceOptions,
    request: { ...request, fetch: request.fetch ?? gateFetch },
    throttle: { enabled: false },
    retry: { enabled: false },
  };
});
