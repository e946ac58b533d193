import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// No container engine here: the image and compose files are checked as text and parsed, not built.

const dockerfile = readFileSync("Dockerfile", "utf8");
const compose = parse(readFileSync("compose.yaml", "utf8"), { merge: true }) as Record<string, any>;

describe("container files", () => {
  it("the Dockerfile builds in stages on Node 24 and runs the compiled app as a non-root user", () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const image of stages) expect(image).toMatch(/^node:24-/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/bin/agent-gate.js"]');
    expect(dockerfile).not.toMatch(/^(RUN|CMD|ENTRYPOINT).*tsx/m);
  });

  it("runs in /data, a volume the node user owns: the setup page's .env and the embedded database persist there", () => {
    const final = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    // The last WORKDIR is where the process runs, and so where .env is written and loaded (src/setup/env-file.ts).
    const workdirs = [...final.matchAll(/^WORKDIR (\S+)$/gm)].map((m) => m[1]);
    expect(workdirs.at(-1)).toBe("/data");
    expect(final).toMatch(/^RUN mkdir -p \/data && chown node:node \/data/m);
    expect(final.indexOf("chown node:node /data")).toBeLessThan(final.indexOf("USER node"));
    expect(final).toContain('VOLUME ["/data"]');
    expect(final).toMatch(/AGENT_GATE_DATA_DIR=\/data\/db/);
    // The setup page listens on loopback unless HOST is set: in a container, a port mapping needs 0.0.0.0.
    expect(final).toMatch(/HOST=0\.0\.0\.0/);
    expect(final).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it("compose builds the image once, and needs no .env file to exist, but says what to set when a value is missing", () => {
    const { services } = compose;
    const built = Object.entries(services).filter(([, service]: [string, any]) => service.build !== undefined);
    expect(built.map(([name]) => name)).toEqual(["migrate"]);
    expect(services.app.image).toBe(services.migrate.image);
    expect(services.app.pull_policy).toBe("never");
    for (const name of ["app", "migrate"]) {
      expect(services[name].env_file).toEqual([{ path: ".env", required: false }]);
      expect(services[name].environment.AGENT_GATE_KEYS).toMatch(
        /^\$\{AGENT_GATE_KEYS:\?set AGENT_GATE_KEYS in \.env .*openssl rand -base64 32/,
      );
      expect(services[name].environment.APP_ID).toMatch(
        /^\$\{APP_ID:\?set APP_ID, PRIVATE_KEY and WEBHOOK_SECRET in \.env/,
      );
    }
  });

  it(".dockerignore keeps credentials, local data and build output out of the image", () => {
    const ignored = readFileSync(".dockerignore", "utf8")
      .split("\n")
      .map((line) => line.trim());
    for (const entry of [".env", ".agent-gate", "node_modules", "dist", ".git"]) expect(ignored).toContain(entry);
  });

  it("compose.yaml runs two replicas on one PostgreSQL, migrated first, behind one port", () => {
    const { services } = compose;
    expect(Object.keys(services).sort()).toEqual(["app", "migrate", "postgres", "proxy"]);
    expect(services.app.deploy.replicas).toBe(2);
    expect(services.app.environment.DATABASE_URL).toBe(services.migrate.environment.DATABASE_URL);
    expect(services.app.environment.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(services.migrate.command).toEqual(["migrate"]);
    expect(services.app.depends_on.migrate.condition).toBe("service_completed_successfully");
    expect(services.migrate.depends_on.postgres.condition).toBe("service_healthy");
    expect(services.proxy.ports).toEqual(["3000:80"]);
    const nginx = readFileSync(services.proxy.volumes[0].split(":")[0], "utf8");
    expect(nginx).toContain("server app:3000;");
  });

  it("the Action runs on Node 24", () => {
    const action = parse(readFileSync("action/action.yml", "utf8")) as { runs: { using: string; main: string } };
    expect(action.runs).toEqual({ using: "node24", main: "dist/index.js" });
  });
});
