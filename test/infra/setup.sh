#!/usr/bin/env bash
# First step of `npm test`: make sure everything the integration tests start locally is already in the
# cache (<repo>/.infra, or $PIPEDRIVE_CDC_CACHE): Kafka jars, Apicurio and the Kafka Connect worker with its
# plugins from Maven Central, Prometheus from Debian's .deb, PostgreSQL from Debian. Idempotent: a warm
# cache costs a second or two.
# Needs Node (with this repo's node_modules), and for local services Java 17 (Apicurio: 21+), Maven, apt.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d node_modules/tsx ]; then
  echo "test/infra/setup.sh: node_modules is missing; run 'npm ci' first" >&2
  exit 1
fi
# The TypeScript installers (src/infra/install.ts) are the single source of truth; they report a
# missing java/mvn/apt-get as one clear error naming what to install.
exec node --import tsx test/infra/prefetch.ts
