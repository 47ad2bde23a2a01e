#!/usr/bin/env bash
# Every C++ source under apps/, lib/ and test/ is formatted as .clang-format says, by
# clang-format 14 (the version deploy/local/install-deps.sh installs: other versions format
# differently). Prints the files that are not, and how to fix them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cf=$(command -v clang-format-14 || true)
[[ -n $cf ]] || { echo "clang-format-14 is not installed (deploy/local/install-deps.sh installs it)" >&2; exit 1; }
cd "$root"
bad=()
while IFS= read -r -d '' f; do
    "$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(find apps lib test -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z)
if ((${#bad[@]})); then
    echo "not formatted (fix: clang-format-14 -i <file>):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
fi
echo "all C++ sources formatted"
