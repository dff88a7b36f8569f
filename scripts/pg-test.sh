#!/usr/bin/env bash
# A throwaway database server under /tmp for the service tests and benchmarks.
#
#   scripts/pg-test.sh start DIR     start one in DIR (created), print its URL, write it to DIR/url
#   scripts/pg-test.sh stop DIR      stop it and remove DIR
#   scripts/pg-test.sh createdb DIR  create a fresh empty database, print its URL
#   scripts/pg-test.sh restart DIR   restart the running server on the same port (clients'
#                                    connections break, as in a real database restart)
#
# The server's data files belong to the postgres user (initdb refuses root), it listens on
# 127.0.0.1 on the first free port from 55440 and on a socket in DIR, and it trades durability for
# speed (fsync off): it is for tests only. Needs the Debian package postgresql
# (scripts/install-deps.sh installs it).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|createdb|restart DIR" >&2; exit 2; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "pg-test: no server binaries; run scripts/install-deps.sh" >&2; exit 1; }

as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

case "$cmd" in
  start)
    if [ -f "$dir/url" ] && as_pg "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      cat "$dir/url"; exit 0
    fi
    rm -rf "$dir"; mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    for port in $(seq 55440 55640); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue  # taken
      if as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
          "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
           -c full_page_writes=off -c max_connections=200" start >/dev/null 2>&1; then
        url="postgresql://postgres@127.0.0.1:$port/postgres"
        echo "$url" >"$dir/url"
        echo "$url"
        exit 0
      fi
    done
    echo "pg-test: could not start a server (see $dir/server.log)" >&2
    exit 1
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  restart)
    [ -d "$dir/data" ] || { echo "pg-test: no server in $dir" >&2; exit 1; }
    # -m fast: sessions are told to end and their connections close, as in a planned restart.
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -m fast restart >/dev/null 2>&1 ||
      { tail -20 "$dir/server.log" >&2; exit 1; }
    ;;
  createdb)
    base=$(cat "$dir/url")
    name="t_$(date +%s%N)_$$_$RANDOM"
    psql "$base" -qAtc "CREATE DATABASE $name" >/dev/null
    echo "${base%/*}/$name"
    ;;
  *) echo "usage: $0 start|stop|createdb|restart DIR" >&2; exit 2 ;;
esac
