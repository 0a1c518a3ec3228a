#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Path MTU without ICMP: node "small" sits behind a cone NAT whose WAN
# silently drops every IP packet over 1280 bytes (both ways, no ICMP), so
# the overlay's full-size packets (TUN MTU 1340, 1400 bytes on the wire)
# vanish. The nodes must find each path's MTU with their padded probes
# (RFC 8899, node/engine_pmtu.c) and clamp TCP's MSS to it: a 50 MB TCP
# transfer in each direction completes, once over the direct path (small <->
# pub) and once relayed (small <-> rly, whose ICE is off). `cairn status`
# shows each path's MTU, at most 1280 - 60.
#
# Usage: test_pmtu.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_pmtu.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
command -v iperf3 >/dev/null || {
	echo "SKIP: iperf3 is not installed"
	exit 77
}
lab_init
LAB_EXEC_TIMEOUT=40

lab_public_host relay1 203.0.113.100
lab_public_host pub 203.0.113.20
lab_public_host rly 203.0.113.21
lab_nat r_small cone 203.0.113.40 192.168.7.0/24
lab_host small r_small 192.168.7.10
# The small-MTU WAN: drop, never reject (no ICMP), in both directions.
printf '%s\n' 'table inet smallmtu {' \
	'	chain forward {' \
	'		type filter hook forward priority filter - 10; policy accept;' \
	'		oifname "wan" meta length > 1280 drop' \
	'		iifname "wan" meta length > 1280 drop' \
	'	}' \
	'	chain output {' \
	'		type filter hook output priority filter - 10; policy accept;' \
	'		oifname "wan" meta length > 1280 drop' \
	'	}' \
	'}' | lab_exec r_small nft -f - || exit 1
# A real NIC puts MTU-sized frames on the wire; a veth passes a UDP GSO
# send on as one large skb, which the rule above would drop whole. With
# gso_max_segs 1 the kernel segments such a send in software before it
# leaves the two devices that feed this WAN (small's own, and the internet
# bridge's port toward r_small), so the rule sees each datagram as sent.
cl_check "the WAN's feeds segment like NICs" sh -c \
	"ip -n '$(lab_ns small)' link set dev eth0 gso_max_segs 1 &&
	 ip -n '$(lab_ns inet)' link set dev vr_small gso_max_segs 1"
# The lab itself: 1280 bytes pass, 1281 do not.
cl_check "the WAN carries 1280-byte packets" \
	lab_exec small ping -c 1 -W 2 -M do -s 1252 -q 203.0.113.20 >/dev/null
cl_check "the WAN drops 1281-byte packets" \
	cl_fails lab_exec small ping -c 1 -W 2 -M do -s 1253 -q 203.0.113.20 >/dev/null

nodes=(small pub rly)
cl_network pmtu relay1=203.0.113.100 -- "${nodes[@]}"
cl_start_relay relay1
# The nodes' default data path, UDP GSO included (segmented on the way, above).
cl_start_node small
cl_start_node pub
cl_start_node rly "ice = { enabled = false; };"
for n in "${nodes[@]}"; do
	cl_check "$n reaches a relay" cl_wait 15 cl_relay_up "$n"
done
lab_exec small ping -c 1 -W 3 -q "pub.$CL_DOMAIN" >/dev/null 2>&1
lab_exec small ping -c 1 -W 3 -q "rly.$CL_DOMAIN" >/dev/null 2>&1
cl_check "small -> pub goes direct" cl_wait 15 cl_path_is small pub direct
cl_check "small -> rly stays relayed" cl_path_is small rly relay

# The MTU of the path in use, from the status JSON (0: unknown).
mtu_of() { # NODE PEER
	cl_status "$1" --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["name"] == sys.argv[1]:
        print(p["mtu"])' "$2"
}
# The search takes a few probe timeouts (1.5 s each, three per size that fails).
mtu_settled() { # NODE PEER: at most 1280 - 60 (IPv4 + UDP + session), above the base
	local m
	m=$(mtu_of "$1" "$2")
	[ -n "$m" ] && [ "$m" -le 1220 ] && [ "$m" -gt 1100 ]
}
for pair in "small pub" "pub small" "small rly" "rly small"; do
	# shellcheck disable=SC2086
	cl_check "path MTU $pair found" cl_wait 30 mtu_settled $pair
done
for n in "${nodes[@]}"; do
	cl_status "$n" --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    print("%s -> %s: %s, mtu %d (relay %d, direct %d)" % (sys.argv[1], p["name"], p["path"],
          p["mtu"], p["mtu_relay"], p["mtu_direct"]))' "$n"
done

# 50 MB each way over TCP (iperf3 -R: the server sends).
transfer() { # FROM TO [-R]
	local ip out t0 t1
	ip=$(cl_status "$2" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["ipv4"])')
	out=$LAB_DIR/iperf3-$1-$2${3:-}.out
	lab_spawn "$2" "iperf3-$2${3:-}.log" iperf3 -s -1 -B "$ip" -p 5201 >/dev/null
	sleep 0.5
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	lab_exec "$1" iperf3 -c "$ip" -p 5201 -n 50M --connect-timeout 3000 ${3:-} >"$out" 2>&1 || {
		tail -5 "$out"
		return 1
	}
	t1=$(date +%s.%N)
	echo "transfer $1 -> $2 ${3:+(reverse)}: 50 MB in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
}
cl_check "50 MB small -> pub (direct)" transfer small pub
cl_check "50 MB pub -> small (direct)" transfer small pub -R
cl_check "50 MB small -> rly (relayed)" transfer small rly
cl_check "50 MB rly -> small (relayed)" transfer small rly -R
cl_check "small -> pub still direct" cl_path_is small pub direct
cl_done
