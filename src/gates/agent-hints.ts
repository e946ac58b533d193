import type { GateConfig } from "../policy/config.ts";
import { isAgent } from "../policy/eligibility.ts";

const MAX_REPOSITORIES = 4096;

/**
 * The last configuration seen per repository, kept only to guess whether a
 * pull request's author is an agent before this event's configuration has
 * been read, so the review list can be read beside it. A guess decides what
 * is read early, never what is decided: decisions use the configuration read
 * for the event.
 */
export class AgentHints {
  private readonly seen = new Map<string, { config: GateConfig; present: boolean }>();

  likelyAgent(installationId: number, repo: string, author: { login: string; type: string }): boolean {
    const last = this.seen.get(`${installationId}/${repo}`);
    return last !== undefined && isAgent(author.login, author.type, last.config, last.present);
  }

  remember(installationId: number, repo: string, read: { config: GateConfig; present: boolean }): void {
    const key = `${installationId}/${repo}`;
    this.seen.delete(key);
    if (this.seen.size >= MAX_REPOSITORIES) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { config: read.config, present: read.present });
  }
}
