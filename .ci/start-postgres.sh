#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests, installing
# PostgreSQL through apt when it is missing (which needs root).
#
#   eval "$(.ci/start-postgres.sh)"    # exports PREFETCH_TEST_POSTGRES_DSN and PREFETCH_PG_STATE
#   kill -INT "$(head -1 "$PREFETCH_PG_STATE/data/postmaster.pid")"   # stop it
#
# The port is 5433, or PREFETCH_PG_PORT. Everything it prints on stdout is
# shell to evaluate; progress and errors go to stderr. When PostgreSQL cannot
# be started it says why, stops what it started, prints `false` (so that
# `eval "$(...)" && go test ...` stops too) and exits non-zero.
set -euo pipefail
PORT=${PREFETCH_PG_PORT:-5433}
STATE=
started=

finish() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    if [ -n "$started" ]; then
      kill -INT "$(head -1 "$STATE/data/postmaster.pid" 2>/dev/null)" 2>/dev/null || true
    fi
    echo "start-postgres.sh: no PostgreSQL started (exit status $rc)" >&2
    echo false
  fi
}
trap finish EXIT

# The newest installed version's bin directory, or nothing.
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true; }

PGBIN=$(pgbin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "PostgreSQL is not installed: installing it with apt..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  PGBIN=$(pgbin)
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "apt installed postgresql but there is no /usr/lib/postgresql/*/bin/initdb" >&2
    exit 1
  fi
fi

# initdb refuses to run as root: as root, run the server as postgres.
STATE=$(mktemp -d /tmp/prefetch-pg.XXXXXX)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$STATE"
  as_pg=(runuser -u postgres --)
fi
cd "$STATE" # the server's user may not be able to read the caller's directory

if ! "${as_pg[@]}" "$PGBIN/initdb" -D "$STATE/data" -U postgres -A trust -E UTF8 --no-sync >"$STATE/initdb.log" 2>&1; then
  echo "initdb failed:" >&2
  cat "$STATE/initdb.log" >&2
  exit 1
fi
if ! "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$STATE/data" -l "$STATE/pg.log" -w -t 30 \
  -o "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null 2>&1; then
  echo "PostgreSQL did not start on 127.0.0.1:$PORT; the end of its log ($STATE/pg.log):" >&2
  tail -n 30 "$STATE/pg.log" >&2 || true
  started=1 # pg_ctl may have given up waiting on a server that is running
  exit 1
fi
started=1
"$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE USER app PASSWORD 'app' CREATEROLE" -c "CREATE DATABASE app OWNER app" >&2
echo "PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') is running on 127.0.0.1:$PORT (data in $STATE)" >&2
echo "export PREFETCH_PG_STATE='$STATE'"
echo "export PREFETCH_TEST_POSTGRES_DSN='host=127.0.0.1 port=$PORT user=app password=app dbname=app sslmode=disable'"
