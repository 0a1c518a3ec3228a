#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Clocks on boards (issue 13, docs/NODE.md "Clock"), with the node's
# test-only clock offset (CN_TEST_CLOCK_OFFSET_S, read once at start):
#   1. a board restarted with its clock 10 minutes behind the handshakes its
#      peer saw reconnects at once (its timestamp floor, state_dir/tai_floor,
#      keeps its initiations above the old ones): first ping after the
#      restart printed, under 2 s asserted, no "replayed or stale" refusal;
#   2. a board whose clock runs ahead of the peer list's expiry (the list
#      expires in 1 day, the clock is 2 days ahead) stays reachable: it
#      starts, warns clearly, `cairn status` says the list expired (text and
#      JSON), and pings work both ways;
#   3. clock rule 3: past the grace period (shortened to 8 s by the
#      test-only CN_TEST_LIST_GRACE_S) the same board closes its peer
#      session and refuses new ones both ways (one log line for the peer),
#      keeps its relay link and control socket; a newer valid list
#      published through the relay lifts it at once;
#   4. the control: without its floor the board is refused, by its relay
#      first (relay links take their timestamps from the same floor).
# Usage: test_clock.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_clock.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
export LC_ALL=C
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay1 203.0.113.100
lab_public_host pub 203.0.113.20
lab_nat r_board cone 203.0.113.30 192.168.1.0/24
lab_host board r_board 192.168.1.10

cl_network clk relay1=203.0.113.100 -- pub board
# The node writes its floor after dropping to its user (cairn, when that
# user exists): it must be able to reach its state directory inside the
# lab's directory (keys in it stay 0600).
chmod 711 "$LAB_DIR"
"$CAIRN" peers sign --expires-in 1 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
cl_start_relay relay1
cl_start_node pub
cl_start_node board
for n in pub board; do
	cl_check "$n reaches the relay" cl_wait 15 cl_relay_up "$n"
done
cl_check "board reaches pub" cl_wait 10 lab_exec board ping -c 1 -W 1 -q 10.99.0.1
cl_check "pub reaches board" lab_exec pub ping -c 1 -W 1 -q 10.99.0.2
cl_check "board kept a timestamp floor (mode 0600)" \
	test "$(stat -c %a "$LAB_DIR/board.state/tai_floor" 2>/dev/null)" = 600

# first_ping: ms from now to board's first answered ping to pub (99999: none in 10 s).
first_ping() {
	local t0=${EPOCHREALTIME/./} now
	while :; do
		lab_exec board ping -n -q -c 1 -i 0.02 -w 2 10.99.0.1 >/dev/null 2>&1 && break
		now=${EPOCHREALTIME/./}
		[ $(((now - t0) / 1000)) -ge 10000 ] && echo 99999 && return
		sleep 0.01
	done
	now=${EPOCHREALTIME/./}
	echo $(((now - t0) / 1000))
}

# 1. The board restarts with its clock 10 minutes behind.
cl_stop_node board
export CN_TEST_CLOCK_OFFSET_S=-600
cl_start_node board
unset CN_TEST_CLOCK_OFFSET_S
ms=$(first_ping)
echo "clock 10 min behind: first ping after the restart in $ms ms"
cl_check "clock 10 min behind: reconnects at once ($ms ms < 2000)" test "$ms" -lt 2000
cl_check "the board runs with the offset" grep -q "test clock offset: .* 600 s behind" \
	"$LAB_DIR/board.log"
cl_check "pub reaches the board" lab_exec pub ping -c 1 -W 2 -q 10.99.0.2

# 2. The board's clock runs 2 days ahead; the list expires in 1.
cl_stop_node board
export CN_TEST_CLOCK_OFFSET_S=172800
cl_start_node board
unset CN_TEST_CLOCK_OFFSET_S
ms=$(first_ping)
echo "clock 2 days ahead of a list expiring in 1: first ping in $ms ms"
cl_check "clock ahead of the list's expiry: still reachable ($ms ms)" test "$ms" -lt 2000
cl_check "pub reaches the board" lab_exec pub ping -c 1 -W 2 -q 10.99.0.2
cl_check "a clear warning" grep -q "peer list serial .* expired at .*; fix the clock" \
	"$LAB_DIR/board.log"
grep -h "expired at" "$LAB_DIR/board.log" | head -1
cl_check "cairn status says so" cl_wait 2 sh -c "'$CAIRN' status --socket '$LAB_DIR/board.sock' \
	| grep -q '^peer list EXPIRED'"
lab_exec board "$CAIRN" status --socket "$LAB_DIR/board.sock" | grep "EXPIRED"
json_expired() {
	cl_status board --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["list_expired"] else 1)'
}
cl_check "cairn status --json: list_expired" json_expired
cl_check "pub's list is not expired" sh -c "! '$CAIRN' status --socket '$LAB_DIR/pub.sock' \
	| grep -q EXPIRED"

# 3. Clock rule 3, with the grace period shortened to 8 s.
json_restricted() {
	cl_status board --json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["list_restricted"] else 1)'
}
cl_stop_node board
export CN_TEST_CLOCK_OFFSET_S=172800 CN_TEST_LIST_GRACE_S=8
cl_start_node board
unset CN_TEST_CLOCK_OFFSET_S CN_TEST_LIST_GRACE_S
cl_check "in the grace period: reachable" cl_wait 5 lab_exec board ping -c 1 -W 1 -q 10.99.0.1
cl_check "the board runs with the short grace" grep -q "test list grace period: .* after 8 s" \
	"$LAB_DIR/board.log"
cl_check "after it: peer sessions closed" \
	cl_wait 15 grep -q "peer sessions closed and refused" "$LAB_DIR/board.log"
grep -h "peer sessions closed\|peer pub: session closed" "$LAB_DIR/board.log"
cl_check "restricted: the board cannot reach pub" \
	cl_fails lab_exec board ping -c 3 -i 0.3 -W 1 -q 10.99.0.1
cl_check "restricted: pub cannot reach the board" \
	cl_fails lab_exec pub ping -c 3 -i 0.3 -W 1 -q 10.99.0.2
cl_check "restricted: one log line for the peer" \
	test "$(grep -c "peer pub: .*grace period is over" "$LAB_DIR/board.log")" = 1
cl_check "restricted: the relay link stays up" cl_relay_up board
cl_check "restricted: the control socket answers (list_restricted)" json_restricted
"$CAIRN" peers sign --expires-in 30 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
cl_check "a newer list published to the relay" lab_exec pub "$CAIRN" peers publish \
	--relay relay1 -l "$LAB_DIR/net/peers.conf"
cl_check "the newer valid list lifts it" \
	cl_wait 10 grep -q "peer sessions allowed again" "$LAB_DIR/board.log"
ms=$(first_ping)
echo "clock rule 3 lifted by a newer list: first ping in $ms ms"
cl_check "lifted: the board reaches pub again ($ms ms)" test "$ms" -lt 2000
cl_check "lifted: pub reaches the board" lab_exec pub ping -c 1 -W 2 -q 10.99.0.2

# 4. The control: without its floor (file deleted) and back on the true
# clock, now behind the timestamps its relay and pub saw (step 2 ran two
# days ahead), the board is refused (the old behaviour; it would be until
# its clock passed them). Its relay links take their timestamps from the
# same floor as its peer initiations, so the relay is first to refuse it.
cl_stop_node board
refusals() { grep -c "refused: replayed or stale" "$LAB_DIR/relay1.log"; }
before=$(refusals)
cl_check "no replay refusal at the relay before" test "$before" -eq 0
rm -f "$LAB_DIR/board.state/tai_floor"
cl_start_node board
cl_check "without the floor: the relay refuses its link as a replay" \
	cl_wait 10 sh -c "[ \$(grep -c 'refused: replayed or stale' '$LAB_DIR/relay1.log') -gt $before ]"
cl_check "without the floor: refused (no ping within 3 s)" \
	cl_fails lab_exec board ping -n -q -c 1 -i 0.1 -w 3 10.99.0.1
cl_done
