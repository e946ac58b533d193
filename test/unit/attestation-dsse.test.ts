import { describe, expect, it } from "vitest";
import { dsse } from "@sigstore/core";
import nacl from "tweetnacl";
import { preAuthEncoding, signEnvelope, verifyEnvelopeSignature } from "../../src/crypto/dsse.ts";
import {
  APPROVAL_PREDICATE_TYPE,
  AttestationError,
  IN_TOTO_PAYLOAD_TYPE,
  verifyAttestation,
  type ApprovalStatement,
} from "../../src/crypto/attestation.ts";
import { approvalStatement, signAttestation, type AttestationInput } from "../../src/proposals/attestation.ts";
import type { ProposalRow } from "../../src/proposals/store.ts";
import type { PublishedKeys, Signer } from "../../src/crypto/signer.ts";
import { sigstoreVerify } from "../support/sigstore-dsse.ts";
import { predicateSchemaErrors } from "../support/predicate-schema.ts";

// DSSE's pre-authentication encoding and the approval attestation, checked against the spec's
// vector and Sigstore's independent verifier (@sigstore/verify).

function signer(keyId = "k1"): Signer {
  const pair = nacl.sign.keyPair();
  return { keyId, secretKey: pair.secretKey, publicKey: pair.publicKey };
}

function keysOf(...signers: Signer[]): PublishedKeys {
  return {
    keys: signers.map((s) => ({
      kid: s.keyId,
      alg: "Ed25519" as const,
      public_key: Buffer.from(s.publicKey).toString("base64url"),
      status: "current" as const,
      created_at: "2026-01-01T00:00:00.000Z",
    })),
  };
}

const NOW = new Date("2026-12-01T10:00:00.000Z");
const SHA = "0123456789abcdef0123456789abcdef01234567";

function row(kind: "commit" | "deploy" | "outreach", extra: Partial<ProposalRow> = {}): ProposalRow {
  return {
    id: `prop_${kind}`,
    installation_id: 42,
    repo: "acme/web",
    repo_id: 1,
    kind,
    status: "approved",
    digest: kind === "commit" ? SHA : "d".repeat(64),
    head_sha: kind === "outreach" ? null : SHA,
    pr_number: kind === "commit" ? 7 : null,
    author: null,
    environment: kind === "deploy" ? "production" : null,
    site: kind === "commit" ? null : "example.com",
    summary: "s",
    details: {},
    reason: null,
    approvers: ["alice", "bob"],
    check_run_id: null,
    github: {},
    created_at: NOW,
    updated_at: NOW,
    expires_at: new Date("2026-12-02T10:00:00.000Z"),
    decided_at: NOW,
    state: {},
    ...extra,
  } as ProposalRow;
}

function input(proposal: ProposalRow): AttestationInput {
  return {
    proposal,
    approvers: ["alice", "bob"],
    redemptionId: "rdm_abc",
    redeemedAt: NOW,
    decidedAt: NOW,
    audit: { event_hash: "a".repeat(64), leaf_index: 9, tree_size: 10 },
  };
}

describe("DSSE pre-authentication encoding", () => {
  it("matches the DSSE spec's test vector", () => {
    // protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    const pae = preAuthEncoding("http://example.com/HelloWorld", Buffer.from("hello world"));
    expect(pae.toString("utf8")).toBe("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });

  it("counts bytes, not characters, and agrees with Sigstore's encoding", () => {
    const payload = Buffer.from('{"n":"Zoë ✓"}', "utf8");
    expect(
      preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload).equals(dsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload)),
    ).toBe(true);
    expect(preAuthEncoding("t", payload).toString("utf8")).toBe(`DSSEv1 1 t ${payload.length} {"n":"Zoë ✓"}`);
  });

  it("a signature verifies over PAE only: not over the bare payload, not under another payload type", () => {
    const key = signer();
    const envelope = signEnvelope("t/a", Buffer.from("x"), key);
    const sig = Buffer.from(envelope.signatures[0]!.sig, "base64");
    expect(verifyEnvelopeSignature("t/a", Buffer.from("x"), sig, key.publicKey)).toBe(true);
    expect(verifyEnvelopeSignature("t/b", Buffer.from("x"), sig, key.publicKey)).toBe(false);
    expect(nacl.sign.detached.verify(Buffer.from("x"), sig, key.publicKey)).toBe(false);
  });
});

describe("the approval statement", () => {
  it("names a commit by gitCommit", () => {
    const statement = approvalStatement(input(row("commit")));
    expect(statement).toMatchObject({
      _type: "https://in-toto.io/Statement/v1",
      predicateType: APPROVAL_PREDICATE_TYPE,
    });
    expect(statement.subject).toEqual([{ name: `acme/web@${SHA}`, digest: { gitCommit: SHA } }]);
  });

  it("names a deploy by its commit and its environment", () => {
    const statement = approvalStatement(input(row("deploy")));
    expect(statement.subject).toEqual([{ name: `acme/web@${SHA} to production`, digest: { gitCommit: SHA } }]);
    expect(statement.predicate.proposal).toMatchObject({
      environment: "production",
      digest: "d".repeat(64),
      site: "example.com",
    });
  });

  it("conforms to the published JSON Schema for every kind, and the schema refuses what is not a predicate", () => {
    for (const kind of ["commit", "deploy", "outreach"] as const)
      expect(predicateSchemaErrors(approvalStatement(input(row(kind))).predicate)).toEqual([]);
    const predicate = approvalStatement(input(row("deploy"))).predicate;
    expect(predicateSchemaErrors({ ...predicate, decision: "rejected" })).not.toEqual([]);
    expect(
      predicateSchemaErrors({ ...predicate, audit: { event_hash: "x", leaf_index: 1, tree_size: 2 } }),
    ).not.toEqual([]);
    expect(predicateSchemaErrors({ ...predicate, extra: 1 })).not.toEqual([]);
  });

  it("names outreach content by its sha256", () => {
    const statement = approvalStatement(input(row("outreach")));
    expect(statement.subject).toEqual([
      { name: "acme/web outreach prop_outreach", digest: { sha256: "d".repeat(64) } },
    ]);
  });

  it("carries the approvers' permission at decision time and the rules that were satisfied", () => {
    const state = {
      facts: {
        headSha: SHA,
        reviews: [
          {
            reviewer: { login: "Alice", type: "User", permission: "maintain" },
            state: "APPROVED",
            commitId: SHA,
            submittedAt: "x",
          },
        ],
      },
      decision: {
        status: "approved",
        rules: [
          {
            name: "backend",
            status: "satisfied",
            when: "always",
            needed: "1 approval",
            approvedBy: ["alice"],
            missing: null,
          },
          {
            name: "docs",
            status: "skipped",
            when: "no docs changed",
            needed: "1 approval",
            approvedBy: [],
            missing: null,
          },
        ],
      },
    };
    const statement = approvalStatement(input(row("commit", { state } as Partial<ProposalRow>)));
    expect(statement.predicate.approvers).toEqual([
      { login: "alice", permission: "maintain" },
      { login: "bob", permission: null },
    ]);
    expect(statement.predicate.rules_satisfied).toEqual([
      { name: "backend", needed: "1 approval", approved_by: ["alice"] },
    ]);
    expect(predicateSchemaErrors(statement.predicate)).toEqual([]);
    expect(statement.predicate).toMatchObject({
      decision: "approved",
      redemption: { id: "rdm_abc", redeemed_at: NOW.toISOString() },
      audit: { event_hash: "a".repeat(64), leaf_index: 9, tree_size: 10 },
    });
  });
});

describe("verifying an approval attestation", () => {
  const key = signer("k1");
  const keys = keysOf(key);
  const envelope = signAttestation(input(row("deploy")), key);

  function tamper(change: (statement: ApprovalStatement) => void): typeof envelope {
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as ApprovalStatement;
    change(statement);
    return { ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString("base64") };
  }

  it("is accepted by ours and by Sigstore's verifier", () => {
    expect(verifyAttestation(envelope, keys, { digest: SHA, repo: "acme/web" }).predicate.proposal.id).toBe(
      "prop_deploy",
    );
    expect(verifyAttestation(envelope, keys, { digest: "D".repeat(64) }).predicate.proposal.kind).toBe("deploy");
    expect(() => sigstoreVerify(envelope, keys)).not.toThrow();
  });

  it.each([
    ["a changed subject", () => tamper((s) => (s.subject[0]!.digest.gitCommit = "f".repeat(40)))],
    ["a changed predicate", () => tamper((s) => (s.predicate.approvers[0]!.login = "mallory"))],
    [
      "a changed signature",
      () => ({
        ...envelope,
        signatures: [{ ...envelope.signatures[0]!, sig: Buffer.alloc(64, 1).toString("base64") }],
      }),
    ],
    ["a changed payload type", () => ({ ...envelope, payloadType: "application/json" })],
  ])("refuses %s, as Sigstore's verifier does", (_what, make) => {
    const changed = make();
    expect(() => verifyAttestation(changed, keys)).toThrow(AttestationError);
    expect(() => sigstoreVerify(changed, keys)).toThrow(/signature verification failed/);
  });

  it("refuses a key not in keys.json, another digest, another repository, another statement or predicate type", () => {
    const stranger = signer("k1");
    expect(() => verifyAttestation(signAttestation(input(row("deploy")), stranger), keys)).toThrow(
      /attestation_bad_signature|No signature/,
    );
    expect(() => verifyAttestation(envelope, keysOf(signer("k2")))).toThrow(/No signature/);
    expect(() => verifyAttestation(envelope, keys, { digest: "e".repeat(40) })).toThrow(/not e{40}/);
    expect(() => verifyAttestation(envelope, keys, { repo: "evil/web" })).toThrow(/not in evil\/web/);
    const resign = (change: (s: Record<string, unknown>) => void) => {
      const statement: Record<string, unknown> = { ...approvalStatement(input(row("deploy"))) };
      change(statement);
      return signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), key);
    };
    expect(() =>
      verifyAttestation(
        resign((s) => (s._type = "https://in-toto.io/Statement/v0.1")),
        keys,
      ),
    ).toThrow(/_type/);
    expect(() =>
      verifyAttestation(
        resign((s) => (s.predicateType = "https://slsa.dev/provenance/v1")),
        keys,
      ),
    ).toThrow(/predicateType/);
    expect(() => verifyAttestation({ payload: "x" }, keys)).toThrow(/not a DSSE envelope/);
  });
});
