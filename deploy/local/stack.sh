#!/usr/bin/env bash
# Runs cvgate's backing servers (PostgreSQL, RabbitMQ, a MongoDB-wire server) as plain
# processes, with all their state in one directory.  No Docker, no service manager.
#
#   stack.sh start [postgres|rabbitmq|mongo ...]   start (default: all three), wait until ready
#   stack.sh stop  [postgres|rabbitmq|mongo ...]   stop (default: all); idempotent
#   stack.sh status [names...]                     show state; exit 3 if one is not running
#   stack.sh env                                   print $STACK_DIR/env
#   stack.sh destroy                               stop all, then delete $STACK_DIR
#   stack.sh pids NAME                             pids of the server's processes (its tree)
#   stack.sh freeze NAME | thaw NAME               SIGSTOP / SIGCONT them (fault tests)
#   stack.sh kill NAME                             SIGKILL them (fault tests); `start NAME`
#                                                  (or `restart NAME`) brings it back on its
#                                                  ports and data
#
# NAME for pids/freeze/thaw/kill: postgres, rabbitmq or mongo (the MongoDB-wire server
# itself: mongod or FerretDB, not FerretDB's own PostgreSQL).
#
# Environment:
#   STACK_DIR / CVGATE_STACK_DIR   state directory (default /tmp/cvgate-stack)
#   PG_PORT AMQP_PORT AMQP_DIST_PORT MONGO_PORT MONGO_PG_PORT
#                                  fixed ports; else the ports recorded by an earlier start
#                                  in the same STACK_DIR; else free loopback ports
#   STACK_TIMEOUT                  seconds to wait for each server (default 60)
#   CVGATE_MONGO                   auto (default: mongod if on PATH, else FerretDB),
#                                  mongod or ferretdb
#   FERRETDB_BIN                   FerretDB binary (default
#                                  ${CVGATE_CACHE:-$HOME/.cache/cvgate}/bin/ferretdb)
#   FERRETDB_BACKEND               postgresql (default: FerretDB's production backend, on a
#                                  PostgreSQL instance of its own, port MONGO_PG_PORT) or sqlite
#
# Writes $STACK_DIR/env (export DATABASE_URL, MONGO_URL, RABBITMQ_URL, the ports...),
# $STACK_DIR/ports (ports, reused by later starts) and $STACK_DIR/<name>.pid.  Server data
# and logs go to $STACK_DIR/<name>/, or to /tmp/cvgate-servers-<hash>/<name>/ when the
# postgres/rabbitmq users cannot reach STACK_DIR (e.g. below /root).
set -euo pipefail

ALL_SERVICES=(postgres rabbitmq mongo)
TIMEOUT=${STACK_TIMEOUT:-60}
CACHE=${CVGATE_CACHE:-$HOME/.cache/cvgate}
STACK_DIR=${STACK_DIR:-${CVGATE_STACK_DIR:-/tmp/cvgate-stack}}
MARKER=.cvgate-stack   # present in every directory this script manages

log() { printf 'stack: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SELF=$(readlink -f "$0")
usage() { sed -n '2,35p' "$SELF" | sed 's/^# \{0,1\}//'; }

# Milliseconds since the epoch (EPOCHREALTIME's separator depends on the locale).
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
fmt_ms() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

tail_log() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        log "last lines of $f:"
        tail -n 25 "$f" | sed 's/^/    /' >&2
    done
}

# True when something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp).
# shellcheck disable=SC2016 # $1 is expanded by the inner bash
port_open() { timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

wait_port_free() { # port what
    local deadline=$((SECONDS + TIMEOUT))
    while port_open "$1"; do
        ((SECONDS < deadline)) || die "$2: port $1 still accepts connections after ${TIMEOUT} s"
        sleep 0.2
    done
}

# Prints $1 distinct free loopback ports.  All sockets are held open together so the
# ports differ; the CLI distribution ports of rabbitmqctl (35672-35682) are avoided.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
    port = s.getsockname()[1]
    if not 35672 <= port <= 35682:
        ports.append(port)
print(*ports)
EOF
}

# MongoDB handshake: sends an OP_MSG {ping: 1, $db: "admin"} and expects {ok: 1}.
# Needs no driver, works with mongod and FerretDB.
mongo_ping() {
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, struct, sys

def cstring(s):
    return s.encode() + b"\0"

body = (b"\x10" + cstring("ping") + struct.pack("<i", 1)
        + b"\x02" + cstring("$db") + struct.pack("<i", 6) + b"admin\0")
doc = struct.pack("<i", 4 + len(body) + 1) + body + b"\0"
msg = struct.pack("<I", 0) + b"\0" + doc                   # flagBits, section 0, document
header = struct.pack("<iiii", 16 + len(msg), 1, 0, 2013)  # length, id, responseTo, OP_MSG
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
    s.sendall(header + msg)
    data = b""
    while len(data) < 16 or len(data) < struct.unpack("<i", data[:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        data += chunk
_, _, response_to, opcode = struct.unpack("<iiii", data[:16])
ok = (b"\x01ok\x00" + struct.pack("<d", 1.0) in data
      or b"\x10ok\x00" + struct.pack("<i", 1) in data)
sys.exit(0 if opcode == 2013 and response_to == 1 and ok else "unexpected reply")
EOF
}

# --- users: root runs each server as its own system user -------------------------------

# (initdb refuses to run as root; rabbitmq-server wants its files owned by rabbitmq.)
# As an ordinary user everything simply runs as that user.
AS_POSTGRES=() AS_RABBITMQ=()
if [[ $EUID -eq 0 ]]; then
    AS_POSTGRES=(runuser -u postgres --)
    AS_RABBITMQ=(runuser -u rabbitmq --)
fi
as_postgres() { "${AS_POSTGRES[@]}" "$@"; }
as_rabbitmq() { "${AS_RABBITMQ[@]}" "$@"; }

pg_bindir() {
    if [[ -n ${PG_BINDIR:-} ]]; then echo "$PG_BINDIR"; return; fi
    local d
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $d && -x $d/initdb ]] || die "PostgreSQL server binaries not found in /usr/lib/postgresql (run install-deps.sh)"
    echo "$d"
}

RMQ_BIN=/usr/lib/rabbitmq/bin

mongo_server() {
    case ${CVGATE_MONGO:-auto} in
        mongod) echo mongod ;;
        ferretdb) echo ferretdb ;;
        auto) if command -v mongod >/dev/null 2>&1; then echo mongod; else echo ferretdb; fi ;;
        *) die "CVGATE_MONGO must be auto, mongod or ferretdb" ;;
    esac
}

ferretdb_backend() {
    case ${FERRETDB_BACKEND:-postgresql} in
        postgresql|sqlite) echo "${FERRETDB_BACKEND:-postgresql}" ;;
        *) die "FERRETDB_BACKEND must be postgresql or sqlite" ;;
    esac
}

ferretdb_bin() {
    local b=${FERRETDB_BIN:-$CACHE/bin/ferretdb}
    if [[ ! -x $b ]] && command -v ferretdb >/dev/null 2>&1; then b=$(command -v ferretdb); fi
    [[ -x $b ]] || die "no FerretDB binary at $b (run deploy/local/install-deps.sh)"
    echo "$b"
}

# --- state directory, ports, pids -------------------------------------------------------

# The servers' own files (data, logs) live in SERVERS_DIR: STACK_DIR itself, unless the
# postgres or rabbitmq user cannot reach it (a STACK_DIR below /root, which is 0700, e.g.
# a build tree there): then /tmp/cvgate-servers-<hash of STACK_DIR>.  The choice is
# recorded in $STACK_DIR/servers-dir so that restarts find the same data.
SERVERS_DIR=

reachable_by_servers() {
    local u
    [[ $EUID -eq 0 ]] || return 0
    for u in postgres rabbitmq; do
        runuser -u "$u" -- test -x "$1" 2>/dev/null || return 1
    done
}

load_servers_dir() {
    SERVERS_DIR=$STACK_DIR
    if [[ -f $STACK_DIR/servers-dir ]]; then SERVERS_DIR=$(<"$STACK_DIR/servers-dir"); fi
}

# Makes STACK_DIR (absolute) and SERVERS_DIR.
init_stack_dir() {
    mkdir -p "$STACK_DIR"
    STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
    if [[ ! -e $STACK_DIR/$MARKER ]]; then
        [[ -z $(ls -A "$STACK_DIR") ]] || die "$STACK_DIR is not empty and was not made by stack.sh"
        touch "$STACK_DIR/$MARKER"
    fi
    [[ $EUID -ne 0 ]] || chmod 755 "$STACK_DIR"
    if [[ ! -f $STACK_DIR/servers-dir ]]; then
        SERVERS_DIR=$STACK_DIR
        if ! reachable_by_servers "$STACK_DIR"; then
            SERVERS_DIR=/tmp/cvgate-servers-$(stack_hash)
            log "the postgres/rabbitmq users cannot reach $STACK_DIR: server files go to $SERVERS_DIR"
        fi
        echo "$SERVERS_DIR" >"$STACK_DIR/servers-dir"
    fi
    load_servers_dir
    if [[ $SERVERS_DIR != "$STACK_DIR" ]]; then
        mkdir -p "$SERVERS_DIR"
        touch "$SERVERS_DIR/$MARKER"
        [[ $EUID -ne 0 ]] || chmod 755 "$SERVERS_DIR"
    fi
    reachable_by_servers "$SERVERS_DIR" ||
        die "the postgres/rabbitmq users cannot reach $SERVERS_DIR (is a parent directory not traversable?)"
}

stack_hash() { printf '%s' "$STACK_DIR" | md5sum | cut -c1-10; }

declare -A PORT=()
PORT_KEYS=(PG_PORT AMQP_PORT AMQP_DIST_PORT MONGO_PORT MONGO_PG_PORT)

load_ports() {
    local k v
    [[ -f $STACK_DIR/ports ]] || return 0
    while IFS='=' read -r k v; do
        [[ $k =~ ^[A-Z_]+$ && $v =~ ^[0-9]+$ ]] && PORT[$k]=$v
    done <"$STACK_DIR/ports"
}

save_ports() {
    local k
    for k in "${PORT_KEYS[@]}"; do
        [[ -n ${PORT[$k]:-} ]] && echo "$k=${PORT[$k]}"
    done >"$STACK_DIR/ports.tmp"
    mv -f "$STACK_DIR/ports.tmp" "$STACK_DIR/ports"
}

service_port_keys() {
    case $1 in
        postgres) echo PG_PORT ;;
        rabbitmq) echo AMQP_PORT AMQP_DIST_PORT ;;
        mongo) echo MONGO_PORT MONGO_PG_PORT ;;
    esac
}

main_port_key() { local k; read -r k _ <<<"$(service_port_keys "$1")"; echo "$k"; }

# Port precedence: environment variable, then recorded port, then a new free port.
# Variables exported by another stack's env file (it sets CVGATE_STACK_ENV to its
# directory) are ignored: they would point this stack at that one's ports.
assign_ports() {
    local svc k missing=() new use_env=1
    if [[ -n ${CVGATE_STACK_ENV:-} && $CVGATE_STACK_ENV != "$STACK_DIR" ]]; then
        use_env=0
        [[ -z ${PG_PORT:-}${AMQP_PORT:-}${AMQP_DIST_PORT:-}${MONGO_PORT:-}${MONGO_PG_PORT:-} ]] ||
            log "ignoring PG_PORT/AMQP_PORT/AMQP_DIST_PORT/MONGO_PORT/MONGO_PG_PORT: they come from $CVGATE_STACK_ENV/env (CVGATE_STACK_ENV), not this stack"
    fi
    for svc in "$@"; do
        for k in $(service_port_keys "$svc"); do
            if ((use_env)) && [[ -n ${!k:-} ]]; then
                [[ ${!k} =~ ^[0-9]+$ ]] || die "$k=${!k} is not a port number"
                PORT[$k]=${!k}
            elif [[ -z ${PORT[$k]:-} ]]; then
                missing+=("$k")
            fi
        done
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        read -r -a new <<<"$(free_ports ${#missing[@]})"
        for k in "${!missing[@]}"; do PORT[${missing[$k]}]=${new[$k]}; done
    fi
}

write_env() {
    local f=$STACK_DIR/env
    {
        echo "# written by deploy/local/stack.sh; source it: . $f"
        # One variable per line: simple parsers (the C++ test fixture's) read them too.
        echo "export CVGATE_STACK_DIR=$STACK_DIR"
        echo "export CVGATE_STACK_ENV=$STACK_DIR"
        if [[ -n ${PORT[PG_PORT]:-} ]]; then
            echo "export PG_PORT=${PORT[PG_PORT]}"
            echo "export DATABASE_URL=postgresql://postgres@127.0.0.1:${PORT[PG_PORT]}/kandidate"
        fi
        if [[ -n ${PORT[AMQP_PORT]:-} ]]; then
            echo "export AMQP_PORT=${PORT[AMQP_PORT]}"
            echo "export AMQP_DIST_PORT=${PORT[AMQP_DIST_PORT]}"
            echo "export RABBITMQ_URL=amqp://guest:guest@127.0.0.1:${PORT[AMQP_PORT]}/"
            echo "export RABBITMQ_NODENAME=$(rabbit_node)"
        fi
        if [[ -n ${PORT[MONGO_PORT]:-} ]]; then
            echo "export MONGO_PORT=${PORT[MONGO_PORT]}"
            echo "export MONGO_URL=mongodb://127.0.0.1:${PORT[MONGO_PORT]}"
            echo "export MONGO_SERVER=$(mongo_server)"
            if [[ $(mongo_server) == ferretdb ]]; then
                echo "export FERRETDB_BACKEND=$(ferretdb_backend)"
                [[ $(ferretdb_backend) != postgresql ]] || echo "export MONGO_PG_PORT=${PORT[MONGO_PG_PORT]}"
            fi
        fi
    } >"$f.tmp"
    mv -f "$f.tmp" "$f"
}

# A pid counts as ours only if that process's command line or environment (RabbitMQ's
# beam gets its paths from RABBITMQ_* variables) names our SERVERS_DIR: a stale pid file
# never makes us signal someone else's process.
owned_pid() {
    local pid=$1
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$SERVERS_DIR/" ||
        tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF -- "RABBITMQ_PID_FILE=$SERVERS_DIR/rabbitmq/pid"
}

# Prints the recorded pid of a service if that process is alive and ours.
running_pid() {
    local f=$STACK_DIR/$1.pid pid
    [[ -f $f ]] || return 1
    pid=$(head -n 1 "$f")
    owned_pid "$pid" || return 1
    echo "$pid"
}

wait_pid_gone() { # pid seconds
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# Checks that a port we are about to listen on is not taken by someone else.
ensure_port_free() { # key service
    local p=${PORT[$1]}
    ! port_open "$p" ||
        die "$2: port $p ($1) on 127.0.0.1 is already in use by another process (unset $1 or pick another; another stack's env sourced?)"
}

# --- PostgreSQL -------------------------------------------------------------------------

# Starts (initialising it first if needed) a PostgreSQL cluster in directory $1 on port $2,
# records its pid as $STACK_DIR/$3.pid and creates database $4.
pg_cluster_start() { # dir port pid-name database
    local d=$1 port=$2 bin
    bin=$(pg_bindir)
    mkdir -p "$d"
    [[ $EUID -ne 0 ]] || chown postgres: "$d"
    if [[ ! -f $d/data/PG_VERSION ]]; then
        rm -rf "$d/data" # left over by an interrupted initdb
        as_postgres "$bin/initdb" -D "$d/data" -A trust -U postgres -E UTF8 \
            --locale=C.UTF-8 --no-sync >"$d/initdb.log" 2>&1 ||
            { tail_log "$d/initdb.log"; die "$3: initdb failed"; }
    fi
    # No Unix socket (clients use TCP; avoids /var/run/postgresql and socket path length
    # limits); durability off: this is scratch data.
    # pg_ctl -w detects a postmaster that dies during start-up.
    as_postgres "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t "$TIMEOUT" start \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >"$d/pg_ctl.log" 2>&1 9>&- ||
        { tail_log "$d/pg_ctl.log" "$d/server.log"; die "$3: did not start on port $port"; }
    head -n 1 "$d/data/postmaster.pid" >"$STACK_DIR/$3.pid"

    local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
    "${psql[@]}" -tAc 'select 1' >/dev/null || die "$3: 'select 1' failed on port $port"
    if [[ -z $("${psql[@]}" -tAc "select 1 from pg_database where datname = '$4'") ]]; then
        "${psql[@]}" -c "create database $4"
    fi
}

pg_cluster_stop() { # dir pid-name
    local d=$1 bin pid
    pid=$(running_pid "$2") || return 0
    bin=$(pg_bindir)
    if ! as_postgres "$bin/pg_ctl" -D "$d/data" -m fast -w -t "$TIMEOUT" stop >/dev/null; then
        log "$2: fast shutdown failed, trying immediate"
        as_postgres "$bin/pg_ctl" -D "$d/data" -m immediate -w -t "$TIMEOUT" stop >/dev/null || true
    fi
    wait_pid_gone "$pid" "$TIMEOUT" || die "$2: pid $pid still running"
}

start_postgres() {
    ensure_port_free PG_PORT postgres
    pg_cluster_start "$SERVERS_DIR/postgres" "${PORT[PG_PORT]}" postgres kandidate
}

stop_postgres() { pg_cluster_stop "$SERVERS_DIR/postgres" postgres; }

# --- RabbitMQ ---------------------------------------------------------------------------

# Node name unique per STACK_DIR (several stacks share one epmd).
rabbit_node() {
    echo "cvgate-$(stack_hash)@localhost"
}

# Every path moved out of /var and /etc: the Debian defaults are not writable by a
# second instance (feature_flags, log file) and /etc/rabbitmq/*.conf could change ports.
rabbit_env() {
    local d=$SERVERS_DIR/rabbitmq
    export RABBITMQ_NODENAME RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT=${PORT[AMQP_PORT]} RABBITMQ_DIST_PORT=${PORT[AMQP_DIST_PORT]} \
        RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/log RABBITMQ_PID_FILE=$d/pid \
        RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins \
        RABBITMQ_FEATURE_FLAGS_FILE=$d/feature_flags \
        RABBITMQ_QUORUM_DIR=$d/quorum RABBITMQ_STREAM_DIR=$d/stream \
        RABBITMQ_CONFIG_FILE=$d/rabbitmq RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config \
        RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf ERL_CRASH_DUMP=$d/erl_crash.dump \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
    RABBITMQ_NODENAME=$(rabbit_node)
}

rabbitmqctl_() { timeout $((TIMEOUT + 10)) "${AS_RABBITMQ[@]}" "$RMQ_BIN/rabbitmqctl" -n "$(rabbit_node)" "$@"; }

# Shows the log, stops the half-started node (its whole process group), fails.
rabbit_abort() { # launcher-pid message
    tail_log "$SERVERS_DIR/rabbitmq/out.log"
    kill -- "-$1" 2>/dev/null || true
    die "rabbitmq: $2"
}

start_rabbitmq() {
    local d=$SERVERS_DIR/rabbitmq launcher deadline
    mkdir -p "$d/mnesia" "$d/log"
    [[ -f $d/enabled_plugins ]] || echo '[].' >"$d/enabled_plugins"
    [[ -f $d/rabbitmq.conf ]] || echo '# cvgate local stack: defaults' >"$d/rabbitmq.conf"
    [[ $EUID -ne 0 ]] || chown -R rabbitmq:rabbitmq "$d"
    ensure_port_free AMQP_PORT rabbitmq
    ensure_port_free AMQP_DIST_PORT rabbitmq
    rabbit_env
    rm -f "$d/pid"
    # Own session (setsid): a Ctrl-C in the caller's terminal does not reach it.
    # fd 9 (our lock) must not be inherited, and no output may go to our stdout.
    setsid "${AS_RABBITMQ[@]}" "$RMQ_BIN/rabbitmq-server" </dev/null >>"$d/out.log" 2>&1 9>&- &
    launcher=$!
    # The AMQP listener opens last in the boot sequence; until then watch for a crash.
    deadline=$((SECONDS + TIMEOUT))
    until port_open "${PORT[AMQP_PORT]}"; do
        kill -0 "$launcher" 2>/dev/null || rabbit_abort "$launcher" "server exited during start-up"
        ((SECONDS < deadline)) || rabbit_abort "$launcher" "not listening after ${TIMEOUT} s"
        sleep 0.3
    done
    rabbitmqctl_ await_startup --timeout "$TIMEOUT" >/dev/null ||
        rabbit_abort "$launcher" "await_startup failed"
    [[ -s $d/pid ]] || rabbit_abort "$launcher" "no pid file $d/pid"
    cp "$d/pid" "$STACK_DIR/rabbitmq.pid"
}

stop_rabbitmq() {
    local pid
    pid=$(running_pid rabbitmq) || return 0
    rabbit_env
    rabbitmqctl_ stop >/dev/null 2>&1 || log "rabbitmq: 'rabbitmqctl stop' failed, signalling pid $pid"
    if ! wait_pid_gone "$pid" "$TIMEOUT"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_pid_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
    fi
}

# --- MongoDB wire server (mongod or FerretDB) -------------------------------------------

# FerretDB on PostgreSQL gets a PostgreSQL instance of its own (mongo/pg, port MONGO_PG_PORT),
# not a database in the one above: the tests stop and restart that one for outage tests,
# and an outage of cold storage must not take hot storage down with it (CONTRACT.md,
# bulkheads). A separate process also shows hot and cold storage's CPU apart in the load
# benches.
start_mongo() {
    local d=$SERVERS_DIR/mongo port=${PORT[MONGO_PORT]} pid deadline
    mkdir -p "$d"
    [[ $EUID -ne 0 ]] || chmod 755 "$d"
    ensure_port_free MONGO_PORT mongo
    if [[ $(mongo_server) == mongod ]]; then
        mkdir -p "$d/data"
        setsid mongod --dbpath "$d/data" --bind_ip 127.0.0.1 --port "$port" \
            --nounixsocket </dev/null >>"$d/server.log" 2>&1 9>&- &
    else
        local backend
        if [[ $(ferretdb_backend) == postgresql ]]; then
            if ! running_pid mongo-pg >/dev/null; then
                ensure_port_free MONGO_PG_PORT mongo
                pg_cluster_start "$d/pg" "${PORT[MONGO_PG_PORT]}" mongo-pg ferretdb
            fi
            backend=(--handler=postgresql
                --postgresql-url="postgres://postgres@127.0.0.1:${PORT[MONGO_PG_PORT]}/ferretdb")
        else
            # sqlite handler: no PostgreSQL at all.
            mkdir -p "$d/data"
            backend=(--handler=sqlite --sqlite-url="file:$d/data/")
        fi
        # --debug-addr=-: no HTTP debug port (fixed 8088 by default, two stacks would
        # fight over it).
        setsid "$(ferretdb_bin)" "${backend[@]}" \
            --state-dir="$d" --listen-addr="127.0.0.1:$port" --debug-addr=- \
            --telemetry=disable --log-level=warn </dev/null >>"$d/server.log" 2>&1 9>&- &
    fi
    pid=$!
    echo "$pid" >"$STACK_DIR/mongo.pid"
    deadline=$((SECONDS + TIMEOUT))
    until mongo_ping "$port"; do
        kill -0 "$pid" 2>/dev/null ||
            { tail_log "$d/server.log"; die "mongo: server exited during start-up"; }
        ((SECONDS < deadline)) ||
            { tail_log "$d/server.log"; kill "$pid" 2>/dev/null || true; die "mongo: no answer to ping after ${TIMEOUT} s"; }
        sleep 0.2
    done
}

stop_mongo() {
    local pid
    if pid=$(running_pid mongo); then
        kill -TERM "$pid" 2>/dev/null || true
        wait_pid_gone "$pid" "$TIMEOUT" || { kill -KILL "$pid" 2>/dev/null || true; wait_pid_gone "$pid" 10 || true; }
    fi
    pg_cluster_stop "$SERVERS_DIR/mongo/pg" mongo-pg
    rm -f "$STACK_DIR/mongo-pg.pid"
}

# --- commands ---------------------------------------------------------------------------

check_names() {
    local n
    for n in "$@"; do
        case $n in postgres|rabbitmq|mongo) ;; *) die "unknown service '$n' (postgres, rabbitmq, mongo)" ;; esac
    done
}

lock() {
    exec 9>"$STACK_DIR/.lock"
    flock 9
}

# Runs "$1 <service>" for each service in parallel; prints the names of those that failed.
run_parallel() {
    local action=$1 svc i pids=() names=()
    shift
    for svc in "$@"; do
        ("$action" "$svc" >&2) &  # stdout carries only the failed names
        pids+=($!) names+=("$svc")
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || echo "${names[$i]}"
    done
}

# Starts one service and reports how long it took to become ready.
timed_start() {
    local t0
    t0=$(now_ms)
    "start_$1"
    log "$1: ready on 127.0.0.1:${PORT[$(main_port_key "$1")]} in $(fmt_ms $(($(now_ms) - t0)))"
}

cmd_start() {
    local svc pid k to_start=() failed=()
    command -v python3 >/dev/null || die "python3 is needed (run deploy/local/install-deps.sh --runtime-only)"
    init_stack_dir
    lock
    load_ports
    declare -A recorded=()
    for k in "${!PORT[@]}"; do recorded[$k]=${PORT[$k]}; done
    for svc in "$@"; do
        if pid=$(running_pid "$svc"); then
            log "$svc: already running (pid $pid, port ${PORT[$(main_port_key "$svc")]:-?})"
        else
            to_start+=("$svc")
        fi
    done
    if [[ ${#to_start[@]} -gt 0 ]]; then
        assign_ports "${to_start[@]}"
        # In parallel: RabbitMQ alone takes several seconds.
        mapfile -t failed < <(run_parallel timed_start "${to_start[@]}")
    fi
    # Record the ports of what runs; a failed start leaves the earlier record as it was.
    for svc in "${failed[@]}"; do
        log "$svc: FAILED"
        for k in $(service_port_keys "$svc"); do
            if [[ -n ${recorded[$k]:-} ]]; then PORT[$k]=${recorded[$k]}; else unset "PORT[$k]"; fi
        done
    done
    save_ports
    write_env
    [[ ${#failed[@]} -eq 0 ]]
}

# Stops one service if it runs, waits until its ports are free, forgets its pid.
full_stop() {
    local port
    # (mongo: FerretDB's own PostgreSQL may outlive a FerretDB that died.)
    if running_pid "$1" >/dev/null || { [[ $1 == mongo ]] && running_pid mongo-pg >/dev/null; }; then
        "stop_$1"
        for port in $(service_port_keys "$1"); do
            [[ -z ${PORT[$port]:-} ]] || wait_port_free "${PORT[$port]}" "$1"
        done
    fi
    rm -f "$STACK_DIR/$1.pid"
}

cmd_stop() {
    local failed=()
    [[ -e $STACK_DIR/$MARKER ]] || return 0
    STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
    load_servers_dir
    lock
    load_ports
    mapfile -t failed < <(run_parallel full_stop "$@")
    [[ ${#failed[@]} -eq 0 ]] || die "could not stop: ${failed[*]}"
}

cmd_status() {
    local svc pid rc=0 k
    if [[ ! -e $STACK_DIR/$MARKER ]]; then
        echo "no stack in $STACK_DIR"
        return 3
    fi
    STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
    load_servers_dir
    load_ports
    echo "stack: $STACK_DIR"
    [[ $SERVERS_DIR == "$STACK_DIR" ]] || echo "servers' files: $SERVERS_DIR"
    for svc in "$@"; do
        k=$(main_port_key "$svc")
        if pid=$(running_pid "$svc"); then
            printf '  %-9s running  pid %-7s port %s\n' "$svc" "$pid" "${PORT[$k]:-?}"
        else
            printf '  %-9s stopped\n' "$svc"
            rc=3
        fi
    done
    return $rc
}

cmd_destroy() {
    [[ -e $STACK_DIR ]] || return 0
    [[ -e $STACK_DIR/$MARKER ]] || die "$STACK_DIR was not made by stack.sh: not deleting it"
    cmd_stop "${ALL_SERVICES[@]}"
    load_servers_dir
    if [[ $SERVERS_DIR != "$STACK_DIR" && -e $SERVERS_DIR/$MARKER ]]; then
        rm -rf "$SERVERS_DIR"
        log "deleted $SERVERS_DIR"
    fi
    rm -rf "$STACK_DIR"
    log "deleted $STACK_DIR"
}

# --- faults: the processes of one server -----------------------------------------------

# Prints the pid of a server and of every process below it (PostgreSQL's backends, the Erlang
# VM's helpers), the server first.
server_pids() {
    local root
    root=$(running_pid "$1") || die "$1 is not running"
    echo "$root"
    ps -e -o pid=,ppid= | awk -v root="$root" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            keep[root] = 1
            do { more = 0
                 for (i in pids) { p = pids[i]; if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; more = 1 } }
            } while (more)
            for (p in keep) if (p != root) print p
        }'
}

cmd_fault() { # action name
    local action=$1 svc=$2 pids
    [[ -e $STACK_DIR/$MARKER ]] || die "no stack in $STACK_DIR"
    STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
    load_servers_dir
    case $action in
        pids) server_pids "$svc" ;;
        freeze)
            # Recorded, so that thaw resumes exactly these even if one is gone meanwhile.
            pids=$(server_pids "$svc")
            echo "$pids" >"$STACK_DIR/$svc.frozen"
            # shellcheck disable=SC2086 # one pid per word
            kill -STOP $pids
            log "$svc: frozen ($(wc -w <<<"$pids") processes)"
            ;;
        thaw)
            if [[ -f $STACK_DIR/$svc.frozen ]]; then
                # shellcheck disable=SC2046
                kill -CONT $(cat "$STACK_DIR/$svc.frozen") 2>/dev/null || true
                rm -f "$STACK_DIR/$svc.frozen"
            fi
            # Also what was forked meanwhile or frozen by hand.
            if pids=$(server_pids "$svc" 2>/dev/null); then
                # shellcheck disable=SC2086
                kill -CONT $pids 2>/dev/null || true
            fi
            log "$svc: thawed"
            ;;
        kill)
            pids=$(server_pids "$svc")
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            local p
            for p in $pids; do wait_pid_gone "$p" "$TIMEOUT" || die "$svc: pid $p survived SIGKILL"; done
            rm -f "$STACK_DIR/$svc.frozen"
            log "$svc: killed ($(wc -w <<<"$pids") processes)"
            ;;
    esac
}

main() {
    local cmd=${1:-}
    # Work from /: the servers inherit the working directory, and the postgres and
    # rabbitmq users may not be allowed into the caller's (e.g. /root).  Erlang, for
    # one, then logs an eacces error for every module it loads.
    [[ $STACK_DIR == /* ]] || STACK_DIR=$PWD/$STACK_DIR
    [[ -z ${FERRETDB_BIN:-} || $FERRETDB_BIN == /* ]] || FERRETDB_BIN=$PWD/$FERRETDB_BIN
    cd /
    [[ $# -gt 0 ]] && shift
    case $cmd in
        start|stop|status)
            check_names "$@"
            [[ $# -gt 0 ]] || set -- "${ALL_SERVICES[@]}"
            "cmd_$cmd" "$@"
            ;;
        pids|freeze|thaw|kill)
            [[ $# -eq 1 ]] || die "$cmd takes one name (postgres, rabbitmq, mongo)"
            check_names "$1"
            cmd_fault "$cmd" "$1"
            ;;
        restart)
            check_names "$@"
            [[ $# -gt 0 ]] || set -- "${ALL_SERVICES[@]}"
            cmd_start "$@"
            ;;
        env)
            [[ -f $STACK_DIR/env ]] || die "no $STACK_DIR/env: run '$SELF start' first"
            cat "$STACK_DIR/env"
            ;;
        destroy) cmd_destroy ;;
        -h|--help|help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
