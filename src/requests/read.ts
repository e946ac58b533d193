import { NotFoundError } from "../errors.ts";
import { findRedemption } from "../proposals/redeem.ts";
import { findProposal, type ProposalRow } from "../proposals/store.ts";
import { inScope, stored, type Principal } from "./auth.ts";
import type { RequestDeps } from "./deps.ts";

export interface VisibleProposal {
  row: ProposalRow;
  redeemedAt: Date | null;
}

/** The proposal if the principal may see it; another installation's or repository's is the same 404 as none. */
export async function readVisible(
  deps: Pick<RequestDeps, "db">,
  principal: Principal,
  id: string,
): Promise<VisibleProposal> {
  const found = await stored(() =>
    deps.db.tenant(principal.installationId, async (tx) => {
      const row = await findProposal(tx, id);
      return row ? { row, redemption: row.status === "approved" ? await findRedemption(tx, row.id) : null } : undefined;
    }),
  );
  const row = found?.row;
  if (!found || !row || !inScope(principal, row)) throw new NotFoundError(`Proposal ${id}`);
  return { row, redeemedAt: found.redemption?.redeemed_at ?? null };
}
