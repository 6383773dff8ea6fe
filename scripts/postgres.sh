#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: its own data directory, listening only on a unix
# socket in that directory (no TCP port), trust authentication, role `atr`, C collation.
#   scripts/postgres.sh start DIR [PORT]   initialises DIR/data if needed, starts, creates database atr;
#                                          prints the libpq connection string
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh url DIR [PORT]      the connection string
# PostgreSQL refuses to run as root: as root, DIR is handed to the `postgres` user and the
# server runs as that user.
set -euo pipefail
action=${1:?start, stop or url}
dir=${2:?the directory}
port=${3:-5432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "postgres.sh: PostgreSQL is not installed (scripts/install-deps.sh --test installs it)" >&2; exit 1; }
if [ "$action" = stop ] && [ ! -d "$dir" ]; then exit 0; fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    as_owner=(runuser -u postgres --)
fi
url="host=$dir port=$port user=atr dbname=atr"

case "$action" in
url) echo "$url" ;;
start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U atr --locale=C -E UTF8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # fsync off: a test server's data need not survive a power cut.
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
            -o "-k $dir -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    if ! "$bin/psql" -h "$dir" -p "$port" -U atr -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'atr'" | grep -q 1; then
        "$bin/psql" -h "$dir" -p "$port" -U atr -d postgres -qc "CREATE DATABASE atr" >/dev/null
    fi
    echo "$url"
    ;;
stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
*) echo "postgres.sh: unknown action $action" >&2; exit 2 ;;
esac
