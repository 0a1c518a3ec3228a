# SPDX-License-Identifier: MIT
# Sourced by the lab benchmarks. bench_build TOP BUILD TARGET... configures
# a Release build in BUILD and builds the targets, quietly; on failure it
# prints the build log's tail and returns 1.
bench_build() {
	local top=$1 build=$2 blog rc=0
	shift 2
	blog=$(mktemp /tmp/cn_bench_build.XXXXXX)
	if ! cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCN_TESTS=ON >"$blog" 2>&1 ||
		! cmake --build "$build" -j "$(nproc)" --target "$@" >>"$blog" 2>&1; then
		tail -40 "$blog" >&2
		rc=1
	fi
	rm -f "$blog"
	return "$rc"
}

# bench_lab_run TOP BUILD OUT MARKER TEST [VAR=VALUE...]: runs the lab test
# tests/lab/TEST with BUILD's cairn, cairn-node and cairn-relay and the
# environment given, its output in OUT, printing the load average before and
# after; BENCH_LAB_RC is the test's exit status. Returns 1, with the output's
# tail, when no line of OUT matches MARKER (the test did not get to measure).
bench_lab_run() {
	local top=$1 build=$2 out=$3 marker=$4 test=$5
	shift 5
	echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
	env "$@" bash "$top/tests/lab/$test" \
		"$build/node/cli/cairn" "$build/node/cairn-node" "$build/relay/cairn-relay" >"$out" 2>&1
	BENCH_LAB_RC=$?
	echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
	if ! grep -q "$marker" "$out"; then
		tail -30 "$out" >&2
		return 1
	fi
}
