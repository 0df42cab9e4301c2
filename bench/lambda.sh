#!/usr/bin/env bash
# `make bench-lambda`: cold start and warm latency of the Lambda function binaries (release
# builds), each run as Lambda runs it: its own process, driven through a Runtime API stub
# (tests/src/lambda_runtime_api.rs), against a moto server this script starts on a free port and
# stops. Prints a markdown table; asserts on no time (the driver: tests/examples/lambda_bench.rs).
#
# Usage: bench/lambda.sh                        # 10 cold starts, 300 warm requests per case
#        COLD=20 WARM=1000 bench/lambda.sh
#        ONLY=helix-fn-jobs,helix-fn-worker bench/lambda.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COLD=${COLD:-10}
WARM=${WARM:-300}
ONLY=${ONLY:-}
FUNCTIONS=(helix-fn-auth helix-fn-users helix-fn-artifacts helix-fn-jobs helix-fn-web helix-fn-worker)
target_dir=${CARGO_TARGET_DIR:-$PWD/target}

scripts/setup.sh

echo "== building the functions (release)" >&2
cargo build --release --quiet --bins $(printf -- '-p %s ' "${FUNCTIONS[@]}") >&2
echo "== building the driver" >&2
cargo build --quiet -p helix-e2e --features bench --example lambda-bench >&2

scratch=$(mktemp -d)
moto_pid=
cleanup() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/python local/moto_server.py -H 127.0.0.1 -p "$port" >"$scratch/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

echo "== measuring ($(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))" >&2
args=(--bin-dir "$target_dir/release" --cold "$COLD" --warm "$WARM")
[ -n "$ONLY" ] && args+=(--only "$ONLY")
HELIX_TEST_AWS_ENDPOINT="http://127.0.0.1:$port" \
  "$target_dir/debug/examples/lambda-bench" "${args[@]}"
