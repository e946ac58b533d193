import type { IncomingMessage, ServerResponse } from "node:http";
import { ValidationError } from "../errors.ts";
import { sendError } from "./io.ts";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void>;

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A path with `:name` segments, e.g. `/api/v1/proposals/:id`. */
  path: string;
  handler: RouteHandler;
}

interface Compiled extends Route {
  pattern: RegExp;
  names: string[];
}

/** A small router behind Probot's `addHandler`: answers only the paths it knows. */
export class Router {
  readonly #routes: Compiled[] = [];
  readonly #onError: (error: unknown, ctx: RouteContext) => void;

  constructor(onError: (error: unknown, ctx: RouteContext) => void = () => {}) {
    this.#onError = onError;
  }

  add(...routes: Route[]): this {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.path
        .split("/")
        .map((segment) => {
          if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(segment.slice(1));
          return "([^/]+)";
        })
        .join("/");
      this.#routes.push({ ...route, pattern: new RegExp(`^${source}$`), names });
    }
    return this;
  }

  /** The route pattern a path falls under (e.g. `/api/v1/proposals/:id`), undefined when none. */
  routeFor(pathname: string): string | undefined {
    return this.#routes.find((route) => route.pattern.test(pathname))?.path;
  }

  /** Node handler for Probot's addHandler: true when this router answered. */
  handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const matches = this.#routes.filter((route) => route.pattern.test(url.pathname));
    if (matches.length === 0) return false;
    const route = matches.find((candidate) => candidate.method === req.method);
    const ctx: RouteContext = { req, res, params: {}, query: url.searchParams };
    if (!route) {
      res.writeHead(405, { allow: matches.map((match) => match.method).join(", ") }).end();
      return true;
    }
    const values = route.pattern.exec(url.pathname)?.slice(1) ?? [];
    try {
      route.names.forEach((name, i) => {
        ctx.params[name] = pathParam(name, values[i] ?? "");
      });
      await route.handler(ctx);
    } catch (error) {
      this.#onError(error, ctx);
      sendError(res, error);
    }
    return true;
  };
}

// NUL and other control characters are never part of an id or a domain, and
// PostgreSQL refuses NUL in text: such a parameter is the caller's error (400),
// found before any storage is touched.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's whole job
const CONTROL = /[\u0000-\u001f\u007f]/;

function pathParam(name: string, raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ValidationError([{ field: name, message: "is not valid percent-encoded UTF-8" }]);
  }
  if (CONTROL.test(value)) throw new ValidationError([{ field: name, message: "must not contain control characters" }]);
  return value;
}
