#!/usr/bin/env bash
# The operators' kit of deploy/observability/ against a real cvgate (ctest observability.*):
#
#   test/deploy/observability.sh rules                    promtool check + test of alerts.yaml
#   test/deploy/observability.sh scrape WORK_DIR CVGATE   a real cvgate (test/deploy/with-cvgate.sh)
#       serves a submit, an unknown path and a probe; its GET /metrics then passes
#       `promtool check metrics`, and every query of grafana-dashboard.json and alerts.yaml names
#       metrics and labels of that scrape (deploy/observability/check_queries.py)
#
# Each mode also proves its checker can fail: a rule with a changed threshold fails the unit
# tests, a dashboard query with a misspelt metric or label fails check_queries.py, a scrape with
# a malformed counter fails promtool. Needs promtool (Debian: prometheus) and python3-yaml.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
obs=$root/deploy/observability

log() { printf '== observability: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
command -v promtool >/dev/null 2>&1 || die "promtool not found (Debian: apt-get install prometheus; deploy/local/install-deps.sh)"

# Runs "$@" and fails unless it fails: a checker that cannot fail checks nothing.
must_fail() { # what command...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then die "the checker accepted $what"; fi
    log "ok    the checker rejects $what"
}

rules() {
    local scratch
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' RETURN
    promtool check rules "$obs/alerts.yaml"
    promtool test rules "$obs/alerts.test.yaml"
    # The error ratio threshold moved from 5 % to 50 %: the 10 % case must no longer fire.
    sed 's/> 0.05$/> 0.5/' "$obs/alerts.yaml" >"$scratch/alerts.yaml"
    cmp -s "$obs/alerts.yaml" "$scratch/alerts.yaml" && die "the mutation of alerts.yaml changed nothing"
    cp "$obs/alerts.test.yaml" "$scratch/"
    must_fail "alerts.yaml with the error ratio threshold at 50 %" promtool test rules "$scratch/alerts.test.yaml"
}

# What a real cvgate serves, then its scrape (runs under with-cvgate.sh).
serve_and_scrape() {
    local pdf=$CVGATE_VOLUME/../cv.pdf status
    printf '%%PDF-1.4\n%% observability test %s\n%%%%EOF\n' "$RANDOM$RANDOM" >"$pdf"
    status=$(curl -s -o /dev/null -w '%{http_code}' -F "files=@$pdf;filename=cv.pdf" \
        -F 'jd_text=We are looking for an operator who reads dashboards and answers alerts at night.' \
        -F use_delay=false "$CVGATE_URL/jobs/submit")
    [[ $status == 202 ]] || die "POST /jobs/submit answered $status"
    status=$(curl -s -o /dev/null -w '%{http_code}' "$CVGATE_URL/no/such/path")
    [[ $status == 404 ]] || die "GET /no/such/path answered $status"
    curl -sf -o /dev/null "$CVGATE_URL/healthz"
    curl -sf "$CVGATE_URL/metrics" >"$SCRAPE"
}

scrape() {
    local work=${1:?WORK_DIR} binary=${2:?CVGATE_BINARY} out
    mkdir -p "$work"
    export SCRAPE=$work/metrics.txt
    export -f serve_and_scrape die log
    "$here/with-cvgate.sh" "$work/cvgate" "$binary" bash -c serve_and_scrape
    grep -q '^cvgate_submissions_total{flow="submit",outcome="accepted"} 1$' "$SCRAPE" ||
        die "the scrape does not count the submit: $SCRAPE"
    log "scrape: $(grep -c '^# TYPE' "$SCRAPE") metric families, $(grep -vc '^#' "$SCRAPE") samples ($SCRAPE)"

    # promtool prints lint problems and exits non-zero on them; any output is a problem too.
    if ! out=$(promtool check metrics <"$SCRAPE" 2>&1) || [[ -n $out ]]; then
        die "promtool check metrics: $out"
    fi
    log "ok    promtool check metrics: no problem"
    python3 "$obs/check_queries.py" "$SCRAPE" --dashboard "$obs/grafana-dashboard.json" --rules "$obs/alerts.yaml"
    log "ok    every query of the dashboard and the rules names metrics and labels of the scrape"

    sed 's/cvgate_upload_bytes_total/cvgate_upload_bytes/' "$obs/grafana-dashboard.json" >"$work/misspelt-metric.json"
    must_fail "a dashboard query on a metric that does not exist" \
        python3 "$obs/check_queries.py" "$SCRAPE" --dashboard "$work/misspelt-metric.json"
    sed 's/sum by (route) (rate(cvgate_http_requests_total/sum by (path) (rate(cvgate_http_requests_total/' \
        "$obs/grafana-dashboard.json" >"$work/misspelt-label.json"
    cmp -s "$obs/grafana-dashboard.json" "$work/misspelt-label.json" && die "the label mutation changed nothing"
    must_fail "a dashboard query grouping by a label no metric has" \
        python3 "$obs/check_queries.py" "$SCRAPE" --dashboard "$work/misspelt-label.json"
    sed 's/^cvgate_upload_bytes_total /cvgate_upload_bytes /; s/^\(# [A-Z]* \)cvgate_upload_bytes_total /\1cvgate_upload_bytes /' \
        "$SCRAPE" >"$work/bad-metrics.txt"
    must_fail "a counter without the _total suffix" bash -c 'out=$(promtool check metrics <"$1" 2>&1) && [[ -z $out ]]' _ "$work/bad-metrics.txt"
}

mode=${1:-}
case $mode in
    rules) rules ;;
    scrape) shift; scrape "$@" ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
log "PASSED: $mode"
