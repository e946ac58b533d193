import type { PublishedKeys } from "../crypto/signer.ts";
import { verifyCheckpoint, type Checkpoint } from "./checkpoint.ts";
import { eventLeaf } from "./merkle.ts";
import { verifyInclusion } from "./merkle-verify.ts";
import type { NoteVerifier } from "./note.ts";
import type { InclusionProof } from "./prove.ts";

export type ProofCheck =
  { ok: true; checkpoint: Checkpoint; leafIndex: number; cosignedBy: string[] } | { ok: false; reason: string };

const B64_HASH = /^[A-Za-z0-9+/]{43}=$/;

/** Check an inclusion proof offline: the checkpoint's signature, then the path to its root. */
export function verifyInclusionProof(
  proof: InclusionProof,
  keys: PublishedKeys,
  witnesses: readonly NoteVerifier[] = [],
): ProofCheck {
  if (typeof proof !== "object" || proof === null || proof.v !== 1)
    return { ok: false, reason: "not a version 1 inclusion proof" };
  if (typeof proof.event_hash !== "string" || !/^[0-9a-f]{64}$/.test(proof.event_hash))
    return { ok: false, reason: "event_hash is not a SHA-256" };
  if (
    !Array.isArray(proof.inclusion_path) ||
    !proof.inclusion_path.every((p) => typeof p === "string" && B64_HASH.test(p))
  ) {
    return { ok: false, reason: "inclusion_path is not a list of base64 hashes" };
  }
  if (typeof proof.checkpoint !== "string") return { ok: false, reason: "the proof carries no checkpoint" };
  const checked = verifyCheckpoint(proof.checkpoint, keys, witnesses);
  if (!checked.ok) return { ok: false, reason: `checkpoint: ${checked.reason}` };
  const { checkpoint } = checked;
  if (checkpoint.installationId !== proof.installation_id)
    return { ok: false, reason: "the checkpoint is of another installation" };
  if (checkpoint.size !== proof.tree_size)
    return { ok: false, reason: "the proof's tree_size differs from the checkpoint's" };
  const path = proof.inclusion_path.map((p) => Buffer.from(p, "base64"));
  if (
    !verifyInclusion(
      proof.leaf_index,
      checkpoint.size,
      eventLeaf(proof.event_hash),
      path,
      Buffer.from(checkpoint.root, "hex"),
    )
  ) {
    return { ok: false, reason: "the inclusion path does not lead from the event to the checkpoint's root" };
  }
  return { ok: true, checkpoint, leafIndex: proof.leaf_index, cosignedBy: checked.otherSignatures };
}
