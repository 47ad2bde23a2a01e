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

log "installing what is missing"
"$here/install-deps.sh"

cd "$root"
status=0
for preset in "${presets[@]}"; do
    log "configure + build: $preset"
    cmake --preset "$preset"
    cmake --build --preset "$preset"
    log "tests: $preset"
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
[[ $status -eq 0 ]] && log "all tests passed" || log "some tests failed"
exit $status
