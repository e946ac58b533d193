import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { PublishedKeys } from "../crypto/signer.ts";
import type { Checkpoint } from "./checkpoint.ts";
import type { Manifest } from "./manifest.ts";
import { ExportVerifier, type VerifyResult } from "./verify-file.ts";

/** Verify an export file of any size, reading it in chunks: memory stays flat. */
export async function verifyExportFile(
  path: string,
  manifest: Manifest,
  keys: PublishedKeys,
  held?: Checkpoint,
): Promise<VerifyResult> {
  const verifier = new ExportVerifier(manifest, keys, held);
  const decoder = new StringDecoder("utf8");
  let pending = "";
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    verifier.bytes(bytes);
    pending += decoder.write(bytes);
    let newline = pending.indexOf("\n");
    let start = 0;
    while (newline >= 0) {
      verifier.line(pending.slice(start, newline));
      start = newline + 1;
      newline = pending.indexOf("\n", start);
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending !== "") verifier.line(pending);
  return verifier.end();
}
