#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Relay failure under traffic (issue 13): two nodes behind symmetric NATs
# (no direct path is possible) talk through one of two relays while a ping
# runs every 50 ms; then
#   1. the relay carrying them is blackholed (nftables drops everything in
#      its namespace both ways: no RST, no ICMP): the pair must move to the
#      other relay;
#   2. the relay now carrying them is stopped and started again 2 s later;
#   3. the relay that does not carry the pair (its links are idle: no SEND,
#      only their own keepalives) is restarted: it forgot both nodes' UDP
#      links (no RST over UDP), and each idle link must find out at its next
#      keepalive probe and link again, well before the 15 s silence rule
#      (time printed as "relink idle NODE MS", under CN_RELAYFAIL_IDLE_MS,
#      default 9000: the silence rule takes 10 s or more);
#   4. every link is back over UDP with no TCP connection kept beside it.
# Each prints the longest gap between two answered pings (the loss gap) and
# must stay under CN_RELAYFAIL_MAX_GAP_MS (default 4000: generous, it catches
# a return to the 15 s silence rule; the precise figures come from
# tests/bench/run_failover_bench.sh). CN_RELAYFAIL_REPS repeats both drills
# (default 1); every gap is printed as "gap SCENARIO REP MS".
# Usage: test_relayfail.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_relayfail.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
REPS=${CN_RELAYFAIL_REPS:-1}
MAX_GAP=${CN_RELAYFAIL_MAX_GAP_MS:-4000}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay1 203.0.113.100
lab_public_host relay2 203.0.113.101
lab_nat r_a symmetric 203.0.113.40 192.168.1.0/24
lab_host syma r_a 192.168.1.10
lab_nat r_b symmetric 203.0.113.41 192.168.2.0/24
lab_host symb r_b 192.168.2.10

cl_network rf relay1=203.0.113.100,relay2=203.0.113.101 -- syma symb
cl_start_relay relay1
cl_start_relay relay2
cl_start_node syma
cl_start_node symb
both_up() { # NODE: links to both relays up
	local s
	s=$(cl_status "$1" 2>/dev/null)
	grep -q "^relay relay1: up over" <<<"$s" && grep -q "^relay relay2: up over" <<<"$s"
}
for n in syma symb; do
	cl_check "$n reaches both relays" cl_wait 15 both_up "$n"
done
cl_check "syma reaches symb" cl_wait 10 lab_exec syma ping -c 1 -W 1 -q 10.99.0.2
cl_check "the pair is relayed" cl_wait 5 cl_path_is syma symb relay

# max_gap LOG: the longest time in ms between two answered pings of a
# `ping -D` log (the first answer to the last).
max_gap() {
	python3 - "$1" <<-'EOF'
		import re, sys
		ts = [float(m.group(1)) for m in
		      (re.match(r"\[(\d+\.\d+)\] \d+ bytes from", l) for l in open(sys.argv[1])) if m]
		gaps = [b - a for a, b in zip(ts, ts[1:])]
		print(int(max(gaps) * 1000) if gaps else 999999)
	EOF
}

blackhole() { # RELAY on|off: drop everything in and out of its namespace
	local ns
	ns=$(lab_ns "$1")
	if [ "$2" = on ]; then
		ip netns exec "$ns" nft -f - <<-'EOF'
			table inet blackhole {
				chain in { type filter hook prerouting priority -400; policy drop; }
				chain out { type filter hook output priority -400; policy drop; }
			}
		EOF
	else
		ip netns exec "$ns" nft delete table inet blackhole
	fi
}

other_of() { if [ "$1" = relay1 ]; then echo relay2; else echo relay1; fi; }

# drill SCENARIO REP ACTION: a 6 s ping (-i 0.05) from syma to symb; ACTION
# runs 1 s in; prints and checks the gap.
drill() {
	local scen=$1 rep=$2 action=$3 log=rf_$1_$2.log gap
	lab_spawn syma "$log" ping -D -n -i 0.05 -c 120 -W 1 10.99.0.2 >/dev/null
	sleep 1
	$action
	cl_wait 15 grep -q "packet loss" "$LAB_DIR/$log"
	gap=$(max_gap "$LAB_DIR/$log")
	echo "gap $scen $rep $gap"
	cl_check "$scen (run $rep): loss gap ${gap} ms < ${MAX_GAP} ms" test "$gap" -lt "$MAX_GAP"
}

for rep in $(seq 1 "$REPS"); do
	via=$(cl_relay_of syma symb)
	cl_check "run $rep: syma sends through a relay ($via)" test -n "$via"
	[ -n "$via" ] || break
	other=$(other_of "$via")
	bh_on() { blackhole "$via" on; }
	drill blackhole "$rep" bh_on
	cl_check "blackholed: the pair moved to $other" cl_relay_is syma symb "$other"
	blackhole "$via" off
	# Both relays back on both nodes before the next drill (the blackholed
	# links come back after their retry).
	for n in syma symb; do
		cl_check "run $rep: $n back on both relays" cl_wait 40 both_up "$n"
	done

	via=$(cl_relay_of syma symb)
	other=$(other_of "$via")
	restart() {
		cl_stop_relay "$via"
		sleep 2
		cl_start_relay "$via"
	}
	drill restart "$rep" restart
	cl_check "restarted: the pair moved to $other" cl_relay_is syma symb "$other"
	for n in syma symb; do
		cl_check "run $rep: $n back on both relays" cl_wait 40 both_up "$n"
	done
done
grep -h "probe" "$LAB_DIR"/syma.*.log "$LAB_DIR"/symb.*.log | head -4

# 3. Idle links to a relay that restarted.
idle=$(other_of "$(cl_relay_of syma symb)")
# The UDP link coming up again, as the first link ("link up over UDP") or
# beside a TCP link the node opened first when the relay's TCP connection
# closed at its stop ("UDP link up too").
links() { grep -cE "relay $idle: (link up over UDP|UDP link up too)" "$LAB_DIR/$1.log"; } # NODE
declare -A before=()
sleep 2 # the last drill's reconnections are over
for n in syma symb; do
	before[$n]=$(links "$n")
done
t0=${EPOCHREALTIME/./}
cl_stop_relay "$idle"
cl_start_relay "$idle"
for n in syma symb; do
	relinked() { [ "$(links "$n")" -gt "${before[$n]}" ]; }
	cl_wait 20 relinked
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	echo "relink idle $n $ms"
	cl_check "idle link of $n to the restarted $idle linked again in $ms ms" \
		test "$ms" -lt "${CN_RELAYFAIL_IDLE_MS:-9000}"
	grep -h "relay $idle: .*link down" "$LAB_DIR/$n.log" | tail -1
done

# 4. After the drills every link is back over UDP, and no TCP connection is
# left beside them: one that finished its handshake after UDP came back
# used to be kept for the node's life.
over_udp() { # NODE
	local s
	s=$(cl_status "$1" 2>/dev/null)
	grep -q "^relay relay1: up over UDP" <<<"$s" && grep -q "^relay relay2: up over UDP" <<<"$s"
}
tcp_links() { lab_exec "$1" ss -Htn state established '( dport = :443 )' | wc -l; } # NODE
no_tcp() { [ "$(tcp_links "$1")" -eq 0 ]; }
for n in syma symb; do
	cl_check "$n: both relays over UDP again" cl_wait 20 over_udp "$n"
	cl_check "$n: no TCP link kept beside UDP ($(tcp_links "$n") open)" cl_wait 5 no_tcp "$n"
done
cl_done
