#!/usr/bin/env bash
# Starts a throwaway Redis on 127.0.0.1 for the tests, installing redis-server
# through apt when it is missing (which needs root).
#
#   eval "$(.ci/start-redis.sh)"   # exports PREFETCH_TEST_REDIS_ADDR and PREFETCH_REDIS_STATE
#   kill -TERM "$(cat "$PREFETCH_REDIS_STATE/redis.pid")"   # stop it
#
# The port is 6380, or PREFETCH_REDIS_PORT. Nothing is saved to disk. Everything
# it prints on stdout is shell to evaluate; progress and errors go to stderr.
# When Redis cannot be started it says why, stops what it started, prints
# `false` (so that `eval "$(...)" && go test ...` stops too) and exits non-zero.
set -euo pipefail
PORT=${PREFETCH_REDIS_PORT:-6380}
STATE=

finish() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    if [ -n "$STATE" ] && [ -f "$STATE/redis.pid" ]; then
      kill -TERM "$(cat "$STATE/redis.pid")" 2>/dev/null || true
    fi
    echo "start-redis.sh: no Redis started (exit status $rc)" >&2
    echo false
  fi
}
trap finish EXIT

if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server is not installed: installing it with apt..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "apt installed redis-server but it is not on PATH" >&2
    exit 1
  fi
fi

STATE=$(mktemp -d /tmp/prefetch-redis.XXXXXX)
if ! redis-server --bind 127.0.0.1 --port "$PORT" --daemonize yes --save '' --appendonly no \
  --dir "$STATE" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" >&2; then
  echo "redis-server refused to start; its log ($STATE/redis.log):" >&2
  tail -n 30 "$STATE/redis.log" >&2 || true
  exit 1
fi
for _ in $(seq 100); do
  # The Redis answering must be ours, not one already on the port.
  pid=$(redis-cli -h 127.0.0.1 -p "$PORT" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
  if [ -n "$pid" ] && [ -f "$STATE/redis.pid" ] && [ "$pid" = "$(cat "$STATE/redis.pid")" ]; then
    echo "Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') is running on 127.0.0.1:$PORT (state in $STATE)" >&2
    echo "export PREFETCH_REDIS_STATE='$STATE'"
    echo "export PREFETCH_TEST_REDIS_ADDR='127.0.0.1:$PORT'"
    exit 0
  fi
  sleep 0.1
done
echo "Redis did not answer on 127.0.0.1:$PORT; the end of its log ($STATE/redis.log):" >&2
tail -n 30 "$STATE/redis.log" >&2 || true
exit 1
