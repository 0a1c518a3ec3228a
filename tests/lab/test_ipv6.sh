#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The IPv6 underlay in the NAT lab. Two boards, each behind a router that
# does symmetric NAT for IPv4 (a carrier NAT: no direct IPv4 path between
# them) and gives its LAN global IPv6 addresses behind a stateful firewall
# (inbound only established/related), as many users' boards sit.
#
#   1. Dual-stack internet, the relay reachable over IPv4 (the list names
#      its IPv4 address): over IPv4 alone the pair could only use the
#      relay; it must go direct, over IPv6 (the firewalls open for the
#      simultaneous checks).
#   2. An IPv6-only relay (its IPv4 address removed; the list names its
#      IPv6 address): the boards reach it over IPv6 and still go direct
#      over IPv6.
#
# The path is asserted from `cairn status`: "direct" with an IPv6 endpoint
# inside the other board's LAN prefix.
# Usage: test_ipv6.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_ipv6.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay4 203.0.113.100
lab_addr6 relay4 2001:db8::100
lab_public_host relay6 203.0.113.106
lab_addr6 relay6 2001:db8::106
lab_nat r1 symmetric 203.0.113.30 192.168.1.0/24
lab_addr6 r1 2001:db8::30
lab_lan6 r1 2001:db8:1::
lab_host b1 r1 192.168.1.10
lab_host6 b1 2001:db8:1::10
lab_nat r2 symmetric 203.0.113.31 192.168.2.0/24
lab_addr6 r2 2001:db8::31
lab_lan6 r2 2001:db8:2::
lab_host b2 r2 192.168.2.10
lab_host6 b2 2001:db8:2::10
# relay6 is IPv6 only: its IPv4 address goes.
ip -n "$(lab_ns relay6)" addr del 203.0.113.106/24 dev eth0

# The lab's IPv6 plumbing itself: routed both ways, and the firewalls
# stateful (an unsolicited packet from the internet does not reach b1).
v6_udp() { # RECEIVER SENDER IP6: a datagram from SENDER reaches RECEIVER's socket on IP6 within 2 s
	local to_ns=$1 from=$2 ip=$3
	lab_exec "$to_ns" python3 -c 'import socket, subprocess, sys
r = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r.bind((sys.argv[1], 7999)); r.settimeout(2)
subprocess.run(["ip", "netns", "exec", sys.argv[2], "python3", "-c",
	"import socket, sys; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.sendto(b\"x\", (sys.argv[1], 7999))",
	sys.argv[1]], check=True)
try:
    r.recv(10)
except socket.timeout:
    sys.exit(1)' "$ip" "$(lab_ns "$from")"
}
cl_check "lab: b1 reaches relay4 over IPv6" cl_wait 5 lab_exec b1 ping -6 -c 1 -W 2 -q 2001:db8::100
cl_check "lab: b2 reaches relay6 over IPv6" cl_wait 5 lab_exec b2 ping -6 -c 1 -W 2 -q 2001:db8::106
cl_check "lab: relay6 has no IPv4 address" \
	test -z "$(ip -n "$(lab_ns relay6)" -4 -o addr show dev eth0)"
cl_check "lab: r1's firewall drops unsolicited IPv6 to b1" cl_fails v6_udp b1 relay4 2001:db8:1::10
cl_check "lab: b1's own IPv6 traffic goes out" v6_udp relay4 b1 2001:db8::100

# One network, relays given by address literal; rewritten for phase 2.
"$CAIRN" network init --name six --dir "$LAB_DIR/net" --prefix4 10.99.0.0/24 \
	--prefix6 fd99:1ab::/64 >/dev/null || exit 1
CL_DOMAIN=six.cairn
for r in relay4 relay6; do
	"$CAIRN" keygen -o "$LAB_DIR/$r.key" >/dev/null || exit 1
done
relay_conf() { # NAME LISTEN-ADDR (literal, brackets for IPv6)
	cat >"$LAB_DIR/$1.conf" <<-EOF
		identity_key = "$LAB_DIR/$1.key";
		root_key = "$(cat "$LAB_DIR/net/root.pub")";
		peer_list = "$LAB_DIR/net/peers.conf";
		state_dir = "$LAB_DIR/$1.state";
		listen = { tcp = [ "$2:443" ]; udp = [ "$2:443" ]; stun = [ "$2:3478" ]; };
	EOF
}
relay_conf relay4 203.0.113.100
relay_conf relay6 "[2001:db8::106]"
"$CAIRN" peers relay-add relay4 "$("$CAIRN" pubkey -k "$LAB_DIR/relay4.key")" 203.0.113.100 \
	--port 443 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
for n in b1 b2; do
	"$CAIRN" keygen -o "$LAB_DIR/$n.key" >/dev/null || exit 1
	"$CAIRN" peers add "$n" "$("$CAIRN" pubkey -k "$LAB_DIR/$n.key")" --groups nodes \
		-l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
	cl_resolv_conf "$n"
done
"$CAIRN" peers sign -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1

endpoint_of() { # NODE PEER: the endpoint NODE's status shows for PEER
	cl_status "$1" --json 2>/dev/null | python3 -c 'import json,sys
d = json.load(sys.stdin)
print([p.get("endpoint", "") for p in d["peers"] if p["name"] == sys.argv[1]][0])' "$2"
}
direct6_to() { # NODE PEER PREFIX: direct, with an IPv6 endpoint in PREFIX
	cl_path_is "$1" "$2" direct && [[ "$(endpoint_of "$1" "$2")" == "[$3"* ]]
}
pair_direct6() {
	cl_check "$1: b1 -> b2 pings" cl_wait 20 lab_exec b1 ping -c 1 -W 1 -q 10.99.0.2
	cl_check "$1: b1 goes direct to b2 over IPv6" cl_wait 30 direct6_to b1 b2 2001:db8:2:
	cl_check "$1: b2 goes direct to b1 over IPv6" cl_wait 10 direct6_to b2 b1 2001:db8:1:
	echo "$1: b1 sees b2 at $(endpoint_of b1 b2), b2 sees b1 at $(endpoint_of b2 b1)"
	cl_check "$1: traffic over that path" lab_exec b1 ping -c 5 -i 0.2 -W 2 -q 10.99.0.2
}

echo "== 1. dual-stack internet, relay named by its IPv4 address"
cl_start_relay relay4
cl_start_node b1
cl_start_node b2
cl_check "b1 reaches relay4" cl_wait 15 cl_relay_up b1
cl_check "b2 reaches relay4" cl_wait 15 cl_relay_up b2
pair_direct6 "dual-stack"

echo "== 2. the only relay is IPv6-only"
cl_stop_node b1
cl_stop_node b2
cl_stop_relay relay4
rm -rf "$LAB_DIR/b1.state" "$LAB_DIR/b2.state" "$LAB_DIR/relay4.state"
"$CAIRN" peers relay-remove relay4 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
"$CAIRN" peers relay-add relay6 "$("$CAIRN" pubkey -k "$LAB_DIR/relay6.key")" 2001:db8::106 \
	--port 443 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
"$CAIRN" peers sign -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
cl_start_relay relay6
cl_check "relay6 runs on its IPv6 address" grep -q running "$LAB_DIR/relay6.log"
cl_start_node b1
cl_start_node b2
cl_check "b1 reaches relay6 over IPv6" cl_wait 15 cl_relay_up b1
cl_check "b2 reaches relay6 over IPv6" cl_wait 15 cl_relay_up b2
cl_status b1 | grep "^relay"
pair_direct6 "IPv6-only relay"
cl_done
