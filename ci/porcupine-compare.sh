#!/usr/bin/env bash
# Porcupine's own test histories, side by side: times Porcupine's test binary and `faultlab check`
# on the same 108 histories (102 Jepsen etcd register logs + 6 kv logs — every history a
# TestEtcdJepsen*/TestKv*Clients* test checks), each in one process, on this machine, and prints
# the ratio. Before timing, it checks that faultlab gives every history the verdict Porcupine's
# tests expect (exit 1 if not).
#
#   ci/porcupine-compare.sh PORCUPINE_CHECKOUT [--runs N] [--jobs N]
#
# PORCUPINE_CHECKOUT is a work tree of github.com/anishathalye/porcupine (its porcupine_test.go
# and test_data/). Needs go (Debian: golang-go), python3 and cargo. Nothing of Porcupine enters
# this repository: its logs are converted into a temporary directory (etcd logs to JSON Lines;
# the kv logs are EDN already). Runs alternate (Porcupine, faultlab, Porcupine, ...) so drift
# hits both; the ratio printed is the median of the per-pair ratios.
# Exit: 0 done, 1 a verdict differs from Porcupine's expectation, 2 usage or setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: ci/porcupine-compare.sh PORCUPINE_CHECKOUT [--runs N] [--jobs N]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
checkout="$(cd "$1" && pwd)" || usage
shift
runs=5
jobs=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) usage ;;
  esac
done
for tool in go python3 cargo; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
[[ -f "$checkout/porcupine_test.go" && -d "$checkout/test_data/jepsen" ]] \
  || { echo "$checkout: not a Porcupine work tree (no porcupine_test.go, test_data/)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked --quiet
faultlab="$PWD/target/release/faultlab"
(cd "$checkout" && GOFLAGS=-mod=mod GOPROXY=off go test -c -o "$work/porcupine.test" .)

# The histories Porcupine's tests check, with the verdicts they expect, converted for faultlab.
python3 - "$checkout" "$work" <<'PY'
import json, os, re, sys
checkout, work = sys.argv[1], sys.argv[2]
tests = open(os.path.join(checkout, "porcupine_test.go")).read()
etcd = re.findall(r"func TestEtcdJepsen\d+\(t \*testing\.T\) \{\s*checkJepsen\(t, (\d+), (true|false)\)", tests)
kv = re.findall(r"func TestKv\d+Clients?(?:Ok|Bad)\(t \*testing\.T\) \{\s*checkKv\(t, \"([^\"]+)\", (true|false), true\)", tests)
os.makedirs(os.path.join(work, "etcd")); os.makedirs(os.path.join(work, "kv"))
line_re = re.compile(r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$")
def value(text):
    if text == "nil": return None
    if text.startswith("["): return [int(v) for v in text.strip("[]").split()]
    if re.fullmatch(r"-?\d+", text): return int(text)
    return text  # :timed-out on info/fail lines: not an output
expected = {}
for number, ok in etcd:
    name = f"etcd_{int(number):03d}"
    out = open(os.path.join(work, "etcd", name + ".jsonl"), "w")
    for line in open(os.path.join(checkout, "test_data", "jepsen", name + ".log")):
        m = line_re.match(line)
        if not m: continue
        process, kind, f, v = m.groups()
        event = {"process": int(process), "type": kind, "f": f}
        if not (kind == "invoke" and f == "read"):
            event["value"] = value(v)
        out.write(json.dumps(event) + "\n")
    expected[name + ".jsonl"] = ok == "true"
for name, ok in kv:
    src = os.path.join(checkout, "test_data", "kv", name + ".txt")
    with open(src) as i, open(os.path.join(work, "kv", name + ".edn"), "w") as o:
        o.write(i.read())
    expected[name + ".edn"] = ok == "true"
json.dump(expected, open(os.path.join(work, "expected.json"), "w"))
print(f"{len(etcd)} etcd + {len(kv)} kv histories = {len(expected)}")
PY

check=("$faultlab" check --jobs "$jobs" --model register "$work/etcd" --model kv --initial '""' "$work/kv")
porcupine=("$work/porcupine.test" -test.count=1
  -test.run '^(TestEtcdJepsen[0-9]+|TestKv(1Client|10Clients|50Clients)(Ok|Bad))$')

# Verdicts first: a fast wrong answer is worth nothing.
set +e
"${check[@]}" --json > "$work/verdicts.jsonl"
set -e
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
expected = json.load(open(os.path.join(work, "expected.json")))
wrong, seen = [], 0
for line in open(os.path.join(work, "verdicts.jsonl")):
    r = json.loads(line)
    name = os.path.basename(r["file"])
    seen += 1
    want = "linearizable" if expected[name] else "not_linearizable"
    if r["verdict"] != want:
        wrong.append(f"{name}: faultlab {r['verdict']}, Porcupine's test expects {want}")
print(f"verdicts: {seen - len(wrong)} of {seen} as Porcupine's tests expect")
for w in wrong: print("  " + w)
sys.exit(1 if wrong or seen != len(expected) else 0)
PY

now_ns() { date +%s%N; }
porcupine_ms=(); faultlab_ms=()
for ((i = 0; i < runs; i++)); do
  start=$(now_ns); (cd "$checkout" && "${porcupine[@]}" > /dev/null); end=$(now_ns)
  porcupine_ms+=($(( (end - start) / 1000000 )))
  start=$(now_ns); "${check[@]}" > /dev/null || true; end=$(now_ns)
  faultlab_ms+=($(( (end - start) / 1000000 )))
done
python3 - "${porcupine_ms[*]}" "${faultlab_ms[*]}" "$jobs" <<'PY'
import statistics, sys
p = [int(x) for x in sys.argv[1].split()]
f = [int(x) for x in sys.argv[2].split()]
ratios = [b / a for a, b in zip(p, f)]
print(f"Porcupine test binary, one process: median {statistics.median(p)} ms (runs: {p})")
print(f"faultlab check --jobs {sys.argv[3]}, one process: median {statistics.median(f)} ms (runs: {f})")
print(f"ratio faultlab / Porcupine: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
PY
