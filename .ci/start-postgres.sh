#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests, installing
# PostgreSQL through apt when it is missing. Needs root (CI runs as root).
#
#   eval "$(.ci/start-postgres.sh)"    # exports PREFETCH_TEST_POSTGRES_DSN and PREFETCH_PG_STATE
#   kill -INT "$(head -1 "$PREFETCH_PG_STATE/data/postmaster.pid")"   # stop it
#
# Everything it prints on stdout is shell to evaluate; progress goes to stderr.
# It exits non-zero, saying why, when PostgreSQL cannot be started.
set -euo pipefail
PORT=${PREFETCH_PG_PORT:-5433}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [ -z "$(pgbin)" ] || [ ! -x "$(pgbin)/initdb" ]; then
  echo "installing PostgreSQL with apt..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
PGBIN=$(pgbin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "PostgreSQL is not installed and could not be installed" >&2
  exit 1
fi

STATE=$(mktemp -d /tmp/prefetch-pg.XXXXXX)
chown postgres:postgres "$STATE"
runuser -u postgres -- "$PGBIN/initdb" -D "$STATE/data" -U postgres -A trust -E UTF8 --no-sync >"$STATE/initdb.log" 2>&1 || {
  echo "initdb failed:" >&2; cat "$STATE/initdb.log" >&2; exit 1; }
if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STATE/data" -l "$STATE/pg.log" -w -t 30 \
  -o "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >&2; then
  echo "PostgreSQL did not start; its log says:" >&2
  tail -n 30 "$STATE/pg.log" >&2 || true
  exit 1
fi
"$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE USER app PASSWORD 'app'" -c "CREATE DATABASE app OWNER app" >&2
echo "export PREFETCH_PG_STATE='$STATE'"
echo "export PREFETCH_TEST_POSTGRES_DSN='host=127.0.0.1 port=$PORT user=app password=app dbname=app sslmode=disable'"
