#!/usr/bin/env bash
# The full test suite, from a fresh Debian 12 machine: installs what is missing, builds the
# normal (dev) and the sanitizer (asan: ASan + UBSan) configurations, and runs every test of
# both, each against its own real PostgreSQL, RabbitMQ and MongoDB-wire server (started and
# stopped by the ctest fixture). Exits non-zero on any failure.
#
#   deploy/local/test.sh            # dev + asan
#   deploy/local/test.sh dev        # one configuration only (dev, asan or release)
#
# The dev configuration includes the chaos suite's short cells (ctest label `chaos`, about 5
# minutes: test/chaos/README.md); CVGATE_SKIP_CHAOS=1 leaves them out.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
presets=("$@")
[[ ${#presets[@]} -gt 0 ]] || presets=(dev asan)

log() { printf '\n== test.sh: %s\n' "$*" >&2; }

# Each phase's wall time and CPU time (user + system of the finished child processes: the
# servers the fixture starts in the background are not counted), printed at the end, so that
# a slow CI run says where its time went.
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
to_ms() { # 1m2.345s -> 62345
    local m=${1%%m*} r=${1#*m}
    r=${r%s}
    echo $((10#$m * 60000 + 10#${r%.*} * 1000 + 10#${r#*.}))
}
# Sets cpu to the user + sys ms of this shell's waited-for children so far: `times` must run in
# this very shell, not in a $(...) subshell, which has no children of its own yet.
times_file=$(mktemp)
trap 'rm -f "$times_file"' EXIT
cpu=0
read_cpu() {
    local t
    times >"$times_file"
    t=$(sed -n 2p "$times_file") # children: 1m2.345s 0m0.678s
    cpu=$(($(to_ms "${t%% *}") + $(to_ms "${t##* }")))
}
phases=()
read_cpu
start_wall=$(now_ms) start_cpu=$cpu phase_wall0=$start_wall phase_cpu0=$cpu phase_name=""
phase() { # name: ends the current phase (if any), starts the next (none when empty)
    local wall
    wall=$(now_ms)
    read_cpu
    [[ -n $phase_name ]] && phases+=("$(printf '%-22s %7d s wall %7d s CPU' "$phase_name" \
        $(((wall - phase_wall0 + 500) / 1000)) $(((cpu - phase_cpu0 + 500) / 1000)))")
    phase_name=$1 phase_wall0=$wall phase_cpu0=$cpu
}
summary() {
    phase ""
    printf '%s\n' "${phases[@]}" >&2
    printf '%-22s %7d s wall %7d s CPU  (load average now: %s)\n' total \
        $((($(now_ms) - start_wall + 500) / 1000)) $(((cpu - start_cpu + 500) / 1000)) \
        "$(cut -d' ' -f1-3 /proc/loadavg)" >&2
}

log "installing what is missing"
phase install
"$here/install-deps.sh"

cd "$root"
status=0
for preset in "${presets[@]}"; do
    log "configure + build: $preset"
    phase "build $preset"
    cmake --preset "$preset"
    cmake --build --preset "$preset"
    log "tests: $preset"
    phase "tests $preset"
    # The MongoDB-wire server: FerretDB on PostgreSQL (production's backend) for dev and
    # release; on SQLite for asan, which can hold what jsonb cannot (U+0000), so the poison
    # cases of test/integration/integrity_test.cpp run there for real.
    backend=postgresql
    [[ $preset == asan ]] && backend=sqlite
    skip=()
    [[ ${CVGATE_SKIP_CHAOS:-0} == 1 ]] && skip=(-LE chaos)
    if ! FERRETDB_BACKEND=$backend ctest --preset "$preset" --output-on-failure --timeout 600 "${skip[@]}"; then
        status=1
        log "FAILED: $preset"
    fi
done
log "time per phase"
summary
[[ $status -eq 0 ]] && log "all tests passed" || log "some tests failed"
exit $status
