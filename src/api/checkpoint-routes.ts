import type { Database } from "../db/database.ts";
import { latestCheckpoint } from "../audit/checkpoint.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { Route } from "../http/router.ts";

/**
 * GET /.well-known/agent-gate/checkpoints/<installation id>: the installation's
 * latest signed checkpoint (C2SP tlog-checkpoint in a signed note), public like
 * the keys, so anyone may keep a copy and later hold the log to it.
 */
export function checkpointRoutes(db: Database): Route[] {
  return [
    {
      method: "GET",
      path: "/.well-known/agent-gate/checkpoints/:installation",
      handler: async ({ res, params }) => {
        const text = params.installation ?? "";
        const id = Number(text);
        if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(id)) {
          throw new ValidationError([{ field: "installation", message: "must be a numeric installation id" }]);
        }
        const latest = await db.tenant(id, (tx) => latestCheckpoint(tx, id));
        if (!latest) throw new NotFoundError(`A checkpoint of installation ${id}`);
        res.writeHead(200, {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "public, max-age=30",
          "x-content-type-options": "nosniff",
        });
        res.end(latest.note);
      },
    },
  ];
}
