import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken } from "../../src/tokens/store.ts";
import { readAudit } from "../../src/audit/log.ts";
import { checkpointNow } from "../../src/audit/checkpoint-store.ts";
import { eventPosition, proveInclusion } from "../../src/audit/prove.ts";
import { verifyInclusionProof } from "../../src/audit/prove-verify.ts";
import { APPROVAL_PREDICATE_TYPE, verifyAttestation, type ApprovalStatement } from "../../src/crypto/attestation.ts";
import type { DsseEnvelope } from "../../src/crypto/dsse.ts";
import { generateKeyEntry, parseKeyring } from "../../src/crypto/keyring.ts";
import { parsePublishedKeys } from "../../src/crypto/receipts.ts";
import type { PublishedKeys } from "../../src/crypto/signer.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { currentSigner } from "../../src/keys/store.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { runCli } from "../support/cli.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { secretsIn } from "../support/secret-scan.ts";
import { sigstoreVerify } from "../support/sigstore-dsse.ts";
import { predicateSchemaErrors } from "../support/predicate-schema.ts";
import { verifySite } from "./api-harness.ts";

// A redemption over HTTP against the whole app answers an attestation beside the receipt: checked by
// Sigstore's verifier (not ours), by `agent-gate attestation verify` (the CLI's `main`, run in process), and refused
// by both once its subject, predicate or signature is changed.

const REPO = "Codertocat/Hello-World";
const SHA = "c".repeat(40);
const INSTALLATION = 8301;
const KEYS = generateKeyEntry("k1");

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let token: string;
let keys: PublishedKeys;
let tmp: string;
let redeemed: Redeemed;
let created: { id: string; digest: string };

/** `agent-gate attestation verify` needs no storage or keyring: its whole environment is PATH and HOME. */
const cli = (args: string[]) => runCli(args, { PATH: process.env.PATH, HOME: process.env.HOME });

interface Redeemed {
  attestation: DsseEnvelope;
  receipt: { receipt: string; kid: string };
  redemption_id: string;
  redeemed_at: string;
}

function tampered(change: (statement: ApprovalStatement) => void): DsseEnvelope {
  const statement = JSON.parse(
    Buffer.from(redeemed.attestation.payload, "base64").toString("utf8"),
  ) as ApprovalStatement;
  change(statement);
  return { ...redeemed.attestation, payload: Buffer.from(JSON.stringify(statement)).toString("base64") };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "agent-gate-attestation-"));
  t = await createTestDatabase();
  fake = await GitHubFake.start();
  app = await startTestApp({ db: t.db, fake, startWorker: false, env: { AGENT_GATE_KEYS: KEYS } });
  const now = new Date();
  await recordInstallation(t.db, { id: INSTALLATION, account: "Codertocat" }, now);
  await recordRepositories(t.db, INSTALLATION, [{ id: 186853002, full_name: REPO }], [], now);
  await verifySite(t.db, INSTALLATION, "example.com", now);
  ({ token } = await createToken(
    t.db,
    {
      repos: null,
      kinds: null,
      admin: false,
      expiresAt: null,
      createdBy: "test",
      installationId: INSTALLATION,
      name: "release-bot",
    },
    now,
  ));
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "maintain");

  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const res = await fetch(`${app.url}/api/v1/proposals`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      kind: "deploy",
      repo: REPO,
      sha: SHA,
      environment: "production",
      site: "example.com",
      summary: "Deploy v2",
    }),
  });
  expect(res.status).toBe(201);
  created = (await res.json()) as { id: string; digest: string };
  const checkRun = await vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.checkRuns(REPO).find((run) => run.external_id === created.id);
      if (!found) throw new Error("no check run yet");
      return found;
    },
    { timeout: 20_000, interval: 50 },
  );
  const approved = await app.deliver(
    "check_run",
    requestedAction({
      installationId: INSTALLATION,
      appId: TEST_APP_ID,
      proposalId: created.id,
      checkRunId: checkRun.id,
      identifier: "approve",
      clicker: "alice",
    }),
  );
  expect(approved.status).toBe(200);
  const redemption = await fetch(`${app.url}/api/v1/proposals/${created.id}/redeem`, {
    method: "POST",
    headers,
    body: JSON.stringify({ digest: created.digest }),
  });
  expect(redemption.status).toBe(200);
  redeemed = (await redemption.json()) as Redeemed;
  keys = parsePublishedKeys(await (await fetch(`${app.url}/.well-known/agent-gate/keys.json`)).json());
  writeFileSync(join(tmp, "keys.json"), JSON.stringify(keys));
}, 120_000);

afterAll(async () => {
  await app.server.worker.drain();
  await app.close();
  fake.assertClean();
  await fake.close();
  await t.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the attestation of a redemption over HTTP", { timeout: 60_000 }, () => {
  it("is a DSSE envelope of an in-toto Statement: the commit and environment deployed, the approval predicate", () => {
    const envelope = redeemed.attestation;
    expect(envelope).toMatchObject({
      payloadType: "application/vnd.in-toto+json",
      signatures: [{ keyid: redeemed.receipt.kid }],
    });
    expect(Object.keys(envelope).sort()).toEqual(["payload", "payloadType", "signatures"]);
    const statement = verifyAttestation(envelope, keys, { digest: SHA, repo: REPO });
    expect(statement).toMatchObject({
      _type: "https://in-toto.io/Statement/v1",
      predicateType: APPROVAL_PREDICATE_TYPE,
      subject: [{ name: `${REPO}@${SHA} to production`, digest: { gitCommit: SHA } }],
    });
    expect(statement.predicate).toMatchObject({
      proposal: {
        id: created.id,
        kind: "deploy",
        repo: REPO,
        installation_id: INSTALLATION,
        digest: created.digest,
        environment: "production",
        site: "example.com",
      },
      decision: "approved",
      approvers: [{ login: "alice", permission: "maintain" }],
      redemption: { id: redeemed.redemption_id, redeemed_at: redeemed.redeemed_at },
    });
    expect(predicateSchemaErrors(statement.predicate)).toEqual([]);
  });

  it("names the redemption's audit event, its leaf and the tree size that includes it", async () => {
    const { audit } = verifyAttestation(redeemed.attestation, keys).predicate;
    const events = await t.db.tenant(INSTALLATION, (tx) => readAudit(tx, INSTALLATION));
    const event = events.find(
      (e) => e.action === "proposal.redeem" && e.outcome === "redeemed" && e.subject === created.id,
    );
    expect(event).toBeDefined();
    expect(audit.event_hash).toBe(event!.hash);
    const position = await t.db.tenant(INSTALLATION, (tx) => eventPosition(tx, INSTALLATION, event!.hash));
    expect(audit).toEqual({
      event_hash: event!.hash,
      leaf_index: position.leafIndex,
      tree_size: position.leafIndex + 1,
    });
    // A signed checkpoint at least that large proves the event at that leaf, offline.
    const signer = await currentSigner(t.db, parseKeyring(KEYS), new Date());
    const proof = await t.db.tenant(INSTALLATION, async (tx) =>
      proveInclusion(tx, INSTALLATION, audit.event_hash, await checkpointNow(tx, INSTALLATION, signer, new Date())),
    );
    expect(proof.tree_size).toBeGreaterThanOrEqual(audit.tree_size!);
    expect(verifyInclusionProof(proof, keys)).toMatchObject({ ok: true, leafIndex: audit.leaf_index });
  });

  it("verifies with Sigstore's verifier, and a changed subject, predicate or signature is refused by it", () => {
    expect(() => sigstoreVerify(redeemed.attestation, keys)).not.toThrow();
    const sig = redeemed.attestation.signatures[0]!;
    for (const changed of [
      tampered((s) => (s.subject[0]!.digest.gitCommit = "d".repeat(40))),
      tampered((s) => (s.predicate.approvers[0]!.login = "mallory")),
      {
        ...redeemed.attestation,
        signatures: [
          {
            ...sig,
            sig: Buffer.from(Buffer.from(sig.sig, "base64").map((b, i) => (i === 0 ? b ^ 1 : b))).toString("base64"),
          },
        ],
      },
    ]) {
      expect(() => sigstoreVerify(changed, keys)).toThrow(/signature verification failed/);
    }
  });

  it("carries no secret", () => {
    expect(
      secretsIn(JSON.stringify(redeemed.attestation) + Buffer.from(redeemed.attestation.payload, "base64").toString(), [
        token,
        KEYS,
      ]),
    ).toEqual([]);
  });
});

describe("agent-gate attestation verify", { timeout: 120_000 }, () => {
  const file = (name: string, value: unknown) => {
    const path = join(tmp, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  it("exits 0 for the redemption's attestation, with its digest and repository", async () => {
    const path = file("good.json", redeemed.attestation);
    const result = await cli([
      "attestation",
      "verify",
      path,
      "--keys",
      join(tmp, "keys.json"),
      "--digest",
      SHA,
      "--repo",
      REPO,
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^valid: approved deploy ${REPO} proposal ${created.id} by alice`));
    const json = await cli([
      "attestation",
      "verify",
      path,
      "--keys",
      join(tmp, "keys.json"),
      "--digest",
      created.digest,
      "--json",
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      predicate_type: APPROVAL_PREDICATE_TYPE,
      subject: [{ digests: [`gitCommit:${SHA}`] }],
      predicate: { proposal: { id: created.id }, approvers: [{ login: "alice", permission: "maintain" }] },
    });
  });

  it.each([
    [
      "a changed subject",
      () => tampered((s) => (s.subject[0]!.digest.gitCommit = "d".repeat(40))),
      [],
      "attestation_bad_signature",
    ],
    [
      "a changed predicate",
      () => tampered((s) => (s.predicate.proposal.repo = "evil/web")),
      [],
      "attestation_bad_signature",
    ],
    [
      "a changed signature",
      () => ({
        ...redeemed.attestation,
        signatures: [{ ...redeemed.attestation.signatures[0]!, sig: Buffer.alloc(64, 7).toString("base64") }],
      }),
      [],
      "attestation_bad_signature",
    ],
    ["another digest", () => redeemed.attestation, ["--digest", "e".repeat(64)], "attestation_digest_mismatch"],
    [
      "another repository (a fork)",
      () => redeemed.attestation,
      ["--repo", "fork/Hello-World"],
      "attestation_repo_mismatch",
    ],
    ["a receipt instead of an envelope", () => redeemed.receipt, [], "attestation_malformed"],
  ])("exits 1 for %s, naming why", async (_what, make, extra, code) => {
    const path = file(`bad-${code}-${extra.length}.json`, make());
    const result = await cli(["attestation", "verify", path, "--keys", join(tmp, "keys.json"), ...(extra as string[])]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`(${code})`);
    expect(result.stdout).toBe("");
  });

  it("refuses a malformed --digest as a usage error", async () => {
    const result = await cli([
      "attestation",
      "verify",
      file("g2.json", redeemed.attestation),
      "--keys",
      join(tmp, "keys.json"),
      "--digest",
      "nothex",
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--digest");
  });
});
