#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, as the README's second command and .ci/run run it:
#   1. install dependencies (deploy/scripts/install-deps.sh)
#   2. check formatting (clang-format, .clang-format)
#   3. build with -Werror, ASan and UBSan (build/test)
#   4. fuzz every libFuzzer target briefly with clang (build/fuzz);
#      CN_FUZZ_SECONDS per target, default 12; 0 skips this step
#   5. cross builds for armhf and arm64 (deploy/dist/cmake): unit tests and
#      fuzz replays under qemu-user (ctest label cross), and the Debian
#      packages of each architecture, lintian clean; CN_CROSS=0 skips this
#   6. run every ctest label: unit, fuzz (corpus replays), lab (namespaces),
#      package (build, install, enrol, purge the Debian packages)
# Exits non-zero on the first failing step.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
fuzz_seconds=${CN_FUZZ_SECONDS:-12}

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
bash deploy/scripts/install-deps.sh

step "format check (clang-format $(clang-format --version | grep -o '[0-9]*\.[0-9.]*' | head -1))"
mapfile -t sources < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
clang-format --dry-run --Werror "${sources[@]}"
echo "${#sources[@]} files formatted correctly"

step "build (gcc, -Werror, ASan+UBSan)"
cmake -S . -B build/test -DCN_WERROR=ON -DCN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/test -j "$jobs"

if [ "$fuzz_seconds" -gt 0 ]; then
	step "fuzz (clang libFuzzer, ${fuzz_seconds}s per target)"
	cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCN_FUZZ=ON -DCN_SANITIZE=ON \
		-DCN_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	targets=()
	for target in tests/fuzz/fuzz_*.c; do
		targets+=(--target "$(basename "$target" .c)")
	done
	cmake --build build/fuzz -j "$jobs" "${targets[@]}"
	# One target per core at a time (libFuzzer runs one thread each).
	fuzz_one() { # NAME: fuzzes it for fuzz_seconds; prints one line; 1 on a finding
		local name=$1 corpus artifacts execs
		corpus=$(mktemp -d /tmp/cn_fuzz_corpus.XXXXXX)
		artifacts=build/fuzz/artifacts/$name
		mkdir -p "$artifacts"
		cp tests/fuzz/corpus/"$name"/* "$corpus"/
		if ! build/fuzz/tests/"$name" -max_total_time="$fuzz_seconds" -timeout=10 \
			-rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 \
			"$corpus" >"build/fuzz/$name.log" 2>&1; then
			tail -40 "build/fuzz/$name.log"
			echo "fuzz: $name found a failure; input saved in $artifacts"
			rm -rf "$corpus"
			return 1
		fi
		execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build/fuzz/$name.log" | grep -o '[0-9]*$' || echo "?")
		echo "fuzz: $name ok, $execs inputs in ${fuzz_seconds}s"
		rm -rf "$corpus"
	}
	fuzz_failed=0
	running=()
	for target in tests/fuzz/fuzz_*.c; do
		fuzz_one "$(basename "$target" .c)" &
		running+=($!)
		if [ "${#running[@]}" -ge "$jobs" ]; then
			wait "${running[0]}" || fuzz_failed=1
			running=("${running[@]:1}")
		fi
	done
	for pid in "${running[@]}"; do
		wait "$pid" || fuzz_failed=1
	done
	[ "$fuzz_failed" = 0 ] || exit 1
fi

if [ "${CN_CROSS:-1}" = 0 ]; then
	step "cross builds: SKIPPED (CN_CROSS=0)"
else
	for arch in armhf arm64; do
		step "cross build $arch (-Werror), unit tests under qemu-user, packages"
		cmake -S . -B "build/$arch" -DCMAKE_TOOLCHAIN_FILE="$top/deploy/dist/cmake/$arch.cmake" \
			-DCN_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
		cmake --build "build/$arch" -j "$jobs" >/dev/null
		if ! ctest --test-dir "build/$arch" -L cross -j "$jobs" --output-on-failure \
			>"build/$arch/ctest.log" 2>&1; then
			cat "build/$arch/ctest.log"
			exit 1
		fi
		grep -E "tests passed|Total Test time" "build/$arch/ctest.log"
		rm -rf "build/$arch/debs"
		bash deploy/dist/debian/build.sh --arch "$arch" --lintian "build/$arch/debs" | sed 's|.*/||'
	done
fi

step "ctest (unit, fuzz replays, lab, package)"
cd build/test
ctest --output-on-failure -j "$jobs"
