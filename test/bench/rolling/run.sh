#!/usr/bin/env bash
# Rolling restarts of N cvgate replicas behind nginx under a mixed load (status, submit,
# add-cvs, sync), both out of the balancer first (Kubernetes-like) and with SIGTERM straight
# away, then the audit of the stores (rolling.py says what is checked). Prints requests,
# failures by kind and latency percentiles per variant; exits 1 on a failed request or a
# failed audit (the goal is 0 in both variants).
#
#   test/bench/rolling/run.sh [cvgate-binary]     (default: build/release/apps/cvgate/cvgate)
#   ROUNDS=3 REPLICAS=3 RATE=80 WARMUP=5 COOLDOWN=5 test/bench/rolling/run.sh
#   ROLLING_ARGS="--variants direct --pause 2" test/bench/rolling/run.sh
#
# The servers: with STACK_DIR (or CVGATE_STACK_DIR) naming a running stack, that stack is used
# (each variant gets its own queue and databases, removed at the end); otherwise a fresh stack
# is started with deploy/local/stack.sh and destroyed at the end. Needs nginx on the PATH.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${1:-$root/build/release/apps/cvgate/cvgate}
[[ -x $bin ]] || { echo "no cvgate binary at $bin (build the release preset, or pass a path)" >&2; exit 2; }
rounds=${ROUNDS:-1}
read -r -a extra <<<"${ROLLING_ARGS:-}"

stack_sh=$root/deploy/local/stack.sh
stack_dir=${STACK_DIR:-${CVGATE_STACK_DIR:-}}
own_stack=0
cleanup() {
    if ((own_stack)); then STACK_DIR=$stack_dir "$stack_sh" destroy >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if [[ -z $stack_dir ]] || ! STACK_DIR=$stack_dir "$stack_sh" status >/dev/null 2>&1; then
    stack_dir=$(mktemp -d /tmp/cvgate-rolling-stack.XXXXXX) own_stack=1
    echo "starting a stack in $stack_dir" >&2
    STACK_DIR=$stack_dir "$stack_sh" start >&2
fi

echo "cvgate $bin; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); nginx $(nginx -v 2>&1 | cut -d/ -f2)"
status=0
for round in $(seq "$rounds"); do
    echo "-- round $round of $rounds"
    python3 "$here/rolling.py" --cvgate "$bin" --stack-dir "$stack_dir" --replicas "${REPLICAS:-3}" \
        --rate "${RATE:-40}" --warmup "${WARMUP:-5}" --cooldown "${COOLDOWN:-5}" "${extra[@]}" || status=1
done
exit $status
