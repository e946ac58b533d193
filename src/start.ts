import { GateOctokit, gateFetch } from "./github/octokit.ts";
import { Probot } from "probot";
import { openDatabase } from "./db/open.ts";
import { readSettings, type Settings } from "./config/settings.ts";
import { ownerLoginProblem, readLogin, TWO_LOGINS_FIX } from "./db/login.ts";
import { createLogger } from "./log.ts";
import { startGateServer } from "./server.ts";
import { resolveKeyring } from "./crypto/keyring.ts";
import { startSetupServer } from "./setup/server.ts";
import { openOrUnavailable } from "./cli/database-unavailable.ts";

/**
 * Starts the app (`npm start`, `agent-gate serve`): Probot's variables (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH,
 * WEBHOOK_SECRET, GHE_HOST + GHE_PROTOCOL, PORT, LOG_LEVEL) plus DATABASE_URL.
 * Without App credentials it serves the setup page that registers the App from app.yml and saves its
 * credentials to `.env`. WEBHOOK_PROXY_URL (a smee.io channel) forwards GitHub's deliveries to a laptop.
 * SIGINT and SIGTERM close the server, the worker and the database, then exit 0.
 */
export async function start(env: NodeJS.ProcessEnv): Promise<void> {
  // The environment is read and checked once, here; everything below gets its part of the settings.
  const settings = readSettings(env);
  const log = createLogger(settings);
  // Signals are caught from here on: one that comes while the app is still starting (its port may already
  // answer) stops it cleanly as soon as there is something to close, rather than killing it mid-start.
  const stopper = stopOnSignals(log);
  // readSettings refuses half a pair of credentials; with neither, the setup page registers the App.
  if (settings.appId === undefined || !settings.privateKey) {
    const setup = await startSetupServer({
      settings,
      log,
      port: settings.port,
      ...(settings.host ? { host: settings.host } : {}),
    });
    stopper.closeWith(() => setup.close());
    return;
  }
  if (!settings.webhookSecret) {
    throw new Error(
      "WEBHOOK_SECRET is not set: set it to the webhook secret of the GitHub App so deliveries can be verified.",
    );
  }

  // The app owns an embedded database: a second app on its data dir is refused; CLI commands go through its socket.
  let applied: string[] = [];
  const db = await openOrUnavailable(() =>
    openDatabase(settings.storage, { create: true, serve: true, migrate: (names) => (applied = names) }),
  );
  try {
    await checkLogin(settings, log, db);
    stopper.closeWith(
      await serve(settings, log, db, applied, settings.appId, settings.privateKey, settings.webhookSecret),
    );
  } catch (error) {
    await db
      .close()
      .catch((error: unknown) => log.error({ err: error }, "closing the database after a failed start failed"));
    throw error;
  }
}

async function serve(
  settings: Settings,
  log: ReturnType<typeof createLogger>,
  db: Awaited<ReturnType<typeof openDatabase>>,
  applied: string[],
  appId: number,
  privateKey: string,
  secret: string,
): Promise<() => Promise<void>> {
  // Refuses to start on PostgreSQL without AGENT_GATE_KEYS; creates one for the embedded default.
  const keyring = resolveKeyring(settings.keys, {
    dataDir: settings.storage.dataDir,
    embedded: !settings.storage.databaseUrl,
    log: (message) => log.info(message),
  });

  log.info(
    { storage: settings.storage.databaseUrl ? "postgresql" : `pglite:${settings.storage.dataDir}`, applied },
    "database ready",
  );

  const github = settings.github;
  const baseUrl = github.enterprise ? github.api : undefined;
  const probot = new Probot({
    appId,
    privateKey,
    secret,
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
    secret,
    settings,
    log,
    keyring,
    port: settings.port,
    ...(settings.host ? { host: settings.host } : {}),
    ...(settings.writeIntervalMs === undefined ? {} : { paceMs: settings.writeIntervalMs }),
  });
  const smee = settings.webhookProxyUrl
    ? await forwardFromProxy(settings.webhookProxyUrl, server.port, settings.host, log)
    : null;
  return async () => {
    await smee?.stop();
    await server.close();
    await db.close();
  };
}

/**
 * The app's login must not own the schema: it could then cut or rewrite the audit log. With
 * AGENT_GATE_MIGRATION_DATABASE_URL set the operator meant two logins, so one that does is refused; with
 * DATABASE_URL alone (one login, as before two existed) the app starts and says so loudly, and
 * `agent-gate doctor` fails.
 */
async function checkLogin(
  settings: Settings,
  log: ReturnType<typeof createLogger>,
  db: Awaited<ReturnType<typeof openDatabase>>,
): Promise<void> {
  if (!settings.storage.databaseUrl) return;
  const problem = ownerLoginProblem(await readLogin(db));
  if (!problem) return;
  if (settings.storage.migrationDatabaseUrl) {
    throw new Error(`AGENT_GATE_MIGRATION_DATABASE_URL is set, but ${problem}. ${TWO_LOGINS_FIX}`);
  }
  log.warn({ fix: TWO_LOGINS_FIX }, `UNPROTECTED AUDIT LOG: ${problem}. ${TWO_LOGINS_FIX}`);
}

/** Deliveries GitHub sent to a smee.io channel, forwarded to this process's webhook path. */
async function forwardFromProxy(
  source: string,
  port: number,
  host: string | undefined,
  log: ReturnType<typeof createLogger>,
) {
  const { SmeeClient } = await import("smee-client");
  const local = !host || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const target = `http://${local.includes(":") ? `[${local}]` : local}:${port}/api/github/webhooks`;
  const smee = new SmeeClient({
    source,
    target,
    logger: {
      info: (...args: unknown[]) => log.debug(args.join(" ")),
      error: (...args: unknown[]) => log.error(args.join(" ")),
    },
    maxConnectionTimeout: 15_000,
  });
  try {
    await smee.start();
  } catch (error) {
    throw new Error(
      `WEBHOOK_PROXY_URL: could not connect to the webhook proxy (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  log.info({ target }, "forwarding webhook deliveries from WEBHOOK_PROXY_URL");
  return smee;
}

/**
 * SIGINT / SIGTERM: stop once, exit 0 when everything closed (1 when closing failed). Caught from the start; a
 * signal before `closeWith` is kept, and the close runs as soon as it is given.
 */
function stopOnSignals(log: ReturnType<typeof createLogger>): { closeWith(close: () => Promise<void>): void } {
  let close: (() => Promise<void>) | undefined;
  let signalled: NodeJS.Signals | undefined;
  let stopping = false;
  const stopNow = () => {
    if (stopping || !close || !signalled) return;
    stopping = true;
    log.info({ signal: signalled }, "stopping");
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!close && signalled) {
      log.warn({ signal }, "a second signal while starting: stopping now");
      process.exit(1);
    }
    signalled ??= signal;
    if (!close) log.info({ signal }, "stopping once started (a second signal stops now)");
    stopNow();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    closeWith(given) {
      close = given;
      stopNow();
    },
  };
}
