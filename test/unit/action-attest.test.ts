import { describe, expect, it } from "vitest";
import type { CreatedProposal, Redeemed } from "../../action/src/api-types.ts";
import { approvalStatement, checkCanAttest, withArtifact } from "../../action/src/attest.ts";

// What the Action takes from the app's redemption before it signs anything with the job's identity:
// only a Statement about this step's own proposal, redemption and commit. The whole flow, against the
// running app and Sigstore's stand-ins, is test/integration/action-attest.test.ts.

const SHA = "e".repeat(40);
const workflow = { repo: "acme/web", sha: SHA };
const proposal: CreatedProposal = {
  id: "prp_1",
  kind: "deploy",
  repo: "acme/web",
  digest: "f".repeat(64),
  status: "pending",
  expires_at: "2026-12-02T10:00:00.000Z",
  url: "https://gate.example.com/p/prp_1",
};

function statement(overrides: Record<string, unknown> = {}, predicate: Record<string, unknown> = {}) {
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: `acme/web@${SHA} to production`, digest: { gitCommit: SHA } }],
    predicateType: "https://agent-gate.dev/approval/v1",
    predicate: {
      proposal: { id: "prp_1", kind: "deploy", repo: "acme/web", digest: proposal.digest, environment: "production" },
      decision: "approved",
      approvers: [{ login: "alice", permission: "maintain" }],
      redemption: { id: "rdm_1", redeemed_at: "2026-12-01T10:05:00.000Z" },
      ...predicate,
    },
    ...overrides,
  };
}

function redeemed(body: unknown, payloadType = "application/vnd.in-toto+json"): Redeemed {
  return {
    redeemed: true,
    redemption_id: "rdm_1",
    digest: proposal.digest,
    receipt: { receipt: "r", kid: "k1" },
    attestation: {
      payloadType,
      payload: Buffer.from(JSON.stringify(body)).toString("base64"),
      signatures: [{ keyid: "k1", sig: "c2ln" }],
    },
  };
}

describe("approvalStatement", () => {
  it("takes the app's subjects and predicate unchanged, every field kept", () => {
    const got = approvalStatement(redeemed(statement()), proposal, workflow);
    expect(got).toEqual({
      subject: statement().subject,
      predicateType: "https://agent-gate.dev/approval/v1",
      predicate: statement().predicate,
    });
  });

  it.each([
    [
      "another proposal",
      statement({}, { proposal: { id: "prp_2", repo: "acme/web", digest: proposal.digest } }),
      "is about proposal prp_2",
    ],
    [
      "another repository",
      statement({}, { proposal: { id: "prp_1", repo: "acme/other", digest: proposal.digest } }),
      "(acme/other",
    ],
    [
      "another redemption",
      statement({}, { redemption: { id: "rdm_9" } }),
      "names redemption rdm_9, not this step's rdm_1",
    ],
    ["a refusal", statement({}, { decision: "rejected" }), "predicate.decision"],
    ["another predicate type", statement({ predicateType: "https://slsa.dev/provenance/v1" }), "predicateType"],
    [
      "another commit",
      statement({ subject: [{ name: "acme/web@other", digest: { gitCommit: "0".repeat(40) } }] }),
      "names subject 'acme/web@other', which is not what this step proposed",
    ],
    ["no subject", statement({ subject: [] }), "subject"],
  ])("refuses a Statement about %s", (_what, body, message) => {
    expect(() => approvalStatement(redeemed(body), proposal, workflow)).toThrow(message);
  });

  it("refuses an envelope that is not in-toto, and an answer without one", () => {
    expect(() => approvalStatement(redeemed(statement(), "text/plain"), proposal, workflow)).toThrow(
      "payload type 'text/plain'",
    );
    const { attestation: _none, ...bare } = redeemed(statement());
    expect(() => approvalStatement(bare, proposal, workflow)).toThrow("answered no attestation");
  });
});

describe("withArtifact", () => {
  it("adds the shipped artifact after the app's subjects, named by default after the commit", () => {
    const base = approvalStatement(redeemed(statement()), proposal, workflow);
    const digest = { sha256: "a".repeat(64) };
    expect(withArtifact(base, { digest }, workflow).subject).toEqual([
      ...base.subject,
      { name: `acme/web@${SHA} artifact`, digest },
    ]);
    expect(withArtifact(base, { name: "ghcr.io/acme/web", digest }, workflow).subject.at(-1)).toEqual({
      name: "ghcr.io/acme/web",
      digest,
    });
    expect(withArtifact(base, undefined, workflow)).toBe(base);
  });
});

describe("checkCanAttest", () => {
  const oidc = { ACTIONS_ID_TOKEN_REQUEST_URL: "https://runner.example/token", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "t" };

  it("needs the job's OIDC identity and a GitHub token", () => {
    expect(() => checkCanAttest(oidc, "ghs_x")).not.toThrow();
    expect(() => checkCanAttest({}, "ghs_x")).toThrow("`permissions: id-token: write`");
    expect(() => checkCanAttest(oidc, undefined)).toThrow("input 'github-token' is required when attest is true");
  });
});
