import type { GateConfig, Permission } from "./config.ts";
import { isBotAccount, sameLogin } from "./logins.ts";
import { permissionAtLeast } from "./permission.ts";

/** Someone who acts on a proposal, with their permission on the repository at decision time. */
export interface Actor {
  login: string;
  /** GitHub account type: "User" | "Bot" | "Organization". */
  type: string;
  permission: Permission;
}

export interface ApproverContext {
  /** Who proposed: the pull request author or the agent that submitted the proposal. */
  author: string;
  /** The user who triggered the workflow run, when there is one. */
  triggeredBy?: string | null;
  config: GateConfig;
  configPresent: boolean;
}

export type Eligibility = { eligible: true } | { eligible: false; reason: string };

/**
 * Whether an account is an agent whose proposals are gated: a login listed in
 * `agents` ("name" and "name[bot]" match each other, case-insensitively), or,
 * when the repository has no config file, any bot account.
 */
export function isAgent(login: string, type: string, config: GateConfig, configPresent: boolean): boolean {
  if (config.agents.some((agent) => sameLogin(agent, login))) return true;
  return !configPresent && isBotAccount(login, type);
}

/** Whether `actor` may approve (or reject) a proposal, and if not, why. */
export function checkApprover(actor: Actor, context: ApproverContext): Eligibility {
  const { config } = context;
  if (sameLogin(actor.login, context.author)) {
    return { eligible: false, reason: "the author cannot approve their own proposal" };
  }
  if (sameLogin(actor.login, context.triggeredBy)) {
    return { eligible: false, reason: "the user who triggered the run cannot approve it" };
  }
  if (config.agents.some((agent) => sameLogin(agent, actor.login))) {
    return { eligible: false, reason: "a configured agent cannot approve" };
  }
  if (isBotAccount(actor.login, actor.type)) {
    return { eligible: false, reason: "a bot cannot approve" };
  }
  const needed = config.approvals.minPermission;
  if (!permissionAtLeast(actor.permission, needed)) {
    return {
      eligible: false,
      reason: `${actor.permission === "none" ? "no" : actor.permission} permission on the repository is not enough (approving needs ${needed} or higher)`,
    };
  }
  return { eligible: true };
}
