#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cairn deploy end to end in the NAT lab: a CI node pushes signed artifacts
# over the overlay to boards behind NATs, by name and by group.
#
#   - 50 MB to a board behind NAT by name, activated (the hook checks it);
#   - a group of three with one member down: the table shows it, the
#     others are done;
#   - the pusher killed mid-transfer; the next push resumes;
#   - a push from a peer outside the allowed group is refused;
#   - an artifact changed in transit is refused, the old version keeps running;
#   - a failing hook switches `current` back;
#   - rollback and list.
#
# Usage: test_deploy.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_deploy.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
LAB_EXEC_TIMEOUT=180
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay1 203.0.113.100
lab_public_host ci 203.0.113.20
lab_public_host outsider 203.0.113.21
lab_public_host mallory 203.0.113.66 # runs no node
lab_nat r1 cone 203.0.113.30 192.168.1.0/24
lab_host board1 r1 192.168.1.10
lab_nat r2 cone 203.0.113.31 192.168.2.0/24
lab_host board2 r2 192.168.2.10
lab_nat r3 symmetric 203.0.113.32 192.168.3.0/24
lab_host board3 r3 192.168.3.10

# The network: boards in "boards", the CI node in "deployers", the
# outsider in neither (cl_network puts everyone in "nodes").
declare -A groups=([ci]=deployers,ci [outsider]=others [board1]=boards [board2]=boards
	[board3]=boards)
nodes=(ci outsider board1 board2 board3)
"$CAIRN" network init --name deploy --dir "$LAB_DIR/net" --prefix4 10.99.0.0/24 \
	--prefix6 fd99:1ab::/64 >/dev/null || exit 1
CL_DOMAIN=deploy.cairn
"$CAIRN" keygen -o "$LAB_DIR/relay1.key" >/dev/null || exit 1
"$CAIRN" peers relay-add relay1 "$("$CAIRN" pubkey -k "$LAB_DIR/relay1.key")" 203.0.113.100 \
	--port 443 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
cat >"$LAB_DIR/relay1.conf" <<-EOF2
	identity_key = "$LAB_DIR/relay1.key";
	root_key = "$(cat "$LAB_DIR/net/root.pub")";
	peer_list = "$LAB_DIR/net/peers.conf";
	state_dir = "$LAB_DIR/relay1.state";
	listen = { tcp = [ "203.0.113.100:443" ]; udp = [ "203.0.113.100:443" ]; stun = [ "203.0.113.100:3478" ]; };
EOF2
for n in "${nodes[@]}"; do
	"$CAIRN" keygen -o "$LAB_DIR/$n.key" >/dev/null || exit 1
	"$CAIRN" peers add "$n" "$("$CAIRN" pubkey -k "$LAB_DIR/$n.key")" \
		--groups "${groups[$n]}" -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
	cl_resolv_conf "$n"
done
"$CAIRN" peers sign -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1

# The activation hook: checks the artifact against CAIRN_SHA, records what
# runs, fails on purpose for versions containing "bad".
cat >"$LAB_DIR/activate.sh" <<EOF2
#!/bin/sh
echo "activating \$CAIRN_APP \$CAIRN_VERSION on \$CAIRN_NODE for \$CAIRN_PUSHER (was \$CAIRN_PREVIOUS)"
case "\$CAIRN_VERSION" in *bad*) echo "refusing a bad version" >&2; exit 3 ;; esac
case "\$CAIRN_VERSION" in *slow*) echo "taking my time"; sleep 60 ;; esac
sum=\$(b2sum -l 256 "\$CAIRN_PATH" | cut -d' ' -f1)
[ "\$sum" = "\$CAIRN_SHA" ] || { echo "hash mismatch" >&2; exit 4; }
echo "\$CAIRN_VERSION" >"$LAB_DIR/\$CAIRN_NODE.running"
echo "env: \$(env | cut -d= -f1 | sort | tr '\n' ' ')"
EOF2
chmod 755 "$LAB_DIR/activate.sh"
deploy_conf="deploy = { enabled = true; groups = [ \"deployers\" ]; keep = 3; hook = \"$LAB_DIR/activate.sh\"; hook_timeout = 5; };"

cl_start_relay relay1
for n in ci outsider board1 board2; do
	cl_start_node "$n" "$deploy_conf"
done
cl_node_conf board3 "$deploy_conf" # board3 stays down
for n in ci outsider board1 board2; do
	cl_check "$n reaches a relay" cl_wait 15 cl_relay_up "$n"
done

push() { # FROM ARGS...: cairn deploy as FROM, output in $LAB_DIR/out
	local from=$1
	shift
	lab_exec "$from" "$CAIRN" deploy --key "$LAB_DIR/$from.key" --list "$LAB_DIR/net/peers.conf" \
		"$@" >"$LAB_DIR/out" 2>&1
	local rc=$?
	sed 's/^/    | /' "$LAB_DIR/out"
	return $rc
}
current_of() { readlink "$LAB_DIR/$1.state/deploy/apps/app/current"; }
running_is() { [ "$(cat "$LAB_DIR/$1.running" 2>/dev/null)" = "$2" ]; }
current_is() { [ "$(current_of "$1")" = "$2" ]; }
out_has() { grep -qF -- "$1" "$LAB_DIR/out"; } # TEXT: literal, not a pattern
partial_bytes() { # NODE: bytes in its partial uploads
	cat "$LAB_DIR/$1.state/deploy/partial/"* 2>/dev/null | wc -c
}
partial_over() { [ "$(partial_bytes "$1")" -gt "$2" ]; } # NODE BYTES

head -c $((50 << 20)) /dev/urandom >"$LAB_DIR/app-v1.img"
head -c $((5 << 20)) /dev/urandom >"$LAB_DIR/app-v2.img"
head -c $((50 << 20)) /dev/urandom >"$LAB_DIR/app-v3.img"
head -c $((20 << 20)) /dev/urandom >"$LAB_DIR/app-v4.img"
head -c 4096 /dev/urandom >"$LAB_DIR/app-bad.img"

echo "== 50 MB to board1 (behind NAT) by name, activated"
cl_check "push 50 MB to board1.$CL_DOMAIN" \
	push ci push "board1.$CL_DOMAIN" "$LAB_DIR/app-v1.img" --name app --version 1.0 --activate
cl_check "the hook ran and verified it" running_is board1 1.0
cl_check "current -> 1.0" current_is board1 1.0
cl_check "the hook output came back" out_has "activating app 1.0 on board1 for ci"
cl_check "the hook saw a clean environment" out_has "env: CAIRN_APP CAIRN_NODE CAIRN_PATH CAIRN_PREVIOUS CAIRN_PUSHER CAIRN_SHA CAIRN_SIZE CAIRN_TIME CAIRN_VERSION LANG PATH "

echo "== the group 'boards' with board3 down"
cl_check "group push fails overall (board3 down)" cl_fails \
	push ci push boards "$LAB_DIR/app-v2.img" --name app --version 2.0 --activate --parallel 2 --keep-going
cl_check "table: board1 ok" grep -Eq "^board1 +ok " "$LAB_DIR/out"
cl_check "table: board2 ok" grep -Eq "^board2 +ok " "$LAB_DIR/out"
cl_check "table: board3 failed" grep -Eq "^board3 +failed .*connect" "$LAB_DIR/out"
cl_check "board1 runs 2.0" running_is board1 2.0
cl_check "board2 runs 2.0" running_is board2 2.0

echo "== the pusher killed mid-transfer, then resumed"
pid=$(lab_spawn ci push-killed.log "$CAIRN" deploy --key "$LAB_DIR/ci.key" \
	--list "$LAB_DIR/net/peers.conf" push board2 "$LAB_DIR/app-v3.img" --name app \
	--version 3.0 --activate --rate-limit 4000)
cl_wait 30 partial_over board2 $((10 << 20))
kill -KILL "$pid"
sleep 1
held=$(partial_bytes board2)
echo "    board2 holds $held bytes of 3.0"
cl_check "a partial upload is kept" test "$held" -gt $((10 << 20))
cl_check "still running 2.0" running_is board2 2.0
cl_check "list board2 app" push ci list board2 app
cl_check "the list shows 2.0" grep -Eq "^ *app +2\.0 " "$LAB_DIR/out"
cl_check "the partial is not a version" cl_fails grep -Eq "^ *app +3\.0 " "$LAB_DIR/out"
cl_check "the push again resumes and completes" \
	push ci push board2 "$LAB_DIR/app-v3.img" --name app --version 3.0 --activate
cl_check "it said where it resumed" out_has "resuming at byte"
cl_check "board2 runs 3.0" running_is board2 3.0
cl_check "no partial left" test "$(partial_bytes board2)" -eq 0

echo "== a peer outside the allowed group"
cl_check "outsider's push is refused" cl_fails \
	push outsider push board1 "$LAB_DIR/app-v2.img" --name app --version 9.0 --activate
cl_check "refused, by name" out_has "refused: outsider is not in a group allowed to deploy"
cl_check "board1 still runs 2.0" running_is board1 2.0

echo "== the listener takes only what the TUN delivers"
# mallory routes ci's overlay address to ci's public address: the packets
# reach ci on eth0, not through cairn0. A plain listener on ci answers that
# way (so the route works); the deploy listener, bound to the TUN, must not.
ci_ov=$(awk '/name = "ci"/ { match($0, /ipv4 = "[^"]*"/); print substr($0, RSTART + 8, RLENGTH - 9) }' \
	"$LAB_DIR/net/peers.conf")
ip -n "$(lab_ns mallory)" route add "$ci_ov/32" via 203.0.113.20 dev eth0
tcp_to() { # FROM IP PORT: a TCP connection opens
	lab_exec "$1" python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()' "$2" "$3" 2>/dev/null
}
lab_spawn ci plain.log python3 -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7001)); s.listen(4); s.settimeout(60); s.accept()' >/dev/null
cl_check "a plain listener on ci answers mallory at $ci_ov (control)" cl_wait 5 tcp_to mallory "$ci_ov" 7001
cl_check "ci's deploy listener does not ($ci_ov:7946 over eth0)" cl_fails tcp_to mallory "$ci_ov" 7946
cl_check "while it answers over the overlay" tcp_to board1 "$ci_ov" 7946

echo "== an artifact changed in transit"
pid=$(lab_spawn ci push-tampered.log "$CAIRN" deploy --key "$LAB_DIR/ci.key" \
	--list "$LAB_DIR/net/peers.conf" push board1 "$LAB_DIR/app-v4.img" --name app \
	--version 4.0 --activate --rate-limit 4000)
cl_wait 30 partial_over board1 $((1 << 20))
# The pusher hashed and signed the file; now bytes it has not sent yet change.
printf 'tampered' | dd of="$LAB_DIR/app-v4.img" bs=1 seek=$((19 << 20)) conv=notrunc 2>/dev/null
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
sed 's/^/    | /' "$LAB_DIR/push-tampered.log"
cl_check "the node refused it (hash)" grep -q "bad-hash" "$LAB_DIR/push-tampered.log"
cl_check "board1 still runs 2.0" running_is board1 2.0
cl_check "current still 2.0" current_is board1 2.0
cl_check "no partial left behind" test "$(partial_bytes board1)" -eq 0
cl_check "4.0 is not a version" test ! -e "$LAB_DIR/board1.state/deploy/apps/app/4.0"

echo "== a failing hook switches current back"
cl_check "push of a version the hook refuses fails" cl_fails \
	push ci push board1 "$LAB_DIR/app-bad.img" --name app --version 5.0-bad --activate
cl_check "reported as hook-failed with its output" out_has "refusing a bad version"
cl_check "current back to 2.0" current_is board1 2.0

echo "== a hook that hangs is killed after hook_timeout (5 s) and current switches back"
t0=$(date +%s)
cl_check "push of a version whose hook hangs fails" cl_fails \
	push ci push board1 "$LAB_DIR/app-bad.img" --name app --version 6.0-slow --activate
t1=$(date +%s)
echo "the push ended $((t1 - t0)) s after it started (the hook would sleep 60 s)"
# Not a speed check: the hook would end by itself after 60 s.
cl_check "the hook was killed before its 60 s" test $((t1 - t0)) -lt 55
cl_check "reported as killed (timeout)" out_has "killed"
cl_check "its output tail came back" out_has "taking my time"
cl_check "current back to 2.0 after the kill" current_is board1 2.0

echo "== rollback and list"
cl_check "rollback board1 app" push ci rollback board1 app
cl_check "board1 runs 1.0 again" running_is board1 1.0
cl_check "current -> 1.0" current_is board1 1.0
cl_check "list board1" push ci list board1
cl_check "list marks 1.0 current" grep -Eq "^ +app +1\.0 .*\*$" "$LAB_DIR/out"
cl_check "outsider may not list" cl_fails push outsider list board1
cl_check "refused as not allowed, by name" \
	out_has "refused: outsider is not in a group allowed to deploy"

cl_done
