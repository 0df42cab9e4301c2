#!/usr/bin/env bash
# `make test`: every test. Starts its own emulators on free ports (moto for S3+SQS+DynamoDB, s3s-fs
# for SigV4-checked presigned URLs), runs the Rust suites, runs the end-to-end suite again with S3
# and SQS on LocalStack (scripts/test-localstack.sh), lints the template, runs the browser test,
# the API contract test and the Python client's drift check and tests against a local platform,
# and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh --test --localstack

echo "== cargo fmt --check, cargo clippy -D warnings"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cfn-lint infra/template.yaml"
.venv/bin/cfn-lint infra/template.yaml

source scripts/lib.sh

moto_port=$(free_port)
.venv/bin/python local/moto_server.py -H 127.0.0.1 -p "$moto_port" >"$scratch/moto.log" 2>&1 &
pids+=($!)
s3s_port=$(free_port)
mkdir -p "$scratch/s3s"
s3s_key=helixtest
s3s_secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
.tools/bin/s3s-fs --host 127.0.0.1 --port "$s3s_port" --access-key "$s3s_key" --secret-key "$s3s_secret" "$scratch/s3s" >"$scratch/s3s.log" 2>&1 &
pids+=($!)
wait_port "$moto_port"
wait_port "$s3s_port"

export HELIX_TEST_AWS_ENDPOINT="http://127.0.0.1:$moto_port"
# moto serves S3 and SQS too in this pass, whatever the caller's environment says.
unset HELIX_TEST_S3_ENDPOINT HELIX_TEST_SQS_ENDPOINT
export HELIX_TEST_S3S_ENDPOINT="http://127.0.0.1:$s3s_port"
export HELIX_TEST_S3S_ACCESS_KEY=$s3s_key
export HELIX_TEST_S3S_SECRET_KEY=$s3s_secret

echo "== cargo test"
# The function binaries, which tests/tests/e2e/lambdas.rs runs as Lambda runs them. The whole
# workspace's bins: the same feature resolution as `cargo test --workspace`, so no dependency twice.
cargo build --workspace --bins --quiet
cargo test --workspace --quiet

# The same end-to-end suite on LocalStack's S3 and SQS (exact signatures, expiry and CORS, its own
# notifications): about 35 s warm, reusing the binaries just built; a lane joins `make test` when it
# adds under 5 minutes warm (README, "What each emulator covers").
scripts/test-localstack.sh

if [ -f tests/browser/run.sh ]; then
  echo "== browser test"
  web_port=$(free_port)
  cargo build --quiet -p helix-local --bin helix-dev
  # Files above 5 MiB go up in parts: the browser test sends one. Schemathesis sends about a
  # thousand requests in 15 s as one user: the request rate is not what it checks.
  MULTIPART_THRESHOLD_BYTES=5242880 RATE_LIMIT_PER_MINUTE=600000 RATE_LIMIT_BURST=100000 \
    AWS_ENDPOINT_URL=$HELIX_TEST_AWS_ENDPOINT \
    target/debug/helix-dev up --listen "127.0.0.1:$web_port" >"$scratch/dev.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$web_port/api/v1/health" >/dev/null && break
    sleep 0.2
  done
  HELIX_URL="http://127.0.0.1:$web_port" HELIX_TEST_USER=alice@helixnet.local HELIX_TEST_PASSWORD=alice-local-pass \
    bash tests/browser/run.sh || { echo "--- platform log"; tail -50 "$scratch/dev.log"; exit 1; }
fi

if [ -n "${web_port:-}" ] && [ -f tests/schemathesis.sh ]; then
  echo "== schemathesis (the API against its OpenAPI document)"
  HELIX_URL="http://127.0.0.1:$web_port" HELIX_TEST_USER=alice@helixnet.local HELIX_TEST_PASSWORD=alice-local-pass \
    bash tests/schemathesis.sh || { echo "--- platform log"; tail -50 "$scratch/dev.log"; exit 1; }
fi

if [ -n "${web_port:-}" ]; then
  echo "== Python client (clients/python): the generated code is current; its tests against the platform"
  HELIX_URL="http://127.0.0.1:$web_port" scripts/python-client.sh --check
  HELIX_URL="http://127.0.0.1:$web_port" HELIX_TEST_USER=alice@helixnet.local HELIX_TEST_PASSWORD=alice-local-pass \
    .venv/bin/python -m pytest -q -p no:cacheprovider clients/python \
    || { echo "--- platform log"; tail -50 "$scratch/dev.log"; exit 1; }
fi
