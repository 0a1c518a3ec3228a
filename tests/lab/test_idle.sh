#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An idle node is quiet (issue 14: boards on small power budgets, and NAT
# and radio links that every datagram keeps awake). board, behind a cone
# NAT, and pub, public, are on a direct path with one relay; once the path
# is up and the start-up is over (ICE, the first STUN round, the PMTU
# search), nothing is sent over the overlay for IDLE_S seconds while a
# counter on board's NAT router counts every packet to and from board.
# What an idle node still sends in 10 s: a relay link keepalive every 5 s
# (and its answer), a direct keepalive every 10 s, the RTT probe every
# 10 s, a STUN round every 25 s; the bound, 15 packets each way, is about
# twice that. (The node-wide socket's STUN round used to restart every
# 500 ms: 40 packets in 10 s.)
# Usage: test_idle.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_idle.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
IDLE_S=10
MAX_EACH_WAY=15
here=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay1 203.0.113.100
lab_public_host pub 203.0.113.20
lab_nat r_board cone 203.0.113.30 192.168.1.0/24
lab_host board r_board 192.168.1.10

cl_network idle relay1=203.0.113.100 -- pub board
cl_start_relay relay1
cl_start_node pub
cl_start_node board
for n in pub board; do
	cl_check "$n reaches the relay" cl_wait 15 cl_relay_up "$n"
done
cl_check "board reaches pub" cl_wait 10 lab_exec board ping -c 1 -W 1 -q 10.99.0.1
cl_check "the path goes direct" cl_wait 15 cl_path_is board pub direct
# The start-up's traffic (ICE's last checks, the PMTU search, the first
# STUN round) is over well within this.
sleep 8

# Counting from here: forwarded packets from and to board (after the NAT).
lab_exec r_board nft -f - <<'NFT'
table inet cn_idle {
	counter from_board { }
	counter to_board { }
	chain counting {
		type filter hook forward priority -10; policy accept;
		ip saddr 192.168.1.10 counter name "from_board"
		ip daddr 192.168.1.10 counter name "to_board"
	}
}
NFT
sleep "$IDLE_S"
count() { lab_exec r_board nft list counter inet cn_idle "$1" | grep -o 'packets [0-9]*' | grep -o '[0-9]*'; }
out=$(count from_board)
in=$(count to_board)
echo "idle ${IDLE_S} s on a direct path: board sent $out packets, received $in"
cl_check "idle board sends little ($out <= $MAX_EACH_WAY packets in ${IDLE_S} s)" \
	test "${out:-999}" -le "$MAX_EACH_WAY"
cl_check "and is sent little ($in <= $MAX_EACH_WAY)" test "${in:-999}" -le "$MAX_EACH_WAY"
cl_check "still direct after the idle time" cl_path_is board pub direct
cl_check "and answers at once" lab_exec board ping -c 1 -W 1 -q 10.99.0.1
cl_done
