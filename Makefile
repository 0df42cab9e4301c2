# The two commands of the README, and their helpers. Every install step lives in scripts/setup.sh.
.PHONY: dev test test-localstack setup seed-data show-users lint bench bench-lambda package

dev: setup
	cargo run --quiet -p helix-local --bin helix-dev -- up

test:
	scripts/test.sh

# The end-to-end suite alone, with S3 and SQS on LocalStack (signatures, expiry and CORS checked as
# S3 does) and DynamoDB on moto; `make test` runs it too.
test-localstack:
	scripts/test-localstack.sh

setup:
	scripts/setup.sh

seed-data:
	cargo run --quiet -p helix-local --bin helix-dev -- seed

show-users:
	cargo run --quiet -p helix-local --bin helix-dev -- show-users

lint: setup
	.venv/bin/cfn-lint infra/template.yaml

bench:
	bash bench/run.sh

# Cold start and warm latency of the release-built functions run as Lambda runs them (a table).
bench-lambda:
	bash bench/lambda.sh

# Every function built for arm64 Lambda with cargo-lambda: target/lambda/<bin>/bootstrap.zip and
# the `sam build` layout in target/sam-build/ (not part of `make test`).
package:
	scripts/package.sh
