#!/usr/bin/env bash
# Runs the benchmark suite with enough counts for benchstat and writes the
# results to results/, one raw file per database plus benchstat tables,
# markdown tables and charts:
#
#   results/<stamp>-sqlite.txt, results/<stamp>-postgres.txt   raw go test output
#   results/<stamp>-<db>.benchstat.txt                          benchstat, alternatives as columns
#   results/<stamp>-tables.md, results/<stamp>-*.png            go run ./cmd/chart
#
#   ./run.sh                                  # SQLite; PostgreSQL too when a DSN is set
#   COUNT=10 BENCH=OrdersCustomer ./run.sh
#   DIALECTS=postgres ./run.sh
#   ./run.sh -customers 5000 -max-scope 10000 # any further arguments go to the benchmarks
#
# PostgreSQL: set PREFETCH_BENCH_POSTGRES_DSN (or PREFETCH_TEST_POSTGRES_DSN),
# or start a throwaway cluster with: eval "$(../.ci/start-postgres.sh)"
# benchstat is the version pinned by go.mod's tool directive (go tool benchstat).
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCH=${BENCH:-.}
BENCHTIME=${BENCHTIME:-1s}
if [ -z "${DIALECTS:-}" ]; then
  DIALECTS=sqlite
  if [ -n "${PREFETCH_BENCH_POSTGRES_DSN:-${PREFETCH_TEST_POSTGRES_DSN:-}}" ]; then
    DIALECTS="sqlite postgres"
  fi
fi
stamp=$(date -u +%Y%m%d-%H%M%S)
mkdir -p results
raws=()
for db in ${DIALECTS//,/ }; do
  raw=results/$stamp-$db.txt
  {
    echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- .. 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(go version)"
    echo "# run: COUNT=$COUNT BENCH=$BENCH BENCHTIME=$BENCHTIME -dialects=$db $*"
  } >"$raw"
  go test -run '^$' -bench "$BENCH" -benchmem -count "$COUNT" -benchtime "$BENCHTIME" -timeout 120m . \
    -args -dialects="$db" "$@" | tee -a "$raw"
  # A table per scenario, one column per alternative in the order the
  # scenario runs them, so that "vs base" compares with plain GORM.
  for name in $(sed -n 's/^Benchmark\([A-Za-z0-9]*\).*/\1/p' "$raw" | awk '!seen[$0]++'); do
    echo "== $name"
    go tool benchstat -filter ".name:$name" -col /alt "$raw"
    echo
  done >"results/$stamp-$db.benchstat.txt"
  ln -sf "$stamp-$db.txt" "results/latest-$db.txt"
  raws+=("$raw")
done
go run ./cmd/chart -out "results/$stamp" "${raws[@]}"
echo "results: ${raws[*]}, results/$stamp-*.benchstat.txt, results/$stamp-tables.md, results/$stamp-*.png"
