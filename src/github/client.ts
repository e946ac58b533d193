import type { ProbotOctokit } from "probot";

/** An Octokit authenticated as an installation (Probot's, with its plugins). */
export type GitHubClient = InstanceType<typeof ProbotOctokit>;
