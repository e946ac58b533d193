import { createHash } from "node:crypto";

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing:
 *   leaf = SHA-256(0x00 || leaf data), node = SHA-256(0x01 || left || right),
 *   the empty tree's root = SHA-256("").
 * An audit event's leaf data is its 32-byte chain hash.
 */
export const EMPTY_ROOT: Buffer = createHash("sha256").digest();

const LEAF = Buffer.of(0x00);
const NODE = Buffer.of(0x01);

export function leafHash(data: Uint8Array): Buffer {
  return createHash("sha256").update(LEAF).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash("sha256").update(NODE).update(left).update(right).digest();
}

/** The leaf hash of an audit event, from its chain hash (hex). */
export function eventLeaf(chainHashHex: string): Buffer {
  return leafHash(Buffer.from(chainHashHex, "hex"));
}

/** A perfect subtree: 2^level leaves starting at leaf index × 2^level. */
export interface TreeNode {
  level: number;
  index: number;
  hash: Buffer;
}

/**
 * The compact range of a tree of `size` leaves: the roots of its perfect
 * subtrees, left to right (largest first), one per set bit of `size`.
 * Appending a leaf touches at most log2(size) of them.
 */
export function appendLeaf(
  frontier: Buffer[],
  size: number,
  leaf: Buffer,
): { frontier: Buffer[]; completed: TreeNode[] } {
  const next = frontier.slice();
  const completed: TreeNode[] = [{ level: 0, index: size, hash: leaf }];
  let node = leaf;
  let level = 0;
  while (Math.floor(size / 2 ** level) % 2 === 1) {
    const left = next.pop();
    if (!left) throw new Error("the tree's frontier is shorter than its size says");
    node = nodeHash(left, node);
    level += 1;
    completed.push({ level, index: Math.floor(size / 2 ** level), hash: node });
  }
  next.push(node);
  return { frontier: next, completed };
}

/** The root of a tree from its compact range. */
export function frontierRoot(frontier: readonly Buffer[]): Buffer {
  if (frontier.length === 0) return EMPTY_ROOT;
  let root = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i -= 1) root = nodeHash(frontier[i]!, root);
  return root;
}

/** Number of set bits: the length of a well-formed frontier for `size`. */
export function frontierLength(size: number): number {
  let n = 0;
  for (let rest = size; rest > 0; rest = Math.floor(rest / 2)) n += rest % 2;
  return n;
}

/** The largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The perfect subtrees covering leaves [start, end), left to right, where
 * start is a multiple of a power of two no smaller than the range (every range
 * the RFC's recursion visits is). Their right fold is the range's root.
 */
export function rangeCover(start: number, end: number): { level: number; index: number }[] {
  const cover: { level: number; index: number }[] = [];
  let at = start;
  while (at < end) {
    let level = 0;
    while (at % 2 ** (level + 1) === 0 && at + 2 ** (level + 1) <= end) level += 1;
    cover.push({ level, index: at / 2 ** level });
    at += 2 ** level;
  }
  return cover;
}

/** The compact range (frontier) of the first `size` leaves, as node coordinates. */
export function frontierCover(size: number): { level: number; index: number }[] {
  return rangeCover(0, size);
}
