import { execFile } from "node:child_process";
import { createPublicKey, verify as verifySignature, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";

// Sigstore's side of a keyless signature, stood in on loopback: a Fulcio that
// checks the job's OIDC token and proof of possession and certifies the posted
// key under a test CA, and a timestamp authority that answers RFC 3161 tokens.
// Both are OpenSSL doing the certificate and timestamp work, not hand-made bytes.
//
// @actions/attest takes no endpoint URLs: it derives https://fulcio.<host> and
// https://timestamp.<host> from GITHUB_SERVER_URL (port 443, hostnames fixed).
// So the step runs with HTTPS_PROXY naming the CONNECT proxy here, as a
// self-hosted runner behind a proxy does; the proxy tunnels exactly those two
// hostnames to the stand-ins and refuses every other destination, and
// NODE_EXTRA_CA_CERTS makes the stand-ins' TLS certificate trusted. Nothing in
// the library is patched or preloaded.

const run = promisify(execFile);

/** The hosts @actions/attest uses for a non-public repository on github.com. */
export const GITHUB_SIGSTORE_HOSTS = ["fulcio.githubapp.com", "timestamp.githubapp.com"] as const;

export interface CertificateRequest {
  /** The identity token's claims, once verified. */
  claims: Record<string, unknown>;
  publicKeyPem: string;
}

export class SigstoreStandIns {
  /** Every CONNECT the proxy saw, allowed or refused, as host:port. */
  readonly tunnels: string[] = [];
  readonly certificates: CertificateRequest[] = [];
  /** The message imprints (sha256 of the signature) that were timestamped, hex. */
  readonly timestamps: string[] = [];

  private constructor(
    private readonly dir: string,
    private readonly proxy: Server,
    private readonly https: HttpsServer,
    /** The issuer whose tokens Fulcio accepts, and its keys. */
    private readonly issuer: { url: string; jwks: JSONWebKeySet },
  ) {}

  static async start(issuer: { url: string; jwks: JSONWebKeySet }): Promise<SigstoreStandIns> {
    const dir = await mkdtemp(path.join(tmpdir(), "agent-gate-sigstore-"));
    await makePki(dir);
    const https = createHttpsServer({
      key: await readFile(path.join(dir, "tls.key")),
      cert: await readFile(path.join(dir, "tls.pem")),
    });
    const proxy = createHttpServer((_req, res) => res.writeHead(403).end("only CONNECT"));
    const standIns = new SigstoreStandIns(dir, proxy, https, issuer);
    https.on("request", (req: IncomingMessage, res: ServerResponse) => {
      standIns.answer(req, res).catch((error: unknown) => json(res, 500, { message: String(error) }));
    });
    proxy.on("connect", (req: IncomingMessage, socket) => standIns.tunnel(String(req.url), socket));
    await Promise.all([listen(https), listen(proxy)]);
    return standIns;
  }

  /** Forgets what earlier steps sent. */
  reset(): void {
    this.tunnels.length = 0;
    this.certificates.length = 0;
    this.timestamps.length = 0;
  }

  /** For HTTPS_PROXY. */
  get proxyUrl(): string {
    return `http://127.0.0.1:${(this.proxy.address() as AddressInfo).port}`;
  }

  /** For NODE_EXTRA_CA_CERTS: the CA of the stand-ins' TLS certificate. */
  get tlsCaFile(): string {
    return path.join(this.dir, "tls-ca.pem");
  }

  /** DER of the CA that certifies signing keys (Fulcio's root). */
  async fulcioRoot(): Promise<Buffer> {
    return pemToDer(await readFile(path.join(this.dir, "ca.pem"), "utf8"));
  }

  /** DER of the timestamp authority's chain, leaf first. */
  async timestampChain(): Promise<Buffer[]> {
    return [
      pemToDer(await readFile(path.join(this.dir, "tsa.pem"), "utf8")),
      pemToDer(await readFile(path.join(this.dir, "ca.pem"), "utf8")),
    ];
  }

  async close(): Promise<void> {
    this.proxy.closeAllConnections();
    this.https.closeAllConnections();
    await Promise.all([close(this.proxy), close(this.https)]);
    await rm(this.dir, { recursive: true, force: true });
  }

  private tunnel(target: string, socket: import("node:stream").Duplex): void {
    this.tunnels.push(target);
    const [host, port] = target.split(":");
    if (port !== "443" || !(GITHUB_SIGSTORE_HOSTS as readonly string[]).includes(host ?? "")) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const upstream = connect((this.https.address() as AddressInfo).port, "127.0.0.1", () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.pipe(socket).pipe(upstream);
    });
    const drop = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on("error", drop);
    socket.on("error", drop);
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = String(req.headers.host ?? "").replace(/:443$/, "");
    const body = await readBody(req);
    if (req.method === "POST" && host === "fulcio.githubapp.com" && req.url === "/api/v2/signingCert") {
      return this.signingCertificate(JSON.parse(body.toString("utf8")), res);
    }
    if (req.method === "POST" && host === "timestamp.githubapp.com" && req.url === "/api/v1/timestamp") {
      return this.timestamp(JSON.parse(body.toString("utf8")), res);
    }
    json(res, 404, { message: `no ${req.method} ${host}${req.url} here` });
  }

  /** Fulcio's v2 signingCert: the token must verify, the proof of possession must sign its subject. */
  private async signingCertificate(request: FulcioRequest, res: ServerResponse): Promise<void> {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(
        request.credentials.oidcIdentityToken,
        createLocalJWKSet(this.issuer.jwks),
        { issuer: this.issuer.url, audience: "sigstore" },
      ));
    } catch (error) {
      return json(res, 401, { code: 16, message: `identity token refused: ${String(error)}` });
    }
    const publicKeyPem = request.publicKeyRequest.publicKey.content;
    const possessed = verifySignature(
      "sha256",
      Buffer.from(String(claims.sub)),
      createPublicKey(publicKeyPem),
      Buffer.from(request.publicKeyRequest.proofOfPossession, "base64"),
    );
    if (!possessed) return json(res, 400, { code: 3, message: "proof of possession does not verify" });
    this.certificates.push({ claims, publicKeyPem });
    const leaf = await this.certify(publicKeyPem, claims);
    const root = await readFile(path.join(this.dir, "ca.pem"), "utf8");
    json(res, 201, { signedCertificateDetachedSct: { chain: { certificates: [leaf, root] } } });
  }

  /** A short-lived code-signing certificate naming the workflow, as Fulcio issues for GitHub Actions. */
  private async certify(publicKeyPem: string, claims: Record<string, unknown>): Promise<string> {
    const n = `${this.certificates.length}-${Date.now()}`;
    const key = path.join(this.dir, `leaf-${n}.pub`);
    const ext = path.join(this.dir, `leaf-${n}.ext`);
    const out = path.join(this.dir, `leaf-${n}.pem`);
    const issuer = String(claims.iss);
    await writeFile(key, publicKeyPem);
    await writeFile(
      ext,
      [
        `subjectAltName=critical,URI:https://github.com/${String(claims.job_workflow_ref)}`,
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=codeSigning",
        `1.3.6.1.4.1.57264.1.1=DER:${Buffer.from(issuer).toString("hex")}`,
        `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${issuer}`,
      ].join("\n"),
    );
    await openssl(
      this.dir,
      "x509",
      "-new",
      "-force_pubkey",
      key,
      "-subj",
      "/",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-extfile",
      ext,
      "-days",
      "1",
      "-out",
      out,
    );
    return readFile(out, "utf8");
  }

  /** RFC 3161: a TimeStampResp (as Sigstore's bundle holds it) over the posted imprint, signed by the test TSA. */
  private async timestamp(request: { artifactHash: string; hashAlgorithm: string }, res: ServerResponse) {
    if (request.hashAlgorithm !== "sha256") return json(res, 400, { message: "only sha256" });
    const imprint = Buffer.from(request.artifactHash, "base64").toString("hex");
    this.timestamps.push(imprint);
    const n = `${this.timestamps.length}-${Date.now()}`;
    await openssl(this.dir, "ts", "-query", "-digest", imprint, "-sha256", "-cert", "-no_nonce", "-out", `q-${n}.tsq`);
    await openssl(
      this.dir,
      "ts",
      "-reply",
      "-config",
      "tsa.cnf",
      "-queryfile",
      `q-${n}.tsq`,
      "-inkey",
      "tsa.key",
      "-signer",
      "tsa.pem",
      "-chain",
      "ca.pem",
      "-out",
      `t-${n}.der`,
    );
    res.writeHead(201, { "content-type": "application/timestamp-reply" });
    res.end(await readFile(path.join(this.dir, `t-${n}.der`)));
  }
}

interface FulcioRequest {
  credentials: { oidcIdentityToken: string };
  publicKeyRequest: { publicKey: { algorithm: string; content: string }; proofOfPossession: string };
}

/** A TLS CA and certificate for the stand-in hosts; a signing CA, and a timestamp authority under it. */
async function makePki(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  const ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "tls-ca.key",
    "-out",
    "tls-ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=Agent Gate test TLS CA",
    ...ca,
  );
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/O=Agent Gate test/CN=test Fulcio root",
    ...ca,
  );
  await openssl(dir, "req", "-new", ...ec, "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=stand-ins");
  await writeFile(
    path.join(dir, "tls.ext"),
    `subjectAltName=${GITHUB_SIGSTORE_HOSTS.map((host) => `DNS:${host}`).join(",")}\nextendedKeyUsage=serverAuth\n`,
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "tls.csr",
    "-CA",
    "tls-ca.pem",
    "-CAkey",
    "tls-ca.key",
    "-extfile",
    "tls.ext",
    "-days",
    "1",
    "-out",
    "tls.pem",
  );
  await openssl(
    dir,
    "req",
    "-new",
    ...ec,
    "-keyout",
    "tsa.key",
    "-out",
    "tsa.csr",
    "-subj",
    "/O=Agent Gate test/CN=test TSA",
  );
  await writeFile(
    path.join(dir, "tsa.ext"),
    "extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n",
  );
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    "tsa.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-extfile",
    "tsa.ext",
    "-days",
    "1",
    "-out",
    "tsa.pem",
  );
  await writeFile(
    path.join(dir, "tsa.cnf"),
    [
      "[ tsa ]",
      "default_tsa = tsa_config",
      "[ tsa_config ]",
      "serial = ./tsaserial",
      "signer_digest = sha256",
      "default_policy = 1.3.6.1.4.1.57264.2",
      "digests = sha256",
      "accuracy = secs:1",
      "ess_cert_id_alg = sha256",
      "",
    ].join("\n"),
  );
  await writeFile(path.join(dir, "tsaserial"), "01\n");
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  await run("openssl", args, { cwd });
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).raw);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function listen(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
}

function close(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
