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

const DEFAULTS: PipelineSettings = {
  concurrency: 8,
  retryBaseMs: 1000,
  maxAttempts: 8,
  leaseMs: 30_000,
  pollMs: 1000,
  refusalIntervalMs: 60_000,
  recoveryIntervalMs: 60_000,
  reconcileIntervalMs: 300_000,
};

const VARIABLES: Record<keyof PipelineSettings, string> = {
  concurrency: "AGENT_GATE_INBOX_CONCURRENCY",
  retryBaseMs: "AGENT_GATE_INBOX_RETRY_MS",
  maxAttempts: "AGENT_GATE_INBOX_MAX_ATTEMPTS",
  leaseMs: "AGENT_GATE_INBOX_LEASE_MS",
  pollMs: "AGENT_GATE_INBOX_POLL_MS",
  refusalIntervalMs: "AGENT_GATE_REFUSAL_INTERVAL_MS",
  recoveryIntervalMs: "AGENT_GATE_RECOVERY_INTERVAL_MS",
  reconcileIntervalMs: "AGENT_GATE_RECONCILE_INTERVAL_MS",
};

/** The settings from the environment; a value that is not a non-negative integer is refused, naming the variable. */
export function pipelineSettings(env: NodeJS.ProcessEnv): PipelineSettings {
  const settings = { ...DEFAULTS };
  for (const key of Object.keys(VARIABLES) as (keyof PipelineSettings)[]) {
    const raw = env[VARIABLES[key]];
    if (raw === undefined || raw === "") continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${VARIABLES[key]} must be a non-negative integer (milliseconds or a count); got ${JSON.stringify(raw)}.`);
    settings[key] = value;
  }
  return settings;
}
