# Agent Gate: the GitHub App server. Not built in CI here (no container runtime);
# see docs/operations.md.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    PORT=3000 \
    AGENT_GATE_DATA_DIR=/data

WORKDIR /app
COPY package.json package-lock.json ./
# tsx runs the TypeScript sources and is a runtime dependency.
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json app.yml ./

# Run as the image's unprivileged "node" user (uid 1000); /data holds the
# embedded database when DATABASE_URL is not set.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

ENTRYPOINT ["node", "bin/agent-gate.js"]
CMD ["serve"]
