#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hard NATs: the birthday technique (node/engine_bday.c) opens a direct path
# between a symmetric NAT and an endpoint-independent one, where ICE cannot.
#
#   sym    symmetric NAT (random port per destination)
#   cone   port-restricted cone
#   dbl    cone behind a carrier cone NAT (double NAT)
#   sym2   a second symmetric NAT: sym-sym must stay relayed
#   upnp   a symmetric NAT whose router runs miniupnpd (lab_nat_upnp): its
#          node maps its node-wide socket there (node/portmap_glue.c), so
#          sym -> upnp, two symmetric NATs, goes direct through the mapping
#          (skipped without miniupnpd)
#
# Each round starts every node afresh, pings sym -> cone, sym -> dbl and
# sym -> sym2 once, and times each pair from that ping until `cairn status`
# shows it direct (polled every 0.2 s; the target is 10 s). BDAY_ROUNDS
# (default 1) repeats it. A last round with nat.birthday = false on every
# node shows the pairs stay relayed without it.
#
# Usage: test_birthday.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_birthday.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
ROUNDS=${BDAY_ROUNDS:-1}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init

lab_public_host relay1 203.0.113.100
lab_nat r_sym symmetric 203.0.113.32 192.168.3.0/24
lab_host sym r_sym 192.168.3.10
lab_nat r_cone cone 203.0.113.30 192.168.1.0/24
lab_host cone r_cone 192.168.1.10
lab_nat cgnat cone 203.0.113.34 100.64.1.0/24
lab_nat r_dbl cone 100.64.1.2 192.168.5.0/24 cgnat
lab_host dbl r_dbl 192.168.5.10
lab_nat r_sym2 symmetric 203.0.113.36 192.168.8.0/24
lab_host sym2 r_sym2 192.168.8.10
nodes=(sym cone dbl sym2)
if [ -x /usr/sbin/miniupnpd ]; then
	lab_nat_upnp r_upnp 203.0.113.37 192.168.9.0/24 symmetric
	lab_host upnp r_upnp 192.168.9.10
	nodes+=(upnp)
else
	echo "miniupnpd missing: the port-mapping pair is skipped"
fi

cl_network bday relay1=203.0.113.100 -- "${nodes[@]}"
cl_start_relay relay1

now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

round() { # EXTRA-CONFIG: one round; prints each pair's time to direct
	local n peer t0 symlog upnplog pings extra=${1:-}
	for n in "${nodes[@]}"; do
		rm -rf "$LAB_DIR/$n.state"
		cl_node_conf "$n" "$extra"
		cl_start_node "$n"
		[ "$n" = sym ] && symlog=$LAB_DIR/sym.$CL_RUN.log
		[ "$n" = upnp ] && upnplog=$LAB_DIR/upnp.$CL_RUN.log
	done
	for n in "${nodes[@]}"; do
		cl_check "$n reaches a relay" cl_wait 15 cl_relay_up "$n"
	done
	t0=$(now_s)
	pings=()
	for peer in "${nodes[@]:1}"; do
		lab_exec sym ping -c 1 -W 3 -q "$peer.$CL_DOMAIN" >/dev/null 2>&1 &
		pings+=($!)
	done
	wait "${pings[@]}" # not a bare wait: the nodes are our children too
	if [ -z "$extra" ]; then
		for peer in cone dbl; do
			if cl_wait 10 cl_path_is sym "$peer" direct; then
				echo "time to direct sym -> $peer: $(since "$t0") s"
				cl_check "sym -> $peer direct within 10 s" true
			else
				cl_check "sym -> $peer direct within 10 s" false
			fi
			cl_check "$peer -> sym direct" cl_wait 2 cl_path_is "$peer" sym direct
			cl_check "sym pings $peer over it" \
				lab_exec sym ping -c 3 -i 0.2 -W 2 -q "$peer.$CL_DOMAIN" >/dev/null
		done
		cl_check "sym's log names the birthday path" \
			grep -q "path is now direct via .* (birthday, hard side)" "$symlog"
		cl_check "sym -> sym2 stays relayed" cl_path_is sym sym2 relay
	fi
	if [[ " ${nodes[*]} " == *" upnp "* ]]; then
		# Two symmetric NATs, one of which maps: direct through the mapping,
		# birthday on or off.
		if cl_wait 10 cl_path_is sym upnp direct; then
			echo "time to direct sym -> upnp (port mapping): $(since "$t0") s"
			cl_check "sym -> upnp direct through the mapping within 10 s" true
		else
			cl_check "sym -> upnp direct through the mapping within 10 s" false
		fi
		cl_check "upnp -> sym direct" cl_wait 2 cl_path_is upnp sym direct
		cl_check "upnp's gateway mapped its node-wide socket" \
			grep -q "port mapping: 203.0.113.37:" "$upnplog"
		cl_check "sym's log names the mapped path" \
			grep -q "peer upnp: path is now direct via 203.0.113.37:.*(node-wide socket, address validated)" "$symlog"
	fi
	if [ -n "$extra" ]; then
		sleep 12
		for peer in cone dbl sym2; do
			cl_check "birthday off: sym -> $peer relayed" cl_path_is sym "$peer" relay
		done
		cl_check "birthday off: sym opened no birthday socket" \
			cl_fails grep -q "birthday attempt" "$symlog"
	fi
	for n in "${nodes[@]}"; do
		cl_stop_node "$n"
	done
}

for ((r = 1; r <= ROUNDS; r++)); do
	echo "round $r of $ROUNDS"
	round
done
round "nat = { birthday = false; };"
cl_done
