import type { GitHubFake } from "../github-fake.ts";
import type { Permission } from "./state.ts";

// Loads repository state into a fake from plain JSON, for `scripts/github-fake.ts`
// and for tests that prefer a fixture file to a run of setter calls.

export interface RepoSeed {
  id?: number;
  private?: boolean;
  default_branch?: string;
  installation_id?: number;
  files?: Record<string, string>;
  permissions?: Record<string, Permission>;
  pulls?: { number: number; [field: string]: unknown }[];
  reviews?: Record<string, object[]>; // pull number → GitHub review objects
  refs?: Record<string, string>; // "heads/x" → sha
}

export interface FakeSeed {
  installations?: Record<string, { account?: string; permissions?: Record<string, string>; events?: string[] }>;
  repos?: Record<string, RepoSeed>; // "owner/name" → state
}

export function seedFake(fake: GitHubFake, seed: FakeSeed): void {
  for (const [id, installation] of Object.entries(seed.installations ?? {}))
    fake.setInstallation(Number(id), installation);
  for (const [repo, state] of Object.entries(seed.repos ?? {})) {
    const { files, permissions, pulls, reviews, refs, ...settings } = state;
    fake.setRepo(repo, settings);
    for (const [path, content] of Object.entries(files ?? {})) fake.setFile(repo, path, content);
    for (const [login, permission] of Object.entries(permissions ?? {})) fake.setPermission(repo, login, permission);
    for (const pull of pulls ?? []) fake.setPullRequest(repo, pull);
    for (const [pull, list] of Object.entries(reviews ?? {})) fake.setReviews(repo, Number(pull), list);
    for (const [ref, sha] of Object.entries(refs ?? {})) fake.setRef(repo, ref, sha);
  }
}
