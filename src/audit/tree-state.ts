import { frontierLength, frontierRoot } from "./merkle.ts";

/** An installation's audit head as stored: the chain's head and the tree's state. */
export interface HeadRow {
  seq: number | string;
  hash: string;
  tree_first_seq: number | string | null;
  tree_size: number | string;
  tree_frontier: string;
}

export interface TreeState {
  size: number;
  frontier: Buffer[];
}

export function encodeFrontier(frontier: readonly Buffer[]): string {
  return frontier.map((node) => node.toString("hex")).join("");
}

/**
 * The tree's state from its head row, checked against the chain: the tree
 * holds exactly the events from tree_first_seq to the head. A head that
 * disagrees is refused, so nothing is appended to a tree in an unknown state.
 */
export function readTree(head: HeadRow): TreeState {
  const size = Number(head.tree_size);
  const seq = Number(head.seq);
  const first = head.tree_first_seq === null ? seq + 1 : Number(head.tree_first_seq);
  const text = head.tree_frontier;
  if (!/^([0-9a-f]{64})*$/.test(text) || text.length / 64 !== frontierLength(size) || size !== seq - first + 1) {
    throw new Error("the audit tree's state does not match its chain head; refusing to append");
  }
  const frontier: Buffer[] = [];
  for (let at = 0; at < text.length; at += 64) frontier.push(Buffer.from(text.slice(at, at + 64), "hex"));
  return { size, frontier };
}

export function treeRoot(state: TreeState): Buffer {
  return frontierRoot(state.frontier);
}
