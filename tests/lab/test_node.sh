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
export LAB_IPV6=1 # the overlay's TUN devices want IPv6
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

D=$LAB_DIR
RELAY_IP=203.0.113.100
lab_public_host relay1 $RELAY_IP
lab_public_host cloud1 203.0.113.20
lab_public_host mallory 203.0.113.66
lab_nat home cone 203.0.113.10 192.168.1.0/24
lab_host board1 home 192.168.1.10

cl_network lab relay1=$RELAY_IP -- cloud1 board1
CLOUD_OV=10.99.0.1
BOARD_OV=10.99.0.2
now_ms() { date +%s%3N; }
cairn_ping_direct() { # NODE PEER: cairn ping says the probe went direct
	local out
	out=$(lab_exec "$1" "$CAIRN" ping "$2" -c 2 -i 0 --socket "$D/$1.sock")
	echo "$out"
	grep -q "path direct" <<<"$out"
}

cl_start_relay relay1
cl_check "relay starts" grep -q running "$D/relay1.log"
t_start=$(now_ms)
cl_start_node cloud1 'ice = { enabled = true; };'
cl_start_node board1 'ice = { enabled = true; };'
cl_check "board1 reaches the relay" cl_wait 10 cl_relay_up board1
cl_check "cloud1 reaches the relay" cl_wait 10 cl_relay_up cloud1

# First ping: answered at once, through the relay.
cl_check "first ping board1 -> cloud1 answers" lab_exec board1 ping -c 1 -W 5 -q $CLOUD_OV
t_first=$(now_ms)
first_path=$(cl_path board1 cloud1)
echo "path right after the first ping: $first_path"
cl_check "the session was made through the relay" \
	grep -q "peer cloud1: session established via relay" "$D/board1.log"
cl_check "then the path turns direct" cl_wait 15 cl_path_is board1 cloud1 direct
t_direct=$(now_ms)
cl_check "cloud1 sees board1 direct too" cl_wait 5 cl_path_is cloud1 board1 direct
cl_status board1
echo "timing: first ping answered $((t_first - t_start)) ms after the nodes started;" \
	"direct path $((t_direct - t_start)) ms after"
cl_check "ping over the direct path" lab_exec board1 ping -c 3 -i 0.2 -W 2 -q $CLOUD_OV
cl_check "IPv6 over the overlay" lab_exec board1 ping -6 -c 2 -i 0.2 -W 2 -q fd99:1ab::1
cl_check "cloud1 pings board1 behind its NAT" lab_exec cloud1 ping -c 2 -i 0.2 -W 2 -q $BOARD_OV
out=$(lab_exec board1 ping -c 1 -W 2 10.99.0.77 2>&1)
cl_check "unknown overlay address: ICMP unreachable" grep -q "Unreachable" <<<"$out"
cl_check "cairn ping names the path" cairn_ping_direct board1 cloud1

# Bulk TCP over the direct path, both ways: with offloads on these are TSO
# super-packets segmented by the node and coalesced back on the other side
# (every checksum must come out right or TCP stalls); bytes compared.
bulk() { # FROM TO_NODE TO_IP: 16 MiB FROM -> TO over TCP; the digests match
	local rx tx
	lab_spawn "$2" "bulk.$2.log" timeout 40 python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7777)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())' "$3" >/dev/null
	sleep 0.5
	tx=$(lab_exec "$1" timeout 40 python3 -c '
import hashlib, random, socket, sys
r = random.Random(7); data = bytes(r.getrandbits(8) for _ in range(1 << 20)) * 16
c = socket.create_connection((sys.argv[1], 7777), timeout=30); c.sendall(data); c.close()
print(len(data), hashlib.sha256(data).hexdigest())' "$3")
	for ((i = 0; i < 100; i++)); do
		rx=$(cat "$D/bulk.$2.log" 2>/dev/null)
		[ -n "$rx" ] && break
		sleep 0.1
	done
	echo "bulk $1 -> $2: sent '$tx', received '$rx'"
	[ -n "$tx" ] && [ "$tx" = "$rx" ]
}
cl_check "16 MiB board1 -> cloud1 over TCP arrive intact" bulk board1 cloud1 $CLOUD_OV
cl_check "16 MiB cloud1 -> board1 over TCP arrive intact" bulk cloud1 board1 $BOARD_OV

# Modes (docs/NODE.md): the control socket 0600, the state directory 0700,
# the remembered endpoints 0600 (written once a direct path is up).
mode_is() { [ "$(stat -c %a "$1" 2>/dev/null)" = "$2" ]; } # PATH OCTAL
for n in cloud1 board1; do
	echo "$n: socket $(stat -c %a "$D/$n.sock"), state_dir $(stat -c %a "$D/$n.state")," \
		"endpoints $(stat -c %a "$D/$n.state/endpoints" 2>&1)"
	cl_check "$n: control socket is 0600" mode_is "$D/$n.sock" 600
	cl_check "$n: state_dir is 0700" mode_is "$D/$n.state" 700
	cl_check "$n: endpoints file is 0600" cl_wait 10 mode_is "$D/$n.state/endpoints" 600
done

# Hostile input on cloud1's direct socket, from a third public host.
ep=$(cl_status board1 --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print([p["endpoint"] for p in d["peers"] if p["name"] == "cloud1"][0])')
echo "cloud1's direct endpoint as board1 sees it: $ep"
counter() { # NODE EXPR: a number from NODE's status --json (d = the document)
	cl_status "$1" --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2"
}
refused() { counter cloud1 'd["handshakes_refused"]'; }
refused_is() { [ "$(refused)" = "$1" ]; }
bad0=$(counter cloud1 'd["drops"]["bad_packet"]')
lab_exec mallory "$INJECT" garbage "$ep" 300 >/dev/null
bad_over() { [ "$(counter cloud1 'd["drops"]["bad_packet"]')" -ge "$1" ]; }
cl_check "garbage counted and dropped" cl_wait 5 bad_over $((bad0 + 100))
# The counter moves by exactly what each injection must be refused for:
# an unlisted key sent twice is 2; a listed key's initiation sent twice is
# 1, the replay (the first is fresh and answered, as it should be).
r0=$(refused)
lab_exec mallory "$INJECT" initiation "$ep" lab "$("$CAIRN" pubkey -k "$D/cloud1.key")" >/dev/null
cl_check "an unlisted key's initiation is refused (twice)" cl_wait 5 refused_is $((r0 + 2))
r1=$(refused)
lab_exec mallory "$INJECT" initiation "$ep" lab "$("$CAIRN" pubkey -k "$D/cloud1.key")" \
	"$D/board1.key" >/dev/null
cl_wait 5 refused_is $((r1 + 1))
r2=$(refused)
echo "cloud1 refused $((r1 - r0)) unlisted initiations, $((r2 - r1)) of a listed key's two"
cl_check "a listed key's replayed initiation is refused" test "$r2" -eq $((r1 + 1))
cl_check "cloud1 still running" kill -0 "${CL_PID[cloud1]}"

# Cryptokey routing: board1 (a listed peer, its session authenticated)
# sends through its own TUN a UDP datagram whose source is 10.99.0.77, and
# one with its own source. cloud1 must deliver only the second and count
# the first as bad_source (deploy's authorisation rests on this).
raw_udp() { # SRC DST PORT TEXT: a raw IPv4/UDP datagram from board1's side of the overlay
	lab_exec board1 python3 -c 'import socket, struct, sys
src, dst, port, text = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
udp = struct.pack("!HHHH", 40000, port, 8 + len(text), 0) + text
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
	socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))' "$@"
}
lab_spawn cloud1 ckr.log python3 -u -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7777)); s.settimeout(30)
while True:
    d, a = s.recvfrom(100); print(d.decode(), "from", a[0])' >/dev/null
udp_bound() { lab_exec "$1" ss -Hlun "sport = :$2" | grep -q .; } # NODE PORT
cl_wait 5 udp_bound cloud1 7777
bs0=$(counter cloud1 'd["drops"]["bad_source"]')
raw_udp 10.99.0.77 $CLOUD_OV 7777 spoofed
raw_udp $BOARD_OV $CLOUD_OV 7777 genuine
cl_check "cloud1 delivers board1's own packet" cl_wait 5 grep -q "genuine from $BOARD_OV" "$D/ckr.log"
bs_over() { [ "$(counter cloud1 'd["drops"]["bad_source"]')" -gt "$1" ]; }
cl_check "and counts the spoofed one as bad_source" cl_wait 5 bs_over "$bs0"
cl_check "the spoofed source never reached the listener" cl_fails grep -q spoofed "$D/ckr.log"
cat "$D/ckr.log"
cl_check "traffic unaffected" lab_exec board1 ping -c 3 -i 0.2 -W 2 -q $CLOUD_OV

# Kill the relay in the middle of a ping run: the direct path loses nothing.
ping_pid=$(lab_spawn board1 ping_relaykill.log ping -c 30 -i 0.1 -W 1 $CLOUD_OV)
sleep 1
cl_stop_relay relay1
cl_wait 10 grep -q "packet loss" "$D/ping_relaykill.log"
grep "packet loss" "$D/ping_relaykill.log"
cl_check "relay killed mid-ping: 0% loss" grep -q " 0% packet loss" "$D/ping_relaykill.log"
cl_check "path stays direct" cl_path_is board1 cloud1 direct

# Restart board1 while the relay is down: the remembered endpoint brings
# the direct path back.
cl_stop_node board1
cl_start_node board1
cl_check "restarted board1 pings cloud1 with the relay down" \
	cl_wait 20 lab_exec board1 ping -c 1 -W 1 -q $CLOUD_OV
cl_check "and the path is direct" cl_wait 5 cl_path_is board1 cloud1 direct
grep "trying the last direct endpoint" "$D/board1.log" | tail -1

# ICE off: everything through the relay.
cl_stop_node board1
lab_kill "${CL_PID[cloud1]}"
rm -rf "$D/cloud1.state" "$D/board1.state"
cl_start_relay relay1
cl_start_node cloud1 'ice = { enabled = false; };'
cl_start_node board1 'ice = { enabled = false; };'
cl_check "ICE off: ping works" cl_wait 20 lab_exec board1 ping -c 1 -W 1 -q $CLOUD_OV
sleep 2
cl_check "ICE off: path is relay" cl_path_is board1 cloud1 relay
cl_check "ICE off: ping again" lab_exec board1 ping -c 3 -i 0.2 -W 2 -q $CLOUD_OV

cl_done
