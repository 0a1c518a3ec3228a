#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The node's TUN and its rtnetlink configuration, in a network namespace this
# script creates and deletes (cn-tun-PID); the host's interfaces are never
# touched. tun_probe (tests/lab/tun_probe.c) opens and configures the TUN
# (10.99.0.1/16, fd99::1/64, MTU 1380) and waits; this script checks with
# ip(8) what the kernel now has (addresses, no tentative or link-local
# address, MTU, up, prefix routes); then the probe checks packet flow through
# the TUN both ways and the ICMP unreachable delivery.
#   usage: test_tun.sh path/to/tun_probe
# Exit 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, no netns).
set -euo pipefail

probe=${1:?usage: test_tun.sh path/to/tun_probe}
ns=cn-tun-$$
dir=$(mktemp -d /tmp/cn_tun.XXXXXX)
pid=""

cleanup() {
	exec 3>&- 2>/dev/null || true
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	echo "--- probe output"
	cat "$dir/out" 2>/dev/null || true
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null || skip "no ip(8)"
ip netns add "$ns" || skip "cannot create a network namespace"

mkfifo "$dir/in"
# The probe's every wait is bounded; timeout(1) bounds the whole run too.
timeout 60 ip netns exec "$ns" "$probe" <"$dir/in" >"$dir/out" 2>&1 &
pid=$!
exec 3>"$dir/in"

for _ in $(seq 100); do
	grep -q '^ready ' "$dir/out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^ready ' "$dir/out" || fail "probe exited or did not get ready within 10 s"
dev=$(awk '$1 == "ready" { print $2 }' "$dir/out")
echo "TUN $dev in namespace $ns"

link=$(ip -n "$ns" -o link show dev "$dev")
echo "$link" | grep -q 'mtu 1380 ' || fail "MTU is not 1380: $link"
echo "$link" | grep -q '[<,]UP[,>]' || fail "link not up: $link"
echo "$link" | grep -q 'LOWER_UP' || fail "no carrier: $link"
echo "ok: link up, MTU 1380"

addr4=$(ip -n "$ns" -o -4 addr show dev "$dev")
echo "$addr4" | grep -q 'inet 10\.99\.0\.1/16 ' || fail "no 10.99.0.1/16: $addr4"
addr6=$(ip -n "$ns" -o -6 addr show dev "$dev")
echo "$addr6" | grep -q 'inet6 fd99::1/64 ' || fail "no fd99::1/64: $addr6"
echo "$addr6" | grep -q 'nodad' || fail "fd99::1 without nodad: $addr6"
! echo "$addr6" | grep -q 'tentative' || fail "fd99::1 is tentative: $addr6"
! echo "$addr6" | grep -q 'inet6 fe80' || fail "link-local address present: $addr6"
[ "$(echo "$addr4" | wc -l)" -eq 1 ] || fail "more than one IPv4 address: $addr4"
[ "$(echo "$addr6" | wc -l)" -eq 1 ] || fail "more than one IPv6 address: $addr6"
echo "ok: addresses 10.99.0.1/16 and fd99::1/64 (nodad, not tentative, no link-local)"

route4=$(ip -n "$ns" -4 route show dev "$dev")
echo "$route4" | grep -q '^10\.99\.0\.0/16 proto kernel scope link src 10\.99\.0\.1' ||
	fail "no IPv4 prefix route: $route4"
route6=$(ip -n "$ns" -6 route show dev "$dev")
echo "$route6" | grep -q '^fd99::/64 proto kernel' || fail "no IPv6 prefix route: $route6"
# The lookups the node relies on: any overlay address goes out the TUN.
ip -n "$ns" route get 10.99.200.9 | grep -q "dev $dev src 10\.99\.0\.1" ||
	fail "10.99.200.9 not routed via $dev"
ip -n "$ns" -6 route get fd99::abcd | grep -q "dev $dev" || fail "fd99::abcd not routed via $dev"
echo "ok: prefix routes 10.99.0.0/16 and fd99::/64 via $dev"

echo go >&3
for _ in $(seq 300); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
rc=0
if kill -0 "$pid" 2>/dev/null; then
	fail "probe still running after 30 s"
fi
wait "$pid" || rc=$?
pid=""
cat "$dir/out"
[ "$rc" -eq 0 ] || fail "probe exited with $rc"
grep -q '^PASS$' "$dir/out" || fail "probe did not pass"

# The TUN is not persistent: gone with the probe's fd.
! ip -n "$ns" link show dev "$dev" >/dev/null 2>&1 || fail "$dev still exists after close"
echo "ok: $dev removed when its fd closed"
echo "PASS"
