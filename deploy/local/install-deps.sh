#!/usr/bin/env bash
# Installs what cvgate needs on a Debian 12 machine, idempotently.
#
#   deploy/local/install-deps.sh                 # build + test + run (default)
#   deploy/local/install-deps.sh --runtime-only  # run only: servers, shared libs, tools
#
# 1. Installs the missing Debian packages (apt-get update runs only when something
#    is missing).  Must run as root (or through sudo).
# 2. Ensures a MongoDB-wire server: a `mongod` on PATH if there is one, else FerretDB
#    v1.24.2 built once with Go into ${CVGATE_CACHE:-$HOME/.cache/cvgate}/bin/ferretdb.
# 3. (build + test only) Ensures Toxiproxy v2.5.0 for the chaos suite (test/chaos), built
#    once with Go the same way into ${CVGATE_CACHE:-$HOME/.cache/cvgate}/bin/toxiproxy-server.
#
# Environment:
#   CVGATE_CACHE      cache directory (default $HOME/.cache/cvgate)
#   FERRETDB_VERSION  FerretDB version to build (default v1.24.2)
#   SKIP_APT=1        skip the Debian packages step (e.g. on a machine without root)
#   SKIP_MONGO_SERVER=1  skip the MongoDB-wire server step (a container image needs none)
#   SKIP_TOXIPROXY=1  skip the Toxiproxy step (TOXIPROXY_VERSION: default v2.5.0; SKIP_CI_TOOLS=1
#                     skips it too)
#   SKIP_CI_TOOLS=1   skip the tools of the image, browser and alerting tests (podman,
#                     buildah, debootstrap, runc, chromium, chromium-driver, promtool)
set -euo pipefail

FERRETDB_VERSION=${FERRETDB_VERSION:-v1.24.2}
FERRETDB_MODULE=github.com/FerretDB/FerretDB
# FerretDB 1.24's go.mod says `go 1.24`: an older Go cannot build it.
GO_MIN_MINOR=24
CACHE=${CVGATE_CACHE:-$HOME/.cache/cvgate}
FERRETDB_BIN=$CACHE/bin/ferretdb
TOXIPROXY_VERSION=${TOXIPROXY_VERSION:-v2.5.0}
TOXIPROXY_MODULE=github.com/Shopify/toxiproxy/v2
TOXIPROXY_BIN=$CACHE/bin/toxiproxy-server

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
}

mode=full
for arg in "$@"; do
    case $arg in
        --runtime-only) mode=runtime ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# --- Debian packages ------------------------------------------------------------------

# The package names (libboost*1.81*, clang-14...) are Debian 12's.
codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)
[[ $codename == bookworm ]] || log "warning: written for Debian 12 (bookworm), this is '${codename:-unknown}'"

# Needed to run the gateway and its local stack (deploy/local/stack.sh).
runtime_pkgs=(
    postgresql rabbitmq-server python3 curl ca-certificates nginx-light
    libpq5 libmongoc-1.0-0 libbson-1.0-0 librabbitmq4
    libboost-json1.81.0 libboost-url1.81.0
)
# Needed on top of that to build and test (toolchain, headers, sanitizers, load tests).
build_pkgs=(
    g++ cmake ninja-build pkg-config
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libpq-dev libmongoc-dev libbson-dev librabbitmq-dev catch2
    python3-flasgger python3-venv
    wrk clang-14 libclang-rt-14-dev clang-format-14
)

# Needed by the tests of what operators run (test/deploy): the container image built and run
# with podman from locally made base images, /docs in a real browser, promtool for the
# alerting rules and the scrape. A container build needs none of them (SKIP_CI_TOOLS=1).
# The chaos suite's audit reads the queue with pika (test/chaos).
ci_pkgs=(
    podman buildah debootstrap runc
    chromium chromium-driver
    prometheus python3-yaml
    python3-pika
)

pkgs=("${runtime_pkgs[@]}")
[[ $mode == full ]] && pkgs+=("${build_pkgs[@]}")
[[ $mode == full && ${SKIP_CI_TOOLS:-0} != 1 ]] && pkgs+=("${ci_pkgs[@]}")

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_packages() {
    local missing=() p
    for p in "$@"; do
        is_installed "$p" || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "all $# Debian packages already installed"
        return
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
}

if [[ ${SKIP_APT:-0} == 1 ]]; then
    log "SKIP_APT=1: not touching Debian packages"
else
    install_packages "${pkgs[@]}"
fi

# The Debian postgresql/rabbitmq-server packages try to start their system-wide
# servers; on machines without a service manager that fails harmlessly, and
# stack.sh never uses those instances (it runs its own in a scratch directory).

# --- Go toolchain (FerretDB, Toxiproxy) --------------------------------------------------

# Prints the minor version of a "go1.N[.x]" or "1.N[~x]" string.
go_minor() { sed -E 's/^(go)?1\.([0-9]+).*/\2/' <<<"$1"; }

# Makes `go` (>= 1.$1) available, or dies naming what needs it ($2).
ensure_go() { # min-minor what
    # Go: use the one on PATH, else a tarball install in /usr/local/go.
    if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
        export PATH=$PATH:/usr/local/go/bin
    fi
    if ! command -v go >/dev/null 2>&1; then
        # Debian 12's golang-go is Go 1.19, too old for FerretDB; install it only if the
        # archive ever offers a recent enough one (e.g. a different release).
        local cand
        cand=$(apt-cache policy golang-go 2>/dev/null | sed -n 's/^ *Candidate: \(.*:\)\{0,1\}//p')
        if [[ -n $cand && $cand != "(none)" && $(go_minor "$cand") -ge $1 ]]; then
            log "installing Debian golang-go $cand"
            install_packages golang-go
        else
            die "no Go toolchain: $2 needs Go >= 1.$1, and Debian's golang-go is ${cand:-unavailable} (too old). Install Go >= 1.$1 (e.g. in /usr/local/go), then re-run."
        fi
    fi
    gover=$(go env GOVERSION)
    if [[ $(go_minor "$gover") -lt $1 ]]; then
        die "$(command -v go) is $gover: $2 needs Go >= 1.$1"
    fi
}

# --- MongoDB-wire server ----------------------------------------------------------------

# A usable binary is one that starts: `ferretdb --version` exits 0.
ferretdb_ok() { [[ -x $FERRETDB_BIN ]] && "$FERRETDB_BIN" --version >/dev/null 2>&1; }

ensure_mongo_server() {
    if [[ ${SKIP_MONGO_SERVER:-0} == 1 ]]; then
        log "SKIP_MONGO_SERVER=1: no MongoDB-wire server"
        return 0
    fi

    if command -v mongod >/dev/null 2>&1; then
        log "mongod found at $(command -v mongod): using it, FerretDB not needed"
        return 0
    fi

    if ferretdb_ok; then
        log "FerretDB already built: $FERRETDB_BIN"
        return 0
    fi

    ensure_go "$GO_MIN_MINOR" "FerretDB $FERRETDB_VERSION (or a mongod on PATH)"
    mkdir -p "$CACHE/bin"

    # One build at a time per cache: a second caller waits for the first one's result.
    exec 9>"$CACHE/ferretdb.build.lock"
    if ! flock -n 9; then
        log "another FerretDB build holds $CACHE/ferretdb.build.lock: waiting for it"
        flock 9
    fi
    # A build started by hand (`go install ...cmd/ferretdb`) takes no lock: wait for it too.
    while command -v pgrep >/dev/null && pgrep -f "$FERRETDB_MODULE/cmd/ferretdb@" >/dev/null; do
        log "a 'go install ...ferretdb' is running: waiting for it to finish"
        sleep 5
    done
    if ferretdb_ok; then
        log "FerretDB built meanwhile: $FERRETDB_BIN"
        exec 9>&-
        return 0
    fi
    if [[ -e $FERRETDB_BIN ]]; then
        # Typically the output of a plain `go install ...@v1.24.2`: it panics on start
        # ("Invalid build/version/version.txt file content"), see below.
        log "$FERRETDB_BIN exists but does not run: rebuilding it"
    fi

    # Why not simply `go install $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION`: the
    # module as published lacks the generated build/version/version.txt, and a binary
    # built from it panics at start-up.  So: fetch the module source through the module
    # proxy, copy it, write version.txt, and build from the copy.
    log "building FerretDB $FERRETDB_VERSION with $gover (takes about a minute, more on a cold module cache)"
    local start=$SECONDS moddir src
    moddir=$(go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [[ -n $moddir && -d $moddir ]] || die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION gave no source directory"

    src=$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-src.XXXXXX")
    cp -R "$moddir/." "$src/"
    chmod -R u+w "$src"
    echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"

    # Build to a temporary name, then rename: a half-written binary is never visible.
    (cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) ||
        { rm -rf "$src"; die "FerretDB build failed"; }
    rm -rf "$src"
    mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
    ferretdb_ok || die "the freshly built $FERRETDB_BIN does not run"
    log "built $FERRETDB_BIN in $((SECONDS - start)) s: $("$FERRETDB_BIN" --version | head -1)"
    exec 9>&-
}

# --- Toxiproxy (the chaos suite's network faults, test/chaos) ----------------------------

# A usable binary is one that starts and says its version.
toxiproxy_ok() {
    [[ -x $TOXIPROXY_BIN ]] && "$TOXIPROXY_BIN" -version 2>/dev/null | grep -qF "${TOXIPROXY_VERSION#v}"
}

ensure_toxiproxy() {
    # A test tool: not for --runtime-only, nor where the CI tools are skipped (a container build).
    if [[ $mode != full || ${SKIP_TOXIPROXY:-0} == 1 || ${SKIP_CI_TOOLS:-0} == 1 ]]; then
        return 0
    fi
    if toxiproxy_ok; then
        log "Toxiproxy already built: $TOXIPROXY_BIN"
        return 0
    fi
    # Toxiproxy 2.5's go.mod says `go 1.17`; any Go that builds FerretDB builds it.
    ensure_go 17 "Toxiproxy $TOXIPROXY_VERSION (the chaos tests; SKIP_TOXIPROXY=1 skips it)"
    mkdir -p "$CACHE/bin"
    exec 8>"$CACHE/toxiproxy.build.lock"
    if ! flock -n 8; then
        log "another Toxiproxy build holds $CACHE/toxiproxy.build.lock: waiting for it"
        flock 8
    fi
    if toxiproxy_ok; then
        log "Toxiproxy built meanwhile: $TOXIPROXY_BIN"
        exec 8>&-
        return 0
    fi
    log "building Toxiproxy $TOXIPROXY_VERSION with $gover (about 10 s on a warm module cache)"
    local start=$SECONDS moddir src
    moddir=$(go mod download -json "$TOXIPROXY_MODULE@$TOXIPROXY_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [[ -n $moddir && -d $moddir ]] || die "go mod download $TOXIPROXY_MODULE@$TOXIPROXY_VERSION gave no source directory"
    # Built from a copy of the module (like FerretDB): `go install .../cmd/server` would name
    # the binary `server`.
    src=$(mktemp -d "${TMPDIR:-/tmp}/toxiproxy-src.XXXXXX")
    cp -R "$moddir/." "$src/"
    chmod -R u+w "$src"
    # The version it reports is set at link time, as its Makefile does.
    (cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath \
        -ldflags "-X $TOXIPROXY_MODULE.Version=${TOXIPROXY_VERSION#v}" \
        -o "$TOXIPROXY_BIN.tmp" ./cmd/server) ||
        { rm -rf "$src"; die "Toxiproxy build failed"; }
    rm -rf "$src"
    mv -f "$TOXIPROXY_BIN.tmp" "$TOXIPROXY_BIN"
    toxiproxy_ok || die "the freshly built $TOXIPROXY_BIN does not run"
    log "built $TOXIPROXY_BIN in $((SECONDS - start)) s: $("$TOXIPROXY_BIN" -version | head -1)"
    exec 8>&-
}

ensure_mongo_server
ensure_toxiproxy
