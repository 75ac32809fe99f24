# syntax=docker/dockerfile:1
# tokenwire: build the server (tsc) and the demo page (vite), then run them on Node 24 LTS with
# production dependencies only, as a non-root user. docker-compose.yml runs two of these
# behind nginx (deploy/nginx.conf); docs/deployment.md explains the proxy settings.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused until the lockfile changes.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The image runs the Redis fleet too (docker-compose.yml): ioredis, an optional peer of the
# package (a devDependency of the repo), is a dependency here, at the lockfile's version.
RUN npm pkg set dependencies.ioredis="$(node -p "require('./package.json').peerDependencies.ioredis")" && npm pkg delete devDependencies.ioredis
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The `node` user (uid 1000) comes with the official image; the app writes nothing to disk.
USER node
EXPOSE 3000
# The slim image has no curl; Node's fetch does the probe. PORT is read at probe time.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful shutdown: open streams end with server_shutdown + done.
STOPSIGNAL SIGTERM
# V8's young generation capped at 4 MiB semi-spaces (scripts/node-flags.json, as npm start and
# the bench run it): shorter scavenge pauses, the inter-token p99 (README, "What happens in production").
CMD ["node", "--max-semi-space-size=4", "dist/server/standalone/main.js"]
