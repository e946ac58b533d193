import { PermanentSendError } from "./deliver.ts";
import { slackRetryAfterMs } from "./slack-sender.ts";
import { ChannelHttpError } from "./teams-sender.ts";

export interface SendFailure {
  /** A summary without secrets, addresses or message text: a code or a status. */
  summary: string;
  /** No retry can fix it: the job ends now. */
  permanent: boolean;
  /** The service asked to wait this long (a rate limit). */
  retryAfterMs?: number;
}

/** Slack platform errors that a retry cannot fix. */
const SLACK_PERMANENT = new Set([
  "channel_not_found",
  "invalid_auth",
  "not_authed",
  "not_in_channel",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "is_archived",
  "missing_scope",
  "message_not_found",
  "cant_update_message",
  "invalid_blocks",
  "msg_too_long",
  "no_permission",
]);

export function classifyFailure(error: unknown): SendFailure {
  if (error instanceof PermanentSendError) return { summary: error.code, permanent: true };
  if (error instanceof ChannelHttpError) {
    const retry = error.status === 408 || error.status === 429 || error.status >= 500;
    return {
      summary: `HTTP ${error.status}`,
      permanent: !retry,
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    };
  }
  const e = error as {
    code?: unknown;
    data?: { error?: unknown };
    statusCode?: unknown;
    responseCode?: unknown;
    name?: unknown;
  };
  const code = typeof e.code === "string" ? e.code : "";
  if (code === "slack_webapi_rate_limited_error") {
    const after = slackRetryAfterMs(error);
    return { summary: "slack: ratelimited", permanent: false, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  if (code === "slack_webapi_platform_error") {
    const slack = typeof e.data?.error === "string" ? e.data.error.slice(0, 64) : "error";
    return { summary: `slack: ${slack}`, permanent: SLACK_PERMANENT.has(slack) };
  }
  if (code === "slack_webapi_http_error") {
    const status = typeof e.statusCode === "number" ? e.statusCode : 0;
    return {
      summary: `slack: HTTP ${status}`,
      permanent: status >= 400 && status < 500 && status !== 408 && status !== 429,
    };
  }
  if (typeof e.responseCode === "number") {
    // SMTP: 5xx refuses for good, 4xx asks to try later.
    return { summary: `smtp: ${e.responseCode}`, permanent: e.responseCode >= 500 };
  }
  if (code === "EAUTH" || code === "EENVELOPE") return { summary: `smtp: ${code}`, permanent: true };
  if (/^[A-Z_]{3,32}$/.test(code)) return { summary: code, permanent: false };
  return { summary: typeof e.name === "string" ? e.name.slice(0, 64) : "error", permanent: false };
}
