#!/usr/bin/env bash
# Property-based contract test: schemathesis (pinned in local/requirements.txt) generates requests
# from the served OpenAPI document and checks every answer against it: no 5xx, only documented
# status codes, content types, headers and body schemas. Bounded: a fixed seed, a fixed number of
# examples per operation (about 15 s, ~1000 requests). Needs a running platform at $HELIX_URL and a user.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HELIX_URL:?the platform, e.g. http://127.0.0.1:8000}"
: "${HELIX_TEST_USER:?}" "${HELIX_TEST_PASSWORD:?}"

# The platform may still be seeding its accounts when it first answers.
token=
for _ in $(seq 1 60); do
  token=$(curl -sf --data-urlencode "username=$HELIX_TEST_USER" --data-urlencode "password=$HELIX_TEST_PASSWORD" \
    "$HELIX_URL/api/v1/auth/token" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' \
    2>/dev/null) && break
  sleep 0.5
done
[ -n "$token" ] || { echo "schemathesis: no token for $HELIX_TEST_USER from $HELIX_URL" >&2; exit 1; }

# Run from a scratch directory: schemathesis and hypothesis keep caches in the working directory.
root=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$root/.venv/bin/schemathesis" run "$HELIX_URL/api/v1/openapi.json" \
  --url "$HELIX_URL" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" \
  --seed "${SCHEMATHESIS_SEED:-20240601}" \
  --workers 4 \
  --request-timeout 20 \
  --generation-database none \
  --report-dir "$scratch/report" \
  --warnings off
