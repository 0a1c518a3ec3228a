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
#
# Every daemon started here runs under a small shell that writes its exit
# status next to its log ($LAB_DIR/NAME.RUN.log.rc). cl_done stops the
# daemons still running and counts a failure for each run whose log holds a
# sanitizer report (AddressSanitizer, LeakSanitizer, UBSan's "runtime
# error") or that did not exit 0 on SIGTERM within LAB_TERM_WAIT seconds.

CL_PASS=0
CL_FAIL=0
CL_DOMAIN=
CL_NETWORK=
declare -A CL_RELAY_IP=()
declare -A CL_PID=()
CL_RUN=0
CL_RUNS=()                # NAME.RUN of every daemon started, in order
# An ASan daemon's exit (the leak check) can take a while on a loaded
# machine; lab.sh (sourced first) defaults to 1 s. CL_TERM_WAIT overrides.
LAB_TERM_WAIT=${CL_TERM_WAIT:-5}

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

# _cl_spawn NAME CMD...: starts daemon run NAME.$CL_RUN (log and status file
# in $LAB_DIR) and sets CL_PID[NAME]. The wrapper shell catches TERM and INT
# only to outlive the daemon (a caught signal is reset to default across
# exec, so the daemon still gets both), waits for it and writes its status.
_cl_spawn() {
	local name=$1 log
	shift
	CL_RUN=$((CL_RUN + 1))
	log=$name.$CL_RUN.log
	CL_RUNS+=("$name.$CL_RUN")
	CL_PID[$name]=$(lab_spawn "$name" "$log" bash -c 'trap : TERM INT; "$@"; echo $? >"$0"' \
		"$LAB_DIR/$log.rc" "$@")
	ln -sf "$log" "$LAB_DIR/$name.log"
}

cl_crashed() { CL_MAY_DIE[$1.$CL_RUN]=1; } # NAME: its current run may die

# cl_daemon_pid NAME: the daemon's own PID (CL_PID is its wrapper shell's),
# for /proc checks and signals; empty once it has exited.
cl_daemon_pid() {
	local pid
	pid=$(ps -o pid= --ppid "${CL_PID[$1]}" 2>/dev/null | head -n 1)
	echo "${pid// /}"
}

# cl_daemons_clean: stops every daemon still running, then checks each run's
# log and exit status; prints one line per bad run and fails if there is one.
cl_daemons_clean() {
	local n run log rc bad=0
	for n in "${!CL_PID[@]}"; do
		lab_kill "${CL_PID[$n]}" 2>/dev/null
	done
	for run in "${CL_RUNS[@]}"; do
		log=$LAB_DIR/$run.log
		if grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$log"; then
			echo "FAIL: $run: sanitizer report in $(basename "$log"):"
			grep -E -m 3 -A 3 "AddressSanitizer|LeakSanitizer|runtime error" "$log"
			bad=1
		fi
		rc=$(cat "$log.rc" 2>/dev/null)
		if [ -z "$rc" ]; then
			echo "FAIL: $run: no exit status (killed: it did not exit within" \
				"${LAB_TERM_WAIT}s of SIGTERM)"
			bad=1
		elif [ "$rc" != 0 ]; then
			echo "FAIL: $run: exited with status $rc"
			bad=1
		fi
	done
	[ "$bad" = 0 ]
}

cl_done() { # stops the daemons, checks them; on failure prints the logs; summary line
	local f
	cl_check "every daemon exited cleanly, no sanitizer report (${#CL_RUNS[@]} runs)" \
		cl_daemons_clean
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

# CL_DATAPLANE=off: every node on the old single-packet data path (offloads,
# UDP GSO/GRO and crypto workers off), so a lab test runs both ways.
cl_node_conf() { # NAME [EXTRA]: (re)writes NAME's configuration
	local dp=""
	[ "${CL_DATAPLANE:-}" = off ] && dp="dataplane = { offload = false; udp_gso = false; workers = 1; };"
	cat >"$LAB_DIR/$1.conf" <<-EOF
		identity_key = "$LAB_DIR/$1.key";
		root_key = "$(cat "$LAB_DIR/net/root.pub")";
		peer_list = "$LAB_DIR/net/peers.conf";
		state_dir = "$LAB_DIR/$1.state";
		control_socket = "$LAB_DIR/$1.sock";
		log_level = "${CL_LOG_LEVEL:-info}";
		tun = { name = "cairn0"; };
		$dp
		${2:-}
	EOF
}

cl_start_relay() { # NAME
	_cl_spawn "$1" "$RELAY" --config "$LAB_DIR/$1.conf"
	cl_wait 5 grep -q "running" "$LAB_DIR/$1.$CL_RUN.log"
}

cl_stop_relay() { lab_kill "${CL_PID[$1]}"; }

cl_start_node() { # NAME [EXTRA CONFIG LINES]
	[ -n "${2:-}" ] || [ ! -f "$LAB_DIR/$1.conf" ] && cl_node_conf "$1" "${2:-}"
	_cl_spawn "$1" "$NODE" --config "$LAB_DIR/$1.conf"
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
