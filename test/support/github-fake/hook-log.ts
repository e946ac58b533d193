import { createHmac, randomUUID } from "node:crypto";

// The App's webhook delivery log, kept as GitHub keeps it: every attempt to
// deliver (first ones and redeliveries) with the status the app answered, or
// a failure when the app could not be reached. Redelivery re-sends the same
// body with the same X-GitHub-Delivery.

export interface LoggedDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at: string | null;
}

interface Sent {
  event: string;
  body: string;
}

export class HookLog {
  readonly entries: LoggedDelivery[] = [];
  readonly #bodies = new Map<string, Sent>(); // guid → what was sent
  /** Where GitHub sends the App's webhooks, and the secret it signs them with. */
  target: { url: string; secret: string } | null = null;
  #nextId = 70_000_000_000;
  #pending = new Set<Promise<unknown>>();

  /** Send a delivery to the app as GitHub does, and log the attempt with the app's answer. */
  async send(event: string, payload: unknown, o: { guid?: string; now?: () => Date } = {}): Promise<LoggedDelivery> {
    const guid = o.guid ?? randomUUID();
    const body = JSON.stringify(payload);
    this.#bodies.set(guid, { event, body });
    return this.#attempt(guid, false, o.now ?? (() => new Date()));
  }

  /** A redelivery of a logged attempt (what POST /app/hook/deliveries/{id}/attempts starts); null when unknown. */
  redeliver(id: number, now: () => Date): boolean {
    const entry = this.entries.find((e) => e.id === id);
    if (!entry || !this.#bodies.has(entry.guid)) return false;
    const attempt = this.#attempt(entry.guid, true, now);
    this.#pending.add(attempt);
    void attempt.finally(() => this.#pending.delete(attempt));
    return true;
  }

  /** Until every redelivery started has been attempted. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  byId(id: number): LoggedDelivery | undefined {
    return this.entries.find((e) => e.id === id);
  }

  async #attempt(guid: string, redelivery: boolean, now: () => Date): Promise<LoggedDelivery> {
    const sent = this.#bodies.get(guid)!;
    const parsed = JSON.parse(sent.body) as {
      action?: unknown;
      installation?: { id?: unknown };
      repository?: { id?: unknown };
    };
    const started = Date.now();
    let status = "OK";
    let statusCode = 0;
    if (!this.target) {
      status = "No webhook URL is configured";
    } else {
      try {
        const response = await fetch(`${this.target.url}/api/github/webhooks`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-github-event": sent.event,
            "x-github-delivery": guid,
            "x-hub-signature-256": `sha256=${createHmac("sha256", this.target.secret).update(sent.body).digest("hex")}`,
          },
          body: sent.body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        statusCode = response.status;
        status = response.ok ? "OK" : `Invalid HTTP Response: ${response.status}`;
      } catch (error) {
        status = (error as Error).name === "TimeoutError" ? "timed out" : "failed to connect to host";
      }
    }
    const entry: LoggedDelivery = {
      id: this.#nextId++,
      guid,
      delivered_at: now()
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z"),
      redelivery,
      duration: (Date.now() - started) / 1000,
      status,
      status_code: statusCode,
      event: sent.event,
      action: typeof parsed.action === "string" ? parsed.action : null,
      installation_id: typeof parsed.installation?.id === "number" ? parsed.installation.id : null,
      repository_id: typeof parsed.repository?.id === "number" ? parsed.repository.id : null,
      throttled_at: null,
    };
    this.entries.push(entry);
    return entry;
  }
}
