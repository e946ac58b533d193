/** A user's permission on a repository, as GitHub reports it. */
export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** Permissions from weakest to strongest. */
export const PERMISSION_ORDER: readonly Permission[] = ["none", "read", "triage", "write", "maintain", "admin"];

/** Whether `held` is at least `needed`. An unknown permission counts as none. */
export function permissionAtLeast(held: Permission, needed: Permission): boolean {
  return PERMISSION_ORDER.indexOf(held) >= PERMISSION_ORDER.indexOf(needed);
}
