import type { GitHubClient } from "./client.ts";
import { permissionsFor, type Access, type AnyOperationName, type NarrowedClient } from "./operations.ts";

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

// The decoration (metrics) of every client of one Octokit class, registered by
// the server, so a webhook handler's narrowed clients (made from Probot's
// context.octokit) and the token requests made for them are counted too.
const decorations = new WeakMap<object, (client: GitHubClient, installationId: number) => GitHubClient>();

/** Decorate every client later narrowed from clients of this one's class, and the base clients when they mint. */
export function decorateClientsOf(
  client: GitHubClient,
  decorate: (client: GitHubClient, installationId: number) => GitHubClient,
): void {
  decorations.set(client.constructor, decorate);
}

function decorationOf(
  base: GitHubClient,
  options: NarrowOptions,
): ((client: GitHubClient, installationId: number) => GitHubClient) | undefined {
  return options.decorate ?? decorations.get(base.constructor);
}

/** The cache key: installation, repository and the exact permission set. */
export function tokenKey(installationId: number, repoId: number | string, permissions: Record<string, Access>): string {
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
  operationNames: readonly AnyOperationName[],
  options: NarrowOptions = {},
): Promise<GitHubClient> {
  if (!Number.isSafeInteger(repoId) || repoId <= 0)
    throw new Error(`a narrowed GitHub token needs a repository id, got ${String(repoId)}`);
  return narrowed(
    base,
    installationId,
    { repository_ids: [repoId] },
    tokenKey(installationId, repoId, permissionsFor(operationNames)),
    operationNames,
    options,
  );
}

/**
 * The same for a repository of the installation's own account named rather
 * than numbered (the owner's `.github` repository): the token is asked with
 * `repositories: [name]`. GitHub refuses it (422) when the installation cannot
 * reach that repository.
 */
export async function narrowFromNamed(
  base: GitHubClient,
  installationId: number,
  name: string,
  operationNames: readonly AnyOperationName[],
  options: NarrowOptions = {},
): Promise<GitHubClient> {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name))
    throw new Error(`a narrowed GitHub token needs a repository name, got ${JSON.stringify(name)}`);
  return narrowed(
    base,
    installationId,
    { repositories: [name] },
    tokenKey(installationId, `name:${name.toLowerCase()}`, permissionsFor(operationNames)),
    operationNames,
    options,
  );
}

async function narrowed(
  base: GitHubClient,
  installationId: number,
  scope: { repository_ids: number[] } | { repositories: string[] },
  key: string,
  operationNames: readonly AnyOperationName[],
  options: NarrowOptions,
): Promise<GitHubClient> {
  const permissions = permissionsFor(operationNames);
  const now = options.now ?? (() => new Date());
  const decorate = decorationOf(base, options);
  const token = await cachedToken(cacheOf(base), key, now, () =>
    mintToken(decorated(base, decorate, installationId), installationId, scope, permissions),
  );
  // One client per token (and decoration): building an Octokit is not free, and a token is reused for an hour.
  let made = clients.get(token);
  if (!made) {
    made = new Map();
    clients.set(token, made);
  }
  let client = made.get(decorate ?? null);
  if (!client) {
    const Client = base.constructor as new (options: { auth: { token: string } }) => GitHubClient;
    const plain = new Client({ auth: { token: token.token } });
    client = decorate ? decorate(plain, installationId) : plain;
    made.set(decorate ?? null, client);
  }
  return client;
}

type Decorate = (client: GitHubClient, installationId: number) => GitHubClient;

const decoratedBases = new WeakMap<object, Set<Decorate>>();

/** The base client with the decoration applied once, so its token requests are counted too. */
function decorated(base: GitHubClient, decorate: Decorate | undefined, installationId: number): GitHubClient {
  if (!decorate) return base;
  let applied = decoratedBases.get(base);
  if (!applied) {
    applied = new Set();
    decoratedBases.set(base, applied);
  }
  if (!applied.has(decorate)) {
    applied.add(decorate);
    decorate(base, installationId);
  }
  return base;
}

const clients = new WeakMap<Token, Map<Decorate | null, GitHubClient>>();

/** `narrowedClient(installationId, repoId, operationNames)` over an installation client factory. */
export function narrowedClients(github: GitHubFactory, options: { now?: () => Date } = {}): NarrowedClient {
  return async (installationId, repoId, operationNames) =>
    narrowFrom(await github(installationId), installationId, repoId, operationNames, {
      ...options,
      ...(github.decorate ? { decorate: github.decorate } : {}),
    });
}

async function cachedToken(
  cache: Map<string, Slot>,
  key: string,
  now: () => Date,
  mint: () => Promise<Token>,
): Promise<Token> {
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

async function mintToken(
  base: GitHubClient,
  installationId: number,
  scope: { repository_ids: number[] } | { repositories: string[] },
  permissions: Record<string, Access>,
): Promise<Token> {
  // An /app/ route: the app's auth hook signs it with the app's JWT, whatever the client's installation.
  const { data } = await base.request("POST /app/installations/{installation_id}/access_tokens", {
    installation_id: installationId,
    ...scope,
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
export async function narrowedForEvent(
  context: EventContext,
  operationNames: readonly AnyOperationName[],
  options: NarrowOptions = {},
): Promise<GitHubClient> {
  const payload = context.payload as { installation?: { id?: number }; repository?: { id?: number } };
  const installationId = payload.installation?.id;
  const repoId = payload.repository?.id;
  if (!installationId || !repoId)
    throw new Error("a narrowed GitHub token needs the event's installation and repository");
  return narrowFrom(context.octokit as GitHubClient, installationId, repoId, operationNames, options);
}
