#!/usr/bin/env bash
# The Python client's generated package (clients/python/helixnet_api), from the API's OpenAPI
# document, with the generator pinned in local/requirements.txt.
#   scripts/python-client.sh          regenerate it in place (commit the result)
#   scripts/python-client.sh --check  fail when the committed package is not what the document
#                                     generates (`make test` runs this)
# The document comes from $HELIX_URL/api/v1/openapi.json when HELIX_URL is set (make test's
# platform); otherwise a local platform is started for it on free ports, and stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "python-client.sh: unknown option $1 (--check)" >&2; exit 2 ;;
esac

scripts/setup.sh
source scripts/lib.sh

if [ -z "${HELIX_URL:-}" ]; then
  cargo build --quiet -p helix-local --bin helix-dev
  port=$(free_port)
  target/debug/helix-dev up --listen "127.0.0.1:$port" --emulator-port "$(free_port)" >"$scratch/dev.log" 2>&1 &
  pids+=($!)
  HELIX_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    curl -sf "$HELIX_URL/api/v1/health" >/dev/null && break
    sleep 0.2
  done
fi
curl -sf "$HELIX_URL/api/v1/openapi.json" -o "$scratch/openapi.json" \
  || { echo "python-client.sh: no OpenAPI document at $HELIX_URL/api/v1/openapi.json" >&2; exit 1; }

cd clients/python
PATH="$root/.venv/bin:$PATH" "$root/.venv/bin/openapi-python-client" generate --path "$scratch/openapi.json" \
  --meta none --config openapi-python-client.yaml --output-path "$scratch/helixnet_api" >"$scratch/generate.log" 2>&1 \
  || { cat "$scratch/generate.log" >&2; exit 1; }
if grep -qi "warning" "$scratch/generate.log"; then
  cat "$scratch/generate.log" >&2
  echo "python-client.sh: the generator skipped parts of the document (above)" >&2
  exit 1
fi

if $check; then
  if ! diff -r -x __pycache__ "$scratch/helixnet_api" helixnet_api >"$scratch/drift.diff"; then
    head -40 "$scratch/drift.diff" >&2
    echo "clients/python/helixnet_api is not what the API's OpenAPI document generates (diff above):" >&2
    echo "run scripts/python-client.sh to regenerate it, and commit the result." >&2
    exit 1
  fi
  echo "clients/python/helixnet_api matches the OpenAPI document"
else
  rm -rf helixnet_api
  cp -r "$scratch/helixnet_api" helixnet_api
  echo "regenerated clients/python/helixnet_api"
fi
