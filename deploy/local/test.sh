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
bg_pid=""
# A background step (below) does not outlive the script, whatever ends it: with no job control,
# Ctrl-C would not reach it.
kill_tree() { local p; for p in $(pgrep -P "$1"); do kill_tree "$p"; done; kill "$1" 2>/dev/null || true; }
trap 'rm -f "$times_file"; [[ -z $bg_pid ]] || kill_tree "$bg_pid"' EXIT
trap 'exit 130' INT TERM
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

# Two cores do the most when the tests, which mostly wait on servers and sockets, share them
# with the next compile: the next configuration builds in the background at the lowest
# priority while the tests of the previous one run (in the foreground, at normal priority),
# and the test-only tools install while the first configuration builds. A background step's
# output goes to a log under build/, printed when it fails.
logs=$root/build/test-logs
mkdir -p "$logs"
bg_name="" bg_log=""
background() { # name log command...: runs the command in the background
    bg_name=$1 bg_log=$2
    shift 2
    "$@" >"$bg_log" 2>&1 &
    bg_pid=$!
}
wait_background() { # waits for the background step, fails (with its log) when it failed
    [[ -n $bg_pid ]] || return 0
    local rc=0
    wait "$bg_pid" || rc=$?
    bg_pid=""
    if [[ $rc -ne 0 ]]; then
        tail -n 60 "$bg_log" >&2
        log "FAILED: $bg_name (exit $rc; whole log: $bg_log)"
        return 1
    fi
}
# The test-only tools, then the container test's base images (a debootstrap: mostly waiting
# on the mirror and dpkg; 77 means podman cannot run here, which that test reports itself).
install_test_tools() {
    "$here/install-deps.sh"
    local rc=0
    "$root/deploy/docker/build-and-smoke.sh" base || rc=$?
    [[ $rc -eq 0 || $rc -eq 77 ]]
}
build() { # preset [nice]
    cmake --preset "$1" && nice -n "${2:-0}" cmake --build --preset "$1"
}

cd "$root"
log "installing what is missing to build"
phase "install (build)"
SKIP_CI_TOOLS=1 SKIP_MONGO_SERVER=1 "$here/install-deps.sh"

status=0
for i in "${!presets[@]}"; do
    preset=${presets[$i]}
    if [[ $i -eq 0 ]]; then
        log "configure + build: $preset (and, meanwhile, installing the test tools)"
        phase "build $preset"
        background "installing the test tools" "$logs/install-rest.log" install_test_tools
        build "$preset"
    else
        log "waiting for the background build of $preset"
        phase "build $preset (rest)"
    fi
    wait_background || exit 1
    next=${presets[$((i + 1))]:-}
    if [[ -n $next ]]; then
        background "configure + build: $next" "$logs/build-$next.log" build "$next" 19
    fi
    log "tests: $preset${next:+ (while $next builds in the background)}"
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
