/** The result of one verification attempt, by either method. */
export type CheckOutcome =
  /** The challenge was found where it belongs. */
  | "verified"
  /** No record or file at all (NXDOMAIN, NODATA, HTTP 404). */
  | "not_found"
  /** Records or a file exist, but none holds this site's challenge. */
  | "mismatch"
  /** The check was refused on principle: redirect to another host, oversized file. */
  | "refused"
  /** Timeout, SERVFAIL, REFUSED, network or TLS failure: nothing is known, so nothing is verified. */
  | "could_not_check";

export interface CheckResult {
  outcome: CheckOutcome;
  /** Why, for the admin and the audit log; never holds fetched content. */
  reason: string;
}
