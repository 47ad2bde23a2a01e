#!/usr/bin/env bash
# The chaos matrix: a real cvgate behind Toxiproxy, for each dependency (postgres, mongo,
# rabbitmq) x fault (latency past the deadlines, black hole, reset_peer, 1 KB/s, SIGSTOP then
# SIGCONT, SIGKILL then restart), a bounded mixed workload, then the audit of the stores
# (test/chaos/audit). Prints the table (cell -> requests, 2xx, 503, in doubt, accepted late,
# orphans, violations, bulkhead failures, seconds to recover, cvgate's peak RSS); exits 1 when
# a cell failed. About 30-45 s per cell, 18 cells.
#
#   test/chaos/run.sh [cvgate-binary]              (default: build/dev/apps/cvgate/cvgate)
#   CELLS=mongo:sigstop,rabbitmq:reset test/chaos/run.sh
#   CHAOS_ARGS="--rate 30 --fault 12 --keep" test/chaos/run.sh
#
# The servers: with STACK_DIR (or CVGATE_STACK_DIR) naming a running stack, that stack is used
# (each cell gets its own queue and databases, dropped at the end; the stack's servers are
# frozen, killed and restarted by the cells); otherwise a fresh stack is started with
# deploy/local/stack.sh and destroyed at the end. Needs Toxiproxy and python3-pika
# (deploy/local/install-deps.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/dev/apps/cvgate/cvgate}
[[ -x $bin ]] || { echo "no cvgate binary at $bin (cmake --build --preset dev, or pass a path)" >&2; exit 2; }
read -r -a extra <<<"${CHAOS_ARGS:-}"

# shellcheck source=use_stack.sh
source "$here/use_stack.sh"
use_stack chaos
echo "cvgate $bin; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/cell.py" --cvgate "$bin" --stack-dir "$stack_dir" --cells "${CELLS:-all}" "${extra[@]}"
