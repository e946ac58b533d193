import { randomBytes } from "node:crypto";
import { generateKeyEntry } from "../../src/crypto/keyring.ts";
import { recordInstallation, recordRepositories } from "../../src/installations/store.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import type { TestDatabase } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { bearer, issueToken, verifySite } from "./api-harness.ts";

export const REPO = "acme/web";
export const REPO_ID = 11;
export const INSTALLATION = 1;
/** A public repository whose outreach goes to a check run. */
export const PUBLIC_REPO = "acme/site";
/** The agent token's name. */
export const TOKEN_NAME = "deploy-bot";

export interface ReviewWorld {
  fake: GitHubFake;
  app: TestApp;
  /** An agent token of installation 1. */
  agentToken: string;
  keys: string;
  close(): Promise<void>;
}

/**
 * The app on loopback with GitHub sign-in configured against the fake (as a
 * GitHub Enterprise host, so the web flow and the API share it), installation
 * 1 with the private repository acme/web, site example.com verified, and
 * alice (write), rita (read) and the agent deploy-agent known to GitHub; and
 * the public acme/site (alice write, anyone read) whose outreach is a check run.
 */
export async function startReviewWorld(t: TestDatabase, now: () => Date): Promise<ReviewWorld> {
  const keys = generateKeyEntry("k1");
  const fake = await GitHubFake.start();
  // Client secrets are made at run time: none sits in the repository.
  const clientSecret = randomBytes(20).toString("hex");
  fake.setOAuthClient("Iv1.reviewpagetest", clientSecret);
  fake.setRepo(REPO, { private: true, id: REPO_ID, default_branch: "main" });
  fake.setRef(REPO, "heads/main", "a".repeat(40));
  fake.setFile(REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\napprovals: { required: 1 }\n");
  fake.setPermission(REPO, "alice", "write");
  fake.setPermission(REPO, "rita", "read");
  fake.setRepo(PUBLIC_REPO, { private: false, id: 13, default_branch: "main" });
  fake.setRef(PUBLIC_REPO, "heads/main", "c".repeat(40));
  fake.setFile(PUBLIC_REPO, ".github/agent-gate.yml", "agents: [deploy-agent]\noutreach: { mode: check_run }\n");
  fake.setPermission(PUBLIC_REPO, "alice", "write");
  const start = now();
  await recordInstallation(t.db, { id: INSTALLATION, account: "acme" }, start);
  await recordRepositories(
    t.db,
    INSTALLATION,
    [
      { id: REPO_ID, full_name: REPO },
      { id: 13, full_name: PUBLIC_REPO },
    ],
    [],
    start,
  );
  await verifySite(t.db, INSTALLATION, "example.com", start);
  // Named as `token create --name` names it: check runs and the review page show the name as the proposer.
  const agentToken = await issueToken(t.db, start, { name: TOKEN_NAME });
  const app = await startTestApp({
    db: t.db,
    fake,
    now,
    env: {
      AGENT_GATE_KEYS: keys,
      AGENT_GATE_PUBLIC_URL: "",
      GITHUB_CLIENT_ID: "Iv1.reviewpagetest",
      GITHUB_CLIENT_SECRET: clientSecret,
      GHE_HOST: new URL(fake.url).host,
      GHE_PROTOCOL: "http",
    },
  });
  return {
    fake,
    app,
    agentToken,
    keys,
    async close() {
      await app.close();
      await fake.close();
    },
  };
}

/** Submit a proposal through the agent API as the agent; returns its id and digest. */
export async function submit(
  world: ReviewWorld,
  body: Record<string, unknown>,
): Promise<{ id: string; digest: string }> {
  const res = await fetch(`${world.app.url}/api/v1/proposals`, {
    method: "POST",
    headers: bearer(world.agentToken),
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`proposal refused: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; digest: string };
}

export const DEPLOY = {
  kind: "deploy",
  repo: REPO,
  sha: "b".repeat(40),
  environment: "production",
  site: "example.com",
  summary: "Deploy v2 to production",
};
