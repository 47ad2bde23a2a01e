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
stack_sh=$root/deploy/local/stack.sh

[[ -x $bin ]] || { echo "no cvgate binary at $bin (build the release preset, or pass a path)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/cvgate-wrk-flows.XXXXXX)
stack_dir=${STACK_DIR:-${CVGATE_STACK_DIR:-}}
own_stack=0
cvgate_pid=
name=cvgate_wrk_$$

cleanup() {
    set +e
    if [[ -n $cvgate_pid ]]; then kill "$cvgate_pid" 2>/dev/null; wait "$cvgate_pid" 2>/dev/null; fi
    if ((own_stack)); then
        STACK_DIR=$stack_dir "$stack_sh" destroy >/dev/null 2>&1
    elif [[ -n ${RABBITMQ_NODENAME:-} ]]; then
        rabbitmqctl -n "$RABBITMQ_NODENAME" -q delete_queue "$name" >/dev/null 2>&1
        mongo_command "{\"dropDatabase\": 1}" "$name" >/dev/null 2>&1
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# One MongoDB command over OP_MSG (no driver needed): mongo_command '<json>' <database>.
mongo_command() {
    python3 - "$MONGO_PORT" "$1" "$2" <<'PY'
import json, socket, struct, sys
def cstring(s): return s.encode() + b"\0"
def element(key, value):
    if isinstance(value, bool): return b"\x08" + cstring(key) + (b"\x01" if value else b"\x00")
    if isinstance(value, int): return b"\x10" + cstring(key) + struct.pack("<i", value)
    data = value.encode() + b"\0"
    return b"\x02" + cstring(key) + struct.pack("<i", len(data)) + data
command = dict(json.loads(sys.argv[2]), **{"$db": sys.argv[3]})
body = b"".join(element(k, v) for k, v in command.items())
doc = struct.pack("<i", 4 + len(body) + 1) + body + b"\0"
msg = struct.pack("<I", 0) + b"\0" + doc
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    s.sendall(struct.pack("<iiii", 16 + len(msg), 1, 0, 2013) + msg)
    s.recv(65536)
PY
}

if [[ -n $stack_dir ]] && STACK_DIR=$stack_dir "$stack_sh" status >/dev/null 2>&1; then
    echo "using the running stack in $stack_dir" >&2
else
    stack_dir=$work/stack own_stack=1
    echo "starting a stack in $stack_dir" >&2
    STACK_DIR=$stack_dir "$stack_sh" start
fi
# shellcheck disable=SC1091
. "$stack_dir/env"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
url=http://127.0.0.1:$port
mkdir -p "$work/uploads"
PORT=$port LISTEN_ADDR=127.0.0.1 IO_THREADS=$io_threads LOG_LEVEL=warning \
    UPLOAD_VOLUME_PATH=$work/uploads MONGO_URL=$MONGO_URL MONGO_DB_NAME=$name \
    DATABASE_URL=$DATABASE_URL RABBITMQ_URL=$RABBITMQ_URL JOBS_QUEUE=$name \
    "$bin" >"$work/cvgate.log" 2>&1 &
cvgate_pid=$!

ready=0
for _ in $(seq 300); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" 2>/dev/null) == 200 ]]; then ready=1; break; fi
    kill -0 "$cvgate_pid" 2>/dev/null || break
    sleep 0.2
done
((ready)) || { echo "cvgate did not become ready" >&2; tail -20 "$work/cvgate.log" >&2; exit 1; }

vm() { awk -v k="$1:" '$1==k {print $2 " " $3}' "/proc/$cvgate_pid/status"; }

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
