#!/usr/bin/env bash
# GET /docs in a real browser (ctest docs.browser): Debian's chromium and chromium-driver, driven
# by Selenium from a pinned venv (test/deploy/requirements.txt; no browser is downloaded),
# against a real cvgate in front of the stack fixture (test/deploy/with-cvgate.sh). The checks
# are those of docs_browser.py; screenshots are kept in WORK_DIR/artefacts.
#
#   test/deploy/docs-browser.sh WORK_DIR CVGATE_BINARY
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:?usage: docs-browser.sh WORK_DIR CVGATE_BINARY}
binary=${2:?usage: docs-browser.sh WORK_DIR CVGATE_BINARY}
cache=${CVGATE_CACHE:-$HOME/.cache/cvgate}

for tool in "${CHROMIUM:-/usr/bin/chromium}" "${CHROMEDRIVER:-/usr/bin/chromedriver}"; do
    [[ -x $tool ]] || { echo "docs-browser: $tool not found (Debian: chromium chromium-driver; deploy/local/install-deps.sh)" >&2; exit 1; }
done
py=$("$here/python-venv.sh" "$cache/venv-test-deploy")
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/artefacts"
"$here/with-cvgate.sh" "$work/cvgate" "$binary" "$py" "$here/docs_browser.py" "$work/artefacts"
echo "docs-browser: screenshots in $work/artefacts" >&2
