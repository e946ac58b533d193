import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import nacl from "tweetnacl";

/**
 * A C2SP tlog-witness (https://c2sp.org/tlog-witness) on loopback, written
 * from the spec and independent of the app: it checks the log's signature on
 * the checkpoint (signed-note, Ed25519), checks the consistency proof from the
 * size it holds with its own RFC 9162 §2.1.4.2 verification, and cosigns
 * (tlog-cosignature, cosignature/v1).
 */
export interface WitnessStandIn {
  url: string;
  /** the witness's verifier key, in signed-note form */
  vkey: string;
  name: string;
  /** what the witness holds per origin */
  held: Map<string, { size: number; root: Buffer }>;
  /** every request: the old size and the checkpoint size, with the status answered */
  requests: { old: number; size: number | null; status: number }[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const hashChildren = (l: Buffer, r: Buffer) => sha256(Buffer.of(1), l, r);

/** RFC 9162 §2.1.4.2, step by step as the RFC words it. */
export function rfcConsistency(
  first: number,
  second: number,
  firstHash: Buffer,
  secondHash: Buffer,
  proof: Buffer[],
): boolean {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && firstHash.equals(secondHash);
  if (first === 0) return proof.length === 0;
  const path = (first & (first - 1)) === 0 ? [firstHash, ...proof] : proof.slice();
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while ((fn & 1) === 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr.equals(firstHash) && sr.equals(secondHash) && sn === 0;
}

function keyId(name: string, type: number, publicKey: Uint8Array): Buffer {
  return sha256(Buffer.from(`${name}\n`), Buffer.of(type), publicKey).subarray(0, 4);
}

export async function startWitness(
  log: { keyName: string; publicKey: Uint8Array },
  name = "witness.test/w1",
): Promise<WitnessStandIn> {
  const pair = nacl.sign.keyPair();
  const held = new Map<string, { size: number; root: Buffer }>();
  const requests: WitnessStandIn["requests"] = [];
  const vkey = `${name}+${keyId(name, 0x04, pair.publicKey).toString("hex")}+${Buffer.concat([Buffer.of(0x04), pair.publicKey]).toString("base64")}`;

  const answer = (res: ServerResponse, status: number, body = "", type = "text/plain") => {
    res.writeHead(status, { "content-type": type }).end(body);
    return status;
  };

  function handle(body: string, res: ServerResponse): number {
    const blank = body.indexOf("\n\n");
    if (blank < 0) return answer(res, 400, "no checkpoint\n");
    const head = body.slice(0, blank).split("\n");
    const note = body.slice(blank + 2);
    const old = /^old (\d+)$/.exec(head[0] ?? "");
    if (!old) return answer(res, 400, "no old line\n");
    const oldSize = Number(old[1]);
    const proof = head.slice(1).map((line) => Buffer.from(line, "base64"));
    // The note: text, blank line, signature lines; the log's signature must verify.
    const split = note.lastIndexOf("\n\n");
    const text = note.slice(0, split + 1);
    const [origin, sizeLine, rootLine] = text.split("\n");
    const size = Number(sizeLine);
    const root = Buffer.from(rootLine ?? "", "base64");
    const entry = { old: oldSize, size, status: 0 };
    requests.push(entry);
    const logSigned = note
      .slice(split + 2)
      .split("\n")
      .filter(Boolean)
      .some((line) => {
        const m = /^\u2014 (\S+) (\S+)$/.exec(line);
        if (!m || m[1] !== log.keyName) return false;
        const blob = Buffer.from(m[2]!, "base64");
        return (
          blob.subarray(0, 4).equals(keyId(log.keyName, 0x01, log.publicKey)) &&
          nacl.sign.detached.verify(Buffer.from(text), blob.subarray(4), log.publicKey)
        );
      });
    if (!logSigned) return (entry.status = answer(res, 403, "not signed by the log\n"));
    if (!origin || !Number.isSafeInteger(size) || root.length !== 32)
      return (entry.status = answer(res, 400, "not a checkpoint\n"));
    const known = held.get(origin) ?? { size: 0, root: sha256() };
    if (oldSize > size) return (entry.status = answer(res, 400, "old is larger than the checkpoint\n"));
    if (oldSize !== known.size) return (entry.status = answer(res, 409, `${known.size}\n`, "text/x.tlog.size"));
    if (!rfcConsistency(known.size, size, known.root, root, proof))
      return (entry.status = answer(res, 422, "inconsistent\n"));
    held.set(origin, { size, root });
    const time = BigInt(Math.floor(Date.now() / 1000));
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(time);
    const signature = nacl.sign.detached(Buffer.from(`cosignature/v1\ntime ${time}\n${text}`), pair.secretKey);
    const line = `\u2014 ${name} ${Buffer.concat([keyId(name, 0x04, pair.publicKey), stamp, Buffer.from(signature)]).toString("base64")}\n`;
    return (entry.status = answer(res, 200, line));
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/add-checkpoint") return void answer(res, 404);
      handle(Buffer.concat(chunks).toString("utf8"), res);
    });
  };
  let server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    vkey,
    name,
    held,
    requests,
    down: stop,
    up: async () => {
      server = createServer(listener);
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
