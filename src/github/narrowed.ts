import type { GitHubClient } from "./client.ts";
import { permissionsFor, type Access, type NarrowedClient, type OperationName } from "./operations.ts";

/** A cached token is replaced this long before GitHub says it expires. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Makes installation clients. `decorate`, when present, is applied to every
 * client made from it, narrowed ones included (metrics hooks).
 */
export interface GitHubFactory {
  (installationId: number): Promise<GitHubClient>;
  decorate?: (client: GitHubClient, installationId: number) => GitHubClient;
}

export interface NarrowOptions {
  now?: () => Date;
  decorate?: (client: GitHubClient, installationId: number) => GitHubClient;
}

interface Token {
  token: string;
  expiresAt: Date;
}

interface Slot {
  token?: Token;
  pending?: Promise<Token>;
}

// One cache per Octokit class. Probot makes one class per Probot instance, and
// both `probot.auth(id)` and the webhook handlers' `context.octokit` are of it,
// so the handlers and the outbox share tokens, and two apps never do.
const caches = new WeakMap<object, Map<string, Slot>>();

function cacheOf(base: GitHubClient): Map<string, Slot> {
  const owner = base.constructor;
  let cache = caches.get(owner);
  if (!cache) {
    cache = new Map();
    caches.set(owner, cache);
  }
  return cache;
}

/** The cache key: installation, repository and the exact permission set. */
export function tokenKey(installationId: number, repoId: number, permissions: Record<string, Access>): string {
  return `${installationId}/${repoId}/${Object.entries(permissions)
    .map(([name, access]) => `${name}:${access}`)
    .join(",")}`;
}

/**
 * A client for one repository whose token holds only what the named
 * operations need. `base` is any client authenticated as the app's
 * installation (Probot's); the narrowed token is asked of GitHub with the
 * app's credentials (POST /app/installations/{id}/access_tokens with
 * `permissions` and `repository_ids`) and reused until five minutes before it
 * expires. The client is of the same class as `base`, so it keeps the app's
 * base URL, throttling, retries and logger.
 */
export async function narrowFrom(
  base: GitHubClient,
  installationId: number,
  repoId: number,
  operationNames: readonly OperationName[],
  options: NarrowOptions = {},
): Promise<GitHubClient> {
  if (!Number.isSafeInteger(repoId) || repoId <= 0) throw new Error(`a narrowed GitHub token needs a repository id, got ${String(repoId)}`);
  const permissions = permissionsFor(operationNames);
  const now = options.now ?? (() => new Date());
  const token = await cachedToken(cacheOf(base), tokenKey(installationId, repoId, permissions), now, () =>
    mintToken(base, installationId, repoId, permissions),
  );
  // One client per token (and decoration): building an Octokit is not free, and a token is reused for an hour.
  let made = clients.get(token);
  if (!made) {
    made = new Map();
    clients.set(token, made);
  }
  let client = made.get(options.decorate ?? null);
  if (!client) {
    const Client = base.constructor as new (options: { auth: { token: string } }) => GitHubClient;
    const plain = new Client({ auth: { token: token.token } });
    client = options.decorate ? options.decorate(plain, installationId) : plain;
    made.set(options.decorate ?? null, client);
  }
  return client;
}

const clients = new WeakMap<Token, Map<((client: GitHubClient, installationId: number) => GitHubClient) | null, GitHubClient>>();

/** `narrowedClient(installationId, repoId, operationNames)` over an installation client factory. */
export function narrowedClients(github: GitHubFactory, options: { now?: () => Date } = {}): NarrowedClient {
  return async (installationId, repoId, operationNames) =>
    narrowFrom(await github(installationId), installationId, repoId, operationNames, {
      ...options,
      ...(github.decorate ? { decorate: github.decorate } : {}),
    });
}

async function cachedToken(cache: Map<string, Slot>, key: string, now: () => Date, mint: () => Promise<Token>): Promise<Token> {
  let slot = cache.get(key);
  if (slot?.token && slot.token.expiresAt.getTime() - REFRESH_BEFORE_MS > now().getTime()) return slot.token;
  if (slot?.pending) return slot.pending;
  slot ??= {};
  cache.set(key, slot);
  const current = slot;
  const pending = mint().then(
    (token) => {
      current.token = token;
      delete current.pending;
      return token;
    },
    (error: unknown) => {
      delete current.pending;
      throw error;
    },
  );
  current.pending = pending;
  return pending;
}

async function mintToken(base: GitHubClient, installationId: number, repoId: number, permissions: Record<string, Access>): Promise<Token> {
  // An /app/ route: the app's auth hook signs it with the app's JWT, whatever the client's installation.
  const { data } = await base.request("POST /app/installations/{installation_id}/access_tokens", {
    installation_id: installationId,
    repository_ids: [repoId],
    permissions,
  });
  return { token: data.token, expiresAt: new Date(data.expires_at) };
}

/** What a webhook handler's context offers: its installation client and payload. */
export interface EventContext {
  octokit: unknown;
  payload: unknown;
}

/**
 * A narrowed client for a webhook handler's reads, for the event's own
 * installation and repository.
 */
export async function narrowedForEvent(context: EventContext, operationNames: readonly OperationName[], options: NarrowOptions = {}): Promise<GitHubClient> {
  const payload = context.payload as { installation?: { id?: number }; repository?: { id?: number } };
  const installationId = payload.installation?.id;
  const repoId = payload.repository?.id;
  if (!installationId || !repoId) throw new Error("a narrowed GitHub token needs the event's installation and repository");
  return narrowFrom(context.octokit as GitHubClient, installationId, repoId, operationNames, options);
}
