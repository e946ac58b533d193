import type { GateConfig, Permission } from "./config.ts";
import { agentEntryOf } from "./agent-recognition.ts";
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
  /** Who pushed the head being decided (a pull request's latest push), when known. */
  pusher?: string | null;
  config: GateConfig;
  configPresent: boolean;
  /** Humans who directed the agent's work; they may not approve it unless approvals.allow_directing_human. */
  directors?: readonly string[];
}

export type Eligibility = { eligible: true } | { eligible: false; reason: string };

/**
 * Whether an account is an agent whose proposals are gated: a login listed in
 * `agents` ("name" and "name[bot]" match each other, case-insensitively), a
 * known AI coding agent when `agents` holds `known` (the default), or, when
 * the repository has no config file, any bot account; never a login excluded
 * with "!name".
 */
export function isAgent(login: string, type: string, config: GateConfig, configPresent: boolean): boolean {
  return agentEntryOf({ login, type }, config, configPresent) !== null;
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
  if (sameLogin(actor.login, context.pusher)) {
    return { eligible: false, reason: "the user who pushed the head cannot approve it" };
  }
  if (agentEntryOf({ login: actor.login }, config, true)) {
    return { eligible: false, reason: "a configured agent cannot approve" };
  }
  if (!config.approvals.allowDirectingHuman && context.directors?.some((login) => sameLogin(login, actor.login))) {
    return {
      eligible: false,
      reason: "they directed the agent's work (approvals.allow_directing_human is false), so they cannot approve it",
    };
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
