#!/usr/bin/env bash
# Runs one integration test file N times in a row (default 20), stopping at the first failure, and prints
# each run's duration: the check that a test has no rare stall or flake. Set KAFKA_BROKERS,
# SCHEMA_REGISTRY_URL and DATABASE_URL to share running services between the runs; otherwise each run
# starts its own. Usage: test/loop.sh test/integration/differential.test.ts [N]
set -uo pipefail
cd "$(dirname "$0")/.."
file=${1:?usage: test/loop.sh <test file> [runs]}
runs=${2:-20}
log_dir=$(mktemp -d)
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if npx vitest run --project integration "$file" > "$log_dir/run-$i.log" 2>&1; then
    echo "run $i/$runs: passed in $(( $(date +%s) - start )) s"
  else
    echo "run $i/$runs: FAILED after $(( $(date +%s) - start )) s; output: $log_dir/run-$i.log"
    exit 1
  fi
done
echo "all $runs runs passed ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores); logs: $log_dir"
