import { randomUUID } from "node:crypto";
import { sign } from "../../src/webhooks/signature.ts";

export interface DeliverOptions {
  id?: string;
  secret?: string;
  /** A signature header to send as is; null sends none. */
  signature?: string | null;
  rawBody?: string;
  /**
   * TestApp.deliver waits, after a 2xx, until the processor has settled the
   * delivery (processed or set aside) unless this is false.
   */
  settle?: boolean;
}

/** POST one webhook delivery to an app's webhook endpoint, signed as GitHub signs it. */
export function deliverTo(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  o: DeliverOptions = {},
): Promise<Response> {
  const body = o.rawBody ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": o.id ?? randomUUID(),
  };
  const signature = o.signature === undefined ? sign(o.secret ?? secret, body) : o.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  return fetch(`${url}/api/github/webhooks`, { method: "POST", headers, body });
}
