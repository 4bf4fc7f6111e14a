#!/usr/bin/env bash
# Splits the test suite across CI machines with cargo-nextest:  ci/nextest-partition.sh K M
# (machine K of M, K from 1). Each machine runs a disjoint, stable subset of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
k="${1:?usage: ci/nextest-partition.sh K M}"
m="${2:?usage: ci/nextest-partition.sh K M}"
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
CI=true cargo nextest run --partition "hash:$k/$m"
