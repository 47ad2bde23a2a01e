#!/usr/bin/env bash
# Load on the flows: wrk POSTing /jobs/submit (3 small PDFs each), then GETting
# /jobs/{id}/status for the jobs it created (and for one of them), against a release cvgate in front of the real
# servers. Prints requests/s, p50/p99 latency and cvgate's peak RSS (VmHWM) after at least
# MIN_SUBMITS submissions; never passes or fails.
#
#   test/bench/wrk/run.sh [cvgate-binary]        (default: build/release/apps/cvgate/cvgate)
#   THREADS=2 CONNECTIONS=50 DURATION=15s IO_THREADS=2 MIN_SUBMITS=1000 test/bench/wrk/run.sh
#
# The servers: with STACK_DIR (or CVGATE_STACK_DIR) naming a running stack, that stack is
# used (and only this run's queue, database and files are removed at the end); otherwise a
# fresh stack is started with deploy/local/stack.sh and destroyed at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${1:-$root/build/release/apps/cvgate/cvgate}
threads=${THREADS:-2} connections=${CONNECTIONS:-50} duration=${DURATION:-15s}
io_threads=${IO_THREADS:-2} min_submits=${MIN_SUBMITS:-1000}

command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }

# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
bench_up "$bin" "$io_threads"
work=$bench_work url=$bench_url
vm() { bench_vm "$1"; }

# run_wrk label script -> wrk's output in $work/label.out, a one-line summary on stdout
run_wrk() {
    local label=$1 script=$2 out=$work/$1.out
    wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$script" "$url" >"$out" 2>&1
    printf '%-7s %9s req/s   p50 %9s   p99 %9s   %s\n' "$label" \
        "$(awk '/Requests\/sec/ {print $2}' "$out")" \
        "$(awk '$1=="50%" {print $2}' "$out")" "$(awk '$1=="99%" {print $2}' "$out")" \
        "$(grep -E '^(submissions|status requests):' "$out" || true)"
    grep -E '^first non-202|Socket errors' "$out" || true
}

echo "cvgate $bin, IO_THREADS=$io_threads, $(nproc) cores; wrk -t$threads -c$connections -d$duration --latency"
echo "RSS after start: $(vm VmRSS)"

ids=$work/job_ids
: >"$ids"
round=0
while :; do
    round=$((round + 1))
    JOB_IDS_OUT=$ids run_wrk "submit" "$here/submit.lua"
    submitted=$(wc -l <"$ids")
    ((submitted >= min_submits || round >= 10)) && break
    echo "  ($submitted accepted submissions so far; another round to reach $min_submits)"
done
echo "accepted submissions in all: $submitted; cvgate peak RSS (VmHWM): $(vm VmHWM), RSS now: $(vm VmRSS)"

JOB_IDS_FILE=$ids run_wrk "status" "$here/status.lua"
# The same route on one job: what is left when the lookup's cost does not depend on where the
# job sits in the collection (FerretDB's SQLite backend scans for an _id: the later the
# job was inserted, the longer it takes).
JOB_ID=$(head -n 1 "$ids") JOB_IDS_FILE='' run_wrk "status1" "$here/status.lua"
echo "cvgate peak RSS (VmHWM) after all runs: $(vm VmHWM)"
