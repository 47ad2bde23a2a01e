#!/usr/bin/env bash
# What a connection costs cvgate in memory: RSS with N idle keep-alive connections, then with
# N uploads stalled half-way (a file part streaming to the volume: the worst case a slow or
# hostile client can hold), per connection. Sizes MAX_CONNECTIONS against a memory limit
# (deploy/k8s). Needs no database: the body is still arriving. Never passes or fails.
#
#   test/bench/connection_memory.sh [cvgate-binary]    CONNECTIONS=2000 IO_THREADS=1
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-$root/build/release/apps/cvgate/cvgate}
n=${CONNECTIONS:-2000}
work=$(mktemp -d /tmp/cvgate-connmem.XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n $((n * 2 + 256))

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/uploads"
PORT=$port LISTEN_ADDR=127.0.0.1 IO_THREADS=${IO_THREADS:-1} LOG_LEVEL=warning MAX_CONNECTIONS=$((n + 100)) \
    UPLOAD_VOLUME_PATH=$work/uploads "$bin" >"$work/cvgate.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

python3 - "$port" "$n" "$pid" <<'PY'
import socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

def settle():
    time.sleep(1.0)
    return rss_kb()

base = settle()
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(s)
for s in conns:
    s.recv(4096)
idle = settle()

boundary = b"----cvgateConnMemBoundary"
head = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"jd_text\"\r\n\r\n" + b"x" * 200 +
        b"\r\n--" + boundary + b"\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cv.pdf\"\r\n"
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n")
chunk = head + b"\0" * (256 * 1024 - len(head))
for s in conns:
    s.sendall(b"POST /jobs/submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" + boundary +
              b"\r\nContent-Length: 1048576\r\n\r\n")
for s in conns:
    s.sendall(chunk)
stalled = settle()
print(f"cvgate RSS: {base} kB at start; {idle} kB with {n} idle keep-alive connections "
      f"({(idle - base) / n:.1f} kB each); {stalled} kB with {n} uploads stalled after 256 KiB "
      f"({(stalled - base) / n:.1f} kB each)")
for s in conns:
    s.close()
PY
