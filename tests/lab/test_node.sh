#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cairn-node end to end in the NAT lab: a relay and a cloud node on the
# public segment, a board behind a port-restricted cone NAT.
#   - the first ping crosses the relay at once, then the path turns direct
#     (cairn status shows the switch);
#   - hostile input on the node's UDP socket (garbage, an unlisted key,
#     a replayed initiation) is dropped and counted, traffic goes on;
#   - killing the relay after the direct path formed loses no ping;
#   - a board restarted while the relay is down gets its direct path back;
#   - with ICE disabled everything still works through the relay.
# Usage: test_node.sh CAIRN CAIRN_NODE CAIRN_RELAY CN_INJECT
set -u
CAIRN=${1:?usage: test_node.sh CAIRN CAIRN_NODE CAIRN_RELAY CN_INJECT}
NODE=${2:?}
RELAY=${3:?}
INJECT=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
lab_init

pass=0
fail=0
check() { # check NAME CMD...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
		echo "ok: $name"
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
	fi
}
now_ms() { date +%s%3N; }
# wait_for SECONDS CMD...: polls CMD every 0.2 s.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

D=$LAB_DIR
RELAY_IP=203.0.113.100
CLOUD_IP=203.0.113.20
lab_public_host relay $RELAY_IP
lab_public_host cloud1 $CLOUD_IP
lab_public_host mallory 203.0.113.66
lab_nat home cone 203.0.113.10 192.168.1.0/24
lab_host board1 home 192.168.1.10

# The network, made with the cairn command.
"$CAIRN" network init --name lab --dir "$D/net" --prefix4 10.99.0.0/24 \
	--prefix6 fd99:1ab::/64 >/dev/null
for k in relay1 cloud1 board1; do
	"$CAIRN" keygen -o "$D/$k.key" >/dev/null
done
"$CAIRN" peers relay-add relay1 "$("$CAIRN" pubkey -k "$D/relay1.key")" $RELAY_IP \
	--port 443 -l "$D/net/peers.conf" >/dev/null
"$CAIRN" peers add cloud1 "$("$CAIRN" pubkey -k "$D/cloud1.key")" -l "$D/net/peers.conf" >/dev/null
"$CAIRN" peers add board1 "$("$CAIRN" pubkey -k "$D/board1.key")" -l "$D/net/peers.conf" >/dev/null
"$CAIRN" peers sign -l "$D/net/peers.conf" >/dev/null
ROOT=$(cat "$D/net/root.pub")
CLOUD_OV=10.99.0.1
BOARD_OV=10.99.0.2

cat >"$D/relay.conf" <<EOF
identity_key = "$D/relay1.key";
root_key = "$ROOT";
peer_list = "$D/net/peers.conf";
state_dir = "$D/relay.state";
log_level = "debug";
listen = { tcp = [ "$RELAY_IP:443" ]; udp = [ "$RELAY_IP:443" ]; stun = [ "$RELAY_IP:3478" ]; };
EOF
node_conf() { # NAME ICE(true|false)
	cat >"$D/$1.conf" <<EOF
identity_key = "$D/$1.key";
root_key = "$ROOT";
peer_list = "$D/net/peers.conf";
state_dir = "$D/$1.state";
control_socket = "$D/$1.sock";
log_level = "debug";
tun = { name = "cairn0"; };
ice = { enabled = $2; };
EOF
}
node_conf cloud1 true
node_conf board1 true
for n in cloud1 board1; do
	# The lab turns IPv6 off on its links; the overlay's TUN device wants it.
	lab_exec $n sysctl -qw net.ipv6.conf.default.disable_ipv6=0
done

run=0
start_relay() {
	run=$((run + 1))
	relay_pid=$(lab_spawn relay "relay.$run.log" "$RELAY" --config "$D/relay.conf")
	wait_for 5 grep -q "running" "$D/relay.$run.log"
	ln -sf "relay.$run.log" "$D/relay.log"
}
start_node() { # NAME: logs in NAME.N.log, NAME.log the current one
	local pid
	run=$((run + 1))
	pid=$(lab_spawn "$1" "$1.$run.log" "$NODE" --config "$D/$1.conf")
	ln -sf "$1.$run.log" "$D/$1.log"
	eval "${1}_pid=$pid"
}
status() { lab_exec "$1" "$CAIRN" status --socket "$D/$1.sock" "${@:2}"; }
path_of() { # NODE PEER -> the path column of PEER in NODE's status
	status "$1" | awk -v p="$2" '$1 == p { print $3 }'
}
path_is() { # NODE PEER PATH
	[ "$(path_of "$1" "$2")" = "$3" ]
}
cairn_ping_direct() { # NODE PEER: cairn ping says the probe went direct
	local out
	out=$(lab_exec "$1" "$CAIRN" ping "$2" -c 2 -i 0 --socket "$D/$1.sock")
	echo "$out"
	grep -q "path direct" <<<"$out"
}

start_relay
check "relay starts" grep -q running "$D/relay.log"
t_start=$(now_ms)
start_node cloud1
start_node board1
check "board1 reaches the relay" wait_for 10 grep -q "relay relay1: link up" "$D/board1.log"
check "cloud1 reaches the relay" wait_for 10 grep -q "relay relay1: link up" "$D/cloud1.log"

# First ping: answered at once, through the relay.
check "first ping board1 -> cloud1 answers" lab_exec board1 ping -c 1 -W 5 -q $CLOUD_OV
t_first=$(now_ms)
first_path=$(path_of board1 cloud1)
echo "path right after the first ping: $first_path"
check "the session was made through the relay" \
	grep -q "peer cloud1: session established via relay" "$D/board1.log"
check "then the path turns direct" wait_for 15 path_is board1 cloud1 direct
t_direct=$(now_ms)
check "cloud1 sees board1 direct too" wait_for 5 path_is cloud1 board1 direct
status board1
echo "timing: first ping answered $((t_first - t_start)) ms after the nodes started;" \
	"direct path $((t_direct - t_start)) ms after"
check "ping over the direct path" lab_exec board1 ping -c 3 -i 0.2 -W 2 -q $CLOUD_OV
check "IPv6 over the overlay" lab_exec board1 ping -6 -c 2 -i 0.2 -W 2 -q fd99:1ab::1
check "cloud1 pings board1 behind its NAT" lab_exec cloud1 ping -c 2 -i 0.2 -W 2 -q $BOARD_OV
out=$(lab_exec board1 ping -c 1 -W 2 10.99.0.77 2>&1)
check "unknown overlay address: ICMP unreachable" grep -q "Unreachable" <<<"$out"
check "cairn ping names the path" cairn_ping_direct board1 cloud1

# Hostile input on cloud1's direct socket, from a third public host.
ep=$(status board1 --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print([p["endpoint"] for p in d["peers"] if p["name"] == "cloud1"][0])')
echo "cloud1's direct endpoint as board1 sees it: $ep"
lab_exec mallory "$INJECT" garbage "$ep" 300 >/dev/null
lab_exec mallory "$INJECT" initiation "$ep" lab "$("$CAIRN" pubkey -k "$D/cloud1.key")" >/dev/null
lab_exec mallory "$INJECT" initiation "$ep" lab "$("$CAIRN" pubkey -k "$D/cloud1.key")" \
	"$D/board1.key" >/dev/null
sleep 0.5
counters=$(status cloud1 --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d["drops"]["bad_packet"], d["handshakes_refused"])')
read -r bad refused <<<"$counters"
echo "cloud1 counted $bad malformed packets and $refused refused handshakes"
check "garbage counted and dropped" test "$bad" -ge 100
check "unlisted key and replayed initiation refused" test "$refused" -ge 2
check "cloud1 still running" kill -0 "$cloud1_pid"
check "traffic unaffected" lab_exec board1 ping -c 3 -i 0.2 -W 2 -q $CLOUD_OV

# Kill the relay in the middle of a ping run: the direct path loses nothing.
ping_pid=$(lab_spawn board1 ping_relaykill.log ping -c 30 -i 0.1 -W 1 $CLOUD_OV)
sleep 1
lab_kill "$relay_pid"
wait_for 10 grep -q "packet loss" "$D/ping_relaykill.log"
grep "packet loss" "$D/ping_relaykill.log"
check "relay killed mid-ping: 0% loss" grep -q " 0% packet loss" "$D/ping_relaykill.log"
check "path stays direct" path_is board1 cloud1 direct

# Restart board1 while the relay is down: the remembered endpoint brings
# the direct path back.
lab_kill "$board1_pid"
start_node board1
check "restarted board1 pings cloud1 with the relay down" \
	wait_for 20 lab_exec board1 ping -c 1 -W 1 -q $CLOUD_OV
check "and the path is direct" wait_for 5 path_is board1 cloud1 direct
grep "trying the last direct endpoint" "$D/board1.log" | tail -1

# ICE off: everything through the relay.
lab_kill "$board1_pid"
lab_kill "$cloud1_pid"
node_conf cloud1 false
node_conf board1 false
rm -rf "$D/cloud1.state" "$D/board1.state"
start_relay
start_node cloud1
start_node board1
check "ICE off: ping works" wait_for 20 lab_exec board1 ping -c 1 -W 1 -q $CLOUD_OV
sleep 2
check "ICE off: path is relay" path_is board1 cloud1 relay
check "ICE off: ping again" lab_exec board1 ping -c 3 -i 0.2 -W 2 -q $CLOUD_OV

if [ "$fail" -ne 0 ]; then
	for f in relay board1 cloud1; do
		echo "--- $f.log (tail)"
		tail -30 "$D/$f.log"
	done
fi
echo "node lab: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
