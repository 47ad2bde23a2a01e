#!/usr/bin/env bash
# libFuzzer on the HTTP front door (http_session_fuzz), seeded with its regression corpus.
#   test/fuzz/run_http_session.sh [SECONDS] [WORKERS] [PRESET]
# Defaults: 600 s, 1 worker, preset `fuzz` (clang-14, ASan + UBSan); `fuzz-fast` is the same
# target with UBSan only, several times the executions per second. Builds the preset when
# needed and runs at the lowest priority. New inputs go to build/fuzz/corpus/http_session,
# crashes to build/fuzz/artifacts/, logs to build/fuzz/logs/. Prints the executions and
# appends them as a row for test/fuzz/EXECUTIONS.md to build/fuzz/logs/tally.md.
# MAX_LEN (default 131072) bounds the inputs: a small one (4096) runs many times faster, for
# the bulk of the executions; the corpus's floods need the default.
# `fuzz-lean` is `fuzz-fast` with coverage and comparison tracing on cvgate's own functions
# only (test/fuzz/lean_coverage.ignore leaves Boost, the standard library and the oracle out):
# the same target and promises at ~4x the executions per second (5,000/s a worker here against
# 1,200), for the volume of a campaign; the other presets also guide by Beast's parser.
# FUZZ_ARGS: more libFuzzer flags. `-entropic=0` more than doubles the executions per second
# here: with ~20,000 features, entropic scheduling's bookkeeping (UpdateFeatureFrequency,
# AddRareFeature) took over half of the CPU in a perf profile.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-600}
workers=${2:-1}
preset=${3:-fuzz}
cd "$root"
[[ -f build/$preset/build.ninja ]] || nice -n 10 cmake --preset "$preset" >/dev/null
nice -n 10 cmake --build --preset "$preset" --target http_session_fuzz
work=build/fuzz/corpus/http_session
mkdir -p "$work" build/fuzz/artifacts build/fuzz/logs
log=build/fuzz/logs/http_session-$preset-$(date +%Y%m%d-%H%M%S)
# UBSan's findings must stop the run like ASan's: by default it reports and goes on.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
status=0
start=$SECONDS
for i in $(seq "$workers"); do
    nice -n 19 "build/$preset/test/fuzz/http_session_fuzz" "$work" test/fuzz/corpus/http_session \
        -dict=test/fuzz/http_session.dict -max_len="${MAX_LEN:-131072}" -timeout=20 -rss_limit_mb=2048 \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ ${FUZZ_ARGS:-} \
        >"$log.$i" 2>&1 &
done
wait || status=$?
elapsed=$((SECONDS - start))  # less than SECONDS when a worker stopped at a crash
runs=$(grep -h '^stat::number_of_executed_units' "$log".* | awk '{s += $2} END {print s + 0}')
crashes=$(cat "$log".* | grep -c 'Test unit written to' || true)  # crashes, timeouts, OOMs
rate=$(awk -v r="$runs" -v s="$elapsed" -v w="$workers" 'BEGIN {printf "%d", r / ((s > 0 ? s : 1) * w)}')
echo "| $(date +%F) | $preset | ${elapsed} x ${workers} | $runs | $rate | $crashes | $(basename "$log") |" \
    >>build/fuzz/logs/tally.md
echo "http_session_fuzz ($preset): $runs executions in ${elapsed}s x $workers worker(s), ~$rate/s per worker," \
     "$crashes crash(es), exit $status (logs: $log.*)"
exit $status
