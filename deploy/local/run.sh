#!/usr/bin/env bash
# Serves cvgate on localhost:8080 (PORT to change it) against real local services: installs
# what is missing, builds the release configuration, starts PostgreSQL, RabbitMQ and a
# MongoDB-wire server under $CVGATE_STACK_DIR (default ./build/stack), and runs cvgate in
# the foreground until Ctrl-C; the services keep running for the next start
# (`deploy/local/stack.sh stop` stops them).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export CVGATE_STACK_DIR=${CVGATE_STACK_DIR:-$root/build/stack}

"$here/install-deps.sh"
cd "$root"
cmake --preset release
cmake --build --preset release --target cvgate_server

"$here/stack.sh" start
# shellcheck disable=SC1091 # written by stack.sh
. "$CVGATE_STACK_DIR/env"
export UPLOAD_VOLUME_PATH=${UPLOAD_VOLUME_PATH:-$root/build/uploads}
mkdir -p "$UPLOAD_VOLUME_PATH"
export PORT=${PORT:-8080} LISTEN_ADDR=${LISTEN_ADDR:-0.0.0.0}
echo "cvgate: serving on http://localhost:$PORT (uploads in $UPLOAD_VOLUME_PATH)" >&2
exec "$root/build/release/apps/cvgate/cvgate" "$@"
