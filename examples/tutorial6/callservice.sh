#!/usr/bin/env bash
# The tutorial's callservice.sh: invoke a function with the real AWS CLI and time the call.
#   ./callservice.sh [FUNCTION [NAME]]     FUNCTION: helloSqlite (default), helloSqliteMemory,
#                                                    helloMySQL (part 6)
#                                          NAME: the payload's "name" (default "Fred Smith")
# FAASLAB_ENDPOINT: the `faaslab up` edge URL (default http://127.0.0.1:4566). For real AWS,
# remove the --endpoint-url option below.
set -euo pipefail
function=${1:-helloSqlite}
name=${2:-Fred Smith}
dbname=${3:-}  # part 3 (helloSqliteS3): the database file to use, e.g. names.db
endpoint=${FAASLAB_ENDPOINT:-http://127.0.0.1:4566}

# faaslab's local keys, for whatever is not already set (the AWS CLI refuses to send an
# unsigned request; faaslab accepts any keys). Left alone when a named profile is in use.
if [[ -z ${AWS_PROFILE:-} ]]; then
    export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-AKIAFAASLABLOCAL0001}
    export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-faaslab/local/secret/key/0001}
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The payload goes through a file read with fileb://: raw bytes for both AWS CLI v1 (what
# `pip install awscli` gives, which rejects --cli-binary-format) and v2 (which would otherwise
# need --cli-binary-format raw-in-base64-out). json.dumps quotes any name safely.
python3 -c 'import json, sys
payload = {"name": sys.argv[1]}
if sys.argv[2]:
    payload["dbname"] = sys.argv[2]
print(json.dumps(payload), end="")' "$name" "$dbname" > "$work/payload.json"

# Invoke the function using the API Gateway (HttpApi) route instead:
# time curl -s -X POST -H 'Content-Type: application/json' \
#     -d "$(cat "$work/payload.json")" "$endpoint/$function" > "$work/out.json"

TIMEFORMAT=$'real\t%3lR\nuser\t%3lU\nsys\t%3lS'
status=0
timing=$( { time aws lambda invoke --endpoint-url "$endpoint" --region us-east-1 \
    --function-name "$function" --payload "fileb://$work/payload.json" \
    "$work/out.json" > "$work/meta.json" 2> "$work/err.txt"; } 2>&1 ) || status=$?

# Everything is printed in one write, so two parallel runs (calltwice.sh) do not interleave.
if [[ $status -ne 0 ]]; then
    printf 'Invoking Lambda function using AWS CLI\n%s\nAWS CLI FAILED (exit %s):\n%s\n' \
        "$timing" "$status" "$(cat "$work/err.txt")" >&2
    exit "$status"
fi
printf 'Invoking Lambda function using AWS CLI\n%s\nAWS CLI RESULT:\n%s\n' \
    "$timing" "$(python3 -m json.tool "$work/out.json" 2> /dev/null || cat "$work/out.json")"
