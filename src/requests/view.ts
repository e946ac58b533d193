import { approverLogins } from "../proposals/redeem.ts";
import type { RequestDeps } from "./deps.ts";
import type { VisibleProposal } from "./read.ts";

/**
 * A proposal's state. It never carries a receipt: a receipt is only the answer
 * of the one successful redemption. An approval says whether it was redeemed.
 */
export function proposalView({ row, redeemedAt }: VisibleProposal): Record<string, unknown> {
  return {
    id: row.id,
    status: row.status,
    kind: row.kind,
    repo: row.repo,
    digest: row.digest,
    approvers: approverLogins(row.approvers),
    decided_at: row.decided_at?.toISOString() ?? null,
    reason: row.reason,
    expires_at: row.expires_at.toISOString(),
    redeemed: redeemedAt !== null,
    redeemed_at: redeemedAt?.toISOString() ?? null,
  };
}

/** The review page of a proposal, on the app's public URL (the same link its check run carries). */
export function reviewPageUrl(deps: Pick<RequestDeps, "settings" | "publicUrl">, id: string): string {
  const configured = deps.publicUrl?.() || deps.settings.publicUrl || `http://localhost:${deps.settings.port}`;
  return `${configured.replace(/\/+$/, "")}/proposals/${encodeURIComponent(id)}`;
}
