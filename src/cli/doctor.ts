import { refusedWitnesses } from "../audit/witness-store.ts";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { EXIT, type CliContext } from "./context.ts";
import { APP_ROLE, SERVICE_ROLE, type Database } from "../db/database.ts";
import { ownerLoginProblem, readLogin, TWO_LOGINS_FIX } from "../db/login.ts";
import { openDatabase } from "../db/open.ts";
import { readSettings, settingsOf } from "../config/settings.ts";
import { ValidationError } from "../errors.ts";
import { pendingMigrations } from "../db/migrate.ts";
import { inboxState } from "../webhooks/inbox.ts";
import { parseKeyring } from "../crypto/keyring.ts";
import { notifyQueueState } from "../notify/jobs.ts";
import { createResolver, type TxtResolver } from "../sites/dns-check.ts";
import { checkGitHubApp, checkOAuthClient, checkPublicUrl, checkWebhookSecret } from "./doctor-github.ts";
import { missingKeyIds } from "../keys/in-use.ts";
import { jsonOutput } from "./snake-json.ts";
import { readRateWindows } from "../github/rate-limit-store.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check fails. */
  fix?: string;
  /** A dependency did not answer (the database): the command exits 3, try again. */
  unavailable?: boolean;
}

export interface DoctorDeps {
  /** Opens the configured database without migrating it. */
  openDb?: () => Promise<Database>;
  resolver?: TxtResolver;
  /** The role the app drops to for tenant work; a parameter so tests can point it at a throwaway role. */
  appRole?: string;
  /** How GitHub is reached (tests: the fake, through GHE_HOST). */
  fetch?: typeof fetch;
}

/** A name with a TXT record under a stable zone; any answer (even NXDOMAIN) shows the server responds. */
const DNS_PROBE = "_agent-gate.example.com";

/** Runs every check; never throws for a failed check. */
export async function runDoctor(env: NodeJS.ProcessEnv, deps: DoctorDeps = {}): Promise<CheckResult[]> {
  const results = [checkAppId(env), checkPrivateKey(env)];
  results.push(await checkGitHubApp(env, { appId: env.APP_ID, pem: readPem(env) }, deps.fetch));
  results.push(checkWebhookSecret(env), checkOAuthClient(env), checkPublicUrl(env), checkKeyring(env));
  results.push(...(await checkDatabase(env, deps)));
  results.push(await checkDns(env, deps));
  results.push(checkSettings(env, results));
  return results;
}

function checkAppId(env: NodeJS.ProcessEnv): CheckResult {
  const ok = /^[1-9][0-9]{0,15}$/.test(env.APP_ID ?? "");
  return ok
    ? { name: "app_id", ok, detail: `APP_ID is ${env.APP_ID}` }
    : {
        name: "app_id",
        ok,
        detail: env.APP_ID ? "APP_ID is not a number" : "APP_ID is not set",
        fix: "Set APP_ID to the numeric App ID shown on the GitHub App's settings page.",
      };
}

function readPem(env: NodeJS.ProcessEnv): string | undefined {
  if (env.PRIVATE_KEY) return env.PRIVATE_KEY;
  if (!env.PRIVATE_KEY_PATH) return undefined;
  try {
    return readFileSync(env.PRIVATE_KEY_PATH, "utf8");
  } catch {
    return undefined;
  }
}

function checkPrivateKey(env: NodeJS.ProcessEnv): CheckResult {
  const fix =
    "Set PRIVATE_KEY to the App's PEM private key (or PRIVATE_KEY_PATH to its file); generate one on the App's settings page.";
  let pem = env.PRIVATE_KEY ?? "";
  if (!pem && env.PRIVATE_KEY_PATH) {
    try {
      pem = readFileSync(env.PRIVATE_KEY_PATH, "utf8");
    } catch {
      return {
        name: "private_key",
        ok: false,
        detail: `PRIVATE_KEY_PATH (${env.PRIVATE_KEY_PATH}) cannot be read`,
        fix,
      };
    }
  }
  if (!pem) return { name: "private_key", ok: false, detail: "neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set", fix };
  try {
    const key = createPrivateKey(pem.replace(/\\n/g, "\n"));
    if (key.asymmetricKeyType !== "rsa")
      return {
        name: "private_key",
        ok: false,
        detail: `the key is ${key.asymmetricKeyType}, GitHub Apps use RSA`,
        fix,
      };
    return { name: "private_key", ok: true, detail: "the private key parses as an RSA key" };
  } catch {
    return { name: "private_key", ok: false, detail: "the private key does not parse as a PEM key", fix };
  }
}

function checkKeyring(env: NodeJS.ProcessEnv): CheckResult {
  const fix =
    "Set AGENT_GATE_KEYS=kid:base64key (generate one with `agent-gate keys generate`); every replica needs the same value.";
  if (!env.AGENT_GATE_KEYS) {
    return env.DATABASE_URL
      ? { name: "keyring", ok: false, detail: "AGENT_GATE_KEYS is not set and DATABASE_URL is", fix }
      : {
          name: "keyring",
          ok: true,
          detail: "AGENT_GATE_KEYS is not set; the embedded database keeps a keyring file in its data directory",
        };
  }
  try {
    const keyring = parseKeyring(env.AGENT_GATE_KEYS);
    return { name: "keyring", ok: true, detail: `AGENT_GATE_KEYS parses; current key ${keyring.current.id}` };
  } catch (error) {
    return { name: "keyring", ok: false, detail: `AGENT_GATE_KEYS does not parse: ${(error as Error).message}`, fix };
  }
}

/** Every variable as the app reads it at start-up: one line per value it would refuse. */
function checkSettings(env: NodeJS.ProcessEnv, earlier: CheckResult[]): CheckResult {
  try {
    readSettings(env);
    return { name: "settings", ok: true, detail: "every variable set has a value the app accepts" };
  } catch (error) {
    const issues =
      error instanceof ValidationError ? error.issues : [{ field: "environment", message: (error as Error).message }];
    // A variable a failed check above already diagnoses is not reported twice.
    const failed = new Set(earlier.filter((r) => !r.ok).map((r) => r.name));
    const left = issues.filter((i) => !failed.has(DIAGNOSED_BY[i.field] ?? ""));
    if (left.length === 0)
      return {
        name: "settings",
        ok: false,
        detail: "not checked: the variables at fault are diagnosed above",
        fix: "Fix the checks above.",
      };
    return {
      name: "settings",
      ok: false,
      detail: left.map((i) => `${i.field} ${i.message}`).join("; "),
      fix: "Correct the variables named; the app refuses to start with them.",
    };
  }
}

/** The check above that diagnoses a variable in detail. */
const DIAGNOSED_BY: Record<string, string> = {
  APP_ID: "app_id",
  PRIVATE_KEY: "private_key",
  PRIVATE_KEY_PATH: "private_key",
  GHE_HOST: "github_app",
  AGENT_GATE_PUBLIC_URL: "public_url",
  AGENT_GATE_DNS_TIMEOUT_MS: "dns",
  AGENT_GATE_DNS_SERVERS: "dns",
  DATABASE_URL: "database",
  AGENT_GATE_DATA_DIR: "database",
};

async function checkDatabase(env: NodeJS.ProcessEnv, deps: DoctorDeps): Promise<CheckResult[]> {
  const settings = settingsOf(env, ["DATABASE_URL", "AGENT_GATE_DATA_DIR"]).storage;
  const where = settings.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded PGlite in ${settings.dataDir}`;
  let db: Database;
  try {
    db = deps.openDb ? await deps.openDb() : await openDatabase(settings);
    await db.query("SELECT 1");
  } catch (error) {
    return [
      {
        name: "database",
        ok: false,
        unavailable: true,
        detail: `${where} is unreachable: ${(error as Error).message}`,
        fix: "Check DATABASE_URL (host, port, user, password, database) and that PostgreSQL is running.",
      },
    ];
  }
  try {
    const results: CheckResult[] = [{ name: "database", ok: true, detail: `${where} answers` }];
    const pending = await pendingMigrations(db);
    results.push(
      pending.length === 0
        ? { name: "migrations", ok: true, detail: "every migration is applied" }
        : {
            name: "migrations",
            ok: false,
            detail: `pending: ${pending.join(", ")}`,
            fix: "Run `agent-gate migrate` (the app also migrates when it starts).",
          },
    );
    results.push(await checkRole(db, deps.appRole ?? APP_ROLE));
    results.push(await checkLogin(db, settings.databaseUrl !== undefined));
    if (pending.length === 0) results.push(await checkKeyIds(env, db));
    if (pending.length === 0) results.push(await checkInbox(db));
    if (pending.length === 0) results.push(await checkNotifications(db));
    if (pending.length === 0) results.push(await checkWitnesses(db));
    if (pending.length === 0) results.push(await checkRateLimits(db));
    return results;
  } finally {
    if (!deps.openDb) await db.close();
  }
}

/**
 * GitHub's rate limit per installation as the app last recorded it: the
 * installation with the smallest share left. Below a tenth of its limit
 * (before its reset), reconciliation and other non-urgent reads wait.
 */
async function checkRateLimits(db: Database): Promise<CheckResult> {
  const name = "github_rate_limit";
  const [lowest, ...rest] = await readRateWindows(db);
  if (!lowest) return { name, ok: true, detail: "no GitHub answer recorded yet" };
  const limit = lowest.limit ?? 5000;
  const reset = lowest.resetAt ? ` until ${lowest.resetAt.toISOString()}` : "";
  const detail = `installation ${lowest.installationId}: ${lowest.remaining} of ${limit} left${reset}${lowest.used !== null ? ` (${lowest.used} used)` : ""}; ${rest.length} other installation(s) above it`;
  const low = lowest.remaining < limit * 0.1 && (lowest.resetAt === null || lowest.resetAt.getTime() > Date.now());
  return low
    ? {
        name,
        ok: false,
        detail,
        fix: "Below a tenth of the limit, reconciliation waits for the reset and decisions go first. See docs/rate-limit.md for what costs requests.",
      }
    : { name, ok: true, detail };
}

/** Every key id a stored value is sealed under is in AGENT_GATE_KEYS, or the app could not open it. */
async function checkKeyIds(env: NodeJS.ProcessEnv, db: Database): Promise<CheckResult> {
  const name = "key_ids";
  if (!env.AGENT_GATE_KEYS)
    return {
      name,
      ok: true,
      detail: "not checked here without AGENT_GATE_KEYS (the embedded keyring file is checked when the app starts)",
    };
  let keyring;
  try {
    keyring = parseKeyring(env.AGENT_GATE_KEYS);
  } catch {
    return { name, ok: false, detail: "not checked: AGENT_GATE_KEYS does not parse", fix: "Fix keyring above." };
  }
  const missing = await missingKeyIds(db, keyring);
  return missing.length === 0
    ? { name, ok: true, detail: `AGENT_GATE_KEYS holds every key id in use (${[...keyring.keys.keys()].join(", ")})` }
    : {
        name,
        ok: false,
        detail: `stored values are sealed under key id(s) AGENT_GATE_KEYS lacks: ${missing.join(", ")}`,
        fix: "Add those entries back to AGENT_GATE_KEYS (after the current one); drop an old entry only after `agent-gate keys rotate` re-sealed everything under the new key.",
      };
}

/** The tenant role must not be a superuser nor bypass row level security, or one installation could read another's rows. */
async function checkRole(db: Database, role: string): Promise<CheckResult> {
  const [row] = await db.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
    "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1",
    [role],
  );
  const [me] = await db.query<{ name: string; rolsuper: boolean; rolbypassrls: boolean }>(
    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
  );
  const connecting = me
    ? ` (the app connects as ${me.name}${me.rolsuper ? ", a superuser" : ""}${me.rolbypassrls ? ", with BYPASSRLS" : ""}; tenant work runs as ${role})`
    : "";
  if (!row)
    return {
      name: "row_level_security",
      ok: false,
      detail: `the role ${role} does not exist`,
      fix: "Run `agent-gate migrate`, which creates it.",
    };
  if (row.rolsuper || row.rolbypassrls) {
    return {
      name: "row_level_security",
      ok: false,
      detail: `the role ${role} ${row.rolsuper ? "is a superuser" : "has BYPASSRLS"}, so row level security does not separate installations${connecting}`,
      fix: `Run \`ALTER ROLE ${role} NOSUPERUSER NOBYPASSRLS;\` as a superuser.`,
    };
  }
  return {
    name: "row_level_security",
    ok: true,
    detail: `the role ${role} is bound by row level security${connecting}`,
  };
}

/** Audit witnesses that refused a checkpoint: the log they saw was cut or rewritten (docs/audit.md, "Witnesses"). */
async function checkWitnesses(db: Database): Promise<CheckResult> {
  const refused = await refusedWitnesses(db);
  if (refused.length === 0) return { name: "audit_witnesses", ok: true, detail: "no witness refused a checkpoint" };
  return {
    name: "audit_witnesses",
    ok: false,
    detail: `witness(es) refused a checkpoint: ${refused.map((w) => `${w.name} of installation ${w.installation_id} at ${w.refused_at.toISOString()} (${w.refused_reason ?? "refused"})`).join("; ")}`,
    fix: "The audit log no longer extends what the witness holds: investigate (the witness.refused audit event, `agent-gate audit verify --checkpoint` with the witness's latest checkpoint), then `agent-gate witness remove` and `add` to start the witness again.",
  };
}

/** Notifications that failed for good: audited as notification.failed, listed here without secrets. */
async function checkNotifications(db: Database): Promise<CheckResult> {
  const state = await notifyQueueState(db);
  if (state.failed === 0)
    return { name: "notifications", ok: true, detail: `no message failed for good; ${state.depth} queued` };
  const listed = state.recentFailures.map((f) => `${f.proposal_id} ${f.event} (${f.last_error ?? "error"})`).join(", ");
  return {
    name: "notifications",
    ok: false,
    detail: `${state.failed} message(s) failed for good: ${listed}${state.failed > state.recentFailures.length ? ", …" : ""}`,
    fix: "Check the channel with `agent-gate channel list` (a revoked Slack token, a removed channel, a refused SMTP login); the audit log's notification.failed events name the channel.",
  };
}

/** The app's login must not own the schema (docs/operations.md, "Two database logins"). */
async function checkLogin(db: Database, postgres: boolean): Promise<CheckResult> {
  const login = await readLogin(db);
  const problem = ownerLoginProblem(login);
  if (problem) return { name: "database_login", ok: false, detail: problem, fix: TWO_LOGINS_FIX };
  const [member] = await db.query<{ ok: boolean }>(
    `SELECT CASE WHEN (SELECT count(*) FROM pg_roles WHERE rolname IN ($1, $2)) = 2
                 THEN pg_has_role(current_user, $1, 'MEMBER') AND pg_has_role(current_user, $2, 'MEMBER') ELSE false END AS ok`,
    [SERVICE_ROLE, APP_ROLE],
  );
  if (!member?.ok) {
    return {
      name: "database_login",
      ok: false,
      detail: `the login ${login.name} does not hold ${SERVICE_ROLE} (and through it ${APP_ROLE})`,
      fix: `As an admin: GRANT ${APP_ROLE} TO ${SERVICE_ROLE}; GRANT ${SERVICE_ROLE} TO ${login.name}; (docs/operations.md)`,
    };
  }
  return {
    name: "database_login",
    ok: true,
    detail: postgres
      ? `the app logs in as ${login.name}, which holds ${SERVICE_ROLE} and owns nothing: it cannot switch off the audit log's protections`
      : `the embedded database's app session acts as ${SERVICE_ROLE}; its socket lends nothing more`,
  };
}

/** Deliveries set aside after failing every try: acknowledged to GitHub, never decided. */
async function checkInbox(db: Database): Promise<CheckResult> {
  const state = await inboxState(db);
  if (state.setAside === 0)
    return { name: "webhook_inbox", ok: true, detail: `no delivery set aside; ${state.open} waiting to be processed` };
  const rows = await db.query<{ delivery_id: string; event: string; last_error: string | null }>(
    "SELECT delivery_id, event, last_error FROM webhook_inbox WHERE set_aside_at IS NOT NULL AND processed_at IS NULL ORDER BY id LIMIT 5",
  );
  const listed = rows.map((r) => `${r.delivery_id} (${r.event}: ${r.last_error ?? "error"})`).join(", ");
  return {
    name: "webhook_inbox",
    ok: false,
    detail: `${state.setAside} deliveries set aside after failing every try: ${listed}${state.setAside > rows.length ? ", …" : ""}`,
    fix: "Read the app's log for these delivery ids, fix the cause, then clear set_aside_at on their webhook_inbox rows to process them again.",
  };
}

async function checkDns(env: NodeJS.ProcessEnv, deps: DoctorDeps): Promise<CheckResult> {
  const fix =
    "Set AGENT_GATE_DNS_SERVERS to resolvers reachable from here (e.g. 1.1.1.1,8.8.8.8) or allow outbound DNS.";
  const servers = env.AGENT_GATE_DNS_SERVERS || "the system's resolvers";
  let resolver: TxtResolver;
  try {
    const dns = settingsOf(env, ["AGENT_GATE_DNS_SERVERS", "AGENT_GATE_DNS_TIMEOUT_MS"]).dns;
    resolver = deps.resolver ?? createResolver({ ...dns, tries: 1, timeoutMs: Math.min(dns.timeoutMs ?? 2000, 2000) });
  } catch (error) {
    return { name: "dns", ok: false, detail: (error as Error).message, fix };
  }
  try {
    await resolver.resolveTxt(DNS_PROBE);
    return { name: "dns", ok: true, detail: `${servers} answered` };
  } catch (error) {
    const code = (error as { code?: string }).code;
    // An authoritative "no such name" or "no data" is an answer.
    if (code === "ENOTFOUND" || code === "ENODATA") return { name: "dns", ok: true, detail: `${servers} answered` };
    return { name: "dns", ok: false, detail: `${servers} did not answer (${code ?? "error"})`, fix };
  }
}

/** 0 all passed; 3 the database did not answer; 1 any other failure. */
export function doctorExitCode(results: CheckResult[]): number {
  if (results.some((r) => r.unavailable)) return EXIT.unavailable;
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

export function renderChecks(results: CheckResult[]): string {
  return results
    .map((r) => `${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}${!r.ok && r.fix ? `\n     fix: ${r.fix}` : ""}`)
    .join("\n");
}

export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command("doctor")
    .description(
      "Check the environment: App credentials against GitHub, webhook secret, OAuth client, public URL, keyring, database, migrations, row level security, key ids in use, DNS.",
    )
    .option("--json", "print the checks as JSON (snake_case)")
    .addHelpText(
      "after",
      "\nExit codes: 0 every check passed, 1 at least one failed, 2 usage error, 3 the database is unreachable.",
    )
    .action(async (options: { json?: boolean }) => {
      const results = await runDoctor(ctx.env);
      ctx.out(
        options.json ? jsonOutput({ ok: results.every((r) => r.ok), checks: results }, 2) : renderChecks(results),
      );
      ctx.exitWith(doctorExitCode(results));
    });
}
