#!/usr/bin/env bash
# One owner per port, for real processes: a second cvgate on the address of a running one
# fails at start with one line naming the address, and the first keeps every connection.
#   one_owner_per_port.sh CVGATE_BINARY
set -euo pipefail
bin=$1
work=$(mktemp -d)
first_pid=
cleanup() {
    [[ -n $first_pid ]] && kill "$first_pid" 2>/dev/null && wait "$first_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
common=(--listen-addr 127.0.0.1 --port "$port" --upload-volume-path "$work/uploads" --io-threads 2
        --mongo-url mongodb://127.0.0.1:1 --database-url postgresql://127.0.0.1:1/x
        --rabbitmq-url amqp://guest:guest@127.0.0.1:1/)
mkdir -p "$work/uploads"
"$bin" "${common[@]}" >"$work/first.out" 2>"$work/first.err" &
first_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

status=0
timeout 20 "$bin" "${common[@]}" >"$work/second.out" 2>"$work/second.err" || status=$?
echo "second cvgate exited with $status; stderr:"
cat "$work/second.err"
[[ $status -ne 0 ]] || { echo "FAIL: the second cvgate started"; exit 1; }
[[ $status -ne 124 ]] || { echo "FAIL: the second cvgate did not stop"; exit 1; }
[[ $(wc -l <"$work/second.err") -eq 1 ]] || { echo "FAIL: expected one line on stderr"; exit 1; }
grep -q "cannot listen on 127.0.0.1:$port: address already in use" "$work/second.err" ||
    { echo "FAIL: the line does not say the address is in use"; exit 1; }

# Every connection still reaches the first (a shared SO_REUSEPORT group split them before).
for i in $(seq 40); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
    [[ $code == 200 ]] || { echo "FAIL: request $i got $code"; exit 1; }
done
kill -0 "$first_pid"
echo "ok: one owner per port"
