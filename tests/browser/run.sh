#!/usr/bin/env bash
# Runs the dashboard's browser test against a running platform (`make dev`, or HELIX_URL).
# Installs what it needs first (idempotent, quick when done): Debian's Chromium, the node modules.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "browser test: installing Debian's Chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "browser test: installing node modules"
  npm ci --silent --no-audit --no-fund
  echo "$want" > "$stamp"
fi

# The local demo account from the README, unless the caller names another.
export HELIX_URL="${HELIX_URL:-http://127.0.0.1:8000}"
export HELIX_TEST_USER="${HELIX_TEST_USER:-alice@helixnet.local}"
export HELIX_TEST_PASSWORD="${HELIX_TEST_PASSWORD:-alice-local-pass}"
exec node --test --test-concurrency=1 preview.test.js dom.test.js dashboard.test.js upload.test.js usage.test.js teams.test.js pipelines.test.js review.test.js
