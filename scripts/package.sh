#!/usr/bin/env bash
# `make package`: every Lambda function of infra/template.yaml built for arm64 (the template's
# `Architectures: [arm64]`, runtime provided.al2023) with cargo-lambda, as `sam build` builds them
# (BuildMethod rust-cargolambda runs `cargo lambda build --release` for the arm64 target), into:
#
#   target/lambda/<binary>/bootstrap.zip      the deployment package of each function (cargo-lambda's layout)
#   $SAM_BUILD_DIR/<LogicalId>/bootstrap      what `sam build` leaves, and
#   $SAM_BUILD_DIR/template.yaml              the template with each CodeUri pointing there, so that
#                                             `sam deploy --template-file $SAM_BUILD_DIR/template.yaml --guided` ships these builds
#
# SAM_BUILD_DIR defaults to target/sam-build (inside the ignored target/; `.aws-sam/build` works too).
# Idempotent: installs cargo-lambda and zig (pinned in local/package-requirements.txt) into .venv and the
# aarch64-unknown-linux-gnu standard library with rustup when missing, and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

TARGET=aarch64-unknown-linux-gnu
SAM_BUILD_DIR=${SAM_BUILD_DIR:-target/sam-build}
TEMPLATE=infra/template.yaml

# Tools: the pinned cargo-lambda and zig, in the project's .venv.
pin() { grep -E "^$1==" local/package-requirements.txt | head -1; }
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
want_cl=$(pin cargo-lambda | cut -d= -f3)
want_zig=$(pin ziglang | cut -d= -f3)
have_cl=$(.venv/bin/cargo-lambda lambda --version 2>/dev/null | awk '{print $2}' || true)
have_zig=$(.venv/bin/python -m ziglang version 2>/dev/null || true)
if [ "$have_cl" != "$want_cl" ] || [ "$have_zig" != "$want_zig" ]; then
  echo "package: installing cargo-lambda $want_cl and zig $want_zig into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "$(pin cargo-lambda)" "$(pin ziglang)"
fi
# cargo-lambda finds `cargo-lambda` and zig (`python3 -m ziglang`) through PATH.
export PATH="$root/.venv/bin:$PATH"

# The target's standard library (cargo-lambda checks for it and would otherwise ask).
if ! rustup target list --installed | grep -qx "$TARGET"; then
  echo "package: rustup target add $TARGET"
  rustup target add "$TARGET"
fi

# The functions: every AWS::Serverless::Function the template builds with rust-cargolambda,
# as "LogicalId Binary" lines.
functions=$(.venv/bin/python - "$TEMPLATE" <<'EOF'
import re, sys
resource = binary = None
in_resources = False
found = []
for line in open(sys.argv[1]):
    if re.match(r"^\S", line):
        in_resources = line.startswith("Resources:")
        resource = None
        continue
    m = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
    if in_resources and m:
        resource = m.group(1)
        continue
    m = re.match(r"^\s+Binary:\s*(\S+)\s*$", line)
    if in_resources and resource and m:
        found.append((resource, m.group(1)))
if not found:
    sys.exit("no BuildProperties.Binary in " + sys.argv[1])
for resource, binary in found:
    print(resource, binary)
EOF
)
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bins=()
while read -r _ binary; do bins+=(--bin "$binary"); done <<<"$functions"

echo "== cargo lambda build --release --arm64 ($(wc -l <<<"$functions") functions)"
started=$(date +%s)
cargo lambda build --release --arm64 --output-format zip "${bins[@]}"
elapsed=$(( $(date +%s) - started ))

# The `sam build` layout: one directory per function with its bootstrap, and the template with
# CodeUri rewritten to those directories (relative to the built template, as sam build writes it).
rm -rf "$SAM_BUILD_DIR"
mkdir -p "$SAM_BUILD_DIR"
while read -r resource binary; do
  mkdir -p "$SAM_BUILD_DIR/$resource"
  cp "$target_dir/$TARGET/release/$binary" "$SAM_BUILD_DIR/$resource/bootstrap"
done <<<"$functions"
.venv/bin/python - "$TEMPLATE" "$SAM_BUILD_DIR/template.yaml" <<'EOF'
import re, sys
source, dest = sys.argv[1], sys.argv[2]
out, resource, built, in_resources, rewritten = [], None, False, False, 0
for line in open(source):
    if re.match(r"^\S", line):
        in_resources = line.startswith("Resources:")
        resource = None
    m = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
    if in_resources and m:
        resource, built = m.group(1), False
    if in_resources and resource and re.match(r"^\s+Binary:\s*\S+\s*$", line):
        built = True
    m = re.match(r"^(\s+)CodeUri:\s*\S+\s*$", line)
    if in_resources and built and m:
        line = f"{m.group(1)}CodeUri: {resource}\n"
        rewritten += 1
    out.append(line)
open(dest, "w").write("".join(out))
print(f"{dest}: {rewritten} CodeUri rewritten")
EOF

echo
echo "| function | binary | bootstrap.zip | bootstrap (unzipped) |"
echo "|---|---|---:|---:|"
size() { numfmt --to=iec-i --suffix=B --format='%.1f' "$(stat -c %s "$1")"; }
while read -r resource binary; do
  printf '| %s | %s | %s | %s |\n' "$resource" "$binary" \
    "$(size "$target_dir/lambda/$binary/bootstrap.zip")" "$(size "$SAM_BUILD_DIR/$resource/bootstrap")"
done <<<"$functions"
echo
echo "built in ${elapsed}s; deploy with: sam deploy --template-file $SAM_BUILD_DIR/template.yaml --guided"
