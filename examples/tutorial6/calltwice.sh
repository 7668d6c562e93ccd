#!/usr/bin/env bash
# The tutorial's calltwice.sh: two clients call the function at the same time, so Lambda (and
# faaslab) must serve the second from another execution environment (Q2, Q5).
#   ./calltwice.sh [FUNCTION]      default helloSqlite
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/callservice.sh" "${1:-helloSqlite}" "Client One" &
one=$!
"$here/callservice.sh" "${1:-helloSqlite}" "Client Two" &
two=$!
status=0
wait "$one" || status=$?
wait "$two" || status=$?
exit "$status"
