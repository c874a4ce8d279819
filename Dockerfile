# syntax=docker/dockerfile:1
# Kopitra: one image for every process. `docker run kopitra` starts the whole platform
# (`kopitra up`); `docker run kopitra gateway|management|migrate` runs one part of it.
#
# NODE_IMAGE must be a Debian-based image of a supported Node line, 22 or 24 (the default is
# the official Node 24 LTS one); on a machine that cannot pull, build a local base and pass
# --build-arg NODE_IMAGE=<it>.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile native modules (better-sqlite3) and the TypeScript/console bundles -----
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/engine/package.json packages/engine/
COPY packages/ea-sdk/package.json packages/ea-sdk/
COPY packages/server/package.json packages/server/
COPY packages/functions/package.json packages/functions/
COPY packages/console/package.json packages/console/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages ./packages
RUN npm run build --silent \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf packages/*/src packages/*/tsconfig*.json packages/*/*.tsbuildinfo packages/functions

# --- runtime: compiled output and production dependencies, as an unprivileged user -------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    KOPITRA_HOST=0.0.0.0 \
    KOPITRA_DATA_DIR=/data
RUN groupadd --system --gid 10001 kopitra \
 && useradd --system --uid 10001 --gid kopitra --home-dir /app --shell /usr/sbin/nologin kopitra \
 && mkdir -p /data && chown kopitra:kopitra /data
WORKDIR /app
COPY --from=build --chown=root:root /app /app
COPY --chown=root:root deploy/docker/healthcheck.mjs /app/healthcheck.mjs
USER 10001:10001
# SQLite file (embedded default) and anything the platform writes (reports).
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]
ENTRYPOINT ["node", "/app/packages/server/dist/bin/kopitra.js"]
CMD ["up"]
