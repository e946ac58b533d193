import { ProbotOctokit } from "probot";

/**
 * Probot's Octokit with its own throttling and retries switched off: the
 * outbox paces and retries GitHub writes itself, across every app process.
 * (A function default, because Probot sets throttle options on each instance.)
 */
export const GateOctokit = ProbotOctokit.defaults((instanceOptions: Record<string, unknown>) => ({
  ...instanceOptions,
  throttle: { enabled: false },
  retry: { enabled: false },
}));
