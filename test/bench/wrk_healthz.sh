#!/usr/bin/env bash
# GET /healthz on cvgate next to nginx's `return 200` on the same machine, in the same run:
# the ceiling this machine sets for a tiny HTTP answer. Prints requests/s, latency and the
# ratio; never passes or fails.
#
#   test/bench/wrk_healthz.sh [cvgate-binary]      (default: build/release/apps/cvgate/cvgate)
#   THREADS=2 CONNECTIONS=100 DURATION=10s ROUNDS=3 IO_THREADS=2 test/bench/wrk_healthz.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-$root/build/release/apps/cvgate/cvgate}
threads=${THREADS:-2} connections=${CONNECTIONS:-100} duration=${DURATION:-10s} rounds=${ROUNDS:-3}
work=$(mktemp -d /tmp/cvgate-wrk.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

nginx_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes ${IO_THREADS:-2};
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$nginx_port reuseport;
        location / { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

cvgate_port=$(free_port)
mkdir -p "$work/uploads"
PORT=$cvgate_port LISTEN_ADDR=127.0.0.1 IO_THREADS=${IO_THREADS:-2} LOG_LEVEL=warning \
    UPLOAD_VOLUME_PATH=$work/uploads "$bin" >"$work/cvgate.log" 2>&1 &
pids+=($!)
wait_port "$nginx_port" && wait_port "$cvgate_port" || { echo "a server did not start"; cat "$work"/cvgate.log; exit 1; }

run_wrk() { # name port -> prints "name req/s p50 p99"
    local out rps
    out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "http://127.0.0.1:$2/healthz")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    printf '%-8s %12s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" >&2
    echo "$rps"
}

echo "wrk -t$threads -c$connections -d$duration, $(nproc) cores, IO_THREADS=${IO_THREADS:-2}, nginx workers=${IO_THREADS:-2}" >&2
best_nginx=0 best_cvgate=0
for round in $(seq "$rounds"); do
    echo "round $round" >&2
    n=$(run_wrk nginx "$nginx_port")
    c=$(run_wrk cvgate "$cvgate_port")
    best_nginx=$(python3 -c "print(max($best_nginx, $n))")
    best_cvgate=$(python3 -c "print(max($best_cvgate, $c))")
done
python3 -c "print(f'best of $rounds: nginx {$best_nginx:.0f} req/s, cvgate {$best_cvgate:.0f} req/s, cvgate/nginx = {$best_cvgate/$best_nginx:.2f}')"
