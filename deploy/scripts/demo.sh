#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: installs the dependencies, builds, and runs a
# small cairn network in network namespaces on this machine (as root):
#
#   relay1  203.0.113.100  public host running cairn-relay
#   cloud1  203.0.113.20   public host (a cloud VM)
#   board1  192.168.1.10   behind a home NAT (port-restricted cone)
#   board2  192.168.5.10   behind a home NAT behind a carrier NAT (double NAT)
#
# The network is made with the `cairn` command, the boards ping each other
# and the cloud node by name, and `cairn status` shows each path move from
# the relay to a direct, hole-punched one. Then the job the network is for:
# the cloud node pushes a signed release to board1 by name, then to the
# group "boards" (both boards, one behind the double NAT), each push
# printing its result table, and rolls board1 back. The network stays up afterwards
# (a line says how to enter a node and how to tear it down), or goes away at
# the end with --teardown. Everything stays inside the namespaces: nothing
# touches this machine's own interfaces. Built on the test lab (tests/lab).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
teardown=0
case "${1:-}" in
--teardown) teardown=1 ;;
"") ;;
-h | --help)
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	echo "usage: bash deploy/scripts/demo.sh [--teardown]"
	exit 0
	;;
*)
	echo "usage: bash deploy/scripts/demo.sh [--teardown]" >&2
	exit 2
	;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it builds network namespaces)" >&2
	exit 1
fi

bash "$top/deploy/scripts/install-deps.sh"
echo "demo: building (Release) in build/release ..."
cmake -S "$top" -B "$top/build/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCN_TESTS=OFF >/dev/null
cmake --build "$top/build/release" -j "$(nproc)" --target cairn cairn-node cairn-relay >/dev/null
CAIRN=$top/build/release/node/cli/cairn
NODE=$top/build/release/node/cairn-node
RELAY=$top/build/release/relay/cairn-relay
export LAB_IPV6=1
export LAB_KEEP_LOGS=1
# shellcheck source=tests/lab/lab.sh
. "$top/tests/lab/lab.sh"
# shellcheck source=tests/lab/cairn_lab.sh
. "$top/tests/lab/cairn_lab.sh"
lab_init

show() { # NODE CMD...: prints and runs CMD on NODE
	printf '\n[%s]$ %s\n' "$1" "${*:2}"
	lab_exec "$1" "${@:2}" || true
}
status() { show "$1" "$CAIRN" status --socket "$LAB_DIR/$1.sock"; }

echo "demo: building the network (namespaces, NATs, a relay, three nodes) ..."
lab_public_host relay1 203.0.113.100
lab_public_host cloud1 203.0.113.20
lab_nat home cone 203.0.113.30 192.168.1.0/24
lab_host board1 home 192.168.1.10
lab_nat carrier cone 203.0.113.34 100.64.1.0/24
lab_nat home2 cone 100.64.1.2 192.168.5.0/24 carrier
lab_host board2 home2 192.168.5.10

printf '\n== the network, made with the cairn command\n'
# As cl_network (tests/lab/cairn_lab.sh) does, with groups: the cloud node
# may deploy ("deployers"), the boards take deploys ("boards").
net=$LAB_DIR/net
"$CAIRN" network init --name demo --dir "$net" --prefix4 10.99.0.0/24 --prefix6 fd99:1ab::/64 >/dev/null
CL_DOMAIN=demo.cairn
"$CAIRN" keygen -o "$LAB_DIR/relay1.key" >/dev/null
"$CAIRN" peers relay-add relay1 "$("$CAIRN" pubkey -k "$LAB_DIR/relay1.key")" 203.0.113.100 \
	--port 443 -l "$net/peers.conf" >/dev/null
cat >"$LAB_DIR/relay1.conf" <<EOF
identity_key = "$LAB_DIR/relay1.key";
root_key = "$(cat "$net/root.pub")";
peer_list = "$net/peers.conf";
state_dir = "$LAB_DIR/relay1.state";
listen = { tcp = [ "203.0.113.100:443" ]; udp = [ "203.0.113.100:443" ]; stun = [ "203.0.113.100:3478" ]; };
EOF
declare -A groups=([cloud1]=deployers [board1]=boards [board2]=boards)
for n in cloud1 board1 board2; do
	"$CAIRN" keygen -o "$LAB_DIR/$n.key" >/dev/null
	"$CAIRN" peers add "$n" "$("$CAIRN" pubkey -k "$LAB_DIR/$n.key")" --groups "${groups[$n]}" \
		-l "$net/peers.conf" >/dev/null
	cl_resolv_conf "$n"
done
"$CAIRN" peers sign -l "$net/peers.conf" >/dev/null
printf '$ cairn network init --name demo ...; cairn keygen ...; cairn peers add ...; cairn peers sign\n'
"$CAIRN" peers show -l "$net/peers.conf"

# The boards' activation hook: a real one would restart the service; this
# one says what it activates and records it.
cat >"$LAB_DIR/activate.sh" <<EOF
#!/bin/sh
echo "\$CAIRN_NODE: activating \$CAIRN_APP \$CAIRN_VERSION (was \${CAIRN_PREVIOUS:-none}), pushed by \$CAIRN_PUSHER"
echo "\$CAIRN_VERSION" >"$LAB_DIR/\$CAIRN_NODE.running"
EOF
chmod 755 "$LAB_DIR/activate.sh"
cl_start_relay relay1
cl_start_node cloud1
for n in board1 board2; do
	cl_start_node "$n" "deploy = { enabled = true; groups = [ \"deployers\" ]; hook = \"$LAB_DIR/activate.sh\"; };"
done
for n in cloud1 board1 board2; do
	cl_wait 15 cl_relay_up "$n" || {
		echo "demo: $n did not reach the relay; logs in $LAB_DIR" >&2
		exit 1
	}
done

printf '\n== the boards reach each other and the cloud node by name, at once through the relay\n'
show board1 ping -c 3 -i 0.3 "board2.$CL_DOMAIN"
show board1 ping -c 3 -i 0.3 "cloud1.$CL_DOMAIN"
status board1
printf '\n== meanwhile ICE punches through both NATs; the paths turn direct\n'
cl_wait 15 cl_path_is board1 board2 direct || true
cl_wait 10 cl_path_is board1 cloud1 direct || true
show board1 ping -c 3 -i 0.3 "board2.$CL_DOMAIN"
status board1
show board1 "$CAIRN" ping board2 -c 3 -i 0 --socket "$LAB_DIR/board1.sock"
show board2 "$CAIRN" netcheck -l "$LAB_DIR/net/peers.conf"

printf '\n== the job: a signed release from the cloud node to a board behind NAT, by name\n'
deploy() { show cloud1 "$CAIRN" deploy --key "$LAB_DIR/cloud1.key" --list "$net/peers.conf" "$@"; }
for v in 1.0 1.1; do
	head -c 2M /dev/urandom >"$LAB_DIR/web-$v.tar"
done
deploy push board1 "$LAB_DIR/web-1.0.tar" --name web --version 1.0 --activate
printf '\n== to the group "boards": both boards, one behind a double NAT\n'
deploy push boards "$LAB_DIR/web-1.1.tar" --name web --version 1.1 --activate --parallel 2
printf '\n== and back: board1 rolls back to the version before (board2 has no older one)\n'
deploy rollback board1 web
deploy list boards web

if [ "$teardown" = 1 ]; then
	printf '\ndemo: done; tearing the network down.\n'
	exit 0
fi

# Leave it running: no cleanup at exit, a script that does it instead.
trap - EXIT INT TERM
cat >"$LAB_DIR/teardown.sh" <<EOF
#!/usr/bin/env bash
# Tears the cairn demo network down: its processes, namespaces and files.
while read -r pid _; do kill "\$pid" 2>/dev/null; done <"$LAB_DIR/pids"
for ns in \$(ip netns list | awk '{ print \$1 }' | grep '^$LAB_PREFIX'); do
	for pid in \$(ip netns pids "\$ns"); do kill -9 "\$pid" 2>/dev/null; done
	ip netns del "\$ns"
	rm -rf "/etc/netns/\$ns"
done
rm -rf "$LAB_DIR"
echo "cairn demo network removed"
EOF
chmod +x "$LAB_DIR/teardown.sh"
cat <<EOF

The demo network is still running. Enter a node's namespace with a shell:
    ip netns exec ${LAB_PREFIX}board1 bash
and there try:
    $CAIRN status --socket $LAB_DIR/board1.sock
    ping board2.$CL_DOMAIN        ping cloud1.$CL_DOMAIN
Logs and configuration: $LAB_DIR
Tear it all down:
    bash $LAB_DIR/teardown.sh
EOF
