import { GateOctokit, gateFetch } from "./github/octokit.ts";
import { readFileSync } from "node:fs";
import { Probot, ProbotOctokit, run } from "probot";
import { openDatabase, storageSettings } from "./db/open.ts";
import { migrate } from "./db/migrate.ts";
import { createLogger } from "./log.ts";
import { startGateServer } from "./server.ts";
import { resolveKeyring } from "./crypto/keyring.ts";
import { githubUrls } from "./github/urls.ts";

/**
 * Starts the app (`npm start`, `agent-gate serve`): Probot's variables (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH,
 * WEBHOOK_SECRET, GHE_HOST + GHE_PROTOCOL, PORT, LOG_LEVEL) plus DATABASE_URL.
 * Without App credentials it runs Probot's own setup page, as Probot does.
 */
export async function start(env: NodeJS.ProcessEnv): Promise<void> {
  const privateKey = env.PRIVATE_KEY || (env.PRIVATE_KEY_PATH ? readFileSync(env.PRIVATE_KEY_PATH, "utf8") : "");
  if (!env.APP_ID || !privateKey) {
    await run(() => {});
    return;
  }
  const log = createLogger(env);
  if (!env.WEBHOOK_SECRET) {
    throw new Error("WEBHOOK_SECRET is not set: set it to the webhook secret of the GitHub App so deliveries can be verified.");
  }
  const appId = Number(env.APP_ID);
  if (!Number.isSafeInteger(appId) || appId <= 0) throw new Error("APP_ID must be the numeric id of the GitHub App.");

  const settings = storageSettings(env);
  const db = await openDatabase(settings);
  const applied = await migrate(db);
  // Refuses to start on PostgreSQL without AGENT_GATE_KEYS; creates one for the embedded default.
  const keyring = resolveKeyring(env, {
    dataDir: settings.dataDir,
    embedded: !settings.databaseUrl,
    log: (message) => log.info(message),
  });

  log.info({ storage: settings.databaseUrl ? "postgresql" : `pglite:${settings.dataDir}`, applied }, "database ready");

  const github = githubUrls(env);
  const baseUrl = github.enterprise ? github.api : undefined;
  const probot = new Probot({
    appId,
    privateKey: privateKey.replace(/\\n/g, "\n"),
    secret: env.WEBHOOK_SECRET,
    log,
    // The outbox retries and paces GitHub writes itself, across processes.
    Octokit: GateOctokit,
    request: { fetch: gateFetch },
    ...(baseUrl ? { baseUrl } : {}),
  });
  const server = await startGateServer({
    db,
    probot,
    appId,
    secret: env.WEBHOOK_SECRET,
    env,
    log,
    keyring,
    port: Number(env.PORT || 3000),
    ...(env.HOST ? { host: env.HOST } : {}),
    ...(env.AGENT_GATE_WRITE_INTERVAL_MS ? { paceMs: Number(env.AGENT_GATE_WRITE_INTERVAL_MS) } : {}),
  });
  const stop = async () => {
    log.info("stopping");
    await server.close();
    await db.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
