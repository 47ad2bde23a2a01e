#!/usr/bin/env bash
# GET /healthz on cvgate next to nginx's `return 200` on the same machine, in the same run:
# the ceiling this machine sets for a tiny HTTP answer. Prints requests/s, latency and the
# ratio; never passes or fails.
#
#   test/bench/wrk_healthz.sh [cvgate-binary...]   (default: build/release/apps/cvgate/cvgate)
#   THREADS=2 CONNECTIONS=100 DURATION=10s ROUNDS=3 IO_THREADS=2 ACCESS_LOG=0 test/bench/wrk_healthz.sh
#
# ACCESS_LOG=1: both log every request, nginx to a file (its default combined format), cvgate
# its JSON access line (LOG_LEVEL=info) with stdout sent to a file. Otherwise neither logs.
# PIN=1: each server on core 0 alone (one nginx worker, IO_THREADS=1; cvgate's other threads
# there too), wrk (-t1) on core 1: the servers' own cost per request, without the servers and
# wrk taking CPU from each other. Rounds still swing on a shared machine: use several.
# Several binaries (a baseline and a candidate) are measured in the same rounds, in turn.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$root/build/release/apps/cvgate/cvgate")
threads=${THREADS:-2} connections=${CONNECTIONS:-100} duration=${DURATION:-10s} rounds=${ROUNDS:-3}
server_cpu=() client_cpu=()
if [[ ${PIN:-0} == 1 ]]; then
    threads=1 IO_THREADS=1 server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi
access_log=${ACCESS_LOG:-0}
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
    $(if [[ $access_log == 1 ]]; then echo "access_log $work/nginx/logs/access.log;"; else echo "access_log off;"; fi)
    server {
        listen 127.0.0.1:$nginx_port reuseport;
        location / { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
CONF
${server_cpu[@]+"${server_cpu[@]}"} nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

ports=()
for i in "${!bins[@]}"; do
    port=$(free_port)
    mkdir -p "$work/uploads$i"
    level=warning
    [[ $access_log == 1 ]] && level=info
    PORT=$port LISTEN_ADDR=127.0.0.1 IO_THREADS=${IO_THREADS:-2} LOG_LEVEL=$level \
        UPLOAD_VOLUME_PATH=$work/uploads$i ${server_cpu[@]+"${server_cpu[@]}"} "${bins[$i]}" >"$work/cvgate$i.log" 2>&1 &
    pids+=($!) ports+=("$port")
done
wait_port "$nginx_port" || { echo "nginx did not start"; exit 1; }
for i in "${!ports[@]}"; do
    wait_port "${ports[$i]}" || { echo "cvgate ${bins[$i]} did not start"; cat "$work/cvgate$i.log"; exit 1; }
done

run_wrk() { # name port -> prints "name req/s p50 p99"
    local out rps
    out=$(${client_cpu[@]+"${client_cpu[@]}"} wrk -t"$threads" -c"$connections" -d"$duration" --latency "http://127.0.0.1:$2/healthz")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    printf '%-10s %12s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" >&2
    echo "$rps"
}

echo "wrk -t$threads -c$connections -d$duration, $(nproc) cores, IO_THREADS=${IO_THREADS:-2}, nginx workers=${IO_THREADS:-2}, access logs: $([[ $access_log == 1 ]] && echo on || echo off)" >&2
nginx_all=()
declare -A cvgate_all=()
for round in $(seq "$rounds"); do
    echo "round $round" >&2
    nginx_all+=("$(run_wrk nginx "$nginx_port")")
    for i in "${!ports[@]}"; do cvgate_all[$i]+="$(run_wrk "cvgate$i" "${ports[$i]}") "; done
done
for i in "${!bins[@]}"; do echo "cvgate$i = ${bins[$i]}"; done
per_binary=()
for i in "${!bins[@]}"; do per_binary+=("${cvgate_all[$i]}"); done
python3 - "${nginx_all[*]}" "${#bins[@]}" "${per_binary[@]}" <<'PY'
import statistics, sys
nginx = [float(x) for x in sys.argv[1].split()]
n = int(sys.argv[2])
print(f"nginx: median {statistics.median(nginx):.0f} req/s, best {max(nginx):.0f}")
for i in range(n):
    c = [float(x) for x in sys.argv[3 + i].split()]
    ratios = " / ".join(f"{a / b:.2f}" for a, b in zip(c, nginx))
    print(f"cvgate{i}: median {statistics.median(c):.0f} req/s, best {max(c):.0f}; "
          f"cvgate/nginx median {statistics.median(c) / statistics.median(nginx):.2f}x, "
          f"best {max(c) / max(nginx):.2f}x (per round: {ratios})")
PY
