#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DNS on the overlay address answers only what comes through the TUN (and
# from the host itself), not a LAN neighbour that routes the overlay prefix
# to the node. Two namespaces this script creates and deletes, joined by a
# veth pair that exists only inside them: "node" (dns_bind_probe: a TUN
# cnbind0 with 10.99.0.1/24 and the DNS server on 10.99.0.1:53) and "lan"
# (192.168.77.2, route 10.99.0.0/24 via the node's 192.168.77.1).
#   1. unbound (the old listener): the neighbour gets answers over UDP and
#      TCP, which shows the check below can see the hole;
#   2. bound (cn_dns_server_listen_on with the TUN's name): the neighbour
#      gets no UDP answer and a refused TCP connection; a query written into
#      the TUN (a peer's) is answered through it; the node's own unbound
#      query to 10.99.0.1 is answered.
#   usage: test_dns_bind.sh path/to/dns_bind_probe
# Exit 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, no netns).
set -euo pipefail

probe=${1:?usage: test_dns_bind.sh path/to/dns_bind_probe}
nsn=cn-dnsb-$$-node
nsl=cn-dnsb-$$-lan
dir=$(mktemp -d /tmp/cn_dnsb.XXXXXX)
pid=""
PY="/usr/bin/python3 -I -S"

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	ip netns del "$nsn" 2>/dev/null || true
	ip netns del "$nsl" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}
fails=0
check() { # NAME CMD...: runs CMD, reports
	local name=$1
	shift
	if "$@"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		fails=$((fails + 1))
	fi
}

[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ip netns add "$nsn" 2>/dev/null || skip "cannot create network namespaces"
ip netns add "$nsl"
ip -n "$nsn" link set lo up
ip -n "$nsl" link set lo up
ip -n "$nsn" link add veth0 type veth peer name veth1 netns "$nsl"
ip -n "$nsn" addr add 192.168.77.1/24 dev veth0
ip -n "$nsl" addr add 192.168.77.2/24 dev veth1
ip -n "$nsn" link set veth0 up
ip -n "$nsl" link set veth1 up
ip -n "$nsl" route add 10.99.0.0/24 via 192.168.77.1

# One DNS query for x.lab.cairn A to 10.99.0.1:53 over UDP (prints
# "answered" or "silent") or a TCP connect (prints "open" or "closed").
cat >"$dir/q.py" <<'EOF'
import socket, sys
mode = sys.argv[1]
q = bytes.fromhex("123401000001000000000000") + b"\x01x\x03lab\x05cairn\x00\x00\x01\x00\x01"
if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(q, ("10.99.0.1", 53))
    try:
        d = s.recv(512)
        print("answered" if d[:2] == b"\x12\x34" else "silent")
    except OSError:
        print("silent")
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(("10.99.0.1", 53))
        print("open")
    except OSError:
        print("closed")
EOF

run_probe() { # bound|unbound
	: >"$dir/out"
	ip netns exec "$nsn" "$probe" "$1" 6 >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		grep -q '^ready' "$dir/out" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "probe did not start:"
	cat "$dir/out"
	exit 1
}
stop_probe() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
}
lan() { ip netns exec "$nsl" $PY "$dir/q.py" "$1"; }
self() { ip netns exec "$nsn" $PY "$dir/q.py" "$1"; }
is() { [ "$("${@:2}")" = "$1" ]; }

run_probe unbound
check "unbound: the LAN neighbour is answered over UDP (the hole)" is answered lan udp
check "unbound: the LAN neighbour connects over TCP" is open lan tcp
stop_probe

run_probe bound
check "bound: the LAN neighbour gets no UDP answer" is silent lan udp
check "bound: the LAN neighbour cannot connect over TCP" is closed lan tcp
check "bound: the host itself is answered on the overlay address" is answered self udp
check "bound: the host itself connects over TCP" is open self tcp
for _ in $(seq 30); do
	grep -q '^tun-answer' "$dir/out" && break
	sleep 0.1
done
check "bound: a query through the TUN (a peer's) is answered through it" \
	grep -q '^tun-answer' "$dir/out"
stop_probe

if [ "$fails" -ne 0 ]; then
	echo "--- probe output"
	cat "$dir/out"
	exit 1
fi
echo "PASS"
