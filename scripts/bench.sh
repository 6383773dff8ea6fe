#!/usr/bin/env bash
# `make bench`: the performance figures of the README's "Performance" section, printed as a table. Never fails
# on speed, only on real errors (a failed export, a non-2xx answer during a wrk run, …).
#
# Uses its own stack: state in var/bench, port 9843, release binaries; stopped at the end.
#   BENCH_MEMBERS   members of the synthetic ATR Group (default 10000; the big runs: 100000, 1000000)
#   BENCH_LARGE     1: the 1M-member run (BENCH_MEMBERS=1000000, unless BENCH_MEMBERS is given too,
#                   which then wins). It is the run whose export / floor and peak RSS the goals are set
#                   for. On 2 cores the SQLite part takes about 20 min (import floor about 6 min of it);
#                   PostgreSQL adds about 45 min if its export (8.8 s at 10k) and migrate-to-postgres
#                   (16 s at 10k) grow linearly (BENCH_BACKEND=sqlite skips it). Disk: about 30 GB free
#                   under var/bench at the peak (database 6 GB, export files 3 × 2.6 GB, PostgreSQL
#                   about 14 GB; the import floor's SQL, 7.5 GB, and its database, deleted before).
#   BENCH_DURATION  length of each wrk run (default 10s)
#   BENCH_THREADS, BENCH_CONNECTIONS  wrk -t / -c (default 2 / 16)
#   BENCH_ROUNDS    alternating wrk rounds per comparison, best counts (default 3)
#   BENCH_BACKEND   both (default): also the PostgreSQL figures; sqlite: SQLite only
#   BENCH_POINTS    the committed points file this run's export figures are merged into (relative
#                   to the repository; default docs/bench-points.tsv; empty: not recorded)
#   BENCH_CHART     its chart (default docs/bench-export.png), redrawn by scripts/bench/chart.py
#                   (matplotlib, installed into .venv from scripts/bench/requirements.txt; if that
#                   fails, only the chart is skipped)
#
# 1. Export: N members (Patient, Coverage with Money fields, RelatedPerson; 1% opted out), all
#    8 types. The stack's atr-scheduler is stopped; a kick-off over HTTPS queues the task and
#    `atr-scheduler --once` runs it under GNU time (wall time, peak RSS). The raw floor is the
#    sqlite3 CLI dumping the same rows' JSON to a file, in the same run. Also at N/10 (loaded
#    first, then upserted by the N data set) to show the per-resource cost is flat.
#    Import: `atrctl import` of the N/10 data set into the fresh database, then of the N data set
#    into that database (so 10% of the big import are upserts), and after each its floor: the
#    sqlite3 CLI inserting the rows the imports left in the tables they write (resources,
#    resource_versions, refs, search_values: `.mode insert` dumps, with the same schema and
#    indexes, written beforehand, untimed) into a fresh file on the same disk, in one
#    transaction, best of 2 (one run at 1M members). The big import is compared as it ran (N resources into a database
#    holding N/10): its floor inserts the same final rows, including the N/10 superseded
#    versions, but not the deletes of the upserted resources' old references and search values,
#    so the ratio is slightly against the import, never in its favour. The SQL file (about twice
#    the JSON: the BLOBs are hex) and the floor's database are deleted right after.
# 2. HTTP: wrk on `$exportstatus` of the complete task (fresh token) vs a C libfcgi "hello"
#    app (scripts/bench/hello.c, 4 threads) behind the same nginx server.
# 3. Download: wrk on the biggest exported file through its manifest URL (secure_link +
#    auth_request with the token) vs plain nginx static serving of the same file.
#    Compression: every exported file once through its manifest URL with Accept-Encoding: gzip
#    (the body is checked to be gzip and to decompress to the file): bytes on the wire / file
#    size, of the biggest file and of all. Then wrk with Accept-Encoding: gzip on the biggest
#    file through the manifest URL vs static serving with the same gzip settings
#    (deploy/nginx/file-compression.conf), when each connection can finish a request within a
#    run (file size × BENCH_CONNECTIONS ≤ BENCH_DURATION × 200 MB/s: 125 MB by default, so not
#    at 1M members); else skipped, and said so.
# 4. Scheduling: the loop scheduler (RepeatPeriod 60 s): kick-off → manifest of a 100-member list,
#    alone and while the N-member export runs.
# 5. PostgreSQL: the SQLite database is copied with `atrctl db migrate-to-postgres` into a
#    throwaway server (scripts/postgres.sh, var/bench/postgres), the stack restarted on it, and
#    the N-member export and the status polls measured again. Its raw floor is psql COPYing the
#    same rows' JSON to a file. The test server runs with fsync off, as SQLite's bench database
#    runs with its usual settings: the figures compare the engines' read paths, not their disks.
# 6. Points: the run's export figures (SQLite at N/10 and N, PostgreSQL at N; date, members,
#    resources, export, floor, peak RSS, import, import floor) replace the rows of the same
#    backend and members in BENCH_POINTS, and the chart is redrawn from all of its rows.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

case "${BENCH_LARGE:-}" in
    ""|0) members=${BENCH_MEMBERS:-10000} ;;
    1) members=${BENCH_MEMBERS:-1000000} ;;
    *) echo "BENCH_LARGE must be 1 (or 0, or unset)" >&2; exit 64 ;;
esac
large=1000000   # the size the export / floor and peak RSS goals are set for
duration=${BENCH_DURATION:-10s}
wrk_threads=${BENCH_THREADS:-2}
wrk_connections=${BENCH_CONNECTIONS:-16}
rounds=${BENCH_ROUNDS:-3}
port=9843
[[ "$members" =~ ^[0-9]+$ ]] && [ "$members" -ge 100 ] || { echo "BENCH_MEMBERS must be a number ≥ 100" >&2; exit 64; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_ROUNDS must be a number ≥ 1" >&2; exit 64; }
# Access tokens live 300 s at most: one wrk run must end well before its token does.
[[ "$duration" =~ ^([0-9]+)(s?)$ ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le 240 ] \
    || { echo "BENCH_DURATION must be 1s…240s (tokens last 300 s)" >&2; exit 64; }
small=$((members / 10))
backends=${BENCH_BACKEND:-both}
case "$backends" in both|sqlite) ;; *) echo "BENCH_BACKEND must be both or sqlite" >&2; exit 64 ;; esac
points_file=${BENCH_POINTS-docs/bench-points.tsv}
chart_png=${BENCH_CHART:-docs/bench-export.png}

export STATE_DIR="$root/var/bench"
export BIN_DIR="$root/.build/release"
export ATR_INSTANCE_SETTINGS="$STATE_DIR/appsettings.instance.json"
state=$STATE_DIR
bin=$BIN_DIR
run="$state/run"
util=(python3 "$root/scripts/bench/util.py")
results="$state/results.tsv"
base="https://localhost:$port/fhir"
origin="https://localhost:$port"
types=Group,Patient,Coverage,RelatedPerson,Practitioner,PractitionerRole,Organization,Location
client=bench-client

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------------------
scripts/install-deps.sh
missing=()
command -v wrk >/dev/null || missing+=(wrk)
/usr/bin/time --version 2>&1 | grep -q GNU || missing+=(time)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v gcc >/dev/null || missing+=(gcc)
command -v python3 >/dev/null || missing+=(python3)
[ "$backends" = sqlite ] || ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in "$bin/atr-fcgi" "$bin/atr-scheduler" "$bin/atrctl"; do
    [ -x "$tool" ] || die "$tool is missing; run 'make bench' (it builds the release binaries first)"
done

# --- the bench stack --------------------------------------------------------------------------
progress_pid=""
stop_pidfile() { # pidfile: TERM, wait up to 5 s, then KILL
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}
cleanup() {
    [ -n "$progress_pid" ] && kill "$progress_pid" 2>/dev/null || true
    [ -f "$run/hello.pid" ] && stop_pidfile "$run/hello.pid"
    [ -f "$run/loop-scheduler.pid" ] && stop_pidfile "$run/loop-scheduler.pid"
    scripts/stack.sh stop >/dev/null 2>&1 || true
    scripts/postgres.sh stop "$state/postgres" >/dev/null 2>&1 || true
}
trap cleanup EXIT
scripts/stack.sh stop >/dev/null 2>&1 || true   # a previous, interrupted bench run
scripts/postgres.sh stop "$state/postgres" >/dev/null 2>&1 || true
[ -f "$run/hello.pid" ] && stop_pidfile "$run/hello.pid"
rm -rf "$state"
mkdir -p "$state/data" "$run"
cat > "$ATR_INSTANCE_SETTINGS" <<JSON
{
  "PublicBaseUrl": "$base",
  "Database": { "Path": "$state/db/atr.sqlite" },
  "FastCGI": { "Socket": "$run/atr-fcgi.sock", "Threads": 4 },
  "RequestBodyLimit": 268435456,
  "BulkDataExport": { "RepeatPeriod": 200, "MaxActiveTasksPerClient": 1000, "EarlyPollsAllowed": 1000000 },
  "TaskFileManagement": { "StorageService": { "StoragePath": "$state/tasks" } },
  "SignedUrls": { "SecretFile": "$state/secrets/url-signing.key" },
  "SmartAuthorizationOptions": { "SigningKeyFile": "$state/secrets/token-signing-key.pem" }
}
JSON
: > "$results"
result() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$results"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
min() { awk "BEGIN { print ($1 < $2 ? $1 : $2) }"; }
verdict() { # value op goal → "goal (met|NOT met)"
    if awk "BEGIN { exit !($1 $2 $3) }"; then echo "met"; else echo "NOT met"; fi
}

# The chart's matplotlib (scripts/bench/requirements.txt) into .venv, once; without it the points
# are still recorded.
chart_python=""
if [ -n "$points_file" ]; then
    mkdir -p "$state/log"
    if scripts/python-env.sh scripts/bench/requirements.txt > "$state/log/python-env.log" 2>&1; then
        chart_python=$root/.venv/bin/python
    else
        log "warning: matplotlib could not be installed into .venv (see $state/log/python-env.log); $chart_png is not redrawn"
    fi
fi

log "generating synthetic ATR data: $members and $small members"
mkdir -p "$state/data/n$members" "$state/data/n$small"
python3 scripts/bench/generate.py "$state/data/n$members" "$members" > "$state/data/n$members/summary.json"
python3 scripts/bench/generate.py "$state/data/n$small" "$small" > "$state/data/n$small/summary.json"

# The bench-only locations: the C hello app and plain static serving of the task files,
# included into the rendered dev configuration before its catch-all `location /`.
gcc -O2 -pthread -o "$state/hello" scripts/bench/hello.c -lfcgi
mkdir -p "$state/log"
setsid "$state/hello" "$run/hello.sock" 4 >>"$state/log/hello.log" 2>&1 < /dev/null &
echo $! > "$run/hello.pid"
cat > "$state/bench-locations.conf" <<NGINX
# bench only (scripts/bench.sh): the reference points of the HTTP and download figures
location = /hello {
    include $root/deploy/nginx/fastcgi-params.conf;
    fastcgi_pass unix:$run/hello.sock;
}
location ^~ /bench-static/ {
    alias $state/tasks/;
    autoindex off;
    disable_symlinks on;
    types { }
    default_type application/fhir+ndjson;
}
location ^~ /bench-static-gzip/ {
    alias $state/tasks/;
    autoindex off;
    disable_symlinks on;
    types { }
    default_type application/fhir+ndjson;
    include $root/deploy/nginx/file-compression.conf;
}
NGINX
ca="$state/tls/ca.pem"
curl_=(curl -sS --cacert "$ca")

# start_bench_stack: the stack on the current settings, without its own scheduler (the export
# is timed with `atr-scheduler --once`), with the bench locations in its nginx configuration.
start_bench_stack() {
    local reload_out hello_ok=""
    scripts/stack.sh start >/dev/null
    stop_pidfile "$run/atr-scheduler.pid"
    python3 - "$state/nginx/nginx.conf" "$state/bench-locations.conf" <<'PY'
import re, sys
path, include = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
match = re.search(r"^([ \t]*)location / \{", text, re.M)
if not match:
    sys.exit("bench: no catch-all 'location / {' in the rendered nginx configuration")
text = text[:match.start()] + f"{match.group(1)}include {include};\n\n" + text[match.start():]
open(path, "w", encoding="utf-8").write(text)
PY
    nginx -t -q -p "$state/nginx" -c "$state/nginx/nginx.conf"
    for _ in $(seq 1 100); do [ -S "$run/hello.sock" ] && break; sleep 0.05; done
    [ -S "$run/hello.sock" ] || die "the hello app did not start; see $state/log/hello.log"
    reload_out=$(nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" -s reload 2>&1) || die "nginx reload failed: $reload_out"
    for _ in $(seq 1 100); do
        if [ "$("${curl_[@]}" -o /dev/null -w '%{http_code}' "$origin/hello")" = 200 ]; then hello_ok=1; break; fi
        sleep 0.1
    done
    [ -n "$hello_ok" ] || die "GET $origin/hello does not answer 200 after the nginx reload"
}

log "starting the bench stack (state in $state, port $port)"
start_bench_stack
db="$state/db/atr.sqlite"
[ -f "$db" ] || die "no database at $db"
scripts/dev-client.sh "$bin" "$client" "$state/clients" "system/*.read"
token() { "$bin/atrctl" token --client "$client" --scope "system/*.read"; }

# --- 1. export ----------------------------------------------------------------------------------
exported_rows="FROM resources WHERE type IN ('Group','Patient','Coverage','RelatedPerson','Practitioner','PractitionerRole','Organization','Location') AND deleted=0"
engine=sqlite
floor() { # seconds for the engine's own client to dump the rows' JSON to a file
    local t0 t1
    t0=$(date +%s%N)
    if [ "$engine" = sqlite ]; then
        sqlite3 "$db" "SELECT json $exported_rows" > "$state/floor.ndjson"
    else
        "$pg_bin/psql" -X -q -d "$pg_url" -c "COPY (SELECT convert_from(json, 'UTF8') $exported_rows) TO STDOUT" > "$state/floor.ndjson"
    fi
    t1=$(date +%s%N)
    calc "%.4f" "($t1 - $t0) / 1e9"
}

import_data() { # DIR
    local t0 t1
    t0=$(date +%s%N)
    "$bin/atrctl" import "$1/resources.ndjson" "$1/group.ndjson" > "$state/log/import.log" 2>&1 \
        || { tail -n 20 "$state/log/import.log" >&2; die "atrctl import $1 failed"; }
    t1=$(date +%s%N)
    rm -f "$1/resources.ndjson"   # regenerated by every run; only the Group's size is reported
    calc "%.2f" "($t1 - $t0) / 1e9"
}

# import_floor: seconds (best of 2; 1 at 1M members) for the sqlite3 CLI to insert the rows that the tables
# `atrctl import` writes hold now, with their schema and indexes, into a fresh database file on
# the same disk, in one transaction. The SQL is written first (untimed) and deleted afterwards.
import_tables=(resources resource_versions refs search_values)
floor_blob_limit=${BENCH_FLOOR_BLOB_LIMIT:-100000000}   # bytes; lower it only to test that path
import_floor() {
    local sql="$state/import-floor.sql" fresh="$state/import-floor.sqlite" table columns t0 t1 run_s best="" counts got want
    {
        echo "BEGIN;"
        for table in "${import_tables[@]}"; do sqlite3 "$db" ".schema $table"; done
        for table in "${import_tables[@]}"; do
            if [ "$(sqlite3 "$db" "SELECT count(*) FROM pragma_table_info('$table') WHERE name = 'json'")" = 0 ]; then
                sqlite3 -cmd ".mode insert $table" "$db" "SELECT * FROM $table"
                continue
            fi
            # A statement holds at most 1 GB and a blob is written as hex: a big Group's row (343 MB
            # at 1M members) goes in with its json NULL, which readfile() then fills from a copy.
            sqlite3 -cmd ".mode insert $table" "$db" "SELECT * FROM $table WHERE json IS NULL OR length(json) <= $floor_blob_limit"
            columns=$(sqlite3 "$db" "SELECT group_concat(CASE name WHEN 'json' THEN 'NULL' ELSE name END, ',') FROM pragma_table_info('$table')")
            sqlite3 -cmd ".mode insert $table" "$db" "SELECT $columns FROM $table WHERE length(json) > $floor_blob_limit"
            sqlite3 -list "$db" "SELECT CASE WHEN writefile('$state/import-floor-blob-' || rowid, json) >= 0 THEN
                'UPDATE $table SET json = readfile(' || quote('$state/import-floor-blob-' || rowid) || ') WHERE type = ' || quote(type)
                || ' AND id = ' || quote(id) || ' AND version_id = ' || version_id || ';' END
                FROM $table WHERE length(json) > $floor_blob_limit"
        done
        echo "COMMIT;"
    } > "$sql" || die "cannot write $sql"
    grep -q '^CREATE TABLE' "$sql" || die "no schema in $sql"
    counts="SELECT (SELECT count(*) FROM ${import_tables[0]})"
    for table in "${import_tables[@]:1}"; do counts+="||' '||(SELECT count(*) FROM $table)"; done
    # Best of 2; once at 1M members, where one load of the SQL takes minutes.
    for _ in $(seq 1 "$([ "$members" -ge "$large" ] && echo 1 || echo 2)"); do
        rm -f "$fresh" "$fresh-journal" "$fresh-wal" "$fresh-shm"
        sync
        t0=$(date +%s%N)
        sqlite3 -bail "$fresh" < "$sql" > "$state/log/import-floor.log" 2>&1 \
            || { tail -n 5 "$state/log/import-floor.log" >&2; die "sqlite3 could not load $sql"; }
        t1=$(date +%s%N)
        run_s=$(calc "%.4f" "($t1 - $t0) / 1e9")
        best=$(min "${best:-$run_s}" "$run_s")
    done
    got=$(sqlite3 "$fresh" "$counts") want=$(sqlite3 "$db" "$counts")
    [ "$got" = "$want" ] || die "the import floor's database holds '$got' rows of ${import_tables[*]}, the bench database '$want'"
    log "  import floor: $(calc "%.3f" "$best") s for rows ${import_tables[*]} = $want ($(calc "%.1f" "$(stat -c %s "$sql") / 1048576") MB of SQL)"
    got=$(sqlite3 "$fresh" "SELECT sum(length(json)) FROM resources") want=$(sqlite3 "$db" "SELECT sum(length(json)) FROM resources")
    [ "$got" = "$want" ] || die "the import floor's resources hold $got bytes of JSON, the bench database's $want"
    rm -f "$sql" "$fresh" "$fresh-journal" "$fresh-wal" "$fresh-shm" "$state"/import-floor-blob-*
    calc "%.3f" "$best"
}

# run_export LABEL SUMMARY: kick-off over HTTPS, then `atr-scheduler --once` under GNU time and
# the raw floor around it. Sets export_s, floor_s, rss_kb, resources, status_url, task, …
run_export() {
    local label=$1 summary=$2 tok headers code t0 t1 floor_a floor_b parsed
    tok=$(token)
    headers="$state/$label-kickoff.headers"
    code=$("${curl_[@]}" -o "$state/$label-kickoff.json" -D "$headers" -w '%{http_code}' \
        -H "Authorization: Bearer $tok" -H 'Accept: application/fhir+json' -H 'Prefer: respond-async' \
        "$base/Group/bench-group/\$davinci-data-export?_type=$types")
    [ "$code" = 202 ] || { cat "$state/$label-kickoff.json" >&2; die "kick-off answered $code, not 202"; }
    status_url=$("${util[@]}" status-url "$headers")
    task=${status_url##*_id=}

    floor >/dev/null                      # warm the page cache for both
    floor_a=$(floor)
    sync
    # A long export shows its progress every 30 s (one `atrctl tasks show`: negligible load).
    ( trap 'kill "$nap" 2>/dev/null; exit 0' TERM
      while :; do
          sleep 30 & nap=$!
          wait "$nap"
          log "  … $("$bin/atrctl" tasks show "$task" 2>/dev/null | sed -n 's/^progress: //p')"
      done ) &
    progress_pid=$!
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$state/$label-scheduler.time" "$bin/atr-scheduler" --once >>"$state/log/$label-scheduler.log" 2>&1 \
        || { cat "$state/$label-scheduler.time" "$state/log/$label-scheduler.log" >&2; die "atr-scheduler --once failed"; }
    t1=$(date +%s%N)
    kill "$progress_pid" 2>/dev/null || true
    wait "$progress_pid" 2>/dev/null || true
    progress_pid=""
    floor_b=$(floor)
    export_s=$(calc "%.4f" "($t1 - $t0) / 1e9")
    floor_s=$(calc "%.4f" "($floor_a < $floor_b ? $floor_a : $floor_b)")
    floor_bytes=$(stat -c %s "$state/floor.ndjson")
    parsed=$("${util[@]}" time-v "$state/$label-scheduler.time") || die "cannot read $state/$label-scheduler.time"
    eval "$parsed"

    # A fresh token: a long export (PostgreSQL at 1M members) outlasts the kick-off's (300 s).
    code=$("${curl_[@]}" -o "$state/$label-manifest.json" -w '%{http_code}' -H "Authorization: Bearer $(token)" "$status_url")
    [ "$code" = 200 ] || { cat "$state/$label-manifest.json" >&2; tail -n 20 "$state/log/$label-scheduler.log" >&2
        die "the export is not complete after atr-scheduler --once (status $code)"; }
    parsed=$("${util[@]}" manifest "$state/$label-manifest.json" "$summary" "$state/tasks/$task") || die "bad manifest of the $label export"
    eval "$parsed"
    [ "$error_files" = 0 ] || log "warning: the $label export has an error file"
    [ -z "$count_warnings" ] || log "warning: the $label export's counts differ from the generator's: $count_warnings"
    export_bytes=$(du -cb "$state/tasks/$task"/*.ndjson | tail -n 1 | cut -f1)
    log "$label export: ${export_s} s for $resources resources ($counts), ${export_bytes} bytes; floor ${floor_s} s (${floor_bytes} bytes); peak RSS ${rss_kb} kB"
}

log "importing $small members"
import_small_s=$(import_data "$state/data/n$small")
import_floor_small_s=$(import_floor)
log "exporting $small members"
run_export small "$state/data/n$small/summary.json"
small_export_s=$export_s small_floor_s=$floor_s small_resources=$resources small_rss_kb=$rss_kb

log "importing $members members (upserting the $small)"
import_s=$(import_data "$state/data/n$members")
import_floor_s=$(import_floor)
log "exporting $members members"
run_export big "$state/data/n$members/summary.json"
big_export_s=$export_s big_floor_s=$floor_s big_resources=$resources big_rss_kb=$rss_kb

big_group_bytes=$(stat -c %s "$state/data/n$members/group.ndjson")
rm -f "$state/floor.ndjson" "$state/data/n$members/group.ndjson" "$state/data/n$small/group.ndjson"
ratio=$(calc "%.2f" "$export_s / $floor_s")
per_big=$(calc "%.1f" "$export_s * 1e6 / $resources")
per_small=$(calc "%.1f" "$small_export_s * 1e6 / $small_resources")
flat=$(calc "%.2f" "$per_big / $per_small")
rss_mb=$(calc "%.1f" "$rss_kb / 1024")
result "export of $members members: wall time (atr-scheduler --once)" "${export_s} s" "—"
result "raw floor: sqlite3 CLI dumping the same rows' JSON" "${floor_s} s" "—"
if [ "$members" -ge "$large" ]; then
    result "export / raw floor ($members members)" "$ratio×" "≤ 3× ($(verdict "$ratio" '<=' 3))"
    result "scheduler peak RSS ($members members)" "$rss_mb MB" "≤ 64 MB at 1M members ($(verdict "$rss_mb" '<=' 64))"
else
    result "export / raw floor ($members members)" "$ratio×" "≤ 3× ($(verdict "$ratio" '<=' 3); at 1M: BENCH_LARGE=1)"
    result "scheduler peak RSS ($members members)" "$rss_mb MB" "≤ 64 MB at 1M (BENCH_LARGE=1)"
fi
result "per-resource cost at $members members ($resources resources)" "$per_big µs" "—"
result "per-resource cost at $small members ($small_resources resources)" "$per_small µs" "—"
result "per-resource cost, $members vs $small members" "$flat×" "flat, ≤ 1.5× ($(verdict "$flat" '<=' 1.5))"
result "export / raw floor ($small members)" "$(calc "%.2f" "$small_export_s / $small_floor_s")×" "—"
result "scheduler peak RSS ($small members)" "$(calc "%.1f" "$small_rss_kb / 1024") MB" "—"
result "Group resource size ($members members)" "$(calc "%.1f" "$big_group_bytes / 1048576") MB" "—"
imported=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["imported"])' "$state/data/n$members/summary.json")
small_imported=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["imported"])' "$state/data/n$small/summary.json")
import_ratio=$(calc "%.2f" "$import_s / $import_floor_s")
import_per_big=$(calc "%.1f" "$import_s * 1e6 / $imported")
import_per_small=$(calc "%.1f" "$import_small_s * 1e6 / $small_imported")
import_flat=$(calc "%.2f" "$import_per_big / $import_per_small")
result "atrctl import of $members members ($imported resources, into the $small)" "${import_s} s" "—"
result "import floor: sqlite3 inserting the same rows (one transaction)" "${import_floor_s} s" "—"
result "import / import floor ($members members)" "$import_ratio×" "≤ 3× ($(verdict "$import_ratio" '<=' 3))"
result "import per-resource cost at $members members" "$import_per_big µs" "—"
result "import per-resource cost at $small members ($small_imported resources)" "$import_per_small µs" "—"
result "import per-resource cost, $members vs $small members" "$import_flat×" "flat, ≤ 1.5× ($(verdict "$import_flat" '<=' 1.5))"
result "import / import floor ($small members)" "$(calc "%.2f" "$import_small_s / $import_floor_small_s")×" "—"

# --- 2. HTTP: status polls vs the C hello app -------------------------------------------------
# wrk_run NAME URL [TOKEN [HEADER]]: one wrk run (TOKEN may be empty); sets rps, mbps, latency_*.
wrk_run() {
    local name=$1 url=$2 auth=() out parsed
    [ -n "${3:-}" ] && auth+=(-H "Authorization: Bearer $3")
    [ -n "${4:-}" ] && auth+=(-H "$4")
    out="$state/wrk-$name.txt"
    # --timeout: at 100k members one file is ~100 MB; a 16-connection download of it takes
    # longer than wrk's default 2 s, which wrk would count as an error.
    wrk -t"$wrk_threads" -c"$wrk_connections" -d"$duration" --timeout 60s --latency "${auth[@]}" "$url" > "$out" 2>&1 \
        || { cat "$out" >&2; die "wrk $name failed"; }
    parsed=$("${util[@]}" wrk "$out") || { cat "$out" >&2; echo "$parsed" >&2; die "wrk $name ($url): errors during the run"; }
    eval "$parsed"
    log "wrk $name: $rps req/s, $mbps MB/s, latency avg $latency_avg max $latency_max"
}
max() { awk "BEGIN { print ($1 > $2 ? $1 : $2) }"; }

# measure_status_polls LABEL: alternating wrk rounds of the hello app and of `$exportstatus` on
# $status_url; sets hello_rps and status_rps (the best round of each).
measure_status_polls() {
    local label=$1 tok code round
    tok=$(token)
    code=$("${curl_[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$status_url")
    [ "$code" = 200 ] || die "GET $status_url answered $code, not 200"
    log "  $status_url vs $origin/hello"
    hello_rps=0 status_rps=0
    for round in $(seq 1 "$rounds"); do
        wrk_run "$label-hello-$round" "$origin/hello"
        hello_rps=$(max "$hello_rps" "$rps")
        wrk_run "$label-status-$round" "$status_url" "$(token)"   # a fresh token for each run (300 s lifetime)
        status_rps=$(max "$status_rps" "$rps")
    done
}

# Each pair is measured in alternating rounds (the machine is shared by wrk, nginx and the
# app); the best round of each side counts — noise only ever lowers throughput.
log "HTTP: wrk -t$wrk_threads -c$wrk_connections -d$duration, $rounds rounds"
measure_status_polls sqlite
http_ratio=$(calc "%.2f" "$status_rps / $hello_rps")
result "C libfcgi hello (4 threads) via nginx" "$hello_rps req/s" "—"
result "\$exportstatus polls (complete task, bearer token)" "$status_rps req/s" "—"
result "status polls / hello" "$http_ratio" "≥ 0.7 ($(verdict "$http_ratio" '>=' 0.7))"

# --- 3. Download: secure_link + auth_request vs static ----------------------------------------
tok=$(token)
code=$("${curl_[@]}" -o "$state/manifest-now.json" -w '%{http_code}' -H "Authorization: Bearer $tok" "$status_url")
[ "$code" = 200 ] || die "GET $status_url answered $code, not 200"
parsed=$("${util[@]}" manifest "$state/manifest-now.json" "$state/data/n$members/summary.json" "$state/tasks/$task") || die "bad manifest"
eval "$parsed"
static_url="$origin/bench-static/$task/$biggest_name"
for url in "$biggest_url" "$static_url"; do
    got=$("${curl_[@]}" -o "$state/download.ndjson" -w '%{http_code} %{size_download}' -H "Authorization: Bearer $tok" "$url")
    [ "$got" = "200 $biggest_bytes" ] || die "GET $url answered '$got', expected '200 $biggest_bytes'"
    cmp -s "$state/download.ndjson" "$state/tasks/$task/$biggest_name" || die "GET $url: the bytes differ from the file"
done
rm -f "$state/download.ndjson"
log "download: $biggest_url vs $static_url"
static_rps=0 static_mbps=0 download_rps=0 download_mbps=0
for round in $(seq 1 "$rounds"); do
    wrk_run "static-$round" "$static_url"
    static_rps=$(max "$static_rps" "$rps") static_mbps=$(max "$static_mbps" "$mbps")
    wrk_run "download-$round" "$biggest_url" "$(token)"
    download_rps=$(max "$download_rps" "$rps") download_mbps=$(max "$download_mbps" "$mbps")
done
# Bytes/s rather than requests/s: with files of many MB a run completes few requests, and
# wrk counts the bytes of unfinished ones too.
download_ratio=$(calc "%.2f" "$download_mbps / $static_mbps")
size_mb=$(calc "%.1f" "$biggest_bytes / 1048576")
result "static nginx: $biggest_name ($size_mb MB)" "$static_rps req/s ($static_mbps MB/s)" "—"
result "manifest URL (secure_link + auth_request)" "$download_rps req/s ($download_mbps MB/s)" "—"
result "download / static (bytes/s)" "$download_ratio" "≥ 0.95 ($(verdict "$download_ratio" '>=' 0.95))"

# Compression (deploy/nginx/file-compression.conf on the file locations): each exported file
# once through its manifest URL with Accept-Encoding: gzip. curl does not decode here, so the
# body it saves is what came over the wire (the HTTP body, without headers or chunking): it
# must be gzip (files under gzip_min_length, 1024 bytes, come as they are) and decompress to the
# file.
"${util[@]}" files "$state/manifest-now.json" > "$state/files.tsv"
wire_total=0 file_total=0 wire_biggest=""
while IFS=$'\t' read -r name url; do
    file="$state/tasks/$task/$name"
    got=$("${curl_[@]}" -H 'Accept-Encoding: gzip' -o "$state/download.body" -D "$state/download.headers" \
        -w '%{http_code} %{size_download}' -H "Authorization: Bearer $tok" "$url")
    [ "${got% *}" = 200 ] || die "GET $url with Accept-Encoding: gzip answered '$got'"
    wire=${got#* }
    size=$(stat -c %s "$file")
    if grep -qi '^content-encoding: *gzip' "$state/download.headers"; then
        gzip -dc "$state/download.body" | cmp -s - "$file" || die "GET $url: the gzip body does not decompress to the file"
    else
        [ "$size" -lt 1024 ] || die "GET $url with Accept-Encoding: gzip: no Content-Encoding: gzip ($size bytes)"
        cmp -s "$state/download.body" "$file" || die "GET $url: the bytes differ from the file"
    fi
    wire_total=$((wire_total + wire)) file_total=$((file_total + size))
    if [ "$name" = "$biggest_name" ]; then wire_biggest=$wire; fi
done < "$state/files.tsv"
rm -f "$state/download.body" "$state/download.headers"
[ -n "$wire_biggest" ] || die "$biggest_name is not in the manifest's files"
gzip_ratio=$(calc "%.3f" "$wire_biggest / $biggest_bytes")
gzip_ratio_all=$(calc "%.3f" "$wire_total / $file_total")
log "gzip: $biggest_name $wire_biggest of $biggest_bytes bytes on the wire; all files $wire_total of $file_total"
result "bytes on the wire with gzip / file size: $biggest_name" "$gzip_ratio" "≤ 0.25 ($(verdict "$gzip_ratio" '<=' 0.25))"
result "the same, all $(wc -l < "$state/files.tsv") exported files ($(calc "%.1f" "$file_total / 1048576") MB)" "$gzip_ratio_all" "—"

# Compressed download throughput: wrk with Accept-Encoding: gzip, manifest URL vs static with
# the same gzip settings (the bytes/s are compressed bytes). nginx compresses every request anew:
# only when each connection can finish a request within the run at 200 MB/s of compression in
# all (this data compresses at about 700 MB/s on the 2 cores; real data more slowly), else a run
# could end before any request does. 10 s, 16 connections: files up to 125 MB (100k members).
gzip_limit=$(( ${duration%s} * 200 * 1048576 / wrk_connections ))
if [ "$biggest_bytes" -le "$gzip_limit" ]; then
    gzip_static_url="$origin/bench-static-gzip/$task/$biggest_name"
    log "compressed download: $biggest_url vs $gzip_static_url"
    static_rps=0 static_mbps=0 download_rps=0 download_mbps=0
    for round in $(seq 1 "$rounds"); do
        wrk_run "static-gzip-$round" "$gzip_static_url" "" "Accept-Encoding: gzip"
        static_rps=$(max "$static_rps" "$rps") static_mbps=$(max "$static_mbps" "$mbps")
        wrk_run "download-gzip-$round" "$biggest_url" "$(token)" "Accept-Encoding: gzip"
        download_rps=$(max "$download_rps" "$rps") download_mbps=$(max "$download_mbps" "$mbps")
    done
    result "gzip: static nginx / manifest URL" "$static_rps / $download_rps req/s" "—"
    result "gzip: download / static (bytes/s)" "$(calc "%.2f" "$download_mbps / $static_mbps")" "—"
else
    result "gzip: download / static (bytes/s)" "skipped" "— (over $(calc "%.0f" "$gzip_limit / 1048576") MB: BENCH_DURATION × 200 MB/s / BENCH_CONNECTIONS)"
fi

# --- 4. Scheduling: wake-up on kick-off, no waiting behind a big export ------------------------
# The loop scheduler with RepeatPeriod 60 s (only a wake-up starts a task sooner) and the
# default MaxParallelExports: a 100-member list's kick-off → manifest, alone and while the
# N-member export runs.
kickoff_group() { # GROUP TOKEN → prints the status URL
    local headers="$state/kickoff-$1.headers" code
    code=$("${curl_[@]}" -o "$state/kickoff-$1.json" -D "$headers" -w '%{http_code}' \
        -H "Authorization: Bearer $2" -H 'Accept: application/fhir+json' -H 'Prefer: respond-async' \
        "$base/Group/$1/\$davinci-data-export?_type=$types")
    [ "$code" = 202 ] || { cat "$state/kickoff-$1.json" >&2; die "kick-off of Group/$1 answered $code, not 202"; }
    "${util[@]}" status-url "$headers"
}
until_manifest() { # STATUS_URL TOKEN TIMEOUT_S [POLL_S] → prints the seconds until the status answered 200
    local tok=$2 t0 tok_t now code
    t0=$(date +%s%N) tok_t=$t0
    while :; do
        code=$("${curl_[@]}" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$1")
        [ "$code" = 200 ] && break
        [ "$code" = 202 ] || die "GET $1 answered $code during the scheduling figures"
        now=$(date +%s%N)
        [ $(( (now - t0) / 1000000000 )) -lt "$3" ] || die "no manifest at $1 after $3 s"
        # Tokens live 300 s: a long wait (the N-member export at 1M members) polls with fresh ones.
        if [ $(( (now - tok_t) / 1000000000 )) -ge 120 ]; then tok=$(token) tok_t=$now; fi
        sleep "${4:-0.01}"
    done
    calc "%.3f" "($(date +%s%N) - $t0) / 1e9"
}
list_members=100
mkdir -p "$state/data/list"
python3 scripts/bench/generate.py "$state/data/list" "$list_members" bench-list > "$state/data/list/summary.json"
import_data "$state/data/list" >/dev/null
ATR_BulkDataExport__RepeatPeriod=60000 setsid "$bin/atr-scheduler" >>"$state/log/loop-scheduler.log" 2>&1 < /dev/null &
echo $! > "$run/loop-scheduler.pid"
sleep 2   # its first pass finds nothing; from here on only kick-offs wake it
tok=$(token)
alone_s=$(until_manifest "$(kickoff_group bench-list "$tok")" "$tok" 120)
big_url=$(kickoff_group bench-group "$tok")
big_task=${big_url##*_id=}
for _ in $(seq 1 600); do   # until it has been claimed (at small N it may be complete already)
    [ "$("$bin/atrctl" tasks show "$big_task" | sed -n 's/^state: //p')" = queued ] || break
    sleep 0.05
done
behind_s=$(until_manifest "$(kickoff_group bench-list "$tok")" "$tok" 300)
big_state=$("$bin/atrctl" tasks show "$big_task" | sed -n 's/^state: //p')
until_manifest "$big_url" "$(token)" 3600 1 >/dev/null   # polled once a second: it is not timed
stop_pidfile "$run/loop-scheduler.pid"
log "scheduling: $list_members-member list alone ${alone_s} s; while the $members-member export ran (${big_state} when it was done) ${behind_s} s"
result "kick-off → manifest, $list_members-member list, RepeatPeriod 60 s" "${alone_s} s" "≤ 1 s ($(verdict "$alone_s" '<=' 1))"
result "the same while the $members-member export runs (it was $big_state by then)" "${behind_s} s" "≤ 2 s ($(verdict "$behind_s" '<=' 2))"

# --- 5. PostgreSQL: the same export and status polls --------------------------------------------
if [ "$backends" = both ]; then
    sqlite_export_s=$big_export_s
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$pg_bin" ] || die "PostgreSQL is not installed; BENCH_BACKEND=sqlite skips it"
    log "PostgreSQL: a throwaway server in $state/postgres"
    pg_url=$(scripts/postgres.sh start "$state/postgres")
    scripts/stack.sh stop >/dev/null
    t0=$(date +%s%N)
    "$bin/atrctl" db migrate-to-postgres --connection "$pg_url" > "$state/log/migrate.log" 2>&1 \
        || { tail -n 20 "$state/log/migrate.log" >&2; die "atrctl db migrate-to-postgres failed"; }
    t1=$(date +%s%N)
    migrate_s=$(calc "%.1f" "($t1 - $t0) / 1e9")
    python3 - "$ATR_INSTANCE_SETTINGS" "$pg_url" <<'PY'
import json, sys
path, url = sys.argv[1], sys.argv[2]
settings = json.load(open(path, encoding="utf-8"))
settings["Database"] = {"Provider": "PostgreSQL", "ConnectionString": url}
json.dump(settings, open(path, "w", encoding="utf-8"), indent=2)
PY
    start_bench_stack
    engine=postgresql
    log "exporting $members members from PostgreSQL"
    run_export pg "$state/data/n$members/summary.json"
    pg_ratio=$(calc "%.2f" "$export_s / $floor_s")
    pg_export_s=$export_s pg_floor_s=$floor_s pg_resources=$resources pg_rss_kb=$rss_kb
    result "PostgreSQL: export of $members members (atr-scheduler --once)" "${export_s} s" "—"
    result "PostgreSQL: raw floor, psql COPYing the same rows' JSON" "${floor_s} s" "—"
    result "PostgreSQL: export / raw floor ($members members)" "$pg_ratio×" "≤ 3× ($(verdict "$pg_ratio" '<=' 3))"
    result "PostgreSQL export / SQLite export" "$(calc "%.2f" "$export_s / $sqlite_export_s")×" "—"
    rm -f "$state/floor.ndjson"
    result "PostgreSQL: scheduler peak RSS ($members members)" "$(calc "%.1f" "$rss_kb / 1024") MB" "—"
    result "atrctl db migrate-to-postgres of the $members-member database" "${migrate_s} s" "—"
    log "PostgreSQL HTTP: wrk -t$wrk_threads -c$wrk_connections -d$duration, $rounds rounds"
    measure_status_polls pg
    pg_http_ratio=$(calc "%.2f" "$status_rps / $hello_rps")
    result "PostgreSQL: \$exportstatus polls (complete task, bearer token)" "$status_rps req/s (hello $hello_rps)" "—"
    result "PostgreSQL: status polls / hello" "$pg_http_ratio" "≥ 0.7 ($(verdict "$pg_http_ratio" '>=' 0.7))"
fi

# --- 6. Points and chart -------------------------------------------------------------------------
if [ -n "$points_file" ]; then
    today=$(date -u +%Y-%m-%d)
    point() { # BACKEND MEMBERS RESOURCES EXPORT_S FLOOR_S RSS_KB IMPORT_S IMPORT_FLOOR_S
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$today" "$1" "$2" "$3" "$4" "$5" \
            "$(calc "%.1f" "$6 / 1024")" "$7" "$8"
    }
    {
        printf 'date\tbackend\tmembers\tresources\texport_s\tfloor_s\trss_mb\timport_s\timport_floor_s\n'
        point sqlite "$small" "$small_resources" "$small_export_s" "$small_floor_s" "$small_rss_kb" "$import_small_s" "$import_floor_small_s"
        point sqlite "$members" "$big_resources" "$big_export_s" "$big_floor_s" "$big_rss_kb" "$import_s" "$import_floor_s"
        [ "$backends" = sqlite ] || point postgresql "$members" "$pg_resources" "$pg_export_s" "$pg_floor_s" "$pg_rss_kb" "" ""
    } > "$state/points.tsv"
    python3 scripts/bench/chart.py merge "$points_file" "$state/points.tsv" || die "cannot merge $state/points.tsv into $points_file"
    if [ -n "$chart_python" ]; then
        "$chart_python" scripts/bench/chart.py draw "$points_file" "$chart_png" > "$state/log/chart.log" 2>&1 \
            || log "warning: $chart_png is not redrawn: $(tail -n 1 "$state/log/chart.log")"
    fi
    log "points: $points_file (chart: $chart_png)"
fi

echo
echo "ATR Export benchmarks — $(date -u +%Y-%m-%dT%H:%M:%SZ), $members members, backends: $backends, $(nproc) CPUs, wrk -t$wrk_threads -c$wrk_connections -d$duration, best of $rounds rounds"
"${util[@]}" table "$results"
echo "details: $state (wrk-*.txt, *-scheduler.time, log/)"
