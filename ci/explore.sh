#!/usr/bin/env bash
# Nightly guided exploration with an explicit budget (not part of `cargo test`).
#
#   ci/explore.sh [--runs N] [--budget-seconds S] [--campaign-seed K] [--corpus-dir DIR]
#
# One `faultlab explore` campaign per built-in service, from its swarm scenario, each given an
# equal share of the budget (`timeout`). The corpus of each campaign is kept under
# DIR/<scenario>/ (default ci-out/explore-corpus): restore it from the previous night's
# artifact and the campaign continues where that one stopped. Failing inputs (shrunk) and
# explore.html go to ci-out/explore/<scenario>/.
# Exit: 0 no failure, 1 a failure found, 3 unknown (runs ended unknown or a coverage gap) —
# never a pass — 124 a campaign ran out of its budget share, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=500
budget=3000
campaign_seed="$(date -u +%Y%m%d)"
corpus_dir=ci-out/explore-corpus
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --budget-seconds) budget="$2"; shift 2 ;;
    --campaign-seed) campaign_seed="$2"; shift 2 ;;
    --corpus-dir) corpus_dir="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

cargo build --release --locked
bin=./target/release/faultlab
swarms=(idgen-swarm kv-swarm lock-swarm cache-swarm jobs-swarm mr-swarm crawler-swarm)
share=$(( budget / ${#swarms[@]} ))
worst=0
for s in "${swarms[@]}"; do
  echo "== explore $s: $runs runs, campaign seed $campaign_seed, at most ${share}s"
  set +e
  timeout "$share" "$bin" explore --scenario "fault-scenarios/$s.toml" --runs "$runs" \
    --campaign-seed "$campaign_seed" --corpus "$corpus_dir/$s" --out "ci-out/explore/$s"
  code=$?
  set -e
  echo "   exit $code"
  # Rank: a failure (1) beats a budget overrun (124), which beats unknown (3).
  case "$code" in
    0) ;;
    1) worst=1 ;;
    124) [[ $worst -ne 1 ]] && worst=124 ;;
    3) [[ $worst -eq 0 ]] && worst=3 ;;
    *) echo "harness error in $s" >&2; exit 2 ;;
  esac
done
exit "$worst"
