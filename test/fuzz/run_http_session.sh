#!/usr/bin/env bash
# libFuzzer on the HTTP front door (http_session_fuzz), seeded with its regression corpus.
#   test/fuzz/run_http_session.sh [SECONDS] [WORKERS]     (defaults: 600 s, 1 worker)
# Builds the fuzz preset (clang-14, ASan + UBSan) when needed; new inputs go to
# build/fuzz/corpus/http_session, crashes to build/fuzz/artifacts/. Prints the executions.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-600}
workers=${2:-1}
cd "$root"
[[ -f build/fuzz/build.ninja ]] || cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target http_session_fuzz
work=build/fuzz/corpus/http_session
mkdir -p "$work" build/fuzz/artifacts build/fuzz/logs
log=build/fuzz/logs/http_session-$(date +%Y%m%d-%H%M%S)
status=0
for i in $(seq "$workers"); do
    build/fuzz/test/fuzz/http_session_fuzz "$work" test/fuzz/corpus/http_session \
        -dict=test/fuzz/http_session.dict -max_len=131072 -timeout=20 -rss_limit_mb=2048 \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ \
        >"$log.$i" 2>&1 &
done
wait || status=$?
runs=$(grep -h '^stat::number_of_executed_units' "$log".* | awk '{s += $2} END {print s + 0}')
echo "http_session_fuzz: $runs executions in ${seconds}s x $workers worker(s), exit $status (logs: $log.*)"
exit $status
