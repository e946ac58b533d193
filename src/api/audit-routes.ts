import type { IncomingMessage, ServerResponse } from "node:http";
import type { Database } from "../db/database.ts";
import type { Signer } from "../crypto/signer.ts";
import { ValidationError } from "../errors.ts";
import { exportAudit, type AuditExport } from "../audit/export.ts";
import { parseExportRequest, type ExportFormat } from "../audit/filters.ts";
import { appendAudit } from "../audit/log.ts";
import { checkpointNow } from "../audit/checkpoint-store.ts";
import { sendJson } from "../http/io.ts";
import type { Route } from "../http/router.ts";

export interface AuditRouteDeps {
  db: Database;
  now: () => Date;
  signer: () => Promise<Signer>;
  /** Authenticates an admin token; the installation comes from the token, never the query. */
  requireAdmin: (req: IncomingMessage) => Promise<{ installationId: number; actor: string }>;
}

/** Header of an export response: the chain head it stops at, to ask for its manifest with. */
export const THROUGH_SEQ_HEADER = "x-agent-gate-through-seq";

const CONTENT_TYPE: Record<ExportFormat, string> = {
  jsonl: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8; header=present",
};

/**
 * GET /api/v1/audit/export streams the body; its manifest is served by
 * GET /api/v1/audit/export/manifest with the same filters plus through_seq
 * (from the export's x-agent-gate-through-seq header), computed the same way.
 * GET /api/v1/audit/checkpoint signs and serves a checkpoint of the tree as it is now (C2SP signed note).
 */
export function auditRoutes(deps: AuditRouteDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/api/v1/audit/export",
      async handler({ req, res, query }) {
        const admin = await deps.requireAdmin(req);
        const { filters, format } = parseExportRequest(read(query));
        const now = deps.now();
        const out = exportAudit(
          deps.db,
          { installationId: admin.installationId, format, ...filters },
          await deps.signer(),
          now,
        );
        await stream(res, out, format);
        const manifest = await out.manifest;
        await deps.db.tenant(admin.installationId, (tx) =>
          appendAudit(
            tx,
            admin.installationId,
            {
              action: "audit.exported",
              outcome: "ok",
              actor: admin.actor,
              data: { format, filters: manifest.filters, count: manifest.count, body_sha256: manifest.body_sha256 },
            },
            now,
          ),
        );
      },
    },
    {
      method: "GET",
      path: "/api/v1/audit/export/manifest",
      async handler({ req, res, query }) {
        const admin = await deps.requireAdmin(req);
        const { filters, format } = parseExportRequest(read(query));
        const throughSeq = Number(query.get("through_seq") ?? "");
        if (!query.get("through_seq") || !Number.isSafeInteger(throughSeq) || throughSeq < 0) {
          throw new ValidationError([
            { field: "through_seq", message: `required: the ${THROUGH_SEQ_HEADER} header of the export response` },
          ]);
        }
        const out = exportAudit(
          deps.db,
          { installationId: admin.installationId, format, ...filters, throughSeq },
          await deps.signer(),
          deps.now(),
        );
        for await (const _chunk of out.body) {
          // Only the digest and counts are needed.
        }
        sendJson(res, 200, await out.manifest);
      },
    },
    {
      method: "GET",
      path: "/api/v1/audit/checkpoint",
      async handler({ req, res }) {
        const admin = await deps.requireAdmin(req);
        const signer = await deps.signer();
        const { note } = await deps.db.tenant(admin.installationId, (tx) =>
          checkpointNow(tx, admin.installationId, signer, deps.now()),
        );
        res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        });
        res.end(note);
      },
    },
  ];
}

function read(query: URLSearchParams) {
  return {
    since: query.get("since"),
    until: query.get("until"),
    repo: query.get("repo"),
    action: query.get("action"),
    format: query.get("format"),
  };
}

/** Write the body in chunks, waiting for the socket to drain; headers go once the range is known. */
async function stream(res: ServerResponse, out: AuditExport, format: ExportFormat): Promise<void> {
  const iterator = out.body[Symbol.asyncIterator]();
  let next = await iterator.next();
  res.writeHead(200, {
    "content-type": CONTENT_TYPE[format],
    "content-disposition": `attachment; filename="audit-export.${format}"`,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    [THROUGH_SEQ_HEADER]: String(out.throughSeq() ?? 0),
  });
  try {
    while (!next.done) {
      if (!res.write(next.value)) await drained(res);
      next = await iterator.next();
    }
  } catch (error) {
    await iterator.return?.(undefined);
    throw error;
  }
  await new Promise<void>((resolve) => res.end(resolve));
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      res.off("close", closed);
      resolve();
    };
    const closed = () => {
      res.off("drain", done);
      reject(new Error("the client closed the connection during the export"));
    };
    res.once("drain", done);
    res.once("close", closed);
  });
}
