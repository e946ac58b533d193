import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { backend } from "../support/database.ts";
import { GitHubFake } from "../support/github-fake.ts";
import { freePort } from "../support/process-app.ts";
import { deliverTo } from "../support/deliver.ts";
import { agentPullRequest, shaFor } from "../support/pulls.ts";
import { npmStartCommand, ROOT, run, waitFor, type Running } from "../support/dist-app.ts";
import { registerAtGitHub, setupCodeIn, startRegistration } from "../support/setup-flow.ts";

// A new user's first run, with what `npm start` runs (the compiled app): no credentials → the setup page →
// GitHub's manifest flow (the fake) → credentials in .env → `npm start` again with nothing else in the
// environment → ready, and an agent's pull request gets its check run. The embedded database: once is enough.

describe.runIf(backend() === "pglite")(
  "first run: npm start, register the App, npm start again",
  { timeout: 180_000 },
  () => {
    let fake: GitHubFake;
    let cwd: string;
    const running: Running[] = [];

    beforeAll(async () => {
      fake = await GitHubFake.start();
      cwd = mkdtempSync(join(tmpdir(), "agent-gate-first-run-"));
    });
    afterAll(async () => {
      await Promise.all(running.map((r) => r.stop("SIGKILL")));
      await fake?.close();
      rmSync(cwd, { recursive: true, force: true });
    });

    it("registers a working App from the setup page and serves it after a restart", async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const github = new URL(fake.url);
      // The user's own settings, as copied from .env.example: everything else comes from the setup.
      writeFileSync(
        join(cwd, ".env"),
        `# mine\nGHE_HOST=${github.host}\nGHE_PROTOCOL=http\nPORT=${port}\nHOST=127.0.0.1\nLOG_LEVEL=warn\n`,
      );
      const env = { PATH: process.env.PATH, HOME: process.env.HOME };
      expect(npmStartCommand()).toEqual([process.execPath, `${ROOT}dist/main.js`]);
      expect(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start).toBe("exec node dist/main.js");

      const setup = run(npmStartCommand(), cwd, env);
      running.push(setup);
      await waitFor(`${url}/`, 200, setup);
      // Unregistered: alive for a container's health check, not ready, with the reason.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(503);

      // The setup code from the app's log (LOG_LEVEL=warn prints it too), then the page's forms, as a browser submits them.
      const registration = await startRegistration(url, setupCodeIn(setup.output.join("")));
      expect(registration.status).toBe(200);
      expect(registration.action).toBe(`${fake.url}/settings/apps/new?state=${registration.state}`);
      const manifest = JSON.parse(registration.manifest) as Record<string, any>;
      const appYml = parse(readFileSync(join(ROOT, "app.yml"), "utf8")) as Record<string, any>;
      expect(manifest).toEqual({
        name: appYml.name,
        url: appYml.url,
        description: appYml.description,
        public: false,
        default_permissions: appYml.default_permissions,
        default_events: appYml.default_events,
        hook_attributes: { url: `${url}/api/github/webhooks`, active: true },
        redirect_url: `${url}/probot/setup`,
        callback_urls: [`${url}/login/oauth/callback`],
      });
      expect(manifest.description).toContain("maintainer's approval");

      const callback = await registerAtGitHub(registration);
      expect(callback).toMatch(new RegExp(`^${url}/probot/setup\\?code=[0-9a-f]+&state=[A-Za-z0-9_-]+$`));
      const done = await fetch(callback, { headers: { cookie: registration.cookie } });
      const donePage = await done.text();
      expect(done.status, donePage).toBe(200);
      expect(fake.callsTo("POST", "/app-manifests/{code}/conversions")).toHaveLength(1);
      const created = fake.state.createdApps[0]!;
      expect(donePage).toContain(`${fake.url}/apps/${created.slug}/installations/new`);
      expect(donePage).not.toContain(created.client_secret);
      // Accepted once: the same callback again is refused without asking GitHub.
      expect((await fetch(callback, { headers: { cookie: registration.cookie } })).status).toBe(409);
      expect(fake.callsTo("POST", "/app-manifests/{code}/conversions")).toHaveLength(1);

      const dotenv = readFileSync(join(cwd, ".env"), "utf8");
      expect(statSync(join(cwd, ".env")).mode & 0o777).toBe(0o600);
      expect(dotenv).toContain("# mine\n");
      expect(dotenv).toContain(`PORT=${port}\n`);
      const saved = Object.fromEntries(
        ["APP_ID", "WEBHOOK_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"].map((name) => [
          name,
          new RegExp(`^${name}=(.*)$`, "m").exec(dotenv)?.[1],
        ]),
      );
      expect(saved).toEqual({
        APP_ID: String(created.id),
        WEBHOOK_SECRET: created.webhook_secret,
        GITHUB_CLIENT_ID: created.client_id,
        GITHUB_CLIENT_SECRET: created.client_secret,
      });
      expect(dotenv).toContain(`PRIVATE_KEY="${created.pem.trim()}"`);
      for (const secret of [created.webhook_secret, created.client_secret, created.pem.split("\n")[1]!])
        expect(setup.output.join("")).not.toContain(secret);
      expect(await setup.stop("SIGTERM")).toBe(0);

      // The restart: nothing but .env.
      const app = run(npmStartCommand(), cwd, env);
      running.push(app);
      await waitFor(`${url}/readyz`, 200, app);

      const repo = "Codertocat/Hello-World";
      const sha = shaFor(1);
      fake.setFile(repo, ".github/agent-gate.yml", "agents: [first-run-agent]\n");
      const payload = agentPullRequest({ installationId: 1, number: 1, sha, agent: "first-run-agent" });
      const delivered = await deliverTo(url, created.webhook_secret, "pull_request", payload);
      expect(delivered.status).toBe(200);
      // A delivery signed with another secret is refused.
      const forged = await deliverTo(url, "not-the-secret", "pull_request", payload);
      expect([400, 401]).toContain(forged.status);
      const deadline = Date.now() + 30_000;
      while (fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs").length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const checks = fake.callsTo("POST", "/repos/{owner}/{repo}/check-runs");
      expect(checks, app.output.join("")).toHaveLength(1);
      expect(checks[0]!.body).toMatchObject({ name: "Agent Gate", head_sha: sha });
      fake.assertClean();
      expect(await app.stop("SIGTERM")).toBe(0);
    });
  },
);
