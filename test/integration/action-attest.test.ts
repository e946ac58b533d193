import { execFile } from "node:child_process";
import { createHash, createPublicKey, verify as verifySignature, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { bundleFromJSON } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createToken } from "../../src/tokens/store.ts";
import { APPROVAL_PREDICATE_TYPE, verifyAttestation } from "../../src/crypto/attestation.ts";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { recordInstallation, recordRepositories, removeInstallation } from "../../src/installations/store.ts";
import { publishedKeys } from "../../src/keys/store.ts";
import { startTestApp, TEST_APP_ID, type TestApp } from "../support/app.ts";
import { backend, createTestDatabase, type TestDatabase } from "../support/database.ts";
import { requestedAction } from "../support/fixtures.ts";
import { GitHubFake, type GitHubCall } from "../support/github-fake.ts";
import { predicateSchemaErrors } from "../support/predicate-schema.ts";
import { GITHUB_SIGSTORE_HOSTS, SigstoreStandIns } from "../support/sigstore-standins.ts";
import { verifySite } from "./api-harness.ts";

// The Action's `attest: true`, run as the runner runs the committed bundle, against the whole app,
// with everything past the app stood in at the network edge on loopback: the runner's OIDC token
// endpoint, Fulcio and the timestamp authority (test/support/sigstore-standins.ts, reached through
// HTTPS_PROXY because @actions/attest derives their https hosts from GITHUB_SERVER_URL), and GitHub's
// attestation API in the GitHub fake, which checks the call against GitHub's OpenAPI description.
// What reaches GitHub is then verified by Sigstore's own verifier (@sigstore/verify), not our code.

const bundle = path.resolve("action/dist/index.js");
const REPO = "Codertocat/Hello-World";
const REPO_ID = 186853002;
const SHA = "d".repeat(40);
const WORKFLOW_REF = `${REPO}/.github/workflows/deploy.yml@refs/heads/main`;
const KEYS = generateKeyEntry("k1");
const ATTESTATIONS = "/repos/{owner}/{repo}/attestations";
const NODE24 = process.env.AGENT_GATE_NODE24;
/** The sha256 of what the job ships, as `gh attestation verify dist/app.tar.gz` would compute it. */
const ARTIFACT = createHash("sha256").update("app.tar.gz bytes").digest("hex");
const now = new Date();

/** The runner's OIDC side: tokens for any audience, from a key the Fulcio stand-in trusts. */
const RUNTIME_TOKEN = "runner-request-token";
let issuer: Server;
let issuerUrl: string;
let issuerKey: CryptoKey;
let jwks: JSONWebKeySet;

async function startIssuer(): Promise<void> {
  const pair = await generateKeyPair("RS256");
  issuerKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" }] };
  issuer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", issuerUrl);
    if (url.pathname !== "/runner-token" || req.headers.authorization !== `Bearer ${RUNTIME_TOKEN}`) {
      return void res.writeHead(404).end();
    }
    const iat = Math.floor(Date.now() / 1000);
    void new SignJWT({ repository: REPO, job_workflow_ref: WORKFLOW_REF, sha: SHA, ref: "refs/heads/main" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuerUrl)
      .setAudience(url.searchParams.get("audience") ?? "")
      .setIssuedAt(iat)
      .setExpirationTime(iat + 300)
      .setSubject(`repo:${REPO}:ref:refs/heads/main`)
      .sign(issuerKey)
      .then((value) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ value })));
  });
  await new Promise<void>((resolve) => issuer.listen(0, "127.0.0.1", resolve));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
}

let t: TestDatabase;
let fake: GitHubFake;
let app: TestApp;
let sigstore: SigstoreStandIns;
let token: string;
let installationId = 8600;
let dir: string;
let eventFile: string;

beforeAll(async () => {
  t = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), "agent-gate-action-attest-"));
  await startIssuer();
  sigstore = await SigstoreStandIns.start({ url: issuerUrl, jwks });
  // The event the job runs for: @actions/attest picks GitHub's Sigstore instance (Fulcio and a
  // timestamp authority) for a repository that is not public.
  eventFile = path.join(dir, "event.json");
  await writeFile(eventFile, JSON.stringify({ repository: { full_name: REPO, visibility: "private", private: true } }));
});
afterAll(async () => {
  await sigstore?.close();
  await new Promise<void>((resolve) => issuer.close(() => resolve()));
  await t?.drop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  installationId += 1;
  sigstore.reset();
  fake = await GitHubFake.start();
  fake.setRepo(REPO, { private: true, id: REPO_ID, default_branch: "main" });
  fake.setRef(REPO, "heads/main", "a".repeat(40));
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "write");
  let stored = 0;
  fake.on("POST", ATTESTATIONS, (call) =>
    call.headers.authorization === "token job-github-token"
      ? { status: 201, body: { id: (stored += 1) + 9000 } }
      : {
          status: 403,
          body: {
            message: "Resource not accessible by integration",
            documentation_url: "https://docs.github.com/rest/repos/repos#create-an-attestation",
          },
        },
  );
  app = await startTestApp({ db: t.db, fake, env: { AGENT_GATE_KEYS: KEYS } });
  await recordInstallation(t.db, { id: installationId, account: "Codertocat" }, now);
  await recordRepositories(t.db, installationId, [{ id: REPO_ID, full_name: REPO }], [], now);
  await verifySite(t.db, installationId, "example.com", now);
  ({ token } = await createToken(
    t.db,
    { installationId, repos: null, kinds: null, admin: false, expiresAt: null, createdBy: "test" },
    now,
  ));
});
afterEach(async () => {
  await removeInstallation(t.db, installationId, new Date());
  await app.server.worker.drain();
  await app.close();
  fake.assertClean();
  await fake.close();
});

interface StepResult {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
}

/** The job's environment with `permissions: id-token: write`, behind the proxy that reaches the stand-ins. */
function jobEnv(): NodeJS.ProcessEnv {
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${issuerUrl}/runner-token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: RUNTIME_TOKEN,
    GITHUB_API_URL: fake.apiUrl,
    GITHUB_EVENT_PATH: eventFile,
    HTTPS_PROXY: sigstore.proxyUrl,
    NO_PROXY: "127.0.0.1",
    NODE_EXTRA_CA_CERTS: sigstore.tlsCaFile,
  };
}

let runs = 0;
async function runStep(
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv,
  node = process.execPath,
): Promise<StepResult> {
  runs += 1;
  const output = path.join(dir, `output-${runs}`);
  await writeFile(output, "");
  const all: Record<string, string> = {
    "server-url": app.url,
    token,
    kind: "deploy",
    environment: "production",
    site: "example.com",
    summary: "Deploy v1.4 to production",
    "timeout-minutes": "2",
    "wait-seconds": "5",
    "github-token": "job-github-token",
    ...inputs,
  };
  const stepEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: REPO,
    GITHUB_SHA: SHA,
    GITHUB_OUTPUT: output,
    ...env,
  };
  for (const [name, value] of Object.entries(all)) stepEnv[`INPUT_${name.toUpperCase()}`] = value;
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(node, [bundle], { env: stepEnv, cwd: dir, timeout: 150_000 }, (error, out) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out });
    });
  });
  const outputs: Record<string, string> = {};
  for (const match of (await readFile(output, "utf8")).matchAll(
    /^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm,
  )) {
    outputs[match[1]!] = match[3]!;
  }
  return { code, stdout, outputs };
}

function failure(result: StepResult): string | undefined {
  return /^::error::(.*)$/m.exec(result.stdout)?.[1];
}

async function proposalCount(): Promise<number> {
  const rows = await t.db.tenant(installationId, (tx) =>
    tx.query<{ n: string }>("SELECT count(*)::text AS n FROM proposals"),
  );
  return Number(rows[0]?.n);
}

/** A maintainer approves the step's check run, as GitHub delivers the click. */
async function approve(): Promise<void> {
  const checkRun = await vi.waitFor(
    async () => {
      await app.server.worker.drain();
      const found = fake.checkRuns(REPO).find((r) => r.external_id?.startsWith("prp_"));
      if (!found) throw new Error("no check run yet");
      return found;
    },
    { timeout: 30_000, interval: 100 },
  );
  const res = await app.deliver(
    "check_run",
    requestedAction({
      installationId,
      appId: TEST_APP_ID,
      proposalId: checkRun.external_id!,
      checkRunId: checkRun.id,
      identifier: "approve",
      clicker: "alice",
    }),
  );
  expect(res.status).toBe(200);
  await app.server.worker.drain();
}

/** DSSE's pre-authentication encoding, written here from the spec. */
function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** Sigstore's verifier, trusting only the stand-ins' signing root and timestamp authority. */
async function sigstoreVerify(serialized: unknown): Promise<void> {
  const validFor = { start: new Date(Date.now() - 3_600_000), end: undefined };
  const trust = toTrustMaterial({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    ctlogs: [],
    certificateAuthorities: [
      {
        subject: { organization: "Agent Gate test", commonName: "test Fulcio root" },
        uri: `https://${GITHUB_SIGSTORE_HOSTS[0]}`,
        certChain: { certificates: [{ rawBytes: await sigstore.fulcioRoot() }] },
        validFor,
        operator: "",
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: "Agent Gate test", commonName: "test TSA" },
        uri: `https://${GITHUB_SIGSTORE_HOSTS[1]}`,
        certChain: { certificates: (await sigstore.timestampChain()).map((rawBytes) => ({ rawBytes })) },
        validFor,
        operator: "",
      },
    ],
  });
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 1 }).verify(
    toSignedEntity(bundleFromJSON(serialized)),
    { subjectAlternativeName: `https://github.com/${WORKFLOW_REF}`, extensions: { issuer: issuerUrl } },
  );
}

// The runner runs the bundle on Node 24; the project supports Node 20 too. Node 24 runs once, on PGlite.
const runtimes: [string, string][] = [["Node 20", process.execPath]];
if (NODE24 && existsSync(NODE24) && backend() === "pglite") runtimes.push(["Node 24", NODE24]);

describe("the committed Action bundle with attest: true", { timeout: 200_000 }, () => {
  it.each(runtimes)(
    "records the app's approval Statement as a keyless Sigstore bundle that GitHub stores (%s)",
    async (_name, node) => {
      const step = runStep({ attest: "true", "artifact-digest": `sha256:${ARTIFACT}` }, jobEnv(), node);
      await approve();
      const result = await step;

      expect(failure(result), result.stdout).toBeUndefined();
      expect(result.code).toBe(0);
      // GitHub's attestation API got one bundle, with the job's token (the fake checks its shape).
      const calls: GitHubCall[] = fake.callsTo("POST", ATTESTATIONS);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.path).toBe(`/repos/${REPO}/attestations`);
      const sent = (calls[0]!.body as { bundle: Record<string, any> }).bundle;
      expect(result.outputs["attestation-id"]).toBe("9001");
      expect(result.outputs["attestation-url"]).toBe(`https://github.com/${REPO}/attestations/9001`);
      expect(JSON.parse(result.outputs["attestation-bundle"]!)).toEqual(sent);

      // Its payload is the app's Statement, which the app signed and which verifies under its keys.
      const appEnvelope = JSON.parse(result.outputs.attestation!) as { payload: string };
      const verified = verifyAttestation(appEnvelope, await publishedKeys(t.db), { digest: SHA, repo: REPO });
      expect(verified.predicate.proposal.id).toBe(result.outputs["proposal-id"]);
      const appStatement: unknown = JSON.parse(Buffer.from(appEnvelope.payload, "base64").toString("utf8"));
      const envelope = sent.dsseEnvelope as { payloadType: string; payload: string; signatures: { sig: string }[] };
      expect(envelope.payloadType).toBe("application/vnd.in-toto+json");
      const payload = Buffer.from(envelope.payload, "base64");
      const statement = JSON.parse(payload.toString("utf8"));
      // The app's subject, then the artifact the job ships (which `gh attestation verify <file>` matches).
      expect(statement).toEqual({
        ...(appStatement as object),
        subject: [
          { name: `${REPO}@${SHA} to production`, digest: { gitCommit: SHA } },
          { name: `${REPO}@${SHA} artifact`, digest: { sha256: ARTIFACT } },
        ],
      });
      expect(statement.predicateType).toBe(APPROVAL_PREDICATE_TYPE);
      expect(predicateSchemaErrors(statement.predicate)).toEqual([]);

      // The signature verifies with the key of the certificate the Fulcio stand-in issued for the
      // key the step posted (with a proof of possession over the job token's subject).
      expect(sent.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
      const certificate = new X509Certificate(
        Buffer.from(sent.verificationMaterial.certificate.rawBytes as string, "base64"),
      );
      expect(sigstore.certificates).toHaveLength(1);
      const certified = sigstore.certificates[0]!;
      expect(certified.claims).toMatchObject({ aud: "sigstore", job_workflow_ref: WORKFLOW_REF, iss: issuerUrl });
      expect(certificate.publicKey.export({ type: "spki", format: "der" })).toEqual(
        createPublicKey(certified.publicKeyPem).export({ type: "spki", format: "der" }),
      );
      const signature = Buffer.from(envelope.signatures[0]!.sig, "base64");
      expect(verifySignature("sha256", pae(envelope.payloadType, payload), certificate.publicKey, signature)).toBe(
        true,
      );
      // The timestamp authority stamped exactly that signature.
      expect(sigstore.timestamps).toEqual([createHash("sha256").update(signature).digest("hex")]);
      expect(sent.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
      // Sigstore's own verifier accepts the bundle: chain, identity, timestamp and signature.
      await expect(sigstoreVerify(sent)).resolves.toBeUndefined();
      const changed = Buffer.from(
        JSON.stringify({ ...statement, predicate: { ...statement.predicate, decision: "x" } }),
      );
      const tampered = { ...sent, dsseEnvelope: { ...envelope, payload: changed.toString("base64") } };
      await expect(sigstoreVerify(tampered)).rejects.toThrow();
      // The step left loopback only for the two Sigstore hosts, through the proxy.
      expect([...new Set(sigstore.tunnels)].sort()).toEqual(GITHUB_SIGSTORE_HOSTS.map((host) => `${host}:443`));
      expect(result.stdout).toContain(`stored with GitHub: https://github.com/${REPO}/attestations/9001`);
      expect(result.stdout).toContain("::add-mask::job-github-token");
    },
  );

  it("without id-token permission: fails before proposing, saying what the job needs", async () => {
    const { ACTIONS_ID_TOKEN_REQUEST_URL: _url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: _token, ...env } = jobEnv();
    const result = await runStep({ attest: "true" }, env);

    expect(result.code).toBe(1);
    expect(failure(result)).toContain(
      "input 'attest' is true but the job has no OIDC identity to sign with: give the job `permissions: id-token: write`",
    );
    expect(await proposalCount()).toBe(0);
    expect(sigstore.certificates).toHaveLength(0);
    expect(fake.callsTo("POST", ATTESTATIONS)).toHaveLength(0);
  });

  it("GitHub's attestation API refuses the token: the step fails, naming the refusal and the spent redemption", async () => {
    const step = runStep({ attest: "true", "github-token": "token-without-attestations-write" }, jobEnv());
    await approve();
    const result = await step;

    expect(result.code).toBe(1);
    const message = failure(result)!;
    expect(message).toContain(
      "Could not record the approval attestation (input 'attest'): Failed to persist attestation",
    );
    expect(message).toContain("Resource not accessible by integration");
    expect(message).toMatch(/The approval was redeemed as \S+ but is not attested; not proceeding/);
    expect(fake.callsTo("POST", ATTESTATIONS)).toHaveLength(1);
    expect(result.outputs["attestation-id"]).toBeUndefined();
    expect(result.stdout).not.toContain("eyJ");
  });

  it.each([
    [{ attest: "yes" }, "input 'attest' must be true or false"],
    [{ attest: "true", "github-token": "" }, "input 'github-token' is required when attest is true"],
    [
      { attest: "true", "artifact-digest": "sha1:0123456789abcdef" },
      "input 'artifact-digest' must be sha256:<64 hex> or sha512:<128 hex>",
    ],
    [{ "artifact-digest": `sha256:${"0".repeat(64)}` }, "input 'artifact-digest' is only for attest: true"],
  ])("a bad attest input %j fails naming it, before sending anything", async (inputs, message) => {
    const result = await runStep(inputs, jobEnv());

    expect(result.code).toBe(1);
    expect(failure(result)).toContain(message);
    expect(await proposalCount()).toBe(0);
  });
});
