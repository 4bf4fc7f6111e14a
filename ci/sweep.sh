#!/usr/bin/env bash
# Fault-injection sweep with an explicit budget, for CI machines (not part of `cargo test`).
#
#   ci/sweep.sh [--scenario PATH]... [--seeds-per-scenario N] [--budget-seconds S]
#               [--partition K/M] [--bug NAME]... [--knobs] [--buggify]
#
# Runs N seeds of every scenario in fault-scenarios/ (or of the --scenario files/directories). With --partition K/M (K from 1), this
# machine takes the K-th of M disjoint seed blocks, so M machines sweep M*N seeds per scenario
# without overlap. Reports of failing seeds (summary, history, events) go to ci-out/failures/,
# and each failing seed is appended to ci-out/new-regressions.txt in the format of
# sim-tests/regressions.txt, ready to be committed so `cargo test` replays it forever.
# A seed the correct service fails is a bug to fix: its line says expect=pass (it fails until
# fixed); with --bug the line pins the catch (expect=fail:<invariant>). Unknown seeds and
# coverage gaps are listed and make the sweep exit 3 — never a pass.
# Exit: 0 all passed, 1 failures found, 3 unknown (no failure), 2 usage/harness error,
# 124 budget exceeded.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=200
budget=1800
part_k=1
part_m=1
bugs=()
scenarios=()
randomize=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenarios+=("$2"); shift 2 ;;
    --knobs|--buggify) randomize+=("$1"); shift ;;
    --seeds-per-scenario) seeds="$2"; shift 2 ;;
    --budget-seconds) budget="$2"; shift 2 ;;
    --partition) part_k="${2%/*}"; part_m="${2#*/}"; shift 2 ;;
    --bug) bugs+=(--bug "$2"); shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if (( part_k < 1 || part_k > part_m )); then echo "bad --partition $part_k/$part_m" >&2; exit 2; fi
if (( ${#scenarios[@]} == 0 )); then scenarios=(fault-scenarios); fi

start=$(( (part_k - 1) * seeds ))
end=$(( start + seeds ))
mkdir -p ci-out/failures
cargo build --release --locked

set +e
timeout "$budget" ./target/release/faultlab run --scenario "${scenarios[@]}" --seeds "$start..$end" \
  "${bugs[@]}" "${randomize[@]}" --json --failures-dir ci-out/failures > ci-out/sweep.json
status=$?
set -e

python3 - "$status" <<'PY'
import json, sys
status = int(sys.argv[1])
try:
    data = json.load(open("ci-out/sweep.json"))
except Exception as e:
    print(f"no sweep report ({e}); exit status {status}")
    sys.exit(0)
reports = data if isinstance(data, list) else [data]
seen = set()
with open("ci-out/new-regressions.txt", "a") as out:
    for r in reports:
        print(f"{r['scenario']:<28} seeds {r['seeds']:<10} run {r['seeds_run']:>5}  "
              f"failing {r['seeds_failed']}  unknown {r['seeds_unknown']}")
        for f in r["failures"]:
            key = (r["source"], f["seed"])
            if key in seen:
                continue
            seen.add(key)
            bugs = "".join(f" bug={b}" for b in r["bugs"])
            expect = f"fail:{f['invariant']}" if r["bugs"] else "pass"
            out.write(f"{r['source']} seed={f['seed']}{bugs} expect={expect}\n")
            print(f"  FAIL seed {f['seed']}: {f['invariant']}: {f['message']}\n    {f['replay']}")
        for u in r["unknowns"]:
            print(f"  unknown seed {u['seed']}: {u['invariant']}: {u['message']}\n    {u['replay']}")
        for g in r["sometimes_unreached"]:
            print(f"  UNREACHED {g['expectation']} >= {g['min']} in none of {r['seeds_run']} seeds")
PY
exit "$status"
