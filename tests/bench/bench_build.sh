# SPDX-License-Identifier: MIT
# Sourced by the lab benchmarks: bench_build TOP BUILD TARGET... configures
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
