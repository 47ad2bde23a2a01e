# shellcheck shell=bash
# Sourced by the load scripts of test/bench: real servers and a release cvgate in front of
# them, for one run.
#
#   bench_up BINARY IO_THREADS   the stack named by STACK_DIR (or CVGATE_STACK_DIR) when it
#                                runs, else a fresh one (destroyed at exit); then cvgate on a
#                                free loopback port with this run's own queue, database and
#                                upload directory (removed at exit; under BENCH_VOLUME when
#                                set). Sets: bench_url,
#                                bench_pid, bench_work, bench_name, and the stack's env
#                                (MONGO_URL, RABBITMQ_URL, ...; MONGO_DB_NAME and JOBS_QUEUE
#                                set to this run's names).
#   bench_vm KEY                 VmRSS, VmHWM... of cvgate ("21288 kB")
#   bench_cpu_ticks PID          CPU clock ticks used so far by PID and its children
#
# Nothing here passes or fails a test: benchmarks print numbers.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
bench_stack_sh=$bench_root/deploy/local/stack.sh
bench_work=$(mktemp -d /tmp/cvgate-bench.XXXXXX)
bench_name=cvgate_bench_$$
bench_pid=
bench_own_stack=0
bench_stack_dir=${STACK_DIR:-${CVGATE_STACK_DIR:-}}

bench_cleanup() {
    set +e
    if [[ -n $bench_pid ]]; then kill "$bench_pid" 2>/dev/null; wait "$bench_pid" 2>/dev/null; fi
    if ((bench_own_stack)); then
        STACK_DIR=$bench_stack_dir "$bench_stack_sh" destroy >/dev/null 2>&1
    elif [[ -n ${RABBITMQ_NODENAME:-} ]]; then
        rabbitmqctl -n "$RABBITMQ_NODENAME" -q delete_queue "$bench_name" >/dev/null 2>&1
        bench_mongo_command '{"dropDatabase": 1}' "$bench_name" >/dev/null 2>&1
        psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $bench_name" >/dev/null 2>&1
    fi
    [[ -z ${BENCH_VOLUME:-} ]] || rm -rf "$BENCH_VOLUME/uploads-$bench_name"
    rm -rf "$bench_work"
}
trap bench_cleanup EXIT

bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One MongoDB command over OP_MSG, without a driver: bench_mongo_command '<json>' <database>.
bench_mongo_command() {
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

bench_up() {
    local bin=$1 io_threads=$2 port
    [[ -x $bin ]] || { echo "no cvgate binary at $bin (build the release preset, or pass a path)" >&2; exit 2; }
    if [[ -n $bench_stack_dir ]] && STACK_DIR=$bench_stack_dir "$bench_stack_sh" status >/dev/null 2>&1; then
        echo "using the running stack in $bench_stack_dir" >&2
    else
        bench_stack_dir=$bench_work/stack bench_own_stack=1
        echo "starting a stack in $bench_stack_dir" >&2
        STACK_DIR=$bench_stack_dir "$bench_stack_sh" start >&2
    fi
    # shellcheck disable=SC1091 # written by stack.sh
    . "$bench_stack_dir/env"
    # This run's own PostgreSQL database, so its rows neither meet nor outlive other runs'.
    psql -q "$DATABASE_URL" -c "CREATE DATABASE $bench_name" >/dev/null
    DATABASE_URL=${DATABASE_URL%/*}/$bench_name
    export MONGO_DB_NAME=$bench_name JOBS_QUEUE=$bench_name DATABASE_URL
    port=$(bench_free_port)
    bench_url=http://127.0.0.1:$port
    # BENCH_VOLUME: the upload volume goes under that directory instead (say, a journaled file
    # system mounted there; see test/bench/load/run.sh).
    bench_volume=${BENCH_VOLUME:-$bench_work}/uploads-$bench_name
    mkdir -p "$bench_volume"
    PORT=$port LISTEN_ADDR=127.0.0.1 IO_THREADS=$io_threads LOG_LEVEL=warning \
        UPLOAD_VOLUME_PATH=$bench_volume MONGO_URL=$MONGO_URL DATABASE_URL=$DATABASE_URL \
        RABBITMQ_URL=$RABBITMQ_URL "$bin" >"$bench_work/cvgate.log" 2>&1 &
    bench_pid=$!
    local _
    for _ in $(seq 300); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$bench_url/readyz" 2>/dev/null) == 200 ]] && return 0
        kill -0 "$bench_pid" 2>/dev/null || break
        sleep 0.2
    done
    echo "cvgate did not become ready" >&2
    tail -20 "$bench_work/cvgate.log" >&2
    exit 1
}

bench_vm() { awk -v k="$1:" '$1==k {print $2 " " $3}' "/proc/$bench_pid/status"; }

bench_cpu_ticks() {
    local pid=$1 total=0 child
    [[ -r /proc/$pid/stat ]] || { echo 0; return; }
    # utime stime cutime cstime: fields 14-17 after the command name.
    total=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13 + $14 + $15}')
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        total=$((total + $(bench_cpu_ticks "$child")))
    done
    echo "$total"
}
