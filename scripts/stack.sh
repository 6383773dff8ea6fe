#!/usr/bin/env bash
# Starts or stops the local stack: nginx (TLS) → atr-fcgi (FastCGI socket) → SQLite, plus
# atr-scheduler. Everything lives under STATE_DIR; pid files in STATE_DIR/run. atr-fcgi runs
# under scripts/respawn.sh, which starts it again when it dies (as systemd does in production).
#   STATE_DIR  state directory (default: var)
#   BIN_DIR    where the binaries are (default: .build/release)
#   ATR_INSTANCE_SETTINGS  settings overlay (default: STATE_DIR/appsettings.instance.json)
#   STACK_LISTEN_PORT  nginx's port when it is not PublicBaseUrl's (a node behind a load balancer)
# `start` exits non-zero unless all three processes run and nginx answers {base}/metadata;
# `stop` exits non-zero if a process of this stack is still running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p "${STATE_DIR:-var}"
state=$(cd "${STATE_DIR:-var}" && pwd)
# Absolute, because the path a process was started with is what identifies it as ours.
bin=$(realpath -m "${BIN_DIR:-.build/release}")
ATR_INSTANCE_SETTINGS=$(realpath -m "${ATR_INSTANCE_SETTINGS:-$state/appsettings.instance.json}")
export ATR_INSTANCE_SETTINGS
run="$state/run"
nginx_args=(-p "$state/nginx" -c "$state/nginx/nginx.conf")

# kill -0 also succeeds for a zombie that nobody has reaped yet, which is not running.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

cmdline() { tr "\0" " " 2>/dev/null < "/proc/$1/cmdline"; }

# A pid file outlives its process, and the kernel hands the pid to someone else later; only
# a process started from this BIN_DIR with this settings file (so this stack, not another
# one running the same binaries) may be signalled.
is_our_program() { # pid program
    local program="" environment
    IFS= read -r -d "" program 2>/dev/null < "/proc/$1/cmdline" || true
    # Empty while the process execs (or once it is a zombie).
    [ -n "$program" ] || return 1
    # Earlier versions of this script started the programs by a relative path.
    [[ $program == /* ]] || program=$(cd "/proc/$1/cwd" 2>/dev/null && realpath -m "$program") || return 1
    [ "$(realpath -m "$program")" = "$(realpath -m "$bin/$2")" ] || return 1
    environment=$(tr "\0" "\n" 2>/dev/null < "/proc/$1/environ") || return 1
    grep -Fxq "ATR_INSTANCE_SETTINGS=$ATR_INSTANCE_SETTINGS" <<<"$environment"
}

is_our_respawn() { # pid program
    [[ $(cmdline "$1") == *"respawn.sh $run/$2.pid $bin/$2 "* ]]
}

is_our_nginx_master() { # pid
    local args
    args=$(cmdline "$1") || return 1
    [[ $args == "nginx: master process "*" -p $state/nginx -c $state/nginx/nginx.conf"* ]]
}

nginx_workers() { # master pid
    local pid
    for pid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        [[ $(cmdline "$pid") == "nginx: "* ]] && echo "$pid"
    done
    return 0
}

# Our pid from a pid file, or nothing; the pid file is left alone: just after respawn.sh writes
# it, the pid may still be its child on the way to exec the server (the command line empty or
# respawn.sh's), and a removed file is never written again.
started_pid() { # pidfile check [program]
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 0
    if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && "$2" "$pid" ${3:+"$3"}; then echo "$pid"; fi
}

# The same, where the program has long been started: a stale pid file is removed on the way.
our_pid() { # pidfile check [program]
    local pid
    pid=$(started_pid "$@")
    if [ -n "$pid" ]; then echo "$pid"; else rm -f "$1"; fi
}

wait_gone() { # seconds pid...
    local tries=$(($1 * 10)) pid running
    shift
    while :; do
        running=""
        for pid in "$@"; do alive "$pid" && running=1; done
        [ -z "$running" ] && return 0
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.1
    done
}

cannot_stop() { # name pidfile pid...
    local name=$1 pidfile=$2
    shift 2
    local pid still=()
    for pid in "$@"; do alive "$pid" && still+=("$pid"); done
    echo "could not stop $name: still running after SIGKILL: ${still[*]} ($pidfile kept)" >&2
    return 1
}

stop_nginx() {
    local pidfile=$run/nginx.pid master
    master=$(our_pid "$pidfile" is_our_nginx_master)
    [ -n "$master" ] || return 0
    local workers
    mapfile -t workers < <(nginx_workers "$master")
    # QUIT lets the workers finish the requests they are serving, but a client that keeps a
    # request open would hold them (and the port) for minutes; TERM ends it at once.
    kill -QUIT "$master" 2>/dev/null || true
    if ! wait_gone 5 "$master" "${workers[@]}"; then
        kill -TERM "$master" 2>/dev/null || true
        if ! wait_gone 3 "$master" "${workers[@]}"; then
            # A hung master cannot pass signals on; workers it forked since count too.
            mapfile -t -O "${#workers[@]}" workers < <(nginx_workers "$master")
            kill -KILL "$master" 2>/dev/null || true
            local pid
            for pid in "${workers[@]}"; do
                [[ $(cmdline "$pid") == "nginx: "* ]] && { kill -KILL "$pid" 2>/dev/null || true; }
            done
            wait_gone 2 "$master" "${workers[@]}" || { cannot_stop nginx "$pidfile" "$master" "${workers[@]}"; return 1; }
        fi
    fi
    rm -f "$pidfile"
    echo "stopped nginx"
}

stop_program() { # program
    local pidfile=$run/$1.pid pid
    pid=$(our_pid "$pidfile" is_our_program "$1")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone 5 "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone 2 "$pid" || { cannot_stop "$1" "$pidfile" "$pid"; return 1; }
    fi
    rm -f "$pidfile"
    echo "stopped $1"
}

# The keeper is told first, so that it restarts nothing; then the program is stopped as any other.
stop_respawned() { # program
    local pidfile=$run/$1.respawn.pid keeper
    keeper=$(our_pid "$pidfile" is_our_respawn "$1")
    [ -z "$keeper" ] || kill -TERM "$keeper" 2>/dev/null || true
    stop_program "$1" || return 1
    if [ -n "$keeper" ] && ! wait_gone 5 "$keeper"; then
        # It had just started a new one when told: that one is in the pid file now.
        stop_program "$1" || return 1
        if ! wait_gone 2 "$keeper"; then
            kill -KILL "$keeper" 2>/dev/null || true
            wait_gone 2 "$keeper" || { cannot_stop "respawn.sh $1" "$pidfile" "$keeper"; return 1; }
        fi
    fi
    rm -f "$pidfile"
}

stop() {
    local status=0
    stop_nginx || status=1
    stop_program atr-scheduler || status=1
    stop_respawned atr-fcgi || status=1
    return $status
}

# Nothing half-started stays behind: the caller sees the reason, the log, and a stopped stack.
fail_start() { # message log...
    echo "$1" >&2
    shift
    local log
    for log in "$@"; do
        echo "--- last lines of $log:" >&2
        tail -n 20 "$log" >&2 || true
    done
    stop >&2 || true
    exit 1
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
    # Rendered the way an operator renders them for production (README, Deployment).
    (umask 077 && "$bin/atrctl" nginx-config --template deploy/nginx/secure-link-secret.conf.template \
        --output "$state/nginx/secure-link-secret.conf")
    local listen_port
    listen_port=${STACK_LISTEN_PORT:-$("$bin/atrctl" config listen_port)}
    "$bin/atrctl" nginx-config --site dev --template deploy/nginx/dev.conf.template --output "$state/nginx/nginx.conf" \
        --set "state_dir=$state" --set "user_directive=$user_directive" --set "listen_port=$listen_port"
    nginx -t -q "${nginx_args[@]}"

    local socket base fcgi_log=$state/log/atr-fcgi.log scheduler_log=$state/log/atr-scheduler.log
    local nginx_log=$state/log/nginx-error.log
    socket=$("$bin/atrctl" config fastcgi_socket)
    base=$("$bin/atrctl" config public_base_url)
    setsid scripts/respawn.sh "$run/atr-fcgi.pid" "$bin/atr-fcgi" --socket "$socket" >>"$fcgi_log" 2>&1 < /dev/null &
    echo $! > "$run/atr-fcgi.respawn.pid"
    setsid "$bin/atr-scheduler" >>"$scheduler_log" 2>&1 < /dev/null &
    echo $! > "$run/atr-scheduler.pid"
    # The socket file may be a stale one of an earlier run; the pid file is written by respawn.sh.
    # Up to 30 s: on PostgreSQL just after a bulk copy (make bench), the first connections take seconds.
    for _ in $(seq 1 600); do
        [ -S "$socket" ] && [ -n "$(started_pid "$run/atr-fcgi.pid" is_our_program atr-fcgi)" ] && break
        sleep 0.05
    done
    if [ ! -S "$socket" ] || [ -z "$(started_pid "$run/atr-fcgi.pid" is_our_program atr-fcgi)" ]; then
        fail_start "atr-fcgi did not start" "$fcgi_log"
    fi

    local output
    output=$(nginx "${nginx_args[@]}" 2>&1) || fail_start "nginx did not start: $output" "$nginx_log"
    for _ in $(seq 1 50); do [ -n "$(our_pid "$run/nginx.pid" is_our_nginx_master)" ] && break; sleep 0.1; done
    [ -n "$(our_pid "$run/nginx.pid" is_our_nginx_master)" ] || fail_start "nginx did not start" "$nginx_log"
    # The whole chain: TLS on nginx's port, FastCGI, atr-fcgi, the database. nginx listens on
    # loopback, whatever host name (and, behind a load balancer, port) the public URL has.
    local code=000
    for _ in $(seq 1 50); do
        code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 --connect-to "::127.0.0.1:$listen_port" "$base/metadata" || true)
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] || fail_start "nginx does not answer $base/metadata (HTTP status $code)" "$nginx_log" "$fcgi_log"
    # Checked last, so that a scheduler that exits soon after starting has had time to.
    [ -n "$(our_pid "$run/atr-scheduler.pid" is_our_program atr-scheduler)" ] \
        || fail_start "atr-scheduler did not start" "$scheduler_log"
    [ -n "$(our_pid "$run/atr-fcgi.pid" is_our_program atr-fcgi)" ] || fail_start "atr-fcgi exited" "$fcgi_log"
    echo "stack up at $base (state in $state)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac
