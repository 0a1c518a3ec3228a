#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Port mapping against a real gateway: host a behind a lab router running
# miniupnpd (lab_nat_upnp), and a public host `peer`. For each protocol in
# turn (PCP, NAT-PMP, UPnP-IGD; portmap_probe forces one) the probe must
# get a mapping, the router must hold a DNAT rule for it, a datagram from
# peer to the mapped address must reach the probe's socket, a datagram to
# a port nobody mapped must not, and after the probe frees the mapping the
# rule must be gone and a new datagram from peer must not arrive.
#
# Usage: test_portmap.sh PORTMAP_PROBE     (root; exit 77 = skipped)
set -u
PROBE=${1:?usage: test_portmap.sh PORTMAP_PROBE}
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || {
	echo "SKIP: needs root"
	exit 77
}
[ -x /usr/sbin/miniupnpd ] || {
	echo "SKIP: no miniupnpd (deploy/scripts/install-deps.sh)"
	exit 77
}
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
lab_init

lab_nat_upnp home 203.0.113.10 192.168.1.0/24
lab_host a home 192.168.1.10
lab_public_host peer 203.0.113.50
routerns=$(lab_ns home)
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# wait_line FILE REGEX SECONDS: true once a line of FILE matches.
wait_line() {
	local i n=$(($3 * 10))
	for ((i = 0; i < n; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# send TEXT IP PORT: one datagram from peer, from a fresh source port.
send() {
	# shellcheck disable=SC2016 # expanded by that bash
	lab_exec peer timeout 5 bash -c 'printf "%s\n" "$1" >"/dev/udp/$2/$3"' _ "$@"
}

dnat_rules() { # the mapping rules miniupnpd holds
	nsenter --net="/run/netns/$routerns" nft list chain inet cn_upnp prerouting_upnp 2>&1
}

port=41000
for proto in pcp natpmp upnp; do
	port=$((port + 1))
	dir=$LAB_DIR/$proto
	mkdir -p "$dir"
	out=$dir/out
	lab_spawn a "$out" "$PROBE" "$proto" "$port" "$dir" >/dev/null
	pid=$LAB_LAST_PID # a child of this shell, so wait gives its status
	if ! wait_line "$out" '^(mapped|FAIL)' 20 || ! grep -q '^mapped' "$out"; then
		fail "$proto: no mapping within 20 s"
		sed 's/^/    /' "$out"
		touch "$dir/exit"
		continue
	fi
	ext=$(awk '$1 == "mapped" { print $3; exit }' "$out")
	extip=${ext%:*} extport=${ext##*:}
	echo "$proto: mapped $ext -> 192.168.1.10:$port"
	[ "$extip" = 203.0.113.10 ] || fail "$proto: external address $extip, not the router's 203.0.113.10"
	dnat_rules | grep -q "dport $extport " || fail "$proto: no DNAT rule for port $extport on the router"

	send "hello-$proto" "$extip" "$extport"
	wait_line "$out" "^recv hello-$proto\$" "$LAB_POS_WAIT" ||
		fail "$proto: a datagram to the mapping $ext did not reach the host"
	# A port nobody mapped stays closed (the negative control).
	send "stray-$proto" "$extip" $((extport + 7))
	sleep "$LAB_NEG_WAIT"
	! grep -q "^recv stray-$proto" "$out" || fail "$proto: an unmapped port reached the host"

	touch "$dir/release"
	wait_line "$out" '^deleted$' 10 || fail "$proto: the probe did not free its mapping"
	gone=0
	for ((i = 0; i < 30; i++)); do
		if ! dnat_rules | grep -q "dport $extport "; then
			gone=1
			break
		fi
		sleep 0.1
	done
	[ $gone = 1 ] || fail "$proto: the DNAT rule for $extport is still there 3 s after the delete"
	send "after-$proto" "$extip" "$extport"
	sleep "$LAB_NEG_WAIT"
	sleep 0.2
	! grep -q "^recv after-$proto" "$out" || fail "$proto: the mapping still forwards after the delete"
	touch "$dir/exit"
	for ((i = 0; i < 50; i++)); do
		_lab_alive "$pid" || break
		sleep 0.1
	done
	if _lab_alive "$pid"; then
		fail "$proto: the probe did not exit"
	else
		wait "$pid"
		rc=$?
		[ "$rc" = 0 ] || fail "$proto: the probe exited with $rc (sanitizer report or FAIL in its output)"
	fi
	if grep -q '^FAIL' "$out"; then
		fail "$proto: $(grep '^FAIL' "$out" | head -1)"
	fi
done

if [ "$fails" -gt 0 ]; then
	echo "--- miniupnpd log (last lines)"
	tail -20 "$LAB_DIR/upnp-home.log"
	echo "$fails check(s) failed"
	exit 1
fi
echo "PASS: PCP, NAT-PMP and UPnP-IGD each mapped, forwarded and deleted"
