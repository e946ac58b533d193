import type { Queryable } from "../db/database.ts";

/** The installation a proposal id belongs to (proposal_directory), read before any tenant is known. */
export async function installationOfProposal(db: Queryable, proposalId: string): Promise<number | undefined> {
  const [row] = await db.query<{ installation_id: number }>(
    "SELECT installation_id FROM proposal_directory WHERE proposal_id = $1",
    [proposalId],
  );
  return row?.installation_id;
}
