import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// No container engine here: the image and compose files are checked as text and parsed, not built.

const dockerfile = readFileSync("Dockerfile", "utf8");
const compose = parse(readFileSync("compose.yaml", "utf8")) as Record<string, any>;

describe("container files", () => {
  it("the Dockerfile builds in stages on Node 24 and runs the compiled app as a non-root user", () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const image of stages) expect(image).toMatch(/^node:24-/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/agent-gate.js"]');
    expect(dockerfile).not.toMatch(/^(RUN|CMD|ENTRYPOINT).*tsx/m);
  });

  it(".dockerignore keeps credentials, local data and build output out of the image", () => {
    const ignored = readFileSync(".dockerignore", "utf8").split("\n").map((line) => line.trim());
    for (const entry of [".env", ".agent-gate", "node_modules", "dist", ".git"]) expect(ignored).toContain(entry);
  });

  it("compose.yaml runs two replicas on one PostgreSQL, migrated first, behind one port", () => {
    const { services } = compose;
    expect(Object.keys(services).sort()).toEqual(["app", "migrate", "postgres", "proxy"]);
    expect(services.app.deploy.replicas).toBe(2);
    expect(services.app.environment.DATABASE_URL).toBe(services.migrate.environment.DATABASE_URL);
    expect(services.app.environment.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
    expect(services.app.env_file).toBe(".env");
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
