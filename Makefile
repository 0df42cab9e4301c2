# The two commands of the README, and their helpers. Every install step lives in scripts/setup.sh.
.PHONY: dev test setup seed-data show-users lint bench

dev: setup
	cargo run --quiet -p helix-local --bin helix-dev -- up

test:
	scripts/test.sh

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
