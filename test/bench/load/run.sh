#!/usr/bin/env bash
# The load harness (cvgate_load) against a release cvgate in front of the real servers, at a
# series of rates: per rate, the harness's table (requests/s and latency percentiles per
# operation, sessions that completed and verified) and the CPU each process used (cvgate, the
# harness with its stand-in pipeline, FerretDB and its own PostgreSQL, PostgreSQL, RabbitMQ)
# with cvgate's peak RSS;
# then GET /healthz on cvgate next to nginx's `return 200`, the ceiling of this machine.
# Never passes or fails, unless STRICT=1 (ctest's bench.load_smoke): then it exits 1 when
# the harness saw a failed request, an answer that did not add up or an unfinished session.
#
#   test/bench/load/run.sh [cvgate-binary]      (default: build/release/apps/cvgate/cvgate)
#   RATES="5 10 20 40" DURATION=30s PIPELINE_DELAY=2s IO_THREADS=2 CEILING=1 \
#   LOAD_ARGS="--cvs 1-10 --poll-interval 1s" test/bench/load/run.sh
#
# BENCH_VOLUME=DIR puts the upload volume under DIR. This machine's root ext4 has no journal,
# and ext4 without one skips every inode freed in the last minutes when it creates a file
# (find_inode_bit -> recently_deleted, a scan of the inode table): under the mix's churn of
# files created and removed that was a quarter of cvgate's CPU, growing from run to run. A
# journaled file system, as a production volume is, does not pay it, e.g.:
#   truncate -s 8G /tmp/vol.img && mkfs.ext4 -q /tmp/vol.img && mkdir -p /mnt/vol &&
#   mount -o loop /tmp/vol.img /mnt/vol && BENCH_VOLUME=/mnt/vol test/bench/load/run.sh
# The servers: with STACK_DIR (or CVGATE_STACK_DIR) naming a running stack, that stack is
# used (this run gets its own queue and databases, removed at the end); otherwise a fresh
# stack is started with deploy/local/stack.sh and destroyed at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${1:-$root/build/release/apps/cvgate/cvgate}
load=${LOAD_BIN:-$root/build/release/test/bench/cvgate_load}
rates=${RATES:-5 10 20 40} duration=${DURATION:-30s} delay=${PIPELINE_DELAY:-2s}
io_threads=${IO_THREADS:-2}
read -r -a extra <<<"${LOAD_ARGS:-}"

[[ -x $load ]] || { echo "no cvgate_load at $load (build the release preset)" >&2; exit 2; }

# shellcheck source=../lib/gateway.sh
. "$here/../lib/gateway.sh"
bench_up "$bin" "$io_threads"

hz=$(getconf CLK_TCK)
# CPU ticks of this shell's waited-for children (cvgate_load is one of them).
children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'; }
percent() { awk -v t="$1" -v s="$2" -v hz="$hz" 'BEGIN {printf "%.0f%%", 100 * t / hz / s}'; }
pid_of() { head -n 1 "$bench_stack_dir/$1.pid" 2>/dev/null || echo 0; }
processes=("cvgate:$bench_pid" "ferretdb:$(pid_of mongo)")
# FerretDB's PostgreSQL (FERRETDB_BACKEND=postgresql, the default) is hot storage's cost too.
[[ -f $bench_stack_dir/mongo-pg.pid ]] && processes+=("ferretdb-pg:$(pid_of mongo-pg)")
processes+=("postgres:$(pid_of postgres)" "rabbitmq:$(pid_of rabbitmq)")

echo "cvgate $bin, IO_THREADS=$io_threads; $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cvgate RSS after start: $(bench_vm VmRSS)"
failed=0
for rate in $rates; do
    echo
    declare -A before=()
    for p in "${processes[@]}"; do before[${p%%:*}]=$(bench_cpu_ticks "${p#*:}"); done
    children_before=$(children_ticks)
    start=$(date +%s.%N)
    status=0
    "$load" --url "$bench_url" --rate "$rate" --duration "$duration" --pipeline --pipeline-delay "$delay" \
        "${extra[@]}" >"$bench_work/load.out" 2>&1 &
    load_pid=$!
    wait "$load_pid" || status=$?
    end=$(date +%s.%N)
    harness=$(($(children_ticks) - children_before))
    cat "$bench_work/load.out"
    if ((status != 0)); then
        echo "(cvgate_load exited $status: some requests failed or sessions did not complete)"
        failed=1
    fi
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
    line="CPU, % of one core over $seconds s:"
    for p in "${processes[@]}"; do
        name=${p%%:*}
        line+=" $name $(percent $(($(bench_cpu_ticks "${p#*:}") - before[$name])) "$seconds")"
    done
    echo "$line harness $(percent "$harness" "$seconds"); cvgate peak RSS $(bench_vm VmHWM), now $(bench_vm VmRSS)"
    cvgate_ticks=$(($(bench_cpu_ticks "$bench_pid") - before[cvgate]))
    sessions=$(awk '/^sessions: accepted/ {print $3 + 0}' "$bench_work/load.out" | sed 's/,//')
    awk -v t="$cvgate_ticks" -v hz="$hz" -v n="${sessions:-0}" \
        'BEGIN {if (n > 0) printf "cvgate CPU per accepted session: %.2f ms (%d sessions)\n", 1000 * t / hz / n, n}'
done

if [[ ${CEILING:-1} == 1 ]]; then
    echo
    echo "the machine's ceiling for a tiny answer (wrk, /healthz, cvgate vs nginx):"
    DURATION=${CEILING_DURATION:-10s} ROUNDS=${CEILING_ROUNDS:-1} IO_THREADS=$io_threads \
        "$root/test/bench/wrk_healthz.sh" "$bin" 2>&1 | sed 's/^/  /'
fi

if [[ ${STRICT:-0} == 1 ]] && ((failed)); then
    echo "--- cvgate's log ---"
    tail -50 "$bench_work/cvgate.log"
    exit 1
fi
