#!/usr/bin/env bash
# Makes (or reuses, while requirements.txt is unchanged) a Python venv with the pinned packages
# of test/deploy/requirements.txt, and prints its python's path.
#
#   test/deploy/python-venv.sh DIR
#
# Needs python3-venv and the package registry the first time. Concurrent callers with the same
# DIR wait for each other (flock).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${1:?usage: test/deploy/python-venv.sh DIR}
requirements=$here/requirements.txt

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$stamp" ]]; then
    printf 'python-venv: installing test/deploy/requirements.txt into %s\n' "$venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || { echo "python-venv: python3 -m venv failed (Debian: python3-venv)" >&2; exit 2; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
        --requirement "$requirements" >&2
    echo "$stamp" >"$venv/.requirements"
fi
echo "$venv/bin/python"
