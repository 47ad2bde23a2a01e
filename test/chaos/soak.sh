#!/usr/bin/env bash
# The chaos soak (not in CI; about 15 minutes at the default rate): >= 50,000 submissions
# through one cvgate behind Toxiproxy at a steady rate, the other operations mixed in, a
# random fault of the chaos matrix every 30 s on average, then the audit of the stores.
# Prints the figures; exits 1 on an audit finding, a fault cvgate did not recover from, or
# RSS over the bound. test/chaos/soak.py --help for the knobs.
#
#   test/chaos/soak.sh [cvgate-binary]             (default: build/release/apps/cvgate/cvgate,
#                                                   else build/dev/...)
#   SOAK_ARGS="--submissions 5000 --rate 40 --seed 7" test/chaos/soak.sh
#
# The servers: as test/chaos/run.sh (STACK_DIR, or a fresh stack destroyed at the end).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release/apps/cvgate/cvgate}
[[ -x $bin || $# -gt 0 ]] || bin=$root/build/dev/apps/cvgate/cvgate
[[ -x $bin ]] || { echo "no cvgate binary at $bin (build a preset, or pass a path)" >&2; exit 2; }
read -r -a extra <<<"${SOAK_ARGS:-}"

# shellcheck source=use_stack.sh
source "$here/use_stack.sh"
use_stack soak
echo "cvgate $bin; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/soak.py" --cvgate "$bin" --stack-dir "$stack_dir" "${extra[@]}"
