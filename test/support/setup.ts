import net from "node:net";
import dgram from "node:dgram";

// Tests talk only to servers they start on loopback: any other connection,
// TCP (http, fetch, pg) or UDP (DNS), is refused before it leaves the process.
// (nock's interception breaks fetch bodies on Node 20, so the guard sits on
// the sockets themselves.)
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\]|::ffff:127\.\d+\.\d+\.\d+)$/;

function refuse(host: string): never {
  throw new Error(`network access to ${host} is disabled in tests; use a server on loopback`);
}

// Installed once per worker: a worker keeps its modules between files (vitest.config.ts), and this file runs before each.
const GUARDED = Symbol.for("agent-gate.test.network-guard");
const marked = globalThis as { [GUARDED]?: true };
if (!marked[GUARDED]) {
  marked[GUARDED] = true;
  guardSockets();
}

function guardSockets(): void {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const first = args[0];
    let host: string | undefined;
    if (typeof first === "object" && first !== null && !Array.isArray(first)) {
      const options = first as { host?: string; path?: string };
      if (options.path === undefined) host = options.host ?? "localhost";
    } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
      host = typeof args[1] === "string" ? args[1] : "localhost";
    } else if (Array.isArray(first)) {
      const options = first[0] as { host?: string; path?: string } | undefined;
      if (options && options.path === undefined) host = options.host ?? "localhost";
    }
    if (host !== undefined && !LOOPBACK.test(host)) refuse(host);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;

  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function guardedSend(this: dgram.Socket, ...args: unknown[]) {
    const address = args.find((arg, i) => i > 0 && typeof arg === "string" && /[.:]/.test(arg)) as string | undefined;
    if (address !== undefined && !LOOPBACK.test(address)) refuse(address);
    return (send as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;
}
