import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { PIPELINE_DEFAULTS, readSettings, settingsOf } from "../../src/config/settings.ts";
import { ValidationError } from "../../src/errors.ts";

const refusal = (env: Record<string, string>): ValidationError => {
  try {
    readSettings(env);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error("the settings were accepted");
};

// Keys made at run time: no key material stands in the repository.
const RSA_PEM = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const EC_PEM = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

describe("the app's settings, read once from the environment", () => {
  it("has a default for everything an empty environment leaves unset", () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({
      appId: undefined,
      privateKey: undefined,
      port: 3000,
      logLevel: "info",
      github: { web: "https://github.com", api: "https://api.github.com", enterprise: false },
      oauth: { clientId: "", clientSecret: "" },
      storage: { databaseUrl: undefined, dataDir: ".agent-gate/data" },
      oidc: null,
      retentionDays: 90,
      sweepIntervalMs: 30_000,
      metricsPort: undefined,
    });
    expect(settings.pipeline).toEqual(PIPELINE_DEFAULTS);
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it("reads GitHub Enterprise, OIDC, the pipeline and the key file", () => {
    const settings = readSettings(
      {
        APP_ID: "123",
        PRIVATE_KEY_PATH: "/keys/app.pem",
        GHE_HOST: "127.0.0.1:3999",
        GHE_PROTOCOL: "http",
        AGENT_GATE_OIDC_AUDIENCE: "agent-gate",
        AGENT_GATE_OIDC_ISSUER: "https://issuer.example.test/",
        AGENT_GATE_INBOX_RETRY_MS: "50",
        AGENT_GATE_METRICS_PORT: "9464",
      },
      { readFile: (path) => (path === "/keys/app.pem" ? RSA_PEM.trim().replace(/\n/g, "\\n") : "") },
    );
    expect(settings.appId).toBe(123);
    expect(settings.privateKey).toBe(RSA_PEM.trim());
    expect(settings.github).toEqual({
      web: "http://127.0.0.1:3999",
      api: "http://127.0.0.1:3999/api/v3",
      enterprise: true,
    });
    expect(settings.oidc).toEqual({ audience: "agent-gate", issuer: "https://issuer.example.test" });
    expect(settings.pipeline.retryBaseMs).toBe(50);
    expect(settings.metricsPort).toBe(9464);
  });

  it("refuses every bad value at once, each naming its variable and what is expected", () => {
    const error = refusal({
      APP_ID: "my-app",
      PORT: "70000",
      LOG_LEVEL: "loud",
      GHE_PROTOCOL: "ftp",
      AGENT_GATE_PUBLIC_URL: "gate.example.com",
      AGENT_GATE_RETENTION_DAYS: "0",
      AGENT_GATE_INBOX_MAX_ATTEMPTS: "-1",
      AGENT_GATE_DNS_TIMEOUT_MS: "soon",
      AGENT_GATE_METRICS_PORT: "metrics",
    });
    expect(error.issues.map((i) => i.field).sort()).toEqual(
      [
        "AGENT_GATE_DNS_TIMEOUT_MS",
        "AGENT_GATE_INBOX_MAX_ATTEMPTS",
        "AGENT_GATE_METRICS_PORT",
        "AGENT_GATE_PUBLIC_URL",
        "AGENT_GATE_RETENTION_DAYS",
        "APP_ID",
        "GHE_PROTOCOL",
        "LOG_LEVEL",
        "PORT",
      ].sort(),
    );
    expect(error.message).toContain("APP_ID: must be the App's numeric id");
    expect(error.message).toContain("PORT: must be a TCP port (0 to 65535)");
    expect(error.message).toContain("AGENT_GATE_PUBLIC_URL: must be an http:// or https:// URL");
  });

  it("refuses a key file it cannot read, naming PRIVATE_KEY_PATH", () => {
    const error = refusal({ PRIVATE_KEY_PATH: "/nonexistent/app.pem" });
    expect(error.issues).toEqual([
      { field: "PRIVATE_KEY_PATH", message: expect.stringContaining("must name a readable file (ENOENT)") },
    ]);
  });

  it("never shows a secret in its JSON or inspected form", () => {
    const secrets = {
      PRIVATE_KEY: RSA_PEM,
      WEBHOOK_SECRET: "whsec-0123456789",
      AGENT_GATE_KEYS: "k1:c2VjcmV0LWtleS1ieXRlcw==",
      GITHUB_CLIENT_SECRET: "oauth-secret-42",
    };
    const settings = readSettings({
      ...secrets,
      APP_ID: "7",
      DATABASE_URL: "postgres://app:db-password-7@db.example.test/gate",
      GITHUB_CLIENT_ID: "Iv1.abc",
    });
    expect(settings.webhookSecret).toBe(secrets.WEBHOOK_SECRET);
    for (const shown of [
      JSON.stringify(settings),
      inspect(settings, { depth: 5 }),
      `${JSON.stringify({ settings })}`,
    ]) {
      for (const secret of [...Object.values(secrets), "db-password-7", RSA_PEM.split("\n")[1]!])
        expect(shown).not.toContain(secret);
      expect(shown).toContain("Iv1.abc");
      expect(shown).toContain("db.example.test");
    }
  });

  it("refuses a private key that does not parse or cannot sign GitHub's RS256, naming the variable and the fix, never the key", () => {
    const garbage = refusal({ APP_ID: "1", PRIVATE_KEY: "not a key" });
    expect(garbage.issues).toEqual([
      {
        field: "PRIVATE_KEY",
        message: expect.stringMatching(
          /^is not a PEM private key .*paste the whole \.pem file GitHub generated for the App/,
        ),
      },
    ]);
    const ec = refusal({ APP_ID: "1", PRIVATE_KEY: EC_PEM });
    expect(ec.issues).toEqual([
      { field: "PRIVATE_KEY", message: expect.stringContaining("is a ec key, and GitHub Apps sign with RS256") },
    ]);
    expect(ec.message).not.toContain(EC_PEM.split("\n")[1]!);
    const fromFile = (() => {
      try {
        readSettings({ APP_ID: "1", PRIVATE_KEY_PATH: "/keys/app.pem" }, { readFile: () => brokenPem() });
      } catch (error) {
        return error as ValidationError;
      }
      throw new Error("accepted");
    })();
    expect(fromFile.issues.map((issue) => issue.field)).toEqual(["PRIVATE_KEY_PATH"]);
  });

  it("refuses half of the App's credentials instead of falling back to the setup page", () => {
    expect(refusal({ APP_ID: "42" }).issues).toEqual([
      {
        field: "PRIVATE_KEY",
        message: expect.stringContaining("is required with APP_ID=42: set PRIVATE_KEY (or PRIVATE_KEY_PATH)"),
      },
    ]);
    expect(refusal({ APP_ID: "42", PRIVATE_KEY: "" }).issues.map((issue) => issue.field)).toEqual(["PRIVATE_KEY"]);
    expect(refusal({ PRIVATE_KEY: RSA_PEM }).issues).toEqual([
      { field: "APP_ID", message: expect.stringContaining("is required with PRIVATE_KEY") },
    ]);
  });

  it("refuses a GHE_HOST with a scheme or a path, saying which two variables to set", () => {
    expect(refusal({ GHE_HOST: "http://127.0.0.1:3999" }).issues).toEqual([
      {
        field: "GHE_HOST",
        message:
          'must be a host name (and port) without a scheme; got "http://127.0.0.1:3999": set GHE_HOST=127.0.0.1:3999 GHE_PROTOCOL=http',
      },
    ]);
    expect(refusal({ GHE_HOST: "https://github.example.com/" }).message).toContain(
      "set GHE_HOST=github.example.com GHE_PROTOCOL=https",
    );
    expect(refusal({ GHE_HOST: "github.example.com/api/v3" }).issues[0]!.field).toBe("GHE_HOST");
    expect(readSettings({ GHE_HOST: "[::1]:3999", GHE_PROTOCOL: "http" }).github.api).toBe("http://[::1]:3999/api/v3");
  });

  it("reads a part alone when another part of the environment is wrong (doctor's diagnosis)", () => {
    const env = { APP_ID: "not-a-number", DATABASE_URL: "postgres://127.0.0.1/gate" };
    expect(() => readSettings(env)).toThrow(/APP_ID/);
    expect(settingsOf(env, ["DATABASE_URL", "AGENT_GATE_DATA_DIR"]).storage.databaseUrl).toBe(
      "postgres://127.0.0.1/gate",
    );
  });
});

// Where the environment may be read. Everything else gets its part of the settings.
const READS_ENV: Record<string, string> = {
  "src/config/settings.ts": "the one reader",
  "src/main.ts": "entry point: loads .env, then hands process.env to start()",
  "src/cli.ts": "entry point: hands process.env to the CLI's context, read once through readSettings",
  "src/cli/context.ts": "the CLI's context carries the environment it reads once through readSettings",
  "src/start.ts": "start(env) reads it once through readSettings",
  "src/cli/doctor.ts": "diagnoses the raw environment, value by value, where readSettings would refuse it whole",
  "src/cli/doctor-github.ts": "diagnoses the raw environment (the App's credentials, the OAuth client, the public URL)",
  "src/cli/token.ts": "records the operator's login ($USER) as who created a token, not a setting",
  "src/mcp/bridge.ts": "the stdio bridge is the agent's program, configured by its own two variables",
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("who reads the environment", () => {
  it("is only the settings module and the entry points", () => {
    const root = join(import.meta.dirname, "..", "..");
    const readers = sources(join(root, "src"))
      .filter((path) => {
        const code = readFileSync(path, "utf8").replace(/^\s*(\/\/|\*).*$/gm, "");
        return /process\.env|\benv\.[A-Z_]+|\benv\[|NodeJS\.ProcessEnv/.test(code);
      })
      .map((path) => relative(root, path).split("\\").join("/"))
      .sort();
    expect(readers.filter((path) => !(path in READS_ENV))).toEqual([]);
  });
});

/** A PEM-shaped text with no key inside, its armour built at run time so no key-like block stands in the repository. */
function brokenPem(): string {
  const label = ["RSA", "PRIVATE", "KEY"].join(" ");
  return `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
}
