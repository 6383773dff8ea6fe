#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of Fuzz/ (AddressSanitizer on) and runs each one for
# FUZZ_SECONDS from its committed seeds in Fuzz/corpus/<target>/, then prints per target the
# executions and the crashes. Exits non-zero when any target crashed (a memory error, a trap, a
# broken property, a hang over 10 s or more than 2 GB).
#   FUZZ_SECONDS  seconds per target (default 60; 5 makes a smoke check)
#   FUZZ_TARGETS  space-separated target names (default: every Fuzz/Sources/fuzz-*)
#
# Inputs that find new coverage go to the working corpus var/fuzz/corpus/<target>/ (kept between
# runs, never committed); crash inputs to var/fuzz/crashes/, logs to var/fuzz/logs/. Replay one:
#   .build-fuzz/debug/<target> var/fuzz/crashes/<target>-crash-…
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] || { echo "FUZZ_SECONDS must be a whole number ≥ 1" >&2; exit 64; }
targets=${FUZZ_TARGETS:-$(cd Fuzz/Sources && ls -d fuzz-* | tr '\n' ' ')}
scratch=.build-fuzz
work=var/fuzz

mkdir -p "$work/crashes" "$work/logs"
# Its own scratch folder: sanitizer flags must not reach the normal build's objects. lld, as gold
# fails on the sanitizer runtime's symbols.
flags=(--package-path Fuzz -c debug --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
echo "building the fuzz targets (log: $work/logs/build.log)"
swift build "${flags[@]}" > "$work/logs/build.log" 2>&1 || { grep -v "Cannot export local symbol" "$work/logs/build.log" | tail -n 30; exit 1; }
bin=$(swift build "${flags[@]}" --show-bin-path)
# Swift's backtracer would hold a crashing target for its timeout; libFuzzer reports the crash itself.
export SWIFT_BACKTRACE=enable=no

summary="$work/last-run.tsv"
printf 'target\tseconds\texecutions\tcorpus\tcrashes\n' > "$summary"
failed=0
for target in $targets; do
    [ -x "$bin/$target" ] || { echo "no fuzz target $target in $bin" >&2; exit 64; }
    mkdir -p "$work/corpus/$target"
    log="$work/logs/$target.log"
    before=$(ls "$work/crashes" | grep -c "^$target-" || true)
    # The first corpus folder receives the new inputs; the committed seeds are only read.
    status=0
    "$bin/$target" "$work/corpus/$target" "Fuzz/corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/crashes/$target-" > "$log" 2>&1 || status=$?
    after=$(ls "$work/crashes" | grep -c "^$target-" || true)
    crashes=$((after - before))
    [ "$status" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes=1  # a failure that left no input is still one
    executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    corpus=$(ls "$work/corpus/$target" | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\n' "$target" "$seconds" "$executions" "$corpus" "$crashes" >> "$summary"
    if [ "$crashes" -gt 0 ]; then
        failed=1
        echo "CRASH in $target (log: $log):"
        grep -m 5 -E "ERROR|Fatal error|property broken|SUMMARY" "$log" || tail -n 5 "$log"
    fi
done

column -t -s $'\t' "$summary"
[ "$failed" -eq 0 ] || { echo "fuzzing found crashes: inputs in $work/crashes/" >&2; exit 1; }
