#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The TUN with offloads (IFF_VNET_HDR, TSO/USO) against the real kernel, in a
# network namespace this script creates and deletes (cn-tunoff-PID); the
# host's interfaces are never touched and no traffic leaves the namespace.
# tun_offload_probe (tests/lab/tun_offload_probe.c) does every check.
#   usage: test_tun_offload.sh path/to/tun_offload_probe
# Exit 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, no netns).
set -euo pipefail

probe=${1:?usage: test_tun_offload.sh path/to/tun_offload_probe}
ns=cn-tunoff-$$

cleanup() {
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null || skip "no ip(8)"
ip netns add "$ns" || skip "cannot create a network namespace"
ip -n "$ns" link set lo up

# The probe's every wait is bounded; timeout(1) bounds the whole run too.
rc=0
timeout 60 ip netns exec "$ns" "$probe" || rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: probe exited with $rc"; exit 1; }
echo "PASS"
