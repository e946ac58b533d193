import { Resolver } from "node:dns/promises";
import { ValidationError } from "../errors.ts";
import type { ResolverSettings } from "../config/settings.ts";
import type { CheckResult } from "./check-result.ts";
import { RECORD_PREFIX, RECORD_VALUE_PREFIX } from "./challenge.ts";

/** The one resolver call site checks need; node's Resolver satisfies it. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<string[][]>;
}

export type { ResolverSettings } from "../config/settings.ts";

export function createResolver(settings: ResolverSettings = {}): TxtResolver {
  const resolver = new Resolver({ timeout: settings.timeoutMs ?? 2000, tries: settings.tries ?? 2 });
  const servers = (settings.servers ?? "")
    .split(",")
    .map((server) => server.trim())
    .filter((server) => server !== "");
  if (servers.length > 0) {
    try {
      resolver.setServers(servers);
    } catch {
      throw new ValidationError([
        {
          field: "AGENT_GATE_DNS_SERVERS",
          message: `must be comma-separated IP addresses, each optionally with :port (got "${settings.servers}")`,
        },
      ]);
    }
  }
  return resolver;
}

const ABSENT = new Set(["ENOTFOUND", "ENODATA"]);

/**
 * Look for `agent-gate-verification=<token>` among the TXT records at
 * `_agent-gate.<domain>` (never the apex). Each record's character-strings
 * are joined before comparing; CNAMEs are followed by the resolver. Any
 * failure to get an answer is "could_not_check", never a verification.
 */
export async function checkDns(resolver: TxtResolver, domain: string, token: string): Promise<CheckResult> {
  const name = `${RECORD_PREFIX}${domain}`;
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && ABSENT.has(code)) {
      return { outcome: "not_found", reason: `no TXT record at ${name}` };
    }
    return {
      outcome: "could_not_check",
      reason: `the DNS lookup of ${name} failed (${typeof code === "string" ? code : "error"}); try again later`,
    };
  }
  const expected = `${RECORD_VALUE_PREFIX}${token}`;
  if (records.some((strings) => strings.join("").trim() === expected)) {
    return { outcome: "verified", reason: `TXT record at ${name} holds the challenge` };
  }
  if (records.length === 0) return { outcome: "not_found", reason: `no TXT record at ${name}` };
  return {
    outcome: "mismatch",
    reason: `${records.length} TXT record(s) at ${name}, none equal to ${RECORD_VALUE_PREFIX}<this site's token>`,
  };
}
