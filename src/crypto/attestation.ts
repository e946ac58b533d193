import { z } from "zod";
import { GateError } from "../errors.ts";
import { fromBase64url } from "./base64url.ts";
import { verifyEnvelopeSignature, type DsseEnvelope } from "./dsse.ts";
import type { PublishedKeys } from "./signer.ts";

/** The in-toto Statement type (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md). */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** DSSE payload type of an in-toto Statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** Agent Gate's approval predicate; its JSON Schema is docs/attestation-predicate.schema.json. */
export const APPROVAL_PREDICATE_TYPE = "https://agent-gate.dev/approval/v1";

/** What was approved: a commit (gitCommit), a deploy's commit in an environment, or outreach content (sha256). */
export interface StatementSubject {
  name: string;
  digest: Record<string, string>;
}

/** The approval predicate (docs/attestation.md). */
export interface ApprovalPredicate {
  proposal: {
    id: string;
    kind: string;
    repo: string;
    installation_id: number;
    /** the digest the approval binds (and the redemption matched) */
    digest: string;
    environment: string | null;
    site: string | null;
  };
  decision: "approved";
  approvers: { login: string; permission: string | null }[];
  rules_satisfied: { name: string; needed: string; approved_by: string[] }[];
  decided_at: string;
  expires_at: string;
  redemption: { id: string; redeemed_at: string };
  audit: { event_hash: string; leaf_index: number | null; tree_size: number | null };
}

export interface ApprovalStatement {
  _type: typeof STATEMENT_TYPE;
  subject: StatementSubject[];
  predicateType: typeof APPROVAL_PREDICATE_TYPE;
  predicate: ApprovalPredicate;
}

/** An attestation refused by `verifyAttestation`; `code` says why. */
export class AttestationError extends GateError {
  constructor(code: string, message: string) {
    super(code, message, { status: 409 });
  }
}

const envelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.string() })),
});

const statementSchema = z.object({
  _type: z.string(),
  subject: z.array(z.object({ name: z.string(), digest: z.record(z.string(), z.string()) })).min(1),
  predicateType: z.string(),
  predicate: z
    .object({
      proposal: z
        .object({ id: z.string(), kind: z.string(), repo: z.string(), installation_id: z.number().int() })
        .loose(),
    })
    .loose(),
});

export interface AttestationExpectation {
  /** a subject's digest (gitCommit or sha256), or the digest the approval binds */
  digest?: string;
  repo?: string;
}

const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer | null {
  return STANDARD_BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, "base64") : null;
}

/**
 * Check an approval attestation offline: a signature over DSSE's PAE by a key
 * in keys.json, an in-toto Statement v1 of Agent Gate's approval predicate,
 * and (when given) the digest and the repository. Returns the Statement.
 */
export function verifyAttestation(
  envelopeJson: unknown,
  keys: PublishedKeys,
  expected: AttestationExpectation = {},
): ApprovalStatement {
  const parsed = envelopeSchema.safeParse(envelopeJson);
  if (!parsed.success) {
    throw new AttestationError(
      "attestation_malformed",
      "The attestation is not a DSSE envelope ({payloadType, payload, signatures: [{keyid, sig}]}).",
    );
  }
  const envelope: DsseEnvelope = {
    ...parsed.data,
    signatures: parsed.data.signatures.map((s) => ({ keyid: s.keyid ?? "", sig: s.sig })),
  };
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AttestationError(
      "attestation_payload_type",
      `The envelope's payloadType is ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}.`,
    );
  }
  const payload = decodeBase64(envelope.payload);
  if (!payload || payload.length === 0)
    throw new AttestationError("attestation_malformed", "The envelope's payload is not standard base64.");
  const verifiedBy = envelope.signatures.find((signature) => {
    const key = keys.keys.find((candidate) => candidate.kid === signature.keyid);
    const publicKey = key ? fromBase64url(key.public_key) : null;
    const sig = decodeBase64(signature.sig);
    return Boolean(publicKey && sig && verifyEnvelopeSignature(envelope.payloadType, payload, sig, publicKey));
  });
  if (!verifiedBy) {
    const kids = envelope.signatures.map((signature) => signature.keyid || "(no keyid)").join(", ") || "none";
    throw new AttestationError(
      "attestation_bad_signature",
      `No signature over the envelope verifies under a key of keys.json (signatures by: ${kids}).`,
    );
  }
  let statementJson: unknown;
  try {
    statementJson = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    throw new AttestationError("attestation_malformed", "The signed payload is not JSON.");
  }
  const statement = statementSchema.safeParse(statementJson);
  if (!statement.success) {
    const fields = [...new Set(statement.error.issues.map((issue) => issue.path.join(".") || "statement"))];
    throw new AttestationError(
      "attestation_malformed",
      `The signed payload is not an approval statement (${fields.join(", ")}).`,
    );
  }
  if (statement.data._type !== STATEMENT_TYPE) {
    throw new AttestationError(
      "attestation_statement_type",
      `The statement's _type is ${JSON.stringify(statement.data._type)}, not ${STATEMENT_TYPE}.`,
    );
  }
  if (statement.data.predicateType !== APPROVAL_PREDICATE_TYPE) {
    throw new AttestationError(
      "attestation_predicate_type",
      `The predicateType is ${JSON.stringify(statement.data.predicateType)}, not ${APPROVAL_PREDICATE_TYPE}.`,
    );
  }
  const result = statementJson as ApprovalStatement;
  if (expected.digest !== undefined) {
    const wanted = expected.digest.trim().toLowerCase();
    const digests = result.subject
      .flatMap((subject) => Object.values(subject.digest))
      .map((value) => value.toLowerCase());
    const bound =
      typeof result.predicate.proposal.digest === "string" ? result.predicate.proposal.digest.toLowerCase() : null;
    if (!digests.includes(wanted) && bound !== wanted) {
      throw new AttestationError(
        "attestation_digest_mismatch",
        `The attestation's subject is ${digests.join(", ")}, not ${wanted}.`,
      );
    }
  }
  if (
    expected.repo !== undefined &&
    result.predicate.proposal.repo.toLowerCase() !== expected.repo.trim().toLowerCase()
  ) {
    throw new AttestationError(
      "attestation_repo_mismatch",
      `The attestation approves in ${result.predicate.proposal.repo}, not in ${expected.repo.trim()}; an approval of one repository is none for another (a fork included).`,
    );
  }
  return result;
}
