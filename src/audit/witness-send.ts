import { openNote, parseVerifierKey } from "./note.ts";

/**
 * One C2SP tlog-witness add-checkpoint request (https://c2sp.org/tlog-witness):
 *
 *   POST <url>/add-checkpoint
 *   old <size the witness holds>
 *   <consistency proof hashes, base64, one a line>
 *   <blank line>
 *   <checkpoint note>
 *
 * 200 answers the witness's cosignature lines; 409 the size it holds
 * (text/x.tlog.size); 422 a consistency proof that does not verify.
 */
export type SendResult =
  | { kind: "cosigned"; signatures: string }
  | { kind: "conflict"; size: number }
  | { kind: "refused"; reason: string }
  | { kind: "failed"; reason: string };

export function addCheckpointBody(oldSize: number, proof: readonly Buffer[], note: string): string {
  return `old ${oldSize}\n${proof.map((p) => `${p.toString("base64")}\n`).join("")}\n${note}`;
}

export function addCheckpointUrl(url: string): string {
  return `${url.replace(/\/+$/, "")}/add-checkpoint`;
}

const TIMEOUT_MS = 10_000;

export async function sendCheckpoint(
  fetchFn: typeof fetch,
  witness: { name: string; url: string; vkey: string },
  oldSize: number,
  proof: readonly Buffer[],
  note: string,
  newSize: number,
): Promise<SendResult> {
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(addCheckpointUrl(witness.url), {
      method: "POST",
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: addCheckpointBody(oldSize, proof, note),
      redirect: "error",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = (await response.text()).slice(0, 65_536);
  } catch (error) {
    return {
      kind: "failed",
      reason: `no answer: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
    };
  }
  if (response.status === 200) return cosignature(witness, note, text);
  if (response.status === 409) {
    const match = /^(0|[1-9]\d{0,15})\n?$/.exec(text);
    if (!match) return { kind: "failed", reason: "409 without the witness's size" };
    const size = Number(match[1]);
    if (size > newSize)
      return {
        kind: "refused",
        reason: `the witness holds a tree of size ${size}, larger than this checkpoint's ${newSize}: the log was cut`,
      };
    if (size === oldSize) return { kind: "failed", reason: `409 naming the size sent (${size})` };
    return { kind: "conflict", size };
  }
  if (response.status === 422)
    return { kind: "refused", reason: "the witness found the checkpoint inconsistent with the tree it holds (422)" };
  return { kind: "failed", reason: `answered ${response.status}` };
}

/** The witness's answer must be signature lines, one of them its valid cosignature of this checkpoint. */
function cosignature(witness: { name: string; vkey: string }, note: string, text: string): SendResult {
  const key = parseVerifierKey(witness.vkey);
  if (!key) return { kind: "failed", reason: "the witness's key does not parse" };
  const lines = text.endsWith("\n") ? text : `${text}\n`;
  const split = note.lastIndexOf("\n\n");
  const opened = openNote(`${note.slice(0, split + 1)}\n${lines}`, [key]);
  if (!opened.ok) return { kind: "failed", reason: `the answer is not a cosignature by ${key.name}: ${opened.reason}` };
  return { kind: "cosigned", signatures: lines };
}
