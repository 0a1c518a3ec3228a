#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Least privilege in the NAT lab: a relay and two nodes configured with
# user = "nobody" start as root, then run as nobody: the nodes with exactly
# CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (DNS on port 53), the relay with
# no capability, all with no_new_privs; the key files stay root's. After
# the drop they still work: the nodes ping each other over the overlay and
# answer DNS, a SIGHUP adopts a new peer list (node and relay) and writes
# it to the state directory, and the nodes reconnect to a restarted relay.
# Usage: test_leastpriv.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_leastpriv.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
. "$here/cairn_lab.sh"
lab_init
getent passwd nobody >/dev/null || {
	echo "SKIP: no user nobody"
	exit 77
}

lab_public_host relay1 203.0.113.100
lab_nat r1 cone 203.0.113.30 192.168.1.0/24
lab_host a r1 192.168.1.10
lab_nat r2 cone 203.0.113.32 192.168.2.0/24
lab_host b r2 192.168.2.10
cl_network privdrop relay1=203.0.113.100 -- a b
# nobody must reach the peer list on reload (public data); the keys stay 0600 root.
chmod 755 "$LAB_DIR" "$LAB_DIR/net"
chmod 644 "$LAB_DIR/net/peers.conf"
echo 'user = "nobody";' >>"$LAB_DIR/relay1.conf"
cl_start_relay relay1
for n in a b; do
	cl_start_node "$n" 'user = "nobody";'
done
for n in a b; do
	cl_check "$n reaches the relay" cl_wait 15 cl_relay_up "$n"
done

status_of() { # PID FIELD: the field's value in /proc/PID/status
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}
is() { # WANT CMD...: CMD prints exactly WANT
	local got
	got=$("${@:2}")
	[ "$got" = "$1" ] || {
		echo "  (got '$got', want '$1')"
		return 1
	}
}
# Capabilities and no_new_privs are per thread: a thread made before the
# drop (GLib's, say) would keep what the main thread gave up.
same_threads() { # PID
	local t main
	main=$(grep -E "^(Uid|Gid|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):" "/proc/$1/status")
	for t in /proc/"$1"/task/*; do
		[ "$(grep -E "^(Uid|Gid|CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):" "$t/status")" = "$main" ] || {
			echo "  (thread $t differs)"
			return 1
		}
	done
}
nobody=$(id -u nobody)
ng=$(id -g nobody)
want_uid="$nobody $nobody $nobody $nobody"
# CAP_NET_ADMIN (12) and CAP_NET_BIND_SERVICE (10).
node_caps=0000000000001400
for n in a b; do
	p=$(cl_daemon_pid "$n")
	cl_check "$n runs as nobody" is "$want_uid" status_of "$p" Uid
	cl_check "$n: gid nobody, no other group" is "$ng" status_of "$p" Groups
	cl_check "$n keeps only NET_ADMIN and NET_BIND_SERVICE" is "$node_caps" status_of "$p" CapEff
	cl_check "$n: permitted set the same" is "$node_caps" status_of "$p" CapPrm
	cl_check "$n: bounding set the same" is "$node_caps" status_of "$p" CapBnd
	cl_check "$n: no ambient capability" is 0000000000000000 status_of "$p" CapAmb
	cl_check "$n: no_new_privs" is 1 status_of "$p" NoNewPrivs
	cl_check "$n: every thread has the same uid and capabilities" same_threads "$p"
	cl_check "$n logged the drop" grep -q "running as uid $nobody gid $ng, capabilities cap_net_bind_service,cap_net_admin" "$LAB_DIR/$n.log"
done
rp=$(cl_daemon_pid relay1)
cl_check "the relay runs as nobody" is "$want_uid" status_of "$rp" Uid
cl_check "the relay has no capability" is 0000000000000000 status_of "$rp" CapEff
cl_check "the relay: empty permitted and bounding sets" is "0000000000000000 0000000000000000" \
	bash -c 'echo "$1 $2"' _ "$(status_of "$rp" CapPrm)" "$(status_of "$rp" CapBnd)"
cl_check "the key files are still root's, 0600" is "0 600 0 600" \
	bash -c 'stat -c "%u %a" "$1" "$2" | tr "\n" " " | sed "s/ $//"' _ \
	"$LAB_DIR/a.key" "$LAB_DIR/relay1.key"
cl_check "the state directory was handed over" is "$nobody" stat -c %u "$LAB_DIR/a.state"

# Working after the drop.
cl_check "a pings b over the overlay" cl_wait 20 lab_exec a ping -c 1 -W 1 10.99.0.2
cl_check "b pings a over the overlay" lab_exec b ping -c 2 -W 2 10.99.0.1
cl_check "a's DNS answers" is 10.99.0.2 lab_exec a dig +time=2 +tries=1 @127.0.0.99 +short \
	"b.$CL_DOMAIN" A

# Reload: a new peer list (one more peer), SIGHUP.
"$CAIRN" keygen -o "$LAB_DIR/c.key" >/dev/null
"$CAIRN" peers add c "$("$CAIRN" pubkey -k "$LAB_DIR/c.key")" -l "$LAB_DIR/net/peers.conf" >/dev/null
"$CAIRN" peers sign -l "$LAB_DIR/net/peers.conf" >/dev/null
chmod 644 "$LAB_DIR/net/peers.conf"
serial=$(awk '/serial/ { gsub(/[^0-9]/, "", $0); print; exit }' "$LAB_DIR/net/peers.conf")
kill -HUP "$(cl_daemon_pid a)" "$rp"
cl_check "a adopts the new list after the drop" cl_wait 5 grep -q "peer list serial $serial in force: 2 peers" "$LAB_DIR/a.log"
cl_check "a keeps it in its state directory" cl_wait 5 grep -q "serial = $serial" "$LAB_DIR/a.state/peers.conf"
cl_check "no state write failed" cl_fails grep -q "cannot keep the peer list" "$LAB_DIR/a.log"
cl_check "the relay adopts it too" cl_wait 5 grep -q "reload: peer list serial $serial adopted" "$LAB_DIR/relay1.log"

# The relay restarts: the unprivileged nodes reconnect.
cl_stop_relay relay1
cl_start_relay relay1
for n in a b; do
	cl_check "$n reconnects to the restarted relay" cl_wait 30 cl_relay_up "$n"
done
cl_check "the restarted relay runs as nobody" is "$want_uid" status_of "$(cl_daemon_pid relay1)" Uid
cl_check "a still reaches b" cl_wait 20 lab_exec a ping -c 1 -W 1 10.99.0.2
cl_done
