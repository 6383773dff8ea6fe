#!/usr/bin/env bash
# Starts or stops the local stack: nginx (TLS) → atr-fcgi (FastCGI socket) → SQLite, plus
# atr-scheduler. Everything lives under STATE_DIR; pid files in STATE_DIR/run.
#   STATE_DIR  state directory (default: var)
#   BIN_DIR    where the binaries are (default: .build/release)
#   ATR_INSTANCE_SETTINGS  settings overlay (default: STATE_DIR/appsettings.instance.json)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p "${STATE_DIR:-var}"
state=$(cd "${STATE_DIR:-var}" && pwd)
bin=${BIN_DIR:-.build/release}
export ATR_INSTANCE_SETTINGS=${ATR_INSTANCE_SETTINGS:-$state/appsettings.instance.json}
run="$state/run"

pid_alive() { local pid; pid=$(cat "$1" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }

stop_pid() { # pidfile name
    local pidfile=$1 name=$2
    if pid_alive "$pidfile"; then
        kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
        for _ in $(seq 1 50); do pid_alive "$pidfile" || break; sleep 0.1; done
        if pid_alive "$pidfile"; then kill -KILL "$(cat "$pidfile")" 2>/dev/null || true; fi
        echo "stopped $name"
    fi
    rm -f "$pidfile"
}

stop() {
    if pid_alive "$run/nginx.pid"; then
        nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" -s quit 2>/dev/null || kill -TERM "$(cat "$run/nginx.pid")"
        for _ in $(seq 1 50); do pid_alive "$run/nginx.pid" || break; sleep 0.1; done
        echo "stopped nginx"
    fi
    rm -f "$run/nginx.pid"
    stop_pid "$run/atr-scheduler.pid" atr-scheduler
    stop_pid "$run/atr-fcgi.pid" atr-fcgi
}

start() {
    stop >/dev/null
    mkdir -p "$run" "$state/log" "$state/nginx/tmp" "$state/db" "$state/tasks" "$state/secrets"
    [ -f "$ATR_INSTANCE_SETTINGS" ] || echo '{}' > "$ATR_INSTANCE_SETTINGS"
    scripts/dev-tls.sh "$state"
    "$bin/atrctl" secrets init
    # The servers refuse a database whose schema is not theirs; migrating is this explicit step.
    "$bin/atrctl" migrate
    "$bin/atrctl" config >/dev/null

    local user_directive=""
    [ "$(id -u)" -eq 0 ] && user_directive="user $(id -un) $(id -gn);"
    "$bin/atrctl" nginx-config --template deploy/nginx/dev.conf.template --output "$state/nginx/nginx.conf" \
        --set "state_dir=$state" --set "user_directive=$user_directive"
    nginx -t -q -p "$state/nginx" -c "$state/nginx/nginx.conf"

    local socket
    socket=$("$bin/atrctl" config fastcgi_socket)
    setsid "$bin/atr-fcgi" --socket "$socket" >>"$state/log/atr-fcgi.log" 2>&1 < /dev/null &
    echo $! > "$run/atr-fcgi.pid"
    setsid "$bin/atr-scheduler" >>"$state/log/atr-scheduler.log" 2>&1 < /dev/null &
    echo $! > "$run/atr-scheduler.pid"
    for _ in $(seq 1 100); do [ -S "$socket" ] && break; sleep 0.05; done
    if [ ! -S "$socket" ] || ! pid_alive "$run/atr-fcgi.pid"; then
        echo "atr-fcgi did not start; see $state/log/atr-fcgi.log" >&2
        tail -n 20 "$state/log/atr-fcgi.log" >&2 || true
        exit 1
    fi
    nginx -p "$state/nginx" -c "$state/nginx/nginx.conf"
    for _ in $(seq 1 50); do pid_alive "$run/nginx.pid" && break; sleep 0.1; done
    echo "stack up at $("$bin/atrctl" config public_base_url) (state in $state)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac
