#!/usr/bin/env bash
# The canary: proves the sweep pipeline records failures. It sweeps a scenario with a planted
# bug it is built to catch and checks that the sweep (1) exits 1, (2) wrote each failing seed's
# records — summary, history, events and the run report —, (3) appended the seed to
# ci-out/new-regressions.txt in sim-tests/regressions.txt's format, (4) printed a replay command
# that reproduces the failure, and (5) shrank the first failure into a scenario file that still
# fails with `faultlab run`. A pipeline that swallows failures fails here, loudly.
#
#   ci/canary.sh [--scenario FILE] [--bug NAME]
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=fault-scenarios/idgen-clock-backwards.toml
bug=idgen-clock-rollback
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --bug) bug="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

rm -rf ci-out
set +e
ci/sweep.sh --scenario "$scenario" --bug "$bug" --seeds-per-scenario 3 --budget-seconds 600 \
  | tee ci-out.canary.log
status=${PIPESTATUS[0]}
set -e
mkdir -p ci-out && mv ci-out.canary.log ci-out/canary.log

fail() { echo "CANARY FAILED: $*" >&2; exit 1; }
[[ $status -eq 1 ]] || fail "the sweep with --bug $bug exited $status, not 1 (failures found)"
shopt -s nullglob
dirs=(ci-out/failures/*-seed*)
(( ${#dirs[@]} > 0 )) || fail "no failing seed's records under ci-out/failures/"
for d in "${dirs[@]}"; do
  for f in summary.txt history.jsonl events.jsonl report.html; do
    [[ -s "$d/$f" ]] || fail "$d/$f is missing or empty"
  done
done
grep -q "^$scenario seed=[0-9]* bug=$bug expect=fail:" ci-out/new-regressions.txt \
  || fail "ci-out/new-regressions.txt has no line for $scenario with $bug"
replay=$(grep -m1 -o "[^ ]*faultlab replay --scenario $scenario --seed [0-9]* --bug $bug" ci-out/canary.log) \
  || fail "the sweep printed no replay command"
set +e
$replay --out ci-out/canary-replay > /dev/null
replay_status=$?
set -e
[[ $replay_status -eq 1 ]] || fail "replaying '$replay' exited $replay_status, not 1"
shrunk=(ci-out/failures/*-seed*/shrunk.toml)
(( ${#shrunk[@]} > 0 )) || fail "the sweep shrank no failure (no ci-out/failures/*/shrunk.toml)"
seed=$(basename "$(dirname "${shrunk[0]}")" | grep -o '[0-9]*$')   # the directory is <scenario>-seed<N>
set +e
./target/release/faultlab run --scenario "${shrunk[0]}" --seeds "$seed..=$seed" --bug "$bug" > /dev/null
shrunk_status=$?
set -e
[[ $shrunk_status -eq 1 ]] || fail "the shrunk scenario ${shrunk[0]} exited $shrunk_status at seed $seed, not 1"
echo "canary: $bug caught in ${#dirs[@]} seed(s) of $scenario; records, report, regression line, replay and shrunk scenario OK"
