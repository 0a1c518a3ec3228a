#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds cairn-relay and relay_bench in Release (build/bench; incremental, so
# only what changed is rebuilt) and runs the relay benchmark. Arguments go to
# relay_bench (--help lists them), e.g. --seconds 2 --links 2000 --no-memory.
# On a shared machine each run first waits up to CN_BENCH_WAIT_QUIET seconds
# (default 60; 0 turns it off) for other processes to go quiet.
#
# The benchmark prints figures only: it never fails on them. Its exit status
# is non-zero only when it could not run (build failure, relay not starting).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/bench
mkdir -p "$build"

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCN_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target cairn-relay relay_bench
exec "$build/tests/bench/relay_bench" --wait-quiet "${CN_BENCH_WAIT_QUIET:-60}" "$@"
