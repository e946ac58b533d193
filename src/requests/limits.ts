/** Proposal bodies are small: a summary and, for outreach, the text. */
export const PROPOSAL_BODY_LIMIT = 64 * 1024;
/** An outreach proposal carries its text (body <= 256 KB, up to 1,000 recipients), JSON-escaped. */
export const OUTREACH_REQUEST_LIMIT = 2 * 1024 * 1024;
/** The longest a read may hold for a decision, over HTTP (`wait_seconds`) and MCP alike. */
export const MAX_WAIT_SECONDS = 60;
/** A long-poll re-reads at least this often, in case a notification was lost with its connection. */
export const RECHECK_MS = 5_000;
