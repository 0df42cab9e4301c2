#!/usr/bin/env bash
# `make test-localstack`: the end-to-end suite (tests/, helix-e2e) with S3 and SQS on LocalStack,
# whose S3 checks presigned-URL signatures and expiry, answers CORS as S3 does and sends S3 -> SQS
# notifications; DynamoDB and Secrets Manager stay on moto (LocalStack's DynamoDB downloads
# DynamoDB Local at first use: it cannot start offline). Starts both emulators on free ports and
# stops them, as scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --localstack

source scripts/lib.sh
# LocalStack answers its health endpoint before its services are up: ready once S3 and SQS say so.
wait_localstack() {
  local ready='import json, sys; s = json.load(sys.stdin)["services"]; sys.exit(any(s.get(n) not in ("available", "running") for n in ("s3", "sqs")))'
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$1/_localstack/health" 2>/dev/null | python3 -c "$ready" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "LocalStack did not report S3 and SQS ready on port $1; its log:" >&2
  tail -40 "$scratch/localstack.log" >&2
  return 1
}

moto_port=$(free_port)
.venv/bin/python local/moto_server.py -H 127.0.0.1 -p "$moto_port" >"$scratch/moto.log" 2>&1 &
pids+=($!)

ls_port=$(free_port)
mkdir -p "$scratch/localstack/home" "$scratch/localstack/tmp"
# Everything LocalStack writes goes under $scratch: its state and caches (FILESYSTEM_ROOT,
# CONFIG_DIR), the plugin cache it keeps in ~/.cache (HOME), its temp folder (TMPDIR), and S3's
# object store, whose folder (/tmp/localstack-s3-storage) no setting moves: set before start-up.
# S3_SKIP_SIGNATURE_VALIDATION=0: presigned URLs are checked (signature, expiry; the secret for the
# access key `test` is `test`). SQS_ENDPOINT_STRATEGY=path with LOCALSTACK_HOST: queue URLs on this
# port, not on *.localhost.localstack.cloud (a name that needs public DNS). No DNS server, no
# analytics, no certificate download: nothing outside the machine is reached. Eager loading: the
# services are up before the first test, not during it.
env HOME="$scratch/localstack/home" TMPDIR="$scratch/localstack/tmp" \
  FILESYSTEM_ROOT="$scratch/localstack/fs" CONFIG_DIR="$scratch/localstack/config" \
  GATEWAY_LISTEN="127.0.0.1:$ls_port" LOCALSTACK_HOST="127.0.0.1:$ls_port" \
  SERVICES=s3,sqs EAGER_SERVICE_LOADING=1 S3_SKIP_SIGNATURE_VALIDATION=0 SQS_ENDPOINT_STRATEGY=path \
  DNS_ADDRESS=0 DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
  .venv-localstack/bin/python -c '
import sys
import localstack.services.s3.provider as s3
s3.DEFAULT_S3_TMP_DIR = sys.argv[1]
from localstack.runtime.main import main
main()' "$scratch/localstack/s3" >"$scratch/localstack.log" 2>&1 &
pids+=($!)

wait_port "$moto_port"
wait_localstack "$ls_port"

localstack="http://127.0.0.1:$ls_port"
export HELIX_TEST_AWS_ENDPOINT="http://127.0.0.1:$moto_port"
export HELIX_TEST_S3_ENDPOINT=$localstack
export HELIX_TEST_SQS_ENDPOINT=$localstack
# The presigned-URL security tests (presigned_security.rs) against LocalStack's S3 instead of s3s-fs.
export HELIX_TEST_S3S_ENDPOINT=$localstack
export HELIX_TEST_S3S_ACCESS_KEY=test
export HELIX_TEST_S3S_SECRET_KEY=test
# LocalStack's S3, like S3, refuses a part whose body does not match its signed SHA-256.
export HELIX_TEST_S3S_CHECKS_PART_CHECKSUMS=1

echo "== cargo test -p helix-e2e (S3 and SQS on LocalStack, DynamoDB and Secrets Manager on moto)"
# The function binaries, which tests/tests/e2e/lambdas.rs runs as Lambda runs them; built for the
# whole workspace as scripts/test.sh does, so the two lanes share every compiled dependency.
cargo build --workspace --bins --quiet
cargo test -p helix-e2e --quiet -- "$@"
