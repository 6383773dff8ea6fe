#!/usr/bin/env bash
# Keeps one server of the dev stack running the way systemd's Restart=on-failure keeps
# atr-fcgi.service running: started again a second after it dies of a signal or exits non-zero,
# except exit 78 (configuration or schema: a restart cannot fix it). After SIGTERM it only waits
# for the server to end (scripts/stack.sh stops the server itself) and restarts nothing.
#   usage: respawn.sh PIDFILE PROGRAM [ARGS...]   (PIDFILE gets each new server's pid)
set -uo pipefail
pidfile=$1
shift
stopping=""
trap 'stopping=1' TERM INT
while [ -z "$stopping" ]; do
    "$@" &
    server=$!
    echo "$server" > "$pidfile"
    # wait returns early when a trapped signal arrives; the status is the server's once it is gone.
    while wait "$server"; status=$?; kill -0 "$server" 2>/dev/null; do :; done
    if [ -n "$stopping" ] || [ "$status" -eq 0 ] || [ "$status" -eq 78 ]; then exit "$status"; fi
    echo "respawn.sh: $1 ended with status $status; starting it again in 1 s" >&2
    sleep 1
done
