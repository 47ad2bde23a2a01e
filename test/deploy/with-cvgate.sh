#!/usr/bin/env bash
# Runs a command against a real cvgate: starts CVGATE_BINARY in front of the `stack` fixture's
# servers (deploy/local/stack.sh's env file) with a volume, a MongoDB database and a job queue of
# its own and a free loopback port, waits until /readyz answers 200, runs the command with
# CVGATE_URL (and the rest below) in its environment, then stops cvgate with SIGTERM, by pid,
# even when the command fails. Exits with the command's status, or 1 when cvgate did not
# become ready or did not stop cleanly.
#
#   test/deploy/with-cvgate.sh WORK_DIR CVGATE_BINARY COMMAND [ARGS...]
#
# The command sees: CVGATE_URL, CVGATE_VOLUME, CVGATE_MONGO_DB, CVGATE_QUEUE, CVGATE_LOG, and the
# stack's MONGO_URL, DATABASE_URL, RABBITMQ_URL. The stack is CVGATE_STACK_DIR's.
set -euo pipefail

work=${1:?usage: with-cvgate.sh WORK_DIR CVGATE_BINARY COMMAND...}
binary=${2:?usage: with-cvgate.sh WORK_DIR CVGATE_BINARY COMMAND...}
shift 2
[[ $# -gt 0 ]] || { echo "with-cvgate: no command" >&2; exit 2; }
stack_dir=${CVGATE_STACK_DIR:?set CVGATE_STACK_DIR to the stack fixture directory}
[[ -r $stack_dir/env ]] || { echo "with-cvgate: no running stack ($stack_dir/env missing)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$stack_dir/env"

log() { printf 'with-cvgate: %s\n' "$*" >&2; }

rm -rf "$work" && mkdir -p "$work/uploads"
work=$(cd "$work" && pwd)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
id=$$_$RANDOM
export CVGATE_URL=http://127.0.0.1:$port CVGATE_VOLUME=$work/uploads CVGATE_MONGO_DB=cvgate_deploy_$id \
    CVGATE_QUEUE=cvgate-deploy-$id CVGATE_LOG=$work/cvgate.log

pid=""
stop() {
    local rc=$?
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        if ! wait "$pid"; then
            log "cvgate did not exit 0 after SIGTERM (log: $CVGATE_LOG)"
            [[ $rc -eq 0 ]] && rc=1
        fi
    fi
    exit "$rc"
}
trap stop EXIT

LISTEN_ADDR=127.0.0.1 PORT=$port UPLOAD_VOLUME_PATH=$CVGATE_VOLUME MONGO_DB_NAME=$CVGATE_MONGO_DB \
    JOBS_QUEUE=$CVGATE_QUEUE IO_THREADS=1 BLOCKING_THREADS=4 SHUTDOWN_GRACE_SECONDS=5 \
    "$binary" >"$CVGATE_LOG" 2>&1 &
pid=$!

deadline=$((SECONDS + 60))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$CVGATE_URL/readyz") == 200 ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
        pid=""
        log "cvgate exited at start:"
        tail -n 20 "$CVGATE_LOG" >&2
        exit 1
    fi
    if ((SECONDS > deadline)); then
        log "cvgate not ready after 60 s: $(curl -s "$CVGATE_URL/readyz")"
        exit 1
    fi
    sleep 0.1
done
log "cvgate ready at $CVGATE_URL"
"$@"
