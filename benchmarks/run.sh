#!/usr/bin/env bash
# Runs the benchmark suite with enough counts for benchstat and writes the
# results to results/: raw output, benchstat tables, and charts.
#
#   ./run.sh                 # SQLite; PostgreSQL too when a DSN is set
#   COUNT=10 BENCH=OrdersCustomer ./run.sh
#
# PostgreSQL: set PREFETCH_BENCH_POSTGRES_DSN (or PREFETCH_TEST_POSTGRES_DSN),
# or start a throwaway cluster with: eval "$(../.ci/start-postgres.sh)"
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCH=${BENCH:-.}
BENCHTIME=${BENCHTIME:-1s}
stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p results
raw=results/$stamp.txt
{
  echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version)"
} >"$raw"
go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" -timeout 120m ./... | tee -a "$raw"
go tool benchstat -col /.name "$raw" >"results/$stamp.benchstat.txt" 2>/dev/null || go tool benchstat "$raw" >"results/$stamp.benchstat.txt"
go run ./cmd/chart -in "$raw" -out "results/$stamp"
ln -sf "$stamp.txt" results/latest.txt
echo "results: $raw, results/$stamp.benchstat.txt, results/$stamp-tables.md, results/$stamp-*.png"
