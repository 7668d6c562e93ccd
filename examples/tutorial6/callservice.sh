#!/usr/bin/env bash
# The tutorial's callservice.sh, against faaslab (or AWS: drop --endpoint-url).
#   ./callservice.sh [FUNCTION] [NAME]        FUNCTION defaults to helloSqlite
# FAASLAB_ENDPOINT: the running `faaslab up` (default http://127.0.0.1:4566).
set -euo pipefail
function=${1:-helloSqlite}
name=${2:-Fred Smith}
endpoint=${FAASLAB_ENDPOINT:-http://127.0.0.1:4566}
# faaslab's local credentials, unless you have your own configured.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIAFAASLABLOCAL0001}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-faaslab/local/secret/key/0001}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

payload=$(python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1]}))' "$name")
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Invoke the function using the API Gateway (HTTP API) route instead:
# time curl -s -X POST -H 'Content-Type: application/json' -d "$payload" "$endpoint/$function"

# Output is printed in one write, so parallel runs (calltwice.sh) do not interleave.
TIMEFORMAT=$'real\t%3lR\nuser\t%3lU\nsys\t%3lS'
timing=$( { time aws lambda invoke --endpoint-url "$endpoint" --function-name "$function" \
    --payload "$payload" "$out" > /dev/null; } 2>&1 )
printf '%s\n%s\n\nAWS CLI RESULT:\n%s\n\n' "Invoking Lambda function using AWS CLI" "$timing" \
    "$(python3 -m json.tool "$out")"
