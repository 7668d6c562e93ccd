#!/usr/bin/env bash
# The tutorial's calltwice.sh: two clients call the function at the same time, so Lambda (and
# faaslab) must serve the second from another execution environment (Q2, Q5).
#   ./calltwice.sh [FUNCTION]      default helloSqlite
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Each client's output goes to a file of its own, printed once both are done: two processes
# writing one terminal at once interleave their lines.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$here/callservice.sh" "${1:-helloSqlite}" "Client One" > "$out/one" 2>&1 &
one=$!
"$here/callservice.sh" "${1:-helloSqlite}" "Client Two" > "$out/two" 2>&1 &
two=$!
status=0
wait "$one" || status=$?
wait "$two" || status=$?
cat "$out/one" "$out/two"
exit "$status"
