#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL server on 127.0.0.1 for the tests and print its URL.
# Installs Debian's postgresql package when no server binaries are present. initdb refuses to
# run as root, so as root the server runs as the postgres user. Stop it with: $0 stop
set -euo pipefail
PORT=${PLAN_ETL_PG_PORT:-55432}
DIR=${PLAN_ETL_PG_DIR:-/tmp/plan-etl-pg}
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
BIN=$(find_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  BIN=$(find_bin)
fi
AS=()
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi
if [ "${1:-start}" = stop ]; then
  [ -f "$DIR/postmaster.pid" ] && "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null || true
  exit 0
fi
if [ ! -f "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  "${AS[@]}" "$BIN/initdb" -D "$DIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
