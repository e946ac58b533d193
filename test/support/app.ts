import type { RateLimits } from "../../src/github/rate-limit.ts";
import { GateOctokit, gateFetch } from "../../src/github/octokit.ts";
import { generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";
import { Writable } from "node:stream";
import { Probot } from "probot";
import pino from "pino";
import type { Keyring } from "../../src/crypto/keyring.ts";
import type { Database } from "../../src/db/database.ts";
import { startGateServer, type GateServer } from "../../src/server.ts";
import type { PipelineSettings } from "../../src/config/settings.ts";
import { REDACT_PATHS } from "../../src/log.ts";
import type { GitHubFake } from "./github-fake.ts";
import { deliverTo, type DeliverOptions } from "./deliver.ts";
import { InboxSettler } from "./inbox.ts";
import { readSettings } from "../../src/config/settings.ts";
import { randomUUID } from "node:crypto";

export const TEST_APP_ID = 4242;
export const TEST_SECRET = "test-webhook-secret-do-not-use";

let cachedKey: string | undefined;
function privateKey(): string {
  cachedKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();
  return cachedKey;
}

export interface TestApp {
  server: GateServer;
  url: string;
  /** Every log line the app wrote, for scans. */
  logs: string[];
  /** Send a signed delivery; after a 2xx, waits until the processor settled it (unless `settle: false`). */
  deliver(event: string, payload: unknown, options?: DeliverOptions): Promise<Response>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  db: Database;
  fake: GitHubFake;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  startWorker?: boolean;
  paceMs?: number;
  /** The keyring the app resolved at start (as start.ts passes it); else AGENT_GATE_KEYS in env, if any. */
  keyring?: Keyring;
  /** Inbox processing settings (tests default to a 5 ms retry base and short leases). */
  pipeline?: Partial<PipelineSettings>;
  /** Whether the app processes its inbox (default true). */
  startProcessor?: boolean;
  /** Log level of the captured log (default debug, so scans see everything). */
  logLevel?: string;
  /** GitHub rate-limit state with the test's own clock and sleeper. */
  rateLimits?: RateLimits;
  /** Gap between two messages to one channel (tests default to none). */
  notifyPaceMs?: Partial<Record<"slack" | "teams" | "email" | "webhook", number>>;
}

/** The whole app on loopback, talking to the GitHub fake as GitHub Enterprise. */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = pino({ level: options.logLevel ?? "debug", redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, sink);
  const probot = new Probot({
    appId: TEST_APP_ID,
    privateKey: privateKey(),
    secret: TEST_SECRET,
    baseUrl: options.fake.apiUrl,
    log,
    Octokit: GateOctokit,
    request: { fetch: gateFetch },
  });
  const server = await startGateServer({
    db: options.db,
    probot,
    appId: TEST_APP_ID,
    secret: TEST_SECRET,
    settings: readSettings({ AGENT_GATE_PUBLIC_URL: "https://gate.example.test", ...options.env }),
    log,
    ...(options.now ? { now: options.now } : {}),
    port: 0,
    host: "127.0.0.1",
    paceMs: options.paceMs ?? 0,
    ...(options.keyring ? { keyring: options.keyring } : {}),
    retryBaseMs: 5,
    startWorker: options.startWorker ?? false,
    pipeline: {
      retryBaseMs: 5,
      pollMs: 50,
      leaseMs: 5_000,
      recoveryIntervalMs: 0,
      reconcileIntervalMs: 0,
      ...options.pipeline,
    },
    ...(options.startProcessor === undefined ? {} : { startProcessor: options.startProcessor }),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    notifyPaceMs: options.notifyPaceMs ?? { slack: 0, teams: 0, email: 0, webhook: 0 },
  });
  const settler = new InboxSettler(options.db, TEST_APP_ID);
  return {
    server,
    url: server.url,
    logs,
    deliver: async (event, payload, o = {}) => {
      const id = o.id ?? randomUUID();
      const response = await deliverTo(server.url, TEST_SECRET, event, payload, { ...o, id });
      if (response.ok && o.settle !== false) await settler.settled(id);
      return response;
    },
    close: () => server.close(),
  };
}

const require = createRequire(import.meta.url);
interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

/** GitHub's own example payloads (@octokit/webhooks-examples). */
export function webhookExamples(event: string): Record<string, any>[] {
  const groups = require("@octokit/webhooks-examples") as ExampleGroup[];
  return structuredClone(groups.find((group) => group.name === event)?.examples ?? []) as Record<string, any>[];
}

/** The first example of an event and action, with an installation added when it lacks one. */
export function example(event: string, action: string, installationId = 1): Record<string, any> {
  const groups = require("@octokit/webhooks-examples") as ExampleGroup[];
  // Only the example used is copied: the whole group is hundreds of kilobytes.
  const original = groups
    .find((group) => group.name === event)
    ?.examples.find((payload) => (payload as { action?: string }).action === action);
  if (!original) throw new Error(`no ${event}.${action} example`);
  const found = structuredClone(original) as Record<string, any>;
  found.installation ??= { id: installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  found.installation.id = installationId;
  return found;
}
