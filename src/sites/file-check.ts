import type { CheckResult } from "./check-result.ts";
import { FILE_PATH, RECORD_VALUE_PREFIX } from "./challenge.ts";

/** The subset of `fetch` the file check uses; injectable so tests reach a local HTTPS server. */
export type FetchLike = (
  url: string,
  init: { redirect: "manual"; signal: AbortSignal; headers: Record<string, string> },
) => Promise<Response>;

export interface FileCheckOptions {
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
}

export const FILE_TIMEOUT_MS = 5000;
export const FILE_MAX_BYTES = 64 * 1024;

class Refused extends Error {}

/**
 * Fetch `https://<domain>/.well-known/agent-gate-verification.txt` and look
 * for the token. HTTPS only; redirects are followed only to the same host
 * over HTTPS; the body is capped at 64 KB and the whole attempt at 5 s.
 */
export async function checkFile(
  fetchFn: FetchLike,
  domain: string,
  token: string,
  options: FileCheckOptions = {},
): Promise<CheckResult> {
  const maxBytes = options.maxBytes ?? FILE_MAX_BYTES;
  const signal = AbortSignal.timeout(options.timeoutMs ?? FILE_TIMEOUT_MS);
  let url = new URL(`https://${domain}${FILE_PATH}`);
  try {
    for (let redirects = 0; ; redirects += 1) {
      const response = await fetchFn(url.toString(), { redirect: "manual", signal, headers: { accept: "text/plain" } });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = response.headers.get("location");
        if (location === null)
          return { outcome: "not_found", reason: `${url} answered ${response.status} without a location` };
        const next = new URL(location, url);
        if (next.protocol !== "https:" || next.hostname !== domain || next.port !== "") {
          return {
            outcome: "refused",
            reason: `${url} redirects to ${next.origin}: only the same host over HTTPS counts`,
          };
        }
        if (redirects >= (options.maxRedirects ?? 3))
          return { outcome: "refused", reason: `${url} redirects too many times` };
        url = next;
        continue;
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel();
        return { outcome: "not_found", reason: `no file at ${url} (HTTP ${response.status})` };
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        return { outcome: "could_not_check", reason: `${url} answered HTTP ${response.status}; try again later` };
      }
      const text = await readCapped(response, maxBytes);
      const content = text.trim();
      if (content === token || content === `${RECORD_VALUE_PREFIX}${token}`) {
        return { outcome: "verified", reason: `${url} holds the challenge` };
      }
      return { outcome: "mismatch", reason: `${url} does not hold this site's token` };
    }
  } catch (error) {
    if (error instanceof Refused) return { outcome: "refused", reason: `${url} is larger than ${maxBytes} bytes` };
    const timedOut = signal.aborted;
    return {
      outcome: "could_not_check",
      reason: timedOut
        ? `${url} did not answer in time; try again later`
        : `${url} could not be fetched (${describe(error)}); try again later`,
    };
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Refused();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Refused();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (cause && typeof cause.code === "string") return cause.code;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "network error";
}
