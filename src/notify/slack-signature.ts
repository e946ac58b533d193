import { createHmac, timingSafeEqual } from "node:crypto";

/** Slack's window for a request's timestamp. */
export const SLACK_WINDOW_SECONDS = 5 * 60;

/**
 * Slack's v0 request signature: HMAC-SHA256 of `v0:<timestamp>:<raw body>`
 * under the app's signing secret, compared in constant time; the timestamp
 * must be within five minutes of now.
 */
export function slackSignatureValid(secret: string, timestamp: string, body: Buffer, signature: string): boolean {
  const expected = `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest("hex")}`;
  const a = Buffer.from(expected);
  const b = Buffer.from(signature);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function slackTimestampFresh(timestamp: string, now: Date): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(now.getTime() / 1000 - Number(timestamp)) <= SLACK_WINDOW_SECONDS;
}
