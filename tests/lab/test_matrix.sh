#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The NAT matrix: one node behind each kind of NAT the lab builds, all in
# one network, every pair reaching each other by name; each pair's path must
# be direct where a direct path is possible and relay where it is not. The
# result is printed as a table.
#
#   pub    public address (no NAT)
#   cone   port-restricted cone (plain masquerade)
#   full   full cone
#   sym    symmetric (random port per destination)
#   block  UDP blocked (TCP only: relay over TCP)
#   dbl    cone behind a carrier cone NAT (double NAT)
#   same1, same2  two nodes behind the same cone NAT
#
# Usage: test_matrix.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_matrix.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1 # the overlay's TUN devices want IPv6
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

nodes=(pub cone full sym block dbl same1 same2)
declare -A kind=([pub]=none [cone]=cone [full]=fullcone [sym]=symmetric [block]=udpblock
	[dbl]=double [same1]=cone [same2]=cone)

# Whether a direct path exists between two NAT kinds: ICE (host and
# server-reflexive candidates, no TURN), or birthday probing for a
# symmetric NAT facing an endpoint-independent one.
expect() { # A B -> direct|relay
	local a=${kind[$1]} b=${kind[$2]}
	if [ "$1" = same1 ] && [ "$2" = same2 ] || [ "$1" = same2 ] && [ "$2" = same1 ]; then
		echo direct # host candidates on their shared LAN
	elif [ "$a" = udpblock ] || [ "$b" = udpblock ]; then
		echo relay
	elif [ "$a" = symmetric ] && [ "$b" = symmetric ]; then
		echo relay
	elif [ "$a" = symmetric ] || [ "$b" = symmetric ]; then
		# A symmetric NAT punches through with ICE to a peer that accepts
		# any source (a public host, a full cone), and with the birthday
		# technique (engine_bday.c) to any endpoint-independent mapping:
		# a cone, a double cone NAT.
		echo direct
	else
		echo direct
	fi
}

lab_public_host relay1 203.0.113.100
lab_public_host pub 203.0.113.20
lab_nat r_cone cone 203.0.113.30 192.168.1.0/24
lab_host cone r_cone 192.168.1.10
lab_nat r_full fullcone 203.0.113.31 192.168.2.0/24
lab_host full r_full 192.168.2.10
lab_nat r_sym symmetric 203.0.113.32 192.168.3.0/24
lab_host sym r_sym 192.168.3.10
lab_nat r_block udpblock 203.0.113.33 192.168.4.0/24
lab_host block r_block 192.168.4.10
lab_nat cgnat cone 203.0.113.34 100.64.1.0/24
lab_nat r_dbl cone 100.64.1.2 192.168.5.0/24 cgnat
lab_host dbl r_dbl 192.168.5.10
lab_nat r_same cone 203.0.113.35 192.168.6.0/24
lab_host same1 r_same 192.168.6.10
lab_host same2 r_same 192.168.6.11

cl_network matrix relay1=203.0.113.100 -- "${nodes[@]}"
cl_start_relay relay1
for n in "${nodes[@]}"; do
	cl_start_node "$n"
done
for n in "${nodes[@]}"; do
	cl_check "$n reaches a relay" cl_wait 15 cl_relay_up "$n"
done
# Behind the UDP-blocking NAT the link must really be the TCP fallback;
# everyone else's is UDP.
link_is() { cl_status "$1" 2>/dev/null | grep -q "^relay relay1: up over $2"; } # NODE TCP|UDP
cl_check "block's relay link is TCP" link_is block TCP
for n in "${nodes[@]}"; do
	[ "$n" = block ] && continue
	cl_check "$n's relay link is UDP" link_is "$n" UDP
done

# Every pair, by name, in both directions: the first packets cross the
# relay at once and start ICE.
t0=$(date +%s)
for a in "${nodes[@]}"; do
	pings=()
	for b in "${nodes[@]}"; do
		[ "$a" = "$b" ] && continue
		lab_exec "$a" ping -c 1 -W 3 -q "$b.$CL_DOMAIN" >/dev/null 2>&1 &
		pings+=($!)
	done
	wait "${pings[@]}" # not a bare wait: the nodes are our children too
done
# Let ICE finish where it can and fail where it cannot (check timeout 10 s):
# wait until every pair that can go direct has, and every other pair's ICE
# has given up (its log says so), bounded; the matrix below judges.
settled() {
	local a b
	for a in "${nodes[@]}"; do
		for b in "${nodes[@]}"; do
			[ "$a" = "$b" ] && continue
			if [ "$(expect "$a" "$b")" = direct ]; then
				cl_path_is "$a" "$b" direct || return 1
			else
				grep -q "peer $b: ICE found no direct path" "$LAB_DIR/$a.log" || return 1
			fi
		done
	done
}
cl_wait 45 settled || echo "not settled after 45 s; the matrix shows where"
for a in "${nodes[@]}"; do
	for b in "${nodes[@]}"; do
		[ "$a" = "$b" ] && continue
		cl_check "$a pings $b by name" \
			lab_exec "$a" ping -c 2 -i 0.2 -W 2 -q "$b.$CL_DOMAIN"
	done
done

# The matrix: the path each side reports, against what the NATs allow.
printf '\n%-7s' ""
for b in "${nodes[@]}"; do printf ' %-7s' "$b"; done
printf '\n'
bad=0
for a in "${nodes[@]}"; do
	printf '%-7s' "$a"
	for b in "${nodes[@]}"; do
		if [ "$a" = "$b" ]; then
			printf ' %-7s' "-"
			continue
		fi
		got=$(cl_path "$a" "$b")
		want=$(expect "$a" "$b")
		if [ "$got" = "$want" ]; then
			printf ' %-7s' "$got"
		else
			printf ' %-7s' "${got:-?}!"
			bad=$((bad + 1))
			echo "mismatch: $a -> $b is '$got', expected $want" >>"$LAB_DIR/mismatches"
		fi
	done
	printf '   (%s)\n' "${kind[$a]}"
done
printf '(! marks a path other than the one the NATs allow; matrix settled %ss after the first pings)\n\n' \
	"$(($(date +%s) - t0))"
[ -f "$LAB_DIR/mismatches" ] && cat "$LAB_DIR/mismatches"
cl_check "every pair on the expected path" test "$bad" -eq 0
cl_done
