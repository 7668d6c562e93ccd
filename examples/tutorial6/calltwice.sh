#!/usr/bin/env bash
# The tutorial's calltwice.sh: two clients call the function at the same time, which makes
# Lambda (and faaslab) use a second execution environment.
#   ./calltwice.sh [FUNCTION]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/callservice.sh" "${1:-helloSqlite}" "Client One" &
"$here/callservice.sh" "${1:-helloSqlite}" "Client Two" &
wait
