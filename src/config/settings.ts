import { readFileSync } from "node:fs";
import { checkAppKey } from "./app-key.ts";
import { inspect } from "node:util";
import { ValidationError } from "../errors.ts";

// The app's environment, read and checked once at start-up into one object;
// every other module gets the part it needs from it and never reads the
// environment itself. A bad value is refused with the variable's name and
// what is expected, all problems at once.

export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";
export const DEFAULT_RETENTION_DAYS = 90;
export const DEFAULT_DATA_DIR = ".agent-gate/data";
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface GitHubUrls {
  /** GitHub's web host (the OAuth web flow, avatars): https://github.com or a GitHub Enterprise Server. */
  web: string;
  /** The REST API base: https://api.github.com or `<web>/api/v3`. */
  api: string;
  enterprise: boolean;
}

export interface StorageSettings {
  /** PostgreSQL connection string; unset means embedded PGlite. */
  databaseUrl?: string | undefined;
  /**
   * AGENT_GATE_MIGRATION_DATABASE_URL: the login that owns the schema and runs migrations, when the app's own
   * login (DATABASE_URL) holds only agent_gate_service. Unset: migrations run as the DATABASE_URL login.
   */
  migrationDatabaseUrl?: string | undefined;
  /** Where PGlite keeps its data when DATABASE_URL is unset. */
  dataDir: string;
}

export interface OidcSettings {
  issuer: string;
  audience: string;
}

export interface ResolverSettings {
  /** `AGENT_GATE_DNS_SERVERS`: comma-separated `ip` or `ip:port`; unset means the system's. */
  servers?: string | undefined;
  /** Per-try timeout in milliseconds (`AGENT_GATE_DNS_TIMEOUT_MS`), default 2000. */
  timeoutMs?: number | undefined;
  /** Attempts per server, default 2. */
  tries?: number;
}

/** How the webhook pipeline runs; each has a default and an environment variable for operators and tests. */
export interface PipelineSettings {
  /** Deliveries processed at once per process (AGENT_GATE_INBOX_CONCURRENCY, default 8). */
  concurrency: number;
  /** First retry delay of a failed delivery, doubling per try (AGENT_GATE_INBOX_RETRY_MS, default 1000). */
  retryBaseMs: number;
  /** Tries before a delivery is set aside (AGENT_GATE_INBOX_MAX_ATTEMPTS, default 8). */
  maxAttempts: number;
  /** Lease of a delivery being processed, renewed while it runs (AGENT_GATE_INBOX_LEASE_MS, default 30000). */
  leaseMs: number;
  /** Inbox poll besides NOTIFY (AGENT_GATE_INBOX_POLL_MS, default 1000). */
  pollMs: number;
  /** One aggregated audit event of refused requests per interval (AGENT_GATE_REFUSAL_INTERVAL_MS, default 60000). */
  refusalIntervalMs: number;
  /** Delivery-log sweep (AGENT_GATE_RECOVERY_INTERVAL_MS, default 60000; 0 turns it off). */
  recoveryIntervalMs: number;
  /** Reconciliation of open agent pull requests and pending proposals (AGENT_GATE_RECONCILE_INTERVAL_MS, default 300000; 0 off). */
  reconcileIntervalMs: number;
}

export const PIPELINE_DEFAULTS: PipelineSettings = {
  concurrency: 8,
  retryBaseMs: 1000,
  maxAttempts: 8,
  leaseMs: 30_000,
  pollMs: 1000,
  refusalIntervalMs: 60_000,
  recoveryIntervalMs: 60_000,
  reconcileIntervalMs: 300_000,
};

const PIPELINE_VARIABLES: Record<keyof PipelineSettings, string> = {
  concurrency: "AGENT_GATE_INBOX_CONCURRENCY",
  retryBaseMs: "AGENT_GATE_INBOX_RETRY_MS",
  maxAttempts: "AGENT_GATE_INBOX_MAX_ATTEMPTS",
  leaseMs: "AGENT_GATE_INBOX_LEASE_MS",
  pollMs: "AGENT_GATE_INBOX_POLL_MS",
  refusalIntervalMs: "AGENT_GATE_REFUSAL_INTERVAL_MS",
  recoveryIntervalMs: "AGENT_GATE_RECOVERY_INTERVAL_MS",
  reconcileIntervalMs: "AGENT_GATE_RECONCILE_INTERVAL_MS",
};

/** Everything the app is configured with. Secrets are in it, and never in its JSON or inspected form. */
export interface Settings {
  /** APP_ID; unset before the App is registered (the setup page runs instead). */
  appId: number | undefined;
  /** PRIVATE_KEY, or the file PRIVATE_KEY_PATH names, with literal `\n` turned into newlines. */
  privateKey: string | undefined;
  /** WEBHOOK_SECRET. */
  webhookSecret: string | undefined;
  /** PORT (default 3000) and HOST (unset: every interface). */
  port: number;
  host: string | undefined;
  /** AGENT_GATE_PUBLIC_URL: where people and GitHub reach the app. */
  publicUrl: string | undefined;
  /** LOG_LEVEL, default info. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** LOG_FORMAT: json (default, one JSON object per line) or pretty (pino-pretty, for a terminal). */
  logFormat: "json" | "pretty";
  /** GHE_HOST, GHE_PROTOCOL. */
  github: GitHubUrls;
  /** GH_ORG: the organization the setup page registers the App under. */
  org: string | undefined;
  /** GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET: the review page's GitHub sign-in ("" when unset). */
  oauth: { clientId: string; clientSecret: string };
  /** DATABASE_URL, AGENT_GATE_DATA_DIR. */
  storage: StorageSettings;
  /** AGENT_GATE_KEYS, as given (the keyring parses it). */
  keys: string | undefined;
  /** AGENT_GATE_OIDC_AUDIENCE, AGENT_GATE_OIDC_ISSUER; null when no audience is set (OIDC off). */
  oidc: OidcSettings | null;
  /** AGENT_GATE_DNS_SERVERS, AGENT_GATE_DNS_TIMEOUT_MS. */
  dns: ResolverSettings;
  /** AGENT_GATE_RETENTION_DAYS, at least 1, default 90. */
  retentionDays: number;
  pipeline: PipelineSettings;
  /** AGENT_GATE_WRITE_INTERVAL_MS: the pace of GitHub writes per installation (unset: the outbox's default). */
  writeIntervalMs: number | undefined;
  /** AGENT_GATE_SWEEP_INTERVAL_MS: how often expired proposals are swept, default 30000. */
  sweepIntervalMs: number;
  /** AGENT_GATE_METRICS_PORT: /metrics on a port of its own instead of the app's. */
  metricsPort: number | undefined;
  /** WEBHOOK_PROXY_URL: a smee.io channel GitHub's deliveries are forwarded from. */
  webhookProxyUrl: string | undefined;
  /** AGENT_GATE_SLACK_API_URL: the Slack Web API base (default Slack's own, https://slack.com/api/). */
  slackApiUrl: string;
}

const SECRET_KEYS = ["privateKey", "webhookSecret", "keys"] as const;

/**
 * Read and check the environment. Every problem is reported at once, each
 * naming its variable; nothing is half-applied.
 */
export function readSettings(env: NodeJS.ProcessEnv, options: { readFile?: (path: string) => string } = {}): Settings {
  const issues: { field: string; message: string }[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const integer = (name: string, check: { min: number; max?: number }, what: string): number | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (
      !/^[0-9]+$/.test(raw) ||
      !Number.isSafeInteger(value) ||
      value < check.min ||
      (check.max !== undefined && value > check.max)
    ) {
      issues.push({ field: name, message: `must be ${what}; got ${JSON.stringify(raw)}` });
      return undefined;
    }
    return value;
  };
  const url = (name: string): string | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") return raw;
    } catch {
      // reported below
    }
    issues.push({ field: name, message: `must be an http:// or https:// URL; got ${JSON.stringify(raw)}` });
    return undefined;
  };

  const appId = integer("APP_ID", { min: 1 }, "the App's numeric id");
  let privateKey = env.PRIVATE_KEY || undefined;
  const keyPath = text("PRIVATE_KEY_PATH");
  if (!privateKey && keyPath) {
    try {
      privateKey = (options.readFile ?? ((path) => readFileSync(path, "utf8")))(keyPath);
    } catch (error) {
      issues.push({
        field: "PRIVATE_KEY_PATH",
        message: `must name a readable file (${(error as NodeJS.ErrnoException).code ?? "unreadable"}): ${keyPath}`,
      });
    }
  }

  const keyVariable = !env.PRIVATE_KEY && keyPath ? "PRIVATE_KEY_PATH" : "PRIVATE_KEY";
  if (privateKey) {
    const problem = checkAppKey(privateKey.replace(/\\n/g, "\n"));
    if (problem) issues.push({ field: keyVariable, message: problem });
  }
  // Credentials come as a pair; half of them is a mistake, never a reason to fall back to the setup page.
  if (appId !== undefined && !privateKey && !issues.some((issue) => issue.field === "PRIVATE_KEY_PATH")) {
    issues.push({
      field: "PRIVATE_KEY",
      message: `is required with APP_ID=${appId}: set PRIVATE_KEY (or PRIVATE_KEY_PATH) to the App's private key (.pem), or remove APP_ID to register a new App from the setup page`,
    });
  }
  if (privateKey && text("APP_ID") === undefined) {
    issues.push({
      field: "APP_ID",
      message: `is required with ${keyVariable}: set it to the App's numeric id (the "App ID" on the App's settings page)`,
    });
  }

  const level = (text("LOG_LEVEL") ?? "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    issues.push({
      field: "LOG_LEVEL",
      message: `must be one of ${LOG_LEVELS.join(", ")}; got ${JSON.stringify(env.LOG_LEVEL)}`,
    });

  const format = (text("LOG_FORMAT") ?? "json").toLowerCase();
  if (format !== "json" && format !== "pretty")
    issues.push({ field: "LOG_FORMAT", message: `must be json or pretty; got ${JSON.stringify(env.LOG_FORMAT)}` });
  let gheHost = text("GHE_HOST");
  const protocol = text("GHE_PROTOCOL") ?? "https";
  if (gheHost !== undefined && !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/.test(gheHost)) {
    const withScheme = /^(https?):\/\/([^/]+)\/*$/.exec(gheHost);
    issues.push({
      field: "GHE_HOST",
      message: withScheme
        ? `must be a host name (and port) without a scheme; got ${JSON.stringify(gheHost)}: set GHE_HOST=${withScheme[2]} GHE_PROTOCOL=${withScheme[1]}`
        : `must be a host name (and port) only, such as github.example.com or 127.0.0.1:3999; got ${JSON.stringify(gheHost)}`,
    });
    gheHost = undefined;
  }
  if (protocol !== "https" && protocol !== "http")
    issues.push({ field: "GHE_PROTOCOL", message: `must be https or http; got ${JSON.stringify(protocol)}` });
  const web = gheHost ? `${protocol}://${gheHost}` : "https://github.com";
  const github: GitHubUrls = gheHost
    ? { web, api: `${web}/api/v3`, enterprise: true }
    : { web, api: "https://api.github.com", enterprise: false };

  const audience = text("AGENT_GATE_OIDC_AUDIENCE");
  const issuer = url("AGENT_GATE_OIDC_ISSUER");

  const pipeline = { ...PIPELINE_DEFAULTS };
  for (const key of Object.keys(PIPELINE_VARIABLES) as (keyof PipelineSettings)[]) {
    const value = integer(PIPELINE_VARIABLES[key], { min: 0 }, "a non-negative integer (milliseconds or a count)");
    if (value !== undefined) pipeline[key] = value;
  }

  const settings: Settings = {
    appId,
    privateKey: privateKey?.replace(/\\n/g, "\n"),
    webhookSecret: env.WEBHOOK_SECRET || undefined,
    port: integer("PORT", { min: 0, max: 65_535 }, "a TCP port (0 to 65535)") ?? 3000,
    host: text("HOST"),
    publicUrl: url("AGENT_GATE_PUBLIC_URL"),
    logLevel: level as Settings["logLevel"],
    logFormat: format === "pretty" ? "pretty" : "json",
    github,
    org: text("GH_ORG"),
    oauth: { clientId: text("GITHUB_CLIENT_ID") ?? "", clientSecret: env.GITHUB_CLIENT_SECRET?.trim() ?? "" },
    storage: {
      databaseUrl: text("DATABASE_URL"),
      migrationDatabaseUrl: text("AGENT_GATE_MIGRATION_DATABASE_URL"),
      dataDir: text("AGENT_GATE_DATA_DIR") ?? DEFAULT_DATA_DIR,
    },
    keys: text("AGENT_GATE_KEYS"),
    oidc: audience ? { audience, issuer: (issuer ?? GITHUB_ACTIONS_ISSUER).replace(/\/+$/, "") } : null,
    dns: {
      servers: text("AGENT_GATE_DNS_SERVERS"),
      timeoutMs: integer("AGENT_GATE_DNS_TIMEOUT_MS", { min: 1 }, "a positive number of milliseconds"),
    },
    retentionDays:
      integer("AGENT_GATE_RETENTION_DAYS", { min: 1 }, "a whole number of days, at least 1") ?? DEFAULT_RETENTION_DAYS,
    pipeline,
    writeIntervalMs: integer("AGENT_GATE_WRITE_INTERVAL_MS", { min: 0 }, "a non-negative number of milliseconds"),
    sweepIntervalMs: integer("AGENT_GATE_SWEEP_INTERVAL_MS", { min: 1 }, "a positive number of milliseconds") ?? 30_000,
    metricsPort: integer(
      "AGENT_GATE_METRICS_PORT",
      { min: 0, max: 65_535 },
      "a TCP port (0 to 65535; 0 picks a free one)",
    ),
    webhookProxyUrl: url("WEBHOOK_PROXY_URL"),
    slackApiUrl: url("AGENT_GATE_SLACK_API_URL") ?? "https://slack.com/api/",
  };
  if (issues.length) throw new ValidationError(issues);
  return guarded(settings);
}

/**
 * The settings from only the variables named (the others as unset): for a
 * diagnosis of one part while another part of the environment is wrong.
 */
export function settingsOf(env: NodeJS.ProcessEnv, names: string[]): Settings {
  return readSettings(
    Object.fromEntries(names.filter((name) => env[name] !== undefined).map((name) => [name, env[name]])),
  );
}

/** The settings with their secrets shown as "[redacted]" in JSON and in util.inspect (a log line, an error). */
function guarded(settings: Settings): Settings {
  const shown = () => {
    const copy: Record<string, unknown> = {
      ...settings,
      oauth: { ...settings.oauth, clientSecret: settings.oauth.clientSecret ? "[redacted]" : "" },
    };
    for (const key of SECRET_KEYS) if (copy[key] !== undefined) copy[key] = "[redacted]";
    const { databaseUrl, migrationDatabaseUrl } = settings.storage;
    const storage = {
      ...settings.storage,
      ...(databaseUrl ? { databaseUrl: redactUrl(databaseUrl) } : {}),
      ...(migrationDatabaseUrl ? { migrationDatabaseUrl: redactUrl(migrationDatabaseUrl) } : {}),
    };
    return { ...copy, storage };
  };
  Object.defineProperty(settings, "toJSON", { value: shown, enumerable: false });
  Object.defineProperty(settings, inspect.custom, { value: () => shown(), enumerable: false });
  return Object.freeze(settings);
}

/** A connection string without its password. */
function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "redacted";
    return url.toString();
  } catch {
    return "[redacted]";
  }
}
