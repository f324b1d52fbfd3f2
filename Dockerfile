# qq-webhook-bridge — one image for every role (gateway, worker, all).
#   docker build -t qq-webhook-bridge .
#   docker run --rm qq-webhook-bridge node dist/cli.js --help
# docker-compose.yml runs it with Redis and a sample receiver (and, in its demo profile, as the QQ simulator);
# see README "Running in production".

# Both stages on one exact Node release (the one the tests run on; undici needs 20.18.1 or later), so a rebuild
# gets the same runtime; raise it deliberately, in both places.
# --- build: dev dependencies, TypeScript compile, then drop the dev dependencies ---
FROM node:20.20.2-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime: production dependencies and dist/ only, as the unprivileged `node` user ---
FROM node:20.20.2-slim
# tini is PID 1: it forwards SIGTERM to node (graceful shutdown: finish in-flight deliveries, persist the gateway
# session) and reaps zombies. Equivalent to `docker run --init`.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  QQWB_CONFIG=/app/config/bridge.yaml
WORKDIR /app
# Code stays owned by root and read-only to the process; only the journal directory is writable.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config/bridge.example.yaml ./config/bridge.example.yaml
COPY schema ./schema
RUN mkdir -p /app/data/journal && chown -R node:node /app/data
USER node
# server.listen: the config must bind 0.0.0.0:9464 inside a container (config/compose.yaml does).
EXPOSE 9464
# Liveness with node itself (no curl in the image): /healthz answers 200 while the process serves.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["tini", "--"]
CMD ["node", "dist/cli.js", "run"]
