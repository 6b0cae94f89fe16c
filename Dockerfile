# One image for the producer (`run`), the sink (`sink`) and the local Pipedrive (`sim`), used by
# docker-compose.yml. The TypeScript sources run as they are through tsx (bin/pipedrive-cdc.mjs), so
# there is no build step; a plain `npm ci` installs everything the command line can load.
FROM node:20-slim

WORKDIR /app

# Dependencies first, so source edits do not re-run the install. NODE_ENV stays unset here: with
# NODE_ENV=production npm ci would leave out the devDependencies.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./

# DuckDB files (SINK_DESTINATION=duckdb) go to /data; mount a volume there to keep them.
RUN mkdir -p /data && chown node:node /data
USER node

# 9464 producer metrics (METRICS_PORT), 9465 sink metrics (SINK_METRICS_PORT), 8080 `sim`.
EXPOSE 9464 9465 8080

ENTRYPOINT ["node", "bin/pipedrive-cdc.mjs"]
CMD ["run"]
