#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Relay failover benchmark (issue 13): runs the lab drill
# tests/lab/test_relayfail.sh N times (two nodes behind symmetric NATs,
# relayed, a ping every 50 ms; the relay carrying them is blackholed, then
# the one carrying them is stopped and restarted) on a Release build
# (build/bench, shared with the other benchmarks) and prints, per scenario,
# every loss gap (the longest time between two answered pings) and their
# min / median / max. Target: at most 2000 ms.
#
# A benchmark, not a test: it never passes or fails on a figure; it exits
# non-zero only when it could not run (not root, the build failing, the
# drill's set-up failing).
# Settings (environment):
#   CN_BENCH_RUNS=5   drill repetitions
set -uo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/bench
RUNS=${CN_BENCH_RUNS:-5}

die() {
	echo "run_failover_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || die "CN_BENCH_RUNS must be 1..99"
# shellcheck source=tests/bench/bench_build.sh
. "$top/tests/bench/bench_build.sh"
bench_build "$top" "$build" cairn cairn-node cairn-relay || die "build failed"

out=$(mktemp /tmp/cn_failover_bench.XXXXXX)
# The drill's own bound is lifted: this prints, it does not judge.
if ! bench_lab_run "$top" "$build" "$out" "^gap " test_relayfail.sh \
	CN_RELAYFAIL_REPS="$RUNS" CN_RELAYFAIL_MAX_GAP_MS=999999; then
	rm -f "$out"
	die "the drill did not run"
fi
[ "$BENCH_LAB_RC" = 0 ] || echo "(the drill reported failures besides the gaps; see below)"
python3 - "$out" "$RUNS" <<'PY'
import statistics, sys
gaps = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[0] == "gap":
        gaps.setdefault(f[1], []).append(int(f[3]))
print("relay failover, loss gap in ms (longest time between two answered pings, ping -i 0.05),"
      " %s runs" % sys.argv[2])
print("%-10s %6s %6s %6s   %s" % ("scenario", "min", "median", "max", "runs"))
for scen in ("blackhole", "restart"):
    g = gaps.get(scen, [])
    if not g:
        print("%-10s (no figure)" % scen)
        continue
    print("%-10s %6d %6d %6d   %s" % (scen, min(g), statistics.median(g), max(g),
                                     " ".join(map(str, g))))
print("target: <= 2000 ms")
PY
grep "^FAIL" "$out"
rm -f "$out"
exit 0
