#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one:
#   1. install and self-test the real tools the tests judge output with (scripts/install-tools.sh);
#   2. cargo fmt --check, clippy with -D warnings;
#   3. cargo test (unit, integration and doc tests).
# A missing tool fails the run: tests never skip because a judge is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-tools.sh
# shellcheck source=/dev/null
. .tools/env.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test --all-targets
cargo test --doc
