# syntax=docker/dockerfile:1
#
# ecommerce-analytics: the GraphQL API and the BullMQ workers, one image, the command picks the role.
#
#   docker build -t ecommerce-analytics .
#   docker compose up -d                       # api + worker against ClickHouse and Redis (docs/deploy.md)
#   docker run --rm -p 4000:4000 -v ecomm-data:/data \
#     -e ADMIN_API_KEY=... ecommerce-analytics start   # everything in one container, embedded engine
#
# Commands: api (default), worker, start, migrate, generate, version, help.
#
# The embedded engine (chdb, used when CLICKHOUSE_URL is unset) ships as a prebuilt native library
# for linux/amd64 in package-lock.json. On arm64 hosts either build with --platform linux/amd64, or
# use the image only with CLICKHOUSE_URL (the server engine path never loads chdb).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
# Production dependencies only; cached until package.json / package-lock.json change.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (tsc) needs devDependencies and sources that are not
# here. No runtime dependency needs its install script (chdb's libraries and msgpackr's native
# extension come as prebuilt optional packages).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------
# Build: all dependencies + the TypeScript compile into dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# Dependencies first (own layer); `prepare` would run tsc before the sources are copied.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY web ./web
# tsc for the server, then Vite for the dashboard (dist/web).
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Runtime
FROM ${NODE_IMAGE} AS runtime
# redis-server: `start` (the all-in-one mode) runs a private Redis when REDIS_URL is unset.
# api and worker use REDIS_URL and never start it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown node:node /data
WORKDIR /app
# MALLOC_ARENA_MAX=2: glibc keeps 2 malloc arenas instead of up to 16 (docs/deploy.md, "Memory");
# override with -e. Add --max-semi-space-size=4 to NODE_OPTIONS for less memory at a CPU cost.
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps" \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/web ./dist/web
COPY package.json ./
COPY clickhouse ./clickhouse
COPY bin ./bin
# The code is root-owned and read-only for the app; it writes only to DATA_DIR (/data: the embedded
# engine's data, the private Redis, a generated admin key). Mount a volume there for `start`.
USER node
EXPOSE 4000
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["api"]
