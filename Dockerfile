# One image for the producer (`run`), the sink (`sink`) and the local Pipedrive (`sim`), used by
# docker-compose.yml. Two stages: `build` compiles the TypeScript sources to dist/ with the dev tools;
# the runtime stage holds the production dependencies and dist/ only (no tsx, no TypeScript, no tests),
# and runs as the unprivileged `node` user. test/dockerfile.test.ts checks this file against the repository.
#
# Node 24 (Active LTS). The code also runs on Node 20.18+ (package.json engines), where it is tested.

FROM node:24-slim AS build
WORKDIR /app
# Dependencies first, so source edits do not re-run the install. --ignore-scripts: `prepare` (the build)
# would run before the sources are copied; it runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Production dependencies only, from the lockfile. No dependency needs an install script (the DuckDB
# binding is a prebuilt per-platform package), and `prepare` needs the dev tools, so scripts stay off.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist

# DuckDB files (SINK_DESTINATION=duckdb) go to /data; mount a volume there to keep them.
RUN mkdir -p /data && chown node:node /data
USER node

# 9464 producer metrics (METRICS_PORT), 9465 sink metrics (SINK_METRICS_PORT), 8080 `sim`.
EXPOSE 9464 9465 8080

ENTRYPOINT ["node", "dist/cli.js"]
CMD ["run"]
