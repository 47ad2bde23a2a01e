#!/usr/bin/env bash
# Uploads through POST /jobs/submit next to nginx storing the same bytes with WebDAV PUT
# (`dav_methods PUT`: it too stages to a temporary file, then renames), on the same machine,
# in the same run, rounds alternating: one 100 MiB PDF, and 10 PDFs of 1 MiB (one submit
# carrying the ten files; ten PUTs on one keep-alive connection for nginx). cvgate runs
# against a stack of its own (deploy/local/stack.sh) and fsyncs every file, as the contract
# says; nginx does not. So a third side is timed in the same rounds: the disk itself, `dd`
# writing the same files with `conv=fsync` (the durable write cvgate cannot beat). Prints the
# median time of each side, the ratios of throughputs (cvgate / nginx, cvgate / disk), and
# cvgate's peak RSS; never passes or fails.
#
#   test/bench/upload_vs_nginx.sh [cvgate-binary...]   (default: build/release/apps/cvgate/cvgate)
#   ROUNDS=5 IO_THREADS=2 BIG_MIB=100 SMALL_COUNT=10 SMALL_MIB=1 test/bench/upload_vs_nginx.sh
#   STACK_DIR=/tmp/my-stack test/bench/upload_vs_nginx.sh    (use that running stack)
#
# Several binaries (e.g. a baseline and a candidate) are measured in the same rounds, each
# against the same nginx; each gets its own ratio.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=("$root/build/release/apps/cvgate/cvgate")
rounds=${ROUNDS:-5} io_threads=${IO_THREADS:-2}
big_mib=${BIG_MIB:-100} small_count=${SMALL_COUNT:-10} small_mib=${SMALL_MIB:-1}
work=$(mktemp -d /tmp/cvgate-upload.XXXXXX)
chmod 755 "$work"  # nginx's workers run as another user
stack_dir=${STACK_DIR:-${CVGATE_STACK_DIR:-}}
own_stack=0
if [[ -z $stack_dir ]] || ! STACK_DIR=$stack_dir "$root/deploy/local/stack.sh" status >/dev/null 2>&1; then
    stack_dir=$work/stack own_stack=1
fi
export STACK_DIR=$stack_dir
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ((own_stack == 0)) || "$root/deploy/local/stack.sh" destroy >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# The files: a PDF signature, then incompressible bytes.
make_pdf() { { printf '%%PDF-1.7\n'; head -c $(($2 * 1048576 - 9)) /dev/urandom; } >"$1"; }
mkdir -p "$work/files"
make_pdf "$work/files/big.pdf" "$big_mib"
small=()
for i in $(seq "$small_count"); do
    make_pdf "$work/files/small$i.pdf" "$small_mib"
    small+=("$work/files/small$i.pdf")
done

if ((own_stack)); then
    "$root/deploy/local/stack.sh" start >"$work/stack.log" 2>&1 || { cat "$work/stack.log"; exit 1; }
fi
# shellcheck disable=SC1091 # written by stack.sh
. "$stack_dir/env"

nginx_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/www" "$work/nginx/tmp"
chmod 777 "$work/nginx/www" "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $io_threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $work/nginx/logs/access.log;
    client_max_body_size 1g;
    client_body_temp_path $work/nginx/tmp;
    server {
        listen 127.0.0.1:$nginx_port reuseport;
        location /dav/ {
            root $work/nginx/www;
            dav_methods PUT;
            create_full_put_path on;
        }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

ports=() cvgate_pids=()
for i in "${!bins[@]}"; do
    port=$(free_port)
    mkdir -p "$work/uploads$i"
    PORT=$port LISTEN_ADDR=127.0.0.1 IO_THREADS=$io_threads UPLOAD_VOLUME_PATH=$work/uploads$i \
        MAX_FILE_SIZE=$((big_mib * 2))M MAX_BODY_SIZE=$((big_mib * 2 + 16))M JOBS_QUEUE=bench_upload_$$_$i MONGO_DB_NAME=bench_upload_$$_$i \
        "${bins[$i]}" >"$work/cvgate$i.log" 2>&1 &
    pids+=($!) cvgate_pids+=($!) ports+=("$port")
done
wait_port "$nginx_port" || { echo "nginx did not start"; cat "$work/nginx/logs/error.log"; exit 1; }
for i in "${!ports[@]}"; do
    wait_port "${ports[$i]}" || { echo "cvgate ${bins[$i]} did not start"; cat "$work/cvgate$i.log"; exit 1; }
done

jd="We are looking for a senior engineer who writes fast, careful C++ and measures everything."
# Prints the seconds one upload took.
submit() { # port files...
    local port=$1 args=() f
    shift
    for f in "$@"; do args+=(-F "files=@$f;type=application/pdf"); done
    curl -sS -o "$work/answer" -w '%{http_code} %{time_total}\n' "${args[@]}" -F "jd_text=$jd" \
        "http://127.0.0.1:$port/jobs/submit" >"$work/timing"
    read -r code t <"$work/timing"
    [[ $code == 202 ]] || { echo "submit answered $code: $(cat "$work/answer")" >&2; exit 1; }
    echo "$t"
}
put() { # files...
    local urls=() f n=0
    for f in "$@"; do urls+=(-T "$f" "http://127.0.0.1:$nginx_port/dav/r$RANDOM-$((n++)).pdf"); done
    # One curl: keep-alive between the PUTs; the total time is the sum of time_total.
    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "${urls[@]}" >"$work/timing"
    awk '$1 != 201 && $1 != 204 { bad = 1 } { t += $2 } END { if (bad) exit 1; printf "%.6f\n", t }' \
        "$work/timing" || { echo "PUT failed: $(cat "$work/timing")" >&2; exit 1; }
}
# The same files written durably, one after the other, by dd.
disk() { # files...
    local start end f n=0
    start=$(date +%s.%N)
    for f in "$@"; do dd if="$f" of="$work/nginx/www/dd$((n++))" bs=1M conv=fsync status=none; done
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.6f\n", e - s }'
}
tidy() { rm -rf "$work/nginx/www/dav" "$work"/nginx/www/dd* "$work"/uploads*/*-* 2>/dev/null || true; sync; }

declare -A times=()
echo "$(nproc) cores, IO_THREADS=$io_threads (nginx: $io_threads workers), $rounds rounds; nginx logs to a file" >&2
for round in $(seq "$rounds"); do
    for case in big small; do
        if [[ $case == big ]]; then files=("$work/files/big.pdf"); else files=("${small[@]}"); fi
        tidy
        times[nginx.$case]+="$(put "${files[@]}") "
        tidy
        times[disk.$case]+="$(disk "${files[@]}") "
        for i in "${!ports[@]}"; do
            tidy
            times[cvgate$i.$case]+="$(submit "${ports[$i]}" "${files[@]}") "
        done
    done
    echo "round $round done" >&2
done

python3 - "$big_mib" "$small_count" "$small_mib" "${#bins[@]}" "${bins[@]}" <<PY
import statistics, sys
big_mib, small_count, small_mib, n = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
bins = sys.argv[5:5 + n]
times = {$(for k in "${!times[@]}"; do printf '"%s": [%s], ' "$k" "$(tr ' ' ',' <<<"${times[$k]}" | sed 's/,$//')"; done)}
for case, mib, what in (("big", big_mib, f"1 x {big_mib:.0f} MiB"), ("small", small_count * small_mib, f"{small_count} x {small_mib:.0f} MiB")):
    nginx = statistics.median(times[f"nginx.{case}"])
    disk = statistics.median(times[f"disk.{case}"])
    print(f"{what}: nginx PUT median {nginx * 1000:.0f} ms ({mib / nginx:.0f} MiB/s); "
          f"disk (dd conv=fsync) median {disk * 1000:.0f} ms ({mib / disk:.0f} MiB/s)")
    for i, b in enumerate(bins):
        c = statistics.median(times[f"cvgate{i}.{case}"])
        print(f"  cvgate {b}: median {c * 1000:.0f} ms ({mib / c:.0f} MiB/s), "
              f"cvgate/nginx = {nginx / c:.2f}x, cvgate/disk = {disk / c:.2f}x  (rounds: {' '.join(f'{t * 1000:.0f}' for t in times[f'cvgate{i}.{case}'])} ms)")
PY
for i in "${!cvgate_pids[@]}"; do
    echo "cvgate ${bins[$i]}: peak RSS $(awk '/VmHWM/ {print $2, $3}' "/proc/${cvgate_pids[$i]}/status")"
done
