#!/usr/bin/env bash
# A service crate outside this repository, as a user has it: copies examples/primary-backup
# to a temporary directory, points its faultlab dependency at this checkout, and runs its
# tests with a plain `cargo test` there — so no .cargo/config.toml of ours applies (no
# `--cfg tokio_unstable`, no aliases) and no workspace of ours either. Then its own binary
# (built on `faultlab::cli::main_with`) runs, replays and shrinks a seed, and its replay
# command must name that binary. Dependencies come from the registry cache `cargo fetch`
# filled for this repository (`--offline`), pinned by a copy of our Cargo.lock.
#
#   ci/outside-crate.sh            (target dir: target/outside, reused between runs)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp -r "$repo/examples/primary-backup" "$work/pb"
cp "$repo/Cargo.lock" "$work/pb/Cargo.lock"
cd "$work/pb"
sed -i "s|faultlab = { path = \"../..\" }|faultlab = { path = \"$repo\" }|" Cargo.toml
grep -q "path = \"$repo\"" Cargo.toml || { echo "could not point faultlab at $repo" >&2; exit 1; }
# Its own workspace root, so cargo never looks for one above it; and the profile the
# tutorial recommends (simulations are CPU-bound: optimised dependencies).
printf '\n[workspace]\n\n[profile.dev]\nopt-level = 1\n\n[profile.dev.package."*"]\nopt-level = 2\n' >> Cargo.toml

export CARGO_TARGET_DIR="$repo/target/outside"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
echo "== outside crate: cargo test in $work/pb (no cfg flags)"
cargo test --offline

echo "== outside crate: its own CLI"
cargo build --offline --bin pb-lab
bin="$CARGO_TARGET_DIR/debug/pb-lab"
set +e
"$bin" run --scenario scenarios --seeds 0..10 --bug pb-ack-before-replication > run.log 2>&1
status=$?
set -e
cat run.log | tail -5
[ "$status" -eq 1 ] || { echo "expected the planted bug to fail the sweep (exit 1), got $status" >&2; exit 1; }
replay="$(grep -m1 -o "$bin replay .*" run.log || true)"
[ -n "$replay" ] || { echo "no replay command naming $bin was printed" >&2; exit 1; }
echo "replay command: $replay"
seed="$(echo "$replay" | sed -E 's/.*--seed ([0-9]+).*/\1/')"
set +e
$replay --out "$work/replay" > replay.log 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || { echo "the replay did not fail again (exit $status)" >&2; cat replay.log; exit 1; }
for f in summary.txt history.jsonl events.jsonl report.html; do
  [ -s "$work/replay/$f" ] || { echo "replay wrote no $f" >&2; exit 1; }
done
"$bin" shrink --scenario scenarios/pb-primary-crash.toml --seed "$seed" \
  --bug pb-ack-before-replication --runs-max 40 --out "$work/shrunk.toml"
set +e
"$bin" run --scenario "$work/shrunk.toml" --seeds "$seed" --bug pb-ack-before-replication > /dev/null 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || { echo "the shrunk scenario no longer fails (exit $status)" >&2; exit 1; }
"$bin" run --scenario scenarios --seeds 0..10
echo "outside crate: ok"
