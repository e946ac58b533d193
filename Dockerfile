# Agent Gate: the GitHub App server, compiled, on Node 24. Not built in CI here (no container runtime);
# see docs/operations.md. compose.yaml runs two replicas of it on PostgreSQL.

# Build: every dependency, `npm ci` compiles src/ to dist/ (the `prepare` script) with a migrated PGlite template.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/build-dist.mjs ./scripts/
COPY src ./src
RUN npm ci --no-audit --no-fund

# Production dependencies only (no TypeScript, no tsx).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
# HOST=0.0.0.0: port mappings reach the app (and, before the App is registered, the setup page, which still
# asks for the setup code printed in `docker logs`). /data is the working directory and the volume: the
# setup page writes .env there, the app loads it from there at the next start, and the embedded database
# (when DATABASE_URL is unset) lives in /data/db.
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    AGENT_GATE_DATA_DIR=/data/db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json app.yml ./
COPY bin ./bin

# The image's unprivileged "node" user (uid 1000) owns /data, so it can write .env and the database there.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

# node is PID 1 itself, no npm or shell in between: SIGTERM reaches the app, which closes cleanly and exits 0.
ENTRYPOINT ["node", "/app/bin/agent-gate.js"]
CMD ["serve"]
