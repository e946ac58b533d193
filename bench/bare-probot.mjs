// The baseline of the start-up benchmark: a bare Probot app (no handlers, no database) in its own process,
// answering /readyz once it listens. Usage: node bench/bare-probot.mjs <port>
import { createServer } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import { Probot, createNodeMiddleware } from "probot";

const privateKey =
  process.env.PRIVATE_KEY ??
  generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const probot = new Probot({ appId: 1, privateKey, secret: "bench-secret" });
const middleware = await createNodeMiddleware(() => {}, { probot });
createServer(async (req, res) => {
  if (req.url === "/readyz") return res.writeHead(200).end("ok");
  if (!(await middleware(req, res))) res.writeHead(404).end();
}).listen(Number(process.argv[2]), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
