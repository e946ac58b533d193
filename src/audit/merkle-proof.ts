import { nodeHash, rangeCover, splitPoint } from "./merkle.ts";

/** Looks up a stored perfect subtree's hash; throws when it is not stored. */
export type NodeLookup = (level: number, index: number) => Buffer;

/** MTH(D[start:end]) from the perfect subtrees that cover it. */
function rangeRoot(node: NodeLookup, start: number, end: number): Buffer {
  const cover = rangeCover(start, end);
  let root = node(cover.at(-1)!.level, cover.at(-1)!.index);
  for (let i = cover.length - 2; i >= 0; i -= 1) root = nodeHash(node(cover[i]!.level, cover[i]!.index), root);
  return root;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[start:end]). */
function path(node: NodeLookup, m: number, start: number, end: number): Buffer[] {
  const n = end - start;
  if (n === 1) return [];
  const k = splitPoint(n);
  if (m < start + k) return [...path(node, m, start, start + k), rangeRoot(node, start + k, end)];
  return [...path(node, m, start + k, end), rangeRoot(node, start, start + k)];
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:end], b). */
function subproof(node: NodeLookup, m: number, start: number, end: number, whole: boolean): Buffer[] {
  const n = end - start;
  if (m === n) return whole ? [] : [rangeRoot(node, start, end)];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(node, m, start, start + k, whole), rangeRoot(node, start + k, end)];
  return [...subproof(node, m - k, start + k, end, false), rangeRoot(node, start, start + k)];
}

export function inclusionPath(node: NodeLookup, leafIndex: number, treeSize: number): Buffer[] {
  if (!(leafIndex >= 0 && leafIndex < treeSize))
    throw new RangeError(`leaf ${leafIndex} is not in a tree of ${treeSize}`);
  return path(node, leafIndex, 0, treeSize);
}

export function consistencyPath(node: NodeLookup, first: number, second: number): Buffer[] {
  if (!(first >= 0 && first <= second)) throw new RangeError(`no consistency proof from ${first} to ${second}`);
  if (first === 0 || first === second) return [];
  return subproof(node, first, 0, second, true);
}

/**
 * The stored nodes a computation reads, found by running it once with
 * placeholders: fetch them in one query, then run it for real.
 */
export function nodesRead<T>(compute: (node: NodeLookup) => T): { level: number; index: number }[] {
  const seen = new Map<string, { level: number; index: number }>();
  const placeholder = Buffer.alloc(32);
  compute((level, index) => {
    seen.set(`${level}/${index}`, { level, index });
    return placeholder;
  });
  return [...seen.values()];
}
