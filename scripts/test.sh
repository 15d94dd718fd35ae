#!/usr/bin/env bash
# The test command: installs what the tests need, then runs the whole suite once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-peers.sh
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
