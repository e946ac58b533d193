import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical-json.ts";

/** SHA-256 (hex) of the RFC 8785 canonical JSON of `value`. */
export function canonicalDigest(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value), "utf8").digest("hex");
}
