import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { appendLeaf, frontierRoot, leafHash, type TreeNode } from "../../src/audit/merkle.ts";
import { consistencyPath, inclusionPath, nodesRead, type NodeLookup } from "../../src/audit/merkle-proof.ts";
import { verifyConsistency, verifyInclusion } from "../../src/audit/merkle-verify.ts";

/*
 * A second implementation, written here from RFC 9162 §2.1's recursive
 * definitions over the whole list of leaves: MTH, PATH and PROOF/SUBPROOF.
 */
const sha = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return h.digest();
};
const k = (n: number) => 2 ** Math.floor(Math.log2(n - 1));
function MTH(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.of(0), d[0]!);
  return sha(Buffer.of(1), MTH(d.slice(0, k(d.length))), MTH(d.slice(k(d.length))));
}
function PATH(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...PATH(m, d.slice(0, s)), MTH(d.slice(s))] : [...PATH(m - s, d.slice(s)), MTH(d.slice(0, s))];
}
function SUBPROOF(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [MTH(d)];
  const s = k(d.length);
  return m <= s
    ? [...SUBPROOF(m, d.slice(0, s), b), MTH(d.slice(s))]
    : [...SUBPROOF(m - s, d.slice(s), false), MTH(d.slice(0, s))];
}

/** Builds the tree the way the app does (frontier appends), keeping every completed node. */
function grow(data: Buffer[]) {
  let frontier: Buffer[] = [];
  const nodes = new Map<string, Buffer>();
  const roots: Buffer[] = [sha()];
  data.forEach((datum, size) => {
    const step = appendLeaf(frontier, size, leafHash(datum));
    frontier = step.frontier;
    step.completed.forEach((node: TreeNode) => nodes.set(`${node.level}/${node.index}`, node.hash));
    roots.push(frontierRoot(frontier));
  });
  const lookup: NodeLookup = (level, index) => {
    const hash = nodes.get(`${level}/${index}`);
    if (!hash) throw new Error(`node ${level}/${index} not stored`);
    return hash;
  };
  return { roots, lookup };
}

const data = Array.from({ length: 70 }, (_, i) => sha(Buffer.from(`event ${i}`)));
const { roots, lookup } = grow(data);

describe("Merkle tree (RFC 9162)", () => {
  it("has the root MTH defines at every size", () => {
    for (let n = 0; n <= data.length; n += 1)
      expect(roots[n]!.toString("hex")).toBe(MTH(data.slice(0, n)).toString("hex"));
  });

  it("matches RFC 6962's published root for the empty tree", () => {
    expect(roots[0]!.toString("hex")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("gives the inclusion paths PATH defines, and they verify", () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 70]) {
      for (let m = 0; m < n; m += 1) {
        const proof = inclusionPath(lookup, m, n);
        expect(proof.map((p) => p.toString("hex"))).toEqual(PATH(m, data.slice(0, n)).map((p) => p.toString("hex")));
        expect(verifyInclusion(m, n, leafHash(data[m]!), proof, roots[n]!)).toBe(true);
      }
    }
  });

  it("gives the consistency proofs PROOF defines, and they verify", () => {
    for (let second = 1; second <= data.length; second += 3) {
      for (let first = 1; first <= second; first += 1) {
        const proof = consistencyPath(lookup, first, second);
        expect(proof.map((p) => p.toString("hex"))).toEqual(
          (first === second ? [] : SUBPROOF(first, data.slice(0, second), true)).map((p) => p.toString("hex")),
        );
        expect(verifyConsistency(first, second, roots[first]!, roots[second]!, proof)).toBe(true);
      }
    }
  });

  it("refuses a wrong leaf, index, size, root or path", () => {
    const proof = inclusionPath(lookup, 5, 33);
    const leaf = leafHash(data[5]!);
    expect(verifyInclusion(5, 33, leafHash(data[6]!), proof, roots[33]!)).toBe(false);
    expect(verifyInclusion(6, 33, leaf, proof, roots[33]!)).toBe(false);
    expect(verifyInclusion(5, 34, leaf, proof, roots[34]!)).toBe(false);
    expect(verifyInclusion(5, 33, leaf, proof.slice(1), roots[33]!)).toBe(false);
    expect(verifyInclusion(5, 33, leaf, [...proof, proof[0]!], roots[33]!)).toBe(false);
    const cons = consistencyPath(lookup, 20, 33);
    expect(verifyConsistency(20, 33, roots[20]!, roots[33]!, cons)).toBe(true);
    expect(verifyConsistency(20, 33, roots[21]!, roots[33]!, cons)).toBe(false);
    expect(verifyConsistency(20, 33, roots[20]!, roots[32]!, cons)).toBe(false);
    expect(verifyConsistency(20, 33, roots[20]!, roots[33]!, cons.slice(1))).toBe(false);
    expect(verifyConsistency(33, 20, roots[33]!, roots[20]!, cons)).toBe(false);
  });

  it("refuses a rewritten history: an edited leaf or a cut tail is not consistent with the earlier root", () => {
    const edited = data.slice();
    edited[3] = sha(Buffer.from("mallory"));
    const forged = grow(edited);
    expect(verifyConsistency(10, 40, roots[10]!, forged.roots[40]!, consistencyPath(forged.lookup, 10, 40))).toBe(
      false,
    );
    // a tail cut: the later tree is smaller than the one a verifier holds
    expect(verifyConsistency(40, 37, roots[40]!, roots[37]!, [])).toBe(false);
  });

  it("reads a logarithmic number of stored nodes for a proof", () => {
    const read = nodesRead((node) => inclusionPath(node, 12_345, 1_000_000));
    expect(read.length).toBeLessThanOrEqual(2 * 20 * 20);
    expect(read.length).toBeGreaterThan(0);
  });
});
