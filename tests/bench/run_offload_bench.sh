#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds bench_offload in Release (build/bench) and runs it: checksum,
# TUN segmentation/coalescing and batched UDP send rates on loopback, with
# ratios. Arguments go to bench_offload (--seconds S per figure). Figures
# only: it never fails on them.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/bench
mkdir -p "$build"

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCN_TESTS=ON >/dev/null
cmake --build "$build" -j 2 --target bench_offload
exec "$build/tests/bench/bench_offload" "$@"
