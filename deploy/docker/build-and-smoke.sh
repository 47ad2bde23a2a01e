#!/usr/bin/env bash
# Builds cvgate's container image with podman from deploy/docker/Dockerfile as it is, runs it
# the way Kubernetes does (read-only root file system, non-root, every capability dropped)
# against a running local stack (deploy/local/stack.sh), and checks what it serves:
#
#   /healthz 200, /readyz 200, one POST /jobs/submit answered 202 whose file is on the volume
#   (same bytes), whose document is in MongoDB and whose message is on the queue, then a
#   graceful `podman stop`: exit status 0 and no error line in the container's log.
#
#   deploy/docker/build-and-smoke.sh            # base images if missing, build, run, check
#   deploy/docker/build-and-smoke.sh base       # only make the base images when missing
#
# No registry is reachable here, so the base images the Dockerfile names are made locally when
# podman does not have them: `debootstrap --variant=minbase bookworm` from the mirror apt
# already uses, with the official image's apt/dpkg settings, imported as
# docker.io/library/debian:bookworm and a trimmed docker.io/library/debian:bookworm-slim. The
# root file systems are kept as tarballs in the cache, so a wiped podman store costs an import,
# not a debootstrap.
#
# podman runs with a private containers.conf (CONTAINERS_CONF; nothing under /etc is changed):
# runc, because crun refuses a host that mixes cgroup v1 and v2; fixed default ulimits, because
# root here may not raise RLIMIT_NOFILE/NPROC to podman's defaults.
#
# Environment:
#   CVGATE_CACHE       cache directory (default $HOME/.cache/cvgate): base rootfs tarballs,
#                      containers.conf, the Python venv of the audit
#   CVGATE_STACK_DIR   the running stack to test against (default /tmp/cvgate-stack)
#   SMOKE_WORK_DIR     scratch directory (default: a new one under /tmp, removed at the end)
#   CVGATE_IMAGE       tag to build (default localhost/cvgate:smoke)
#   PYTHON             python3 with pymongo and pika (default: a venv made in the cache from
#                      deploy/docker/smoke-requirements.txt)
#
# Exit status: 0 all checks passed; 77 podman cannot run here (a clear SKIPPED line says why);
# anything else a failure. Prints the time each step took, and the image's size.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CACHE=${CVGATE_CACHE:-$HOME/.cache/cvgate}
STACK_DIR=${CVGATE_STACK_DIR:-/tmp/cvgate-stack}
IMAGE=${CVGATE_IMAGE:-localhost/cvgate:smoke}
BASE=docker.io/library/debian:bookworm
BASE_SLIM=docker.io/library/debian:bookworm-slim
SKIP=77
mode=${1:-all}
[[ $mode == all || $mode == base ]] || { echo "usage: $0 [base]" >&2; exit 2; }

log() { printf '== build-and-smoke: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
skip() { log "SKIPPED: $*"; exit "$SKIP"; }
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
secs() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# --- clean-up: everything this run made, by name or pid, even on failure -----------------

container=""
work=""
own_work=0
rootfs=""
cleanup() {
    local rc=$?
    if [[ -n $container ]]; then
        if [[ $rc -ne 0 ]]; then
            log "container log (last 40 lines):"
            podman logs "$container" 2>&1 | tail -n 40 | sed 's/^/    /' >&2 || true
        fi
        podman rm -f -t 0 "$container" >/dev/null 2>&1 || true
    fi
    [[ -n $rootfs ]] && rm -rf "$rootfs"
    [[ $own_work == 1 && -n $work ]] && rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

# --- can podman run here? -------------------------------------------------------------

[[ $EUID -eq 0 ]] || skip "needs root: the image is built and run with rootful podman"
command -v podman >/dev/null 2>&1 || skip "podman is not installed (deploy/local/install-deps.sh installs it)"

mkdir -p "$CACHE/podman"
export CONTAINERS_CONF=$CACHE/podman/containers.conf
cat >"$CONTAINERS_CONF.tmp" <<'EOF'
# Written by deploy/docker/build-and-smoke.sh: podman settings for this machine only.
[containers]
# root may not raise RLIMIT_NOFILE/NPROC here ("setrlimit ... Operation not permitted").
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
# crun refuses a host that mixes cgroup v1 and v2 ("cgroups in hybrid mode not supported").
runtime = "runc"
EOF
mv -f "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"

if ! probe=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' 2>&1); then
    skip "podman cannot run here: $(tail -n 1 <<<"$probe")"
fi
log "podman $(podman version --format '{{.Client.Version}}'), runtime/storage: $probe"

# --- base images --------------------------------------------------------------------------

# The mirror apt already uses for bookworm (deb822 .sources or one-line .list), and its security one.
apt_mirror() { # suite-regex default
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -e $f ]] || continue
        uri=$(awk -v re="$1" '
            /^[[:space:]]*$/ { if (u != "" && s ~ re) { print u; exit } u = ""; s = "" }
            /^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
            END { if (u != "" && s ~ re) print u }' "$f" | head -n 1)
        [[ -n $uri ]] && { echo "$uri"; return; }
    done
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v re="$1" '$1 == "deb" && $0 ~ re { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }')
    echo "${uri:-$2}"
}

# The official image's minimising settings (debuerreotype), plus the slim variant's excludes.
tweak_rootfs() { # dir slim(0|1) mirror security-mirror
    local d=$1 slim=$2 mirror=$3 security=$4
    printf '#!/bin/sh\nexit 101\n' >"$d/usr/sbin/policy-rc.d" && chmod 755 "$d/usr/sbin/policy-rc.d"
    echo 'force-unsafe-io' >"$d/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cat >"$d/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$d/etc/apt/apt.conf.d/docker-autoremove-suggests"
    echo 'Acquire::GzipIndexes "true";' >"$d/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Acquire::Languages "none";' >"$d/etc/apt/apt.conf.d/docker-no-languages"
    rm -f "$d/etc/apt/sources.list"
    cat >"$d/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    if [[ $slim == 1 ]]; then
        cat >"$d/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
        find "$d/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
        find "$d/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$d"/usr/share/{groff,info,linda,lintian,locale,man}/*
    fi
    rm -rf "$d"/var/lib/apt/lists/* "$d"/var/cache/apt/*.bin "$d"/var/cache/apt/archives/*.deb \
        "$d"/var/log/*.log "$d"/var/log/apt/* "$d"/tmp/* "$d/etc/hostname" "$d/etc/resolv.conf"
    : >"$d/etc/machine-id"
}

tarball_of() { echo "$CACHE/images/$(tr ':/' '__' <<<"$1").tar"; }

# One debootstrap makes both root file systems: the full one, then the slim one trimmed from it.
make_tarballs() {
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (deploy/local/install-deps.sh)"
    local mirror security start
    mirror=$(apt_mirror 'bookworm( |$)' http://deb.debian.org/debian)
    security=$(apt_mirror 'bookworm-security' http://deb.debian.org/debian-security)
    mkdir -p "$CACHE/images"
    rootfs=$(mktemp -d "$CACHE/images/rootfs.XXXXXX")
    log "debootstrap --variant=minbase bookworm from $mirror (about a minute)"
    start=$(now_ms)
    if ! debootstrap --variant=minbase bookworm "$rootfs/fs" "$mirror" >"$rootfs/debootstrap.log" 2>&1; then
        tail -n 20 "$rootfs/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    tweak_rootfs "$rootfs/fs" 0 "$mirror" "$security"
    tar --numeric-owner --xattrs -C "$rootfs/fs" -cf "$rootfs/full.tar" .
    tweak_rootfs "$rootfs/fs" 1 "$mirror" "$security"
    tar --numeric-owner --xattrs -C "$rootfs/fs" -cf "$rootfs/slim.tar" .
    mv -f "$rootfs/full.tar" "$(tarball_of "$BASE")"
    mv -f "$rootfs/slim.tar" "$(tarball_of "$BASE_SLIM")"
    rm -rf "$rootfs"
    rootfs=""
    log "root file systems made in $(secs $(($(now_ms) - start))): $(du -h "$(tarball_of "$BASE")" | cut -f1) and $(du -h "$(tarball_of "$BASE_SLIM")" | cut -f1) (slim)"
}

ensure_base() { # tag
    if podman image exists "$1"; then
        log "base image $1: present"
        return
    fi
    [[ -s $(tarball_of "$1") ]] || make_tarballs
    podman import --quiet --change 'CMD ["bash"]' "$(tarball_of "$1")" "$1" >/dev/null
    log "base image $1: imported from $(tarball_of "$1")"
}

start=$(now_ms)
ensure_base "$BASE"
ensure_base "$BASE_SLIM"
log "step base images: $(secs $(($(now_ms) - start)))"
[[ $mode == base ]] && exit 0

# --- build ----------------------------------------------------------------------------------

# The audit's Python (pymongo, pika) first: a failure there should not cost a build.
py=${PYTHON:-$("$root/test/deploy/python-venv.sh" "$CACHE/venv-test-deploy")}

# --format docker: the OCI format has no HEALTHCHECK, podman would drop it. --network=host: the
# RUN steps reach the apt mirror as the host does, without a bridge network podman would set up.
# --ignorefile: the Dockerfile's own allowlist (BuildKit finds it beside the Dockerfile; podman
# 4.3 needs to be told).
# The build stage is tagged too ($IMAGE-build): the images the previous run tagged are removed
# once the new ones exist, else every run would leave a 1.7 GB build stage behind. Their layers
# that the new images share (the dependency layer) stay, and with them the build cache.
image_ids() { local t; for t in "$IMAGE" "$IMAGE-build"; do podman image inspect --format '{{.Id}}' "$t" 2>/dev/null || true; done; }
old_ids=$(image_ids)
log "podman build of deploy/docker/Dockerfile -> $IMAGE"
start=$(now_ms)
for target in build runtime; do
    tag=$IMAGE
    [[ $target == build ]] && tag=$IMAGE-build
    podman build --format docker --network=host --target "$target" \
        --file "$here/Dockerfile" --ignorefile "$here/Dockerfile.dockerignore" \
        --tag "$tag" "$root" >&2
done
build_ms=$(($(now_ms) - start))
new_ids=$(image_ids)
for id in $old_ids; do
    grep -qx "$id" <<<"$new_ids" || podman rmi "$id" >/dev/null 2>&1 || log "could not remove the previous image $id"
done
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
log "step build: $(secs "$build_ms"); image $IMAGE: $((size / 1000000)) MB"
[[ $(podman image inspect --format '{{.Config.Healthcheck.Test}}' "$IMAGE") == *healthz* ]] ||
    die "the image has no HEALTHCHECK (built without --format docker?)"

# --- run against the local stack --------------------------------------------------------

[[ -r $STACK_DIR/env ]] || die "no running stack: $STACK_DIR/env is missing (deploy/local/stack.sh start)"
# shellcheck disable=SC1091
. "$STACK_DIR/env"

if [[ -z ${SMOKE_WORK_DIR:-} ]]; then
    work=$(mktemp -d /tmp/cvgate-smoke.XXXXXX)
    own_work=1
else
    work=$SMOKE_WORK_DIR
    rm -rf "$work/uploads"
    mkdir -p "$work"
fi
# The volume belongs to the image's user, as Kubernetes' fsGroup would make it.
install -d -o 10001 -g 10001 -m 0775 "$work/uploads"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_id=$$-$RANDOM
queue=cvgate-smoke-$run_id
mongo_db=cvgate_smoke_${run_id//-/_}
container=cvgate-smoke-$run_id

# As Kubernetes runs it (deploy/k8s/deployment.yaml): read-only root file system, non-root
# (the image's USER 10001, asserted below), every capability dropped, no privilege escalation.
# --health-interval=disable: podman would schedule the HEALTHCHECK with systemd timers, and no
# systemd runs here; the check itself stays in the image and is run once below.
log "podman run $IMAGE as $container on 127.0.0.1:$port"
start=$(now_ms)
podman run --detach --name "$container" --read-only --cap-drop=ALL \
    --security-opt=no-new-privileges --network=host --health-interval=disable \
    --volume "$work/uploads:/uploads" \
    --env LISTEN_ADDR=127.0.0.1 --env PORT="$port" --env IO_THREADS=2 \
    --env MONGO_URL="$MONGO_URL" --env MONGO_DB_NAME="$mongo_db" \
    --env DATABASE_URL="$DATABASE_URL" --env RABBITMQ_URL="$RABBITMQ_URL" \
    --env JOBS_QUEUE="$queue" --env SHUTDOWN_GRACE_SECONDS=10 \
    "$IMAGE" >/dev/null
url=http://127.0.0.1:$port
# Start-up time, from `podman run` (container creation included) to the first 200.
"$py" "$here/smoke_checks.py" wait "$url" /healthz 60 >/dev/null || die "/healthz never answered 200"
healthz_ms=$(($(now_ms) - start))
"$py" "$here/smoke_checks.py" wait "$url" /readyz 60 >/dev/null || die "/readyz never answered 200"
readyz_ms=$(($(now_ms) - start))
log "ok    /healthz 200 after $healthz_ms ms, /readyz 200 after $readyz_ms ms (from podman run)"

# What the container is: the checks a reviewer would otherwise take on trust.
in_container() { podman exec "$container" "$@"; }
[[ $(in_container id -u) == 10001 ]] || die "the process does not run as uid 10001"
[[ $(in_container awk '/^CapEff/ {print $2}' /proc/1/status) == 0000000000000000 ]] ||
    die "the process has capabilities: $(in_container grep Cap /proc/1/status)"
if in_container touch /usr/local/bin/cvgate-was-here 2>/dev/null; then die "the root file system is writable"; fi
podman healthcheck run "$container" >/dev/null || die "the image's HEALTHCHECK fails on a serving container"
log "ok    uid 10001, no capabilities, read-only root file system, HEALTHCHECK healthy"

"$py" "$here/smoke_checks.py" submit --url "$url" --volume "$work/uploads" \
    --mongo-url "$MONGO_URL" --mongo-db "$mongo_db" --amqp-url "$RABBITMQ_URL" --queue "$queue" >&2 ||
    die "the submit through the container"

# --- graceful stop ----------------------------------------------------------------------

start=$(now_ms)
podman stop --time 30 "$container" >/dev/null
stop_ms=$(($(now_ms) - start))
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
[[ $exit_code == 0 ]] || die "podman stop: the container exited with $exit_code"
logs=$(podman logs "$container" 2>&1)
if errors=$(grep -E '"level":"error"|^[^{]' <<<"$logs"); then
    die "error or non-JSON lines in the container's log: $errors"
fi
grep -q '"level":"info"' <<<"$logs" || die "the container logged nothing"
log "ok    podman stop: exit 0 after $stop_ms ms, $(wc -l <<<"$logs") log lines, none an error"

log "PASSED: image $IMAGE, $((size / 1000000)) MB, built in $(secs "$build_ms"); /healthz after $healthz_ms ms, /readyz after $readyz_ms ms"
