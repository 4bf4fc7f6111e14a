#!/usr/bin/env bash
# Fault-injection sweep with an explicit budget, for CI machines (not part of `cargo test`).
#
#   ci/sweep.sh [--scenario PATH]... [--seeds-per-scenario N] [--budget-seconds S]
#               [--partition K/M] [--bug NAME]... [--knobs] [--buggify] [--shrink-max K]
#
# Runs N seeds of every scenario in fault-scenarios/ (or of the --scenario files/directories). With --partition K/M (K from 1), this
# machine takes the K-th of M disjoint seed blocks, so M machines sweep M*N seeds per scenario
# without overlap. Reports of failing seeds (summary, history, events) go to ci-out/failures/,
# and each failing seed is appended to ci-out/new-regressions.txt in the format of
# sim-tests/regressions.txt, ready to be committed so `cargo test` replays it forever.
# The first K failing seeds (--shrink-max, default 3; 0 turns it off) are shrunk with
# `faultlab shrink` into ci-out/failures/<scenario>-seed<N>/shrunk.toml, within what is left of
# the budget (a shrink that fails or runs out of time is reported, and never changes the exit).
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
shrink_max=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenarios+=("$2"); shift 2 ;;
    --knobs|--buggify) randomize+=("$1"); shift ;;
    --seeds-per-scenario) seeds="$2"; shift 2 ;;
    --budget-seconds) budget="$2"; shift 2 ;;
    --partition) part_k="${2%/*}"; part_m="${2#*/}"; shift 2 ;;
    --bug) bugs+=(--bug "$2"); shift 2 ;;
    --shrink-max) shrink_max="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
if (( part_k < 1 || part_k > part_m )); then echo "bad --partition $part_k/$part_m" >&2; exit 2; fi
if (( ${#scenarios[@]} == 0 )); then scenarios=(fault-scenarios); fi

start=$(( (part_k - 1) * seeds ))
end=$(( start + seeds ))
mkdir -p ci-out/failures
cargo build --release --locked
started=$SECONDS

set +e
timeout "$budget" ./target/release/faultlab run --scenario "${scenarios[@]}" --seeds "$start..$end" \
  "${bugs[@]}" "${randomize[@]}" --json --failures-dir ci-out/failures > ci-out/sweep.json
status=$?
set -e

python3 - "$status" "$shrink_max" <<'PY'
import json, sys
status = int(sys.argv[1])
shrink_max = int(sys.argv[2])
open("ci-out/to-shrink.tsv", "w").close()
try:
    data = json.load(open("ci-out/sweep.json"))
except Exception as e:
    print(f"no sweep report ({e}); exit status {status}")
    sys.exit(0)
reports = data if isinstance(data, list) else [data]
seen = set()
to_shrink = []
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
            if len(to_shrink) < shrink_max:
                bug_args = "".join(f" --bug {b}" for b in r["bugs"])
                to_shrink.append(f"{r['source']}\t{f['seed']}\t{r['scenario']}\t{bug_args.strip()}")
            print(f"  FAIL seed {f['seed']}: {f['invariant']}: {f['message']}\n    {f['replay']}")
        for u in r["unknowns"]:
            print(f"  unknown seed {u['seed']}: {u['invariant']}: {u['message']}\n    {u['replay']}")
        for g in r["sometimes_unreached"]:
            print(f"  UNREACHED {g['expectation']} >= {g['min']} in none of {r['seeds_run']} seeds")
with open("ci-out/to-shrink.tsv", "w") as t:
    t.write("".join(line + "\n" for line in to_shrink))
PY

# Shrink the first failures: a small scenario file beside each one's records.
while IFS=$'\t' read -r source seed name bug_args; do
  left=$(( budget - (SECONDS - started) ))
  if (( left <= 0 )); then echo "  shrink of $name seed $seed skipped: budget spent"; continue; fi
  out="ci-out/failures/$name-seed$seed/shrunk.toml"
  mkdir -p "$(dirname "$out")"
  # shellcheck disable=SC2086 # bug_args is a list of flags
  if timeout "$left" ./target/release/faultlab shrink --scenario "$source" --seed "$seed" \
      $bug_args "${randomize[@]}" --runs-max 60 --out "$out" < /dev/null > "ci-out/failures/$name-seed$seed/shrink.log" 2>&1; then
    echo "  $(tail -n1 "ci-out/failures/$name-seed$seed/shrink.log")"
  else
    echo "  shrink of $name seed $seed did not finish (see ci-out/failures/$name-seed$seed/shrink.log)"
  fi
done < ci-out/to-shrink.tsv
exit "$status"
