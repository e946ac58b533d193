import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { SEALED_COLUMNS } from "../../src/keys/reencrypt.ts";

// The rooms of src/ and who may import whom, as DESIGN.md's layout draws
// them: webhooks/ receives and hands deliveries to gates/ (through Probot's
// dispatch); gates/ gather facts, decide with policy/ and record through
// proposals/; only outbox/ writes to GitHub; policy/ is pure.

const ROOT = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const at = (path: string) => relative(ROOT, path).split("\\").join("/");
/** `src/gates/vote.ts` → `gates`; a file directly in src/ is its own room (`errors.ts`). */
const roomOf = (path: string) => {
  const parts = at(path).split("/");
  return parts[0] === "src" ? (parts.length > 2 ? parts[1]! : parts[1]!) : parts[0]!;
};
/** Code without comments, so a comment that names a module or a table is not an import or a write. */
const codeOf = (path: string) =>
  readFileSync(path, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");

interface Import {
  from: string;
  to: string;
  specifier: string;
}

function importsOf(files: string[]): Import[] {
  return files.flatMap((file) =>
    [...codeOf(file).matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"/g)].map((m) => {
      const specifier = m[1]!;
      return { from: file, to: specifier.startsWith(".") ? resolve(dirname(file), specifier) : specifier, specifier };
    }),
  );
}

const SRC = sources(join(ROOT, "src"));
const IMPORTS = importsOf(SRC);
const SHARED = ["errors.ts", "canonical-json.ts", "version.ts", "loop.ts"];

/**
 * For each room, the rooms of src/ it may import (besides itself and the shared errors, canonical JSON and
 * package version). This is the layout's one rulebook: docs/architecture.md's table is rendered from it and
 * checked below. The entry points (a file directly in src/ that wires rooms) and cli/ have rules too.
 */
const MAY_IMPORT: Record<string, string[]> = {
  config: [],
  policy: [],
  crypto: [],
  http: [],
  db: ["config"],
  audit: ["db", "crypto"],
  keys: ["db", "crypto"],
  tokens: ["db", "audit"],
  installations: ["db", "audit", "proposals"],
  sites: ["db", "audit", "config"],
  github: ["db"],
  proposals: ["db", "audit", "crypto", "policy", "outreach", "sites", "outbox", "notify"],
  outreach: ["db", "crypto", "policy", "proposals"],
  outbox: ["db", "audit", "crypto", "policy", "proposals", "github", "outreach"],
  gates: ["db", "audit", "policy", "proposals", "github", "outbox", "outreach", "sites", "installations", "webhooks"],
  webhooks: ["db", "audit", "github", "http"],
  explain: ["db", "policy"],
  requests: ["db", "audit", "crypto", "config", "keys", "proposals", "tokens"],
  api: ["db", "audit", "crypto", "keys", "sites", "explain", "http", "requests", "tokens"],
  mcp: ["outreach", "proposals", "sites", "http", "requests", "tokens"],
  review: ["db", "audit", "crypto", "config", "policy", "proposals", "gates", "github", "outreach", "http", "notify"],
  notify: ["db", "audit", "crypto", "policy", "proposals", "gates", "github", "outreach", "http"],
  setup: ["config"],
  cli: [
    ...["db", "audit", "config", "crypto", "explain", "github", "installations", "keys", "mcp", "notify", "policy"],
    ...["sites", "tokens", "webhooks", "start.ts"],
  ],
  "log.ts": ["config"],
  "queues.ts": ["db"],
  "ops-metrics.ts": ["db", "github", "queues.ts"],
  "metrics.ts": ["db", "github", "webhooks", "ops-metrics.ts", "queues.ts"],
  "stop-with-parent.ts": [],
  "index.ts": ["gates"],
  "server.ts": [
    ...["api", "audit", "config", "crypto", "db", "gates", "github", "http", "keys", "notify", "outbox", "proposals"],
    ...["sites", "tokens", "webhooks", "index.ts", "metrics.ts"],
    ...["server-github.ts", "server-http.ts", "server-inbox.ts", "server-loops.ts", "server-routes.ts"],
  ],
  "server-github.ts": ["db", "github", "metrics.ts"],
  "server-http.ts": ["http", "webhooks", "metrics.ts"],
  "server-inbox.ts": ["config", "db", "webhooks", "metrics.ts"],
  "server-routes.ts": [
    ...["api", "config", "crypto", "db", "github", "http", "keys", "mcp", "notify", "outbox", "proposals"],
    ...["requests", "review", "sites", "tokens", "metrics.ts"],
  ],
  "server-loops.ts": ["audit", "crypto", "db", "gates", "github", "keys", "notify", "outbox", "sites", "webhooks"],
  "start.ts": ["cli", "config", "crypto", "db", "github", "setup", "log.ts", "server.ts"],
  "main.ts": ["setup", "start.ts", "stop-with-parent.ts"],
  "cli.ts": ["cli", "config", "db"],
};

/** Why a room may import one that its job does not suggest: each allowance here must be in MAY_IMPORT. */
const WHY: Record<string, string> = {
  "gates→outbox": "a gate queues the GitHub writes its decision needs (the outbox's job builders)",
  "proposals→outbox": "the recorder queues a decision's GitHub writes in the transaction that records it",
  "proposals→notify": "the recorder queues a decision's announcement in the transaction that records it",
  "review→gates": "a vote cast on the review page is counted by the same gate as a check-run button's",
  "notify→gates": "a vote cast from Slack is counted by the same gate as a check-run button's",
  "gates→webhooks": "a handler records in the delivery ledger that its delivery was decided, in its own transaction",
  "cli→start.ts": "`agent-gate serve` starts the app as `npm start` does",
};

/** `gates` → `gates/`; a file directly in src/ keeps its name. */
const shown = (room: string) => (room.endsWith(".ts") ? `\`${room}\`` : `\`${room}/\``);

/** The rules as docs/architecture.md shows them, between its `rules` markers. */
function rulesTable(): string {
  const rows = Object.entries(MAY_IMPORT).map(
    ([room, allowed]) => `| ${shown(room)} | ${allowed.length ? allowed.map(shown).join(", ") : "—"} |`,
  );
  const why = Object.entries(WHY).map(([pair, reason]) => {
    const [from, to] = pair.split("→");
    return `- ${shown(from!)} → ${shown(to!)}: ${reason}.`;
  });
  return ["| Room | May import |", "|---|---|", ...rows, "", ...why].join("\n");
}

describe("who may import whom", () => {
  it.each(Object.entries(MAY_IMPORT))("%s imports only what it may", (room, allowed) => {
    const wrong = IMPORTS.filter((i) => roomOf(i.from) === room && i.specifier.startsWith("."))
      .filter((i) => {
        const target = roomOf(i.to);
        return target !== room && !allowed.includes(target) && !SHARED.includes(target);
      })
      .map((i) => `${at(i.from)} → ${at(i.to)}`);
    expect(wrong).toEqual([]);
  });

  it("puts every file of src/ in a room with rules", () => {
    const unruled = [...new Set(SRC.map(roomOf))].filter((room) => !(room in MAY_IMPORT) && !SHARED.includes(room));
    expect(unruled).toEqual([]);
  });

  it("allows only what is used: every allowance is an import some file makes", () => {
    const used = new Set(
      IMPORTS.filter((i) => i.specifier.startsWith(".")).map((i) => `${roomOf(i.from)}→${roomOf(i.to)}`),
    );
    const unused = Object.entries(MAY_IMPORT).flatMap(([room, allowed]) =>
      allowed.filter((target) => !used.has(`${room}→${target}`)).map((target) => `${room}→${target}`),
    );
    expect(unused).toEqual([]);
  });

  it("gives a reason only for an allowance the rules make", () => {
    const stray = Object.keys(WHY).filter((pair) => {
      const [from, to] = pair.split("→");
      return !MAY_IMPORT[from!]?.includes(to!);
    });
    expect(stray).toEqual([]);
  });

  it("is the table docs/architecture.md shows (render it from MAY_IMPORT when they differ)", () => {
    const doc = readFileSync(join(ROOT, "docs", "architecture.md"), "utf8");
    const table = /<!-- rules:start -->\n([\s\S]*?)\n<!-- rules:end -->/.exec(doc)?.[1];
    expect(table, "docs/architecture.md holds the rules between <!-- rules:start --> and <!-- rules:end -->").toBe(
      rulesTable(),
    );
  });

  it("keeps policy/ pure: no storage, GitHub, HTTP, file or clock of its own", () => {
    const impure = IMPORTS.filter((i) => roomOf(i.from) === "policy" && !i.specifier.startsWith("."))
      .filter((i) =>
        /^(node:(fs|http|https|net|dns|child_process)|pg$|@electric-sql|probot|@octokit|octokit)/.test(i.specifier),
      )
      .map((i) => `${at(i.from)} → ${i.specifier}`);
    expect(impure).toEqual([]);
  });

  it("keeps the Action to its own code: it talks to the app over HTTP only", () => {
    const action = importsOf(sources(join(ROOT, "action", "src")));
    const outside = action
      .filter((i) => i.specifier.startsWith(".") && !at(i.to).startsWith("action/src/"))
      .map((i) => `${at(i.from)} → ${at(i.to)}`);
    expect(outside).toEqual([]);
  });
});

describe("GitHub writes", () => {
  // Writes to repositories go through the outbox (paced, retried, idempotent). Two calls are not
  // repository writes: minting a narrowed installation token, and asking GitHub to redeliver a delivery.
  const EXCEPTIONS: Record<string, string> = {
    "src/github/narrowed.ts":
      "POST /app/installations/{id}/access_tokens mints the narrowed token every call runs with",
    "src/webhooks/recover.ts": "POST /app/hook/deliveries/{id}/attempts asks GitHub to send a failed delivery again",
  };
  it("happen only in outbox/", () => {
    const writers = SRC.filter((file) => roomOf(file) !== "outbox")
      .filter((file) =>
        /\.request\(\s*"(POST|PATCH|PUT|DELETE) |\.rest\.[A-Za-z]+\.(create|update|delete|merge|add|remove|set|submit)[A-Za-z]*\(/.test(
          codeOf(file),
        ),
      )
      .map(at);
    expect(writers.filter((file) => !(file in EXCEPTIONS))).toEqual([]);
  });
});

describe("outbox jobs", () => {
  // Each job kind's builder sits next to enqueue in src/outbox/queue.ts; whoever queues a GitHub
  // write (the gates, the recorder, the proposal store) imports them from there, and no module
  // passes them on under its own name.
  const QUEUE = "src/outbox/queue.ts";
  const NAMES = ["enqueue", "syncCheckRun", "reviewDeployment", "openOutreach", "reportMergeGroup", "requestReviewers"];
  const clauses = SRC.flatMap((file) =>
    [...codeOf(file).matchAll(/\b(import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/g)].map((m) => ({
      file: at(file),
      keyword: m[1]!,
      names: m[2]!.split(",").map((name) =>
        name
          .replace(/^\s*type\s+/, "")
          .split(/\s+as\s+/)[0]!
          .trim(),
      ),
      target: m[3]!.startsWith(".") ? at(resolve(dirname(file), m[3]!)) : m[3]!,
    })),
  );

  it("finds the imports it checks", () => {
    expect(clauses.filter((c) => c.target === QUEUE && c.names.includes("enqueue")).length).toBeGreaterThan(3);
  });

  it("imports enqueue and the job builders from src/outbox/queue.ts only", () => {
    const wrong = clauses
      .filter((c) => c.keyword === "import" && c.target !== QUEUE && c.names.some((name) => NAMES.includes(name)))
      .map((c) => `${c.file} imports ${c.names.filter((name) => NAMES.includes(name)).join(", ")} from ${c.target}`);
    expect(wrong).toEqual([]);
  });

  it("re-exports none of them", () => {
    const reexports = clauses
      .filter((c) => c.keyword === "export" && c.names.some((name) => NAMES.includes(name)))
      .map((c) => `${c.file} re-exports from ${c.target}`);
    expect(reexports).toEqual([]);
  });
});

describe("SQL", () => {
  /** Statements that write a table named in the text: INSERT INTO t, UPDATE t, DELETE FROM t (in SQL strings). */
  const named = SRC.flatMap((file) =>
    [...codeOf(file).matchAll(/["'`][^"'`]*?\b(?:INSERT INTO|UPDATE|DELETE FROM)\s+([a-z_]+)\b/g)]
      .filter((m) => !/FOR (NO KEY )?UPDATE|DO UPDATE|ON UPDATE/.test(m[0].slice(-40)))
      .map((m) => ({ file: at(file), room: roomOf(file), table: m[1]! })),
  );

  /** Statements whose table is an identifier spliced in (`UPDATE ${ident(entry.table)}`), by file. */
  const identifierBuilt = SRC.flatMap((file) =>
    [...codeOf(file).matchAll(/`[^`]*?\b(?:INSERT INTO|UPDATE|DELETE FROM)\s+\$\{([^}]*)\}/g)].map((m) => ({
      file: at(file),
      expr: m[1]!.trim(),
    })),
  );

  /**
   * The tables each identifier-built statement can write, read from the fixed registry its identifiers come
   * from, so the owner checks below see those writes as if the table were named.
   */
  const REACHES: Record<string, readonly string[]> = {
    "src/keys/reencrypt.ts": SEALED_COLUMNS.map((entry) => entry.table),
  };

  const writes = [
    ...named,
    ...[...new Set(identifierBuilt.map((statement) => statement.file))].flatMap((file) =>
      (REACHES[file] ?? []).map((table) => ({ file, room: roomOf(join(ROOT, file)), table })),
    ),
  ];

  /** Writes by a room that does not own the table, each with its reason (`file → table`). */
  const CROSS_ROOM: Record<string, string> = {
    "src/keys/reencrypt.ts → proposals_outreach":
      "key rotation re-seals every sealed column under the new key in one transaction, as the table owner; it changes the sealed text only, never what the row says",
    "src/keys/reencrypt.ts → review_sessions":
      "key rotation re-seals every sealed column under the new key in one transaction, as the table owner; it changes the sealed token only, never the session",
  };
  /** A second module of the owning room writing a table, each with its reason (`file → table`). */
  const SECOND_MODULE: Record<string, string> = {
    "src/keys/reencrypt.ts → signing_keys":
      "the key store creates and retires signing keys; key rotation only re-seals their secrets under the new key",
  };
  const excepted = (w: { file: string; table: string }) =>
    `${w.file} → ${w.table}` in CROSS_ROOM || `${w.file} → ${w.table}` in SECOND_MODULE;

  it("sees the tables of identifier-built statements: each file with one says which tables it reaches", () => {
    expect(identifierBuilt.length).toBeGreaterThan(0);
    const unknown = identifierBuilt.filter((s) => !(s.file in REACHES)).map((s) => `${s.file}: \${${s.expr}}`);
    expect(unknown, "list the tables such a statement can write in REACHES").toEqual([]);
    expect(writes).toContainEqual({ file: "src/keys/reencrypt.ts", room: "keys", table: "proposals_outreach" });
  });

  it("states a reason for each exception, and each one is still needed", () => {
    const used = new Set(writes.map((w) => `${w.file} → ${w.table}`));
    for (const [write, reason] of Object.entries({ ...CROSS_ROOM, ...SECOND_MODULE })) {
      expect(reason.length, write).toBeGreaterThan(20);
      expect(used.has(write), `${write} is no longer written; drop its exception`).toBe(true);
    }
  });

  /** Each table and the room that writes it; no other room does. */
  const OWNER: Record<string, string> = {
    agent_tokens: "tokens",
    audit_events: "audit",
    audit_heads: "audit",
    audit_tree_nodes: "audit",
    audit_checkpoints: "audit",
    audit_checkpoint_due: "audit",
    witnesses: "audit",
    audit_cosignatures: "audit",
    audit_retention_policy: "audit",
    github_etags: "github",
    github_rate_limits: "github",
    installations: "installations",
    notify_channels: "notify",
    notify_jobs: "notify",
    notify_pace: "notify",
    notify_messages: "notify",
    notify_schedule: "notify",
    slack_links: "notify",
    slack_link_tokens: "notify",
    slack_replays: "notify",
    installation_repositories: "installations",
    outbox: "outbox",
    outbox_pace: "outbox",
    proposals: "proposals",
    proposal_deadlines: "proposals",
    proposals_outreach: "outreach",
    redemptions: "proposals",
    reviewer_requests: "proposals",
    replica_keys: "keys",
    signing_keys: "keys",
    review_sessions: "review",
    schema_migrations: "db",
    sites: "sites",
    sweep_leases: "webhooks",
    webhook_deliveries: "webhooks",
    webhook_inbox: "webhooks",
    webhook_recovery: "webhooks",
  };

  it("finds the writes it checks", () => {
    expect(new Set(writes.map((w) => w.table)).size).toBeGreaterThan(10);
  });

  it("writes each table only from the room that owns it", () => {
    const wrong = writes
      .filter((w) => OWNER[w.table] !== w.room && !(`${w.file} → ${w.table}` in CROSS_ROOM))
      .map((w) => `${w.file} writes ${w.table} (owned by ${OWNER[w.table] ?? "nobody"})`);
    expect([...new Set(wrong)]).toEqual([]);
  });

  it("holds each room's writes of a table in one module", () => {
    const modules = new Map<string, Set<string>>();
    for (const w of writes.filter((w) => !excepted(w)))
      modules.set(w.table, (modules.get(w.table) ?? new Set()).add(w.file));
    const spread = [...modules]
      .filter(([, files]) => files.size > 1)
      .map(([table, files]) => `${table}: ${[...files].sort().join(", ")}`);
    // Two modules of one room where a table has two jobs, each with its reason.
    const TWO_JOBS: Record<string, string> = {
      "outbox: src/outbox/queue.ts, src/outbox/worker.ts":
        "the queue enqueues a job in its caller's transaction; the worker claims, runs and finishes it",
      "proposals: src/proposals/recorder-bulk.ts, src/proposals/recorder.ts, src/proposals/store.ts":
        "the store inserts a proposal and keeps its check-run id and deadlines; the recorder writes every status and state of one proposal, recorder-bulk those of many at once (a push's supersessions, an uninstall's rejections)",
    };
    expect(spread.filter((line) => !(line in TWO_JOBS))).toEqual([]);
  });

  it("builds no statement from values: only column lists, identifiers from a fixed registry and a lock clause are spliced in", () => {
    const ALLOWED =
      /^(COLUMNS|[A-Z][A-Z_]*|ident\([^)]*\)|lock \? " FOR UPDATE" : ""|forUpdate \? " FOR UPDATE" : ""|installation)$/;
    const spliced = SRC.flatMap((file) =>
      [...codeOf(file).matchAll(/`[^`]*\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^`]*`/g)].flatMap((m) =>
        [...m[0].matchAll(/\$\{([^}]*(?:\}[^`$]*?)?)\}/g)].map((x) => ({ file: at(file), expr: x[1]!.trim() })),
      ),
    );
    // The tenant's id goes into the two statements of db/tenant.ts as a number checked to be an integer first.
    const tenant = (s: { file: string; expr: string }) =>
      s.file === "src/db/tenant.ts" && /^(installationId|APP_ROLE)$/.test(s.expr);
    // A refusal on the embedded database's socket names its reason in the statement that fails with it: text
    // of the guard's own, reduced to letters, digits, spaces and a few marks (no quote, no dollar sign).
    const refusal = (s: { file: string; expr: string }) =>
      s.file === "src/db/socket-guard.ts" && /^(relation|text)$/.test(s.expr);
    expect(
      spliced.filter((s) => !ALLOWED.test(s.expr) && !tenant(s) && !refusal(s)).map((s) => `${s.file}: \${${s.expr}}`),
    ).toEqual([]);
  });
});
