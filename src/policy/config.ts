import { canonicalDigest } from "./digest.ts";
import { configFileSchema, type ConfigFile } from "./config-schema.ts";
import { toConfigErrors, type ConfigError } from "./config-errors.ts";
import { parseDuration } from "./duration.ts";
import type { Permission } from "./permission.ts";
import { ruleFromFile, type Rule } from "./rules.ts";
import { notifyFromFile, type NotifyConfig } from "./notify-schema.ts";

export type { Permission } from "./permission.ts";
export type { ConfigError } from "./config-errors.ts";
export { parseDuration, formatDuration } from "./duration.ts";
export { configSchemaDescription } from "./config-docs.ts";

/** The repository configuration, validated and normalised. */
export interface GateConfig {
  /** Logins named in `agents` (not `known`, not exclusions). */
  agents: string[];
  /** `known` was listed: the built-in list of AI coding agents is gated. Absent in configs recorded before it existed. */
  knownAgents?: boolean;
  /** Logins written "!name" in `agents`: never recognised as agents. */
  agentExclusions?: string[];
  approvals: { required: number; minPermission: Permission; allowDirectingHuman?: boolean };
  /** Approval rules; each one whose `if` matches must be satisfied too. Absent when there are none (so the digest of a config without rules is unchanged). */
  rules?: Rule[];
  expiryMs: number;
  deploy: { environments: Record<string, string> };
  outreach: { mode: "pull_request" | "check_run" };
  /** `notify:`: channels, routes, escalation, reminders. Absent when the file has none (so earlier digests are unchanged). */
  notify?: NotifyConfig;
}

export type ParsedConfig = { ok: true; config: GateConfig; present: boolean } | { ok: false; errors: ConfigError[] };

/** A repository's config as read for a decision: parsed, with its digest, or the errors that stop it. */
export type RepoConfig =
  { ok: true; config: GateConfig; present: boolean; digest: string } | { ok: false; errors: ConfigError[] };

/** The `agents` entry naming the built-in list of AI coding agents. */
const KNOWN = "known";

function fromFile(file: ConfigFile): GateConfig {
  return {
    agents: file.agents.filter((entry) => entry !== KNOWN && !entry.startsWith("!")),
    knownAgents: file.agents.includes(KNOWN),
    agentExclusions: file.agents.filter((entry) => entry.startsWith("!")).map((entry) => entry.slice(1)),
    approvals: {
      required: file.approvals.required,
      minPermission: file.approvals.min_permission,
      allowDirectingHuman: file.approvals.allow_directing_human,
    },
    ...(file.rules.length ? { rules: file.rules.map(ruleFromFile) } : {}),
    expiryMs: parseDuration(file.expiry),
    deploy: { environments: { ...file.deploy.environments } },
    outreach: { mode: file.outreach.mode },
    ...(file.notify ? { notify: notifyFromFile(file.notify) } : {}),
  };
}

/** The configuration of a repository without `.github/agent-gate.yml`. */
export const DEFAULT_CONFIG: GateConfig = deepFreeze(fromFile(configFileSchema.parse({})));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates the parsed YAML of `.github/agent-gate.yml`. `present` says
 * whether the file exists; an absent or empty file yields the defaults. Any
 * unknown key or bad value is an error naming its path: the caller keeps the
 * gate closed and shows the errors.
 */
export function parseConfig(raw: unknown, present: boolean): ParsedConfig {
  const input = raw === null || raw === undefined ? {} : raw;
  const result = configFileSchema.safeParse(input, { reportInput: true });
  if (!result.success) return { ok: false, errors: toConfigErrors(result.error.issues) };
  return { ok: true, config: fromFile(result.data), present };
}

/**
 * The config file as its reader found it (on GitHub, or a local file): its
 * YAML as a value and whether the file exists, or why its YAML could not be
 * read (src/github/config-text.ts).
 */
export type ConfigSource = { ok: true; raw: unknown; present: boolean } | { ok: false; errors: ConfigError[] };

/**
 * A repository's config from its file as read: a file that could not be read
 * keeps its errors; otherwise its settings checked by the one schema, with
 * their digest.
 */
export function repoConfigOf(source: ConfigSource): RepoConfig {
  if (!source.ok) return source;
  const parsed = parseConfig(source.raw, source.present);
  if (!parsed.ok) return parsed;
  return { ...parsed, digest: configDigest(parsed.config) };
}

/** SHA-256 (hex) of the canonical JSON of a config, recorded with each decision. */
export function configDigest(config: GateConfig): string {
  return canonicalDigest(config);
}
