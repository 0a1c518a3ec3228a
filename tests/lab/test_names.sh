#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Names in the NAT lab: the nodes find their relay through an SRV record;
# each node's DNS service answers, through `dig` and
# the system resolver, peer names (A, AAAA), group names (only members that
# are up), PTR for overlay addresses, NXDOMAIN for unknown names in the
# domain, and forwards outside names to an upstream stub unchanged; it
# survives malformed queries; programs connect by name across the overlay;
# `cairn netcheck` tells a hard NAT (symmetric) from an easy one (cone).
# Usage: test_names.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_names.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay1 203.0.113.100
lab_public_host dnsup 203.0.113.53
lab_public_host pub 203.0.113.20
lab_nat r_cone cone 203.0.113.30 192.168.1.0/24
lab_host board1 r_cone 192.168.1.10
lab_nat r_sym symmetric 203.0.113.32 192.168.3.0/24
lab_host board2 r_sym 192.168.3.10

# An upstream for outside names: the resolver test's stub, on the internet.
lab_spawn dnsup dnsup.log python3 "$here/../unit/node/dns_stub.py" --bind 203.0.113.53 \
	--port 53 --lifetime 600 >/dev/null
cl_network names relay1=203.0.113.100 -- pub board1 board2
# Groups: the boards serve "web"; pub is "cloud".
"$CAIRN" peers remove board1 -l "$LAB_DIR/net/peers.conf" >/dev/null
"$CAIRN" peers remove board2 -l "$LAB_DIR/net/peers.conf" >/dev/null
"$CAIRN" peers add board1 "$("$CAIRN" pubkey -k "$LAB_DIR/board1.key")" --groups web \
	--ipv4 10.99.0.2 -l "$LAB_DIR/net/peers.conf" >/dev/null
"$CAIRN" peers add board2 "$("$CAIRN" pubkey -k "$LAB_DIR/board2.key")" --groups web \
	--ipv4 10.99.0.3 -l "$LAB_DIR/net/peers.conf" >/dev/null
# The relay by name: an SRV record at the upstream stub, then its A record.
"$CAIRN" peers relay-remove relay1 -l "$LAB_DIR/net/peers.conf" >/dev/null
"$CAIRN" peers relay-add relay1 "$("$CAIRN" pubkey -k "$LAB_DIR/relay1.key")" \
	_cairn._udp.lab.test --port 443 -l "$LAB_DIR/net/peers.conf" >/dev/null
"$CAIRN" peers sign -l "$LAB_DIR/net/peers.conf" >/dev/null
cl_start_relay relay1
for n in pub board1 board2; do
	cl_start_node "$n" 'dns = { upstream = "203.0.113.53:53"; };'
done
for n in pub board1 board2; do
	cl_check "$n reaches the relay" cl_wait 15 cl_relay_up "$n"
done
cl_check "the relay was found by SRV, then A" \
	grep -q "relay relay1: _cairn._udp.lab.test -> relay1.lab.test port 443" "$LAB_DIR/board1.log"
D=$CL_DOMAIN
q() { # NODE ARGS...: dig at the node's loopback listener, short answers
	lab_exec "$1" dig +time=2 +tries=1 @127.0.0.99 "${@:2}"
}
has() { # PATTERN CMD...: CMD's output matches PATTERN
	local pat=$1 out
	shift
	out=$("$@" 2>&1)
	grep -q -- "$pat" <<<"$out" || {
		echo "  (got: $(tr '\n' ' ' <<<"$out" | cut -c1-300))"
		return 1
	}
}

cl_check "A of a peer" has '^10.99.0.3$' q board1 +short "board2.$D" A
cl_check "AAAA of a peer" has '^fd99:1ab::3$' q board1 +short "board2.$D" AAAA
cl_check "names are case-insensitive" has '^10.99.0.1$' q board1 +short "PUB.${D^^}" A
cl_check "over TCP too" has '^10.99.0.3$' q board1 +tcp +short "board2.$D" A
cl_check "on the overlay address" has '^10.99.0.1$' \
	lab_exec board1 dig +time=2 +tries=1 @10.99.0.2 +short "pub.$D" A
cl_check "PTR of an overlay address" has "^board2.$D.\$" q pub +short -x 10.99.0.3
cl_check "PTR of an overlay IPv6 address" has "^pub.$D.\$" q board1 +short -x fd99:1ab::1
cl_check "unknown peer: NXDOMAIN" has 'status: NXDOMAIN' q board1 "nosuch.$D" A
cl_check "group: every member that is up" \
	bash -c 'out=$1; grep -q "^10.99.0.2$" <<<"$out" && grep -q "^10.99.0.3$" <<<"$out"' _ \
	"$(q pub +short "web.group.$D" A)"
# The answer must change: board2's address gone, board1's still there
# (waiting for board1's alone would be true before board2 stopped).
group_is() { # EXPECTED: web.group's A records, sorted, space-separated
	local got
	got=$(q pub +short "web.group.$D" A | sort | tr '\n' ' ')
	[ "$got" = "$1 " ]
}
cl_stop_node board2
cl_check "group: a member that went down is left out" cl_wait 10 group_is 10.99.0.2
out=$(q pub +short "web.group.$D" A)
cl_check "group: only live members" cl_fails grep -q '^10.99.0.3$' <<<"$out"
cl_start_node board2
cl_check "group: back when it is up again" cl_wait 20 has '^10.99.0.3$' q pub +short "web.group.$D" A
direct=$(lab_exec board1 dig +time=2 +tries=1 @203.0.113.53 +short host.test A | sort)
via=$(q board1 +short host.test A | sort)
echo "outside name: upstream says [$(echo $direct)], the node says [$(echo $via)]"
cl_check "outside names forwarded unchanged" test -n "$direct" -a "$direct" = "$via"
cl_check "outside NXDOMAIN passed through" has 'status: NXDOMAIN' q board1 nosuch.test A
# Malformed queries: garbage to the node's DNS, then a good query still works.
lab_exec board1 python3 -c 'import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(300):
    s.sendto(os.urandom(1 + n % 600), ("127.0.0.99", 53))
s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", ("127.0.0.99", 53))
'
cl_check "garbage and a compression loop did not hurt" has '^10.99.0.1$' q board1 +short "pub.$D" A
cl_check "the node still runs" kill -0 "${CL_PID[board1]}"

# Programs connect by name, through the system resolver.
cl_check "ping by name" lab_exec board1 ping -c 2 -i 0.2 -W 2 -q "pub.$D"
lab_spawn pub listener.log python3 -c 'import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 7000)); s.listen(1); s.settimeout(30)
c, a = s.accept(); print("got", c.recv(100).decode().strip(), "from", a[0], flush=True)' >/dev/null
tcp_listening() { lab_exec pub ss -Hltn "sport = :7000" | grep -q .; }
cl_wait 5 tcp_listening
lab_exec board1 python3 -c 'import socket, sys
c = socket.create_connection((sys.argv[1], 7000), timeout=5); c.sendall(b"hello by name\n")' \
	"pub.$D"
cl_check "a TCP connection by name" cl_wait 5 grep -q "got hello by name" "$LAB_DIR/listener.log"
cat "$LAB_DIR/listener.log"

# netcheck from each side of the NATs.
nc_nat() { # NODE -> the "nat" field of cairn netcheck --json
	lab_exec "$1" "$CAIRN" netcheck -l "$LAB_DIR/net/peers.conf" --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["nat"])'
}
lab_exec board2 "$CAIRN" netcheck -l "$LAB_DIR/net/peers.conf"
cl_check "netcheck: symmetric NAT is hard" test "$(nc_nat board2)" = hard
cl_check "netcheck: cone NAT is easy" test "$(nc_nat board1)" = easy
cl_check "netcheck: public host has no NAT" test "$(nc_nat pub)" = none
cl_done
