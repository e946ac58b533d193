import { randomInt } from "node:crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export function randomBase62(length: number): string {
  let out = "";
  for (let i = 0; i < length; i += 1) out += BASE62[randomInt(62)];
  return out;
}

/** Proposal ids: `prp_` + 20 random base62 characters; safe in URLs, paths and branch names. */
export function newProposalId(): string {
  return `prp_${randomBase62(20)}`;
}

export const PROPOSAL_ID_PATTERN = /^prp_[0-9A-Za-z]{20}$/;
