# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# tests/lab/cairn_lab.sh - cairn on top of the NAT lab (lab.sh): a network
# made with the `cairn` command, relays and nodes started in lab namespaces,
# names resolved through each node's own DNS service, and the checks the
# end-to-end tests share. Source it after lab.sh, with CAIRN, NODE and RELAY
# set to the binaries; call lab_init first.
#
#   cl_network NAME relay1=IP[,relay2=IP...] -- node1 node2 ...
#   cl_start_relay NAME            cl_stop_relay NAME
#   cl_start_node NAME [CONFIG-LINES]   cl_stop_node NAME
#   cl_status NODE [--json]        cl_path NODE PEER   cl_relay_up NODE
#   cl_check NAME CMD...           cl_wait SECONDS CMD...   cl_done

CL_PASS=0
CL_FAIL=0
CL_DOMAIN=
CL_NETWORK=
declare -A CL_RELAY_IP=()
declare -A CL_PID=()
CL_RUN=0

cl_check() { # NAME CMD...: counts and prints the result
	local name=$1
	shift
	if "$@"; then
		CL_PASS=$((CL_PASS + 1))
		echo "ok: $name"
	else
		CL_FAIL=$((CL_FAIL + 1))
		echo "FAIL: $name"
	fi
}

cl_wait() { # SECONDS CMD...: polls CMD every 0.2 s until it succeeds
	local deadline=$(($(date +%s) + $1))
	shift
	while [ "$(date +%s)" -lt "$deadline" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

cl_done() { # prints the logs of everything on failure and the summary line
	local f
	if [ "$CL_FAIL" -ne 0 ]; then
		for f in "$LAB_DIR"/*.log; do
			[ -L "$f" ] && continue
			echo "--- $(basename "$f") (tail)"
			grep -v "libnice" "$f" | tail -25
		done
	fi
	echo "$(basename "$0" .sh): $CL_PASS passed, $CL_FAIL failed"
	[ "$CL_FAIL" -eq 0 ]
}

# cl_network NAME relay=IP[,relay=IP] -- NODE...: keys, a signed peer list
# (domain NAME.cairn, prefix 10.99.0.0/24; nodes get addresses in order),
# relay configurations, and a resolv.conf per node namespace that points
# at the node's DNS service (ip netns exec mounts /etc/netns/NS/resolv.conf).
cl_network() {
	local name=$1 relays=$2 r rn rip n
	shift 3
	CL_NETWORK=$name
	CL_DOMAIN=$name.cairn
	"$CAIRN" network init --name "$name" --dir "$LAB_DIR/net" --prefix4 10.99.0.0/24 \
		--prefix6 fd99:1ab::/64 >/dev/null || exit 1
	IFS=, read -ra rs <<<"$relays"
	for r in "${rs[@]}"; do
		rn=${r%%=*}
		rip=${r#*=}
		CL_RELAY_IP[$rn]=$rip
		"$CAIRN" keygen -o "$LAB_DIR/$rn.key" >/dev/null || exit 1
		"$CAIRN" peers relay-add "$rn" "$("$CAIRN" pubkey -k "$LAB_DIR/$rn.key")" "$rip" \
			--port 443 -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
		cat >"$LAB_DIR/$rn.conf" <<-EOF
			identity_key = "$LAB_DIR/$rn.key";
			root_key = "$(cat "$LAB_DIR/net/root.pub")";
			peer_list = "$LAB_DIR/net/peers.conf";
			state_dir = "$LAB_DIR/$rn.state";
			listen = { tcp = [ "$rip:443" ]; udp = [ "$rip:443" ]; stun = [ "$rip:3478" ]; };
		EOF
	done
	for n in "$@"; do
		"$CAIRN" keygen -o "$LAB_DIR/$n.key" >/dev/null || exit 1
		"$CAIRN" peers add "$n" "$("$CAIRN" pubkey -k "$LAB_DIR/$n.key")" \
			--groups nodes -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
		cl_resolv_conf "$n"
	done
	"$CAIRN" peers sign -l "$LAB_DIR/net/peers.conf" >/dev/null || exit 1
}

# cl_resolv_conf NODE: NODE's namespace resolves through its node's DNS.
cl_resolv_conf() {
	local ns dir
	ns=$(lab_ns "$1") || exit 1
	dir=/etc/netns/$ns
	mkdir -p "$dir"
	echo "nameserver 127.0.0.99" >"$dir/resolv.conf"
	lab_atexit "rm -rf '$dir'"
}

cl_node_conf() { # NAME [EXTRA]: (re)writes NAME's configuration
	cat >"$LAB_DIR/$1.conf" <<-EOF
		identity_key = "$LAB_DIR/$1.key";
		root_key = "$(cat "$LAB_DIR/net/root.pub")";
		peer_list = "$LAB_DIR/net/peers.conf";
		state_dir = "$LAB_DIR/$1.state";
		control_socket = "$LAB_DIR/$1.sock";
		log_level = "${CL_LOG_LEVEL:-info}";
		tun = { name = "cairn0"; };
		${2:-}
	EOF
}

cl_start_relay() { # NAME
	CL_RUN=$((CL_RUN + 1))
	CL_PID[$1]=$(lab_spawn "$1" "$1.$CL_RUN.log" "$RELAY" --config "$LAB_DIR/$1.conf")
	ln -sf "$1.$CL_RUN.log" "$LAB_DIR/$1.log"
	cl_wait 5 grep -q "running" "$LAB_DIR/$1.$CL_RUN.log"
}

cl_stop_relay() { lab_kill "${CL_PID[$1]}"; }

cl_start_node() { # NAME [EXTRA CONFIG LINES]
	[ -n "${2:-}" ] || [ ! -f "$LAB_DIR/$1.conf" ] && cl_node_conf "$1" "${2:-}"
	CL_RUN=$((CL_RUN + 1))
	CL_PID[$1]=$(lab_spawn "$1" "$1.$CL_RUN.log" "$NODE" --config "$LAB_DIR/$1.conf")
	ln -sf "$1.$CL_RUN.log" "$LAB_DIR/$1.log"
}

cl_stop_node() { lab_kill "${CL_PID[$1]}"; }

cl_status() { # NODE [--json]
	lab_exec "$1" "$CAIRN" status --socket "$LAB_DIR/$1.sock" "${@:2}"
}

cl_path() { # NODE PEER: the path NODE's status shows for PEER
	cl_status "$1" | awk -v p="$2" '$1 == p { print $3 }'
}

cl_path_is() { [ "$(cl_path "$1" "$2")" = "$3" ]; }

cl_relay_of() { # NODE PEER: the relay NODE sends PEER's traffic through
	cl_status "$1" | awk -v p="$2" '$1 == p && $4 == "relay" { print $5 }'
}

cl_relay_is() { [ "$(cl_relay_of "$1" "$2")" = "$3" ]; }

cl_fails() { ! "$@"; } # CMD...: true when CMD fails

cl_relay_up() { # NODE: at least one relay link up
	cl_status "$1" 2>/dev/null | grep -q "^relay .*: up over"
}
