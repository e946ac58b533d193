import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import { UnauthorizedError, UnavailableError } from "../errors.ts";

import type { OidcSettings } from "../config/settings.ts";

export { GITHUB_ACTIONS_ISSUER, type OidcSettings } from "../config/settings.ts";

/** The claims of a GitHub Actions OIDC token the gate relies on. */
export interface ActionsClaims {
  repository: string;
  repository_id: string | null;
  /** The user who started the workflow run the run belongs to; kept on a re-run. */
  actor: string;
  /** The user who triggered this run (on a re-run, whoever clicked re-run); else the actor. */
  triggering_actor: string;
  ref: string;
  sha: string;
  run_id: string;
  /** The workflow file and ref the run belongs to (`owner/repo/.github/workflows/x.yml@refs/heads/main`); null when absent. */
  workflow_ref: string | null;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * Verifies Actions OIDC tokens against the issuer's JWKS, found through its
 * openid-configuration. The key set is fetched once and refreshed by jose when
 * an unknown key id appears.
 */
export class OidcVerifier {
  readonly settings: OidcSettings;
  #keys: Promise<KeySet> | null = null;

  constructor(settings: OidcSettings) {
    this.settings = settings;
  }

  async verify(token: string, now: Date): Promise<ActionsClaims> {
    const keys = await this.#keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ["RS256"],
        currentDate: now,
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof errors.JWKSTimeout)
        throw new UnavailableError("The OIDC issuer did not answer; try again.", error);
      if (error instanceof errors.JOSEError) throw new UnauthorizedError(error);
      throw new UnavailableError("The OIDC issuer's keys could not be read; try again.", error);
    }
    return actionsClaims(payload);
  }

  #keySet(): Promise<KeySet> {
    if (!this.#keys) {
      this.#keys = discoverJwks(this.settings.issuer).catch((error: unknown) => {
        this.#keys = null;
        throw new UnavailableError("The OIDC issuer's configuration could not be read; try again.", error);
      });
    }
    return this.#keys;
  }
}

async function discoverJwks(issuer: string): Promise<KeySet> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`openid-configuration answered ${response.status}`);
  const config = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
  if (typeof config.jwks_uri !== "string") throw new Error("openid-configuration has no jwks_uri");
  return createRemoteJWKSet(new URL(config.jwks_uri), { timeoutDuration: 5_000 });
}

function actionsClaims(payload: JWTPayload): ActionsClaims {
  const text = (name: string): string => {
    const value = payload[name];
    if (typeof value !== "string" || value === "") throw new UnauthorizedError(`claim ${name} is missing`);
    return value;
  };
  const repositoryId = payload.repository_id;
  return {
    repository: text("repository"),
    repository_id: typeof repositoryId === "string" ? repositoryId : null,
    actor: text("actor"),
    triggering_actor:
      typeof payload.triggering_actor === "string" && payload.triggering_actor !== ""
        ? payload.triggering_actor
        : text("actor"),
    ref: text("ref"),
    sha: text("sha"),
    run_id: text("run_id"),
    workflow_ref: typeof payload.workflow_ref === "string" && payload.workflow_ref !== "" ? payload.workflow_ref : null,
  };
}

const verifiers = new Map<string, OidcVerifier>();

/** One verifier per issuer and audience, so the key set is cached across requests. */
export function oidcVerifierFor(settings: OidcSettings | null): OidcVerifier | null {
  if (!settings) return null;
  const key = `${settings.issuer}\n${settings.audience}`;
  let verifier = verifiers.get(key);
  if (!verifier) {
    verifier = new OidcVerifier(settings);
    verifiers.set(key, verifier);
  }
  return verifier;
}
