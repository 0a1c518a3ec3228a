#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cairn-relay as users run it, on 127.0.0.1 only: a network made with the
# `cairn` command, the daemon started from a config file, Debian's `stun`
# client asking it for a mapped address, metrics and health over HTTP, a
# list published with `cairn peers publish`, SIGHUP, bad configs refused
# with one line, SIGTERM shutting it down cleanly.
# Usage: test_relay_daemon.sh PATH_TO_CAIRN PATH_TO_CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_relay_daemon.sh CAIRN CAIRN_RELAY}
RELAY=${2:?usage: test_relay_daemon.sh CAIRN CAIRN_RELAY}
work=$(mktemp -d /tmp/cn_test_relayd.XXXXXX)
relay_pid=
cleanup() {
	if [ -n "$relay_pid" ] && kill -0 "$relay_pid" 2>/dev/null; then
		kill "$relay_pid"
		wait "$relay_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
pass=0
fail=0
check() { # check NAME CMD...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
	fi
}

# Four free loopback ports, bound and released by the kernel's choice:
# another process may take one before the relay binds it, so the relay's
# start below is retried with new ports (relay_ports then writes the list
# entry and relay.conf again).
relay_ports() {
	read -r tcp_port udp_port stun_port metrics_port < <(python3 -c '
import socket
socks = []
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])')
	"$CAIRN" peers relay-remove relay1 -l net/peers.conf >/dev/null 2>&1
	"$CAIRN" peers relay-add relay1 "$relay_key" 127.0.0.1 --port "$tcp_port" \
		-l net/peers.conf >/dev/null
	"$CAIRN" peers sign -l net/peers.conf >/dev/null
	cat >relay.conf <<CONF
identity_key = "$work/relay.key";
root_key = "$(cat net/root.pub)";
peer_list = "$work/net/peers.conf";
state_dir = "$work/state";
listen = {
  tcp = [ "127.0.0.1:$tcp_port" ];
  udp = [ "127.0.0.1:$udp_port" ];
  stun = [ "127.0.0.1:$stun_port" ];
  metrics = "127.0.0.1:$metrics_port";
};
CONF
}

"$CAIRN" network init --name labnet --dir net >/dev/null
relay_key=$("$CAIRN" keygen -o relay.key)
"$CAIRN" keygen -o board1.key >/dev/null
"$CAIRN" peers add board1 "$("$CAIRN" pubkey -k board1.key)" -l net/peers.conf >/dev/null
relay_ports

# Bad configurations: one precise line, exit 1, nothing started.
sed 's/tcp = /tpc = /' relay.conf >bad1.conf
out=$("$RELAY" --config bad1.conf --check 2>&1)
check "typo refused" test $? -eq 1
check "typo named with its line" grep -q "line [0-9]*: unknown setting 'listen.tpc'" <<<"$out"
check "one line" test "$(wc -l <<<"$out")" -eq 1
sed 's|root_key = ".*"|root_key = "'"$relay_key"'"|' relay.conf >bad2.conf
out=$("$RELAY" --config bad2.conf --check 2>&1)
check "wrong root key refused" grep -q "signature" <<<"$out"
out=$("$RELAY" --config nonexistent.conf 2>&1)
check "missing config" grep -q "nonexistent.conf: cannot open" <<<"$out"
check "--check passes" "$RELAY" --config relay.conf --check --log-level err >/dev/null
check "--help" "$RELAY" --help >/dev/null

for try in 1 2 3; do
	"$RELAY" --config relay.conf 2>relay.log &
	relay_pid=$!
	for _ in $(seq 50); do
		grep -q "running" relay.log && break
		kill -0 "$relay_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "running" relay.log && break
	echo "relay did not start (try $try): $(tail -1 relay.log)"
	kill "$relay_pid" 2>/dev/null
	wait "$relay_pid" 2>/dev/null
	relay_ports
done
# The list's serial as signed last (each relay_ports signs it again).
serial=$(awk '/^serial = / { print $3 + 0 }' net/peers.conf)
check "relay started" grep -q "running" relay.log

# Debian's stun client (RFC 3489) learns its mapped address. Its NAT-type
# run retransmits: the relay answers no source with more bytes than it
# sent, and its 28-byte request is 4 bytes short of the answer, so a
# single request (`stun HOST 1`) goes unanswered by design.
out=$(timeout 20 stun "127.0.0.1:$stun_port" -v 2>&1)
check "stun client gets a mapped address" grep -q "MappedAddress = 127.0.0.1:" <<<"$out"
check "stun test I passes" grep -q "test I = 1" <<<"$out"
# And the link port answers classic STUN too (what libnice sends).
out=$(timeout 20 stun "127.0.0.1:$udp_port" -v 2>&1)
check "link port answers classic STUN too" grep -q "MappedAddress = 127.0.0.1:" <<<"$out"

http() {
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=5).read().decode())' "$metrics_port" "$1"
}
out=$(http /metrics)
check "metrics count STUN" grep -q "^cairn_relay_stun_requests_total [1-9]" <<<"$out"
check "metrics show the list serial" grep -q "^cairn_relay_peer_list_serial $serial" <<<"$out"
check "health" grep -q "^ok network=labnet serial=$serial" <<<"$(http /health)"

# A new list published over an authenticated link is adopted and kept.
"$CAIRN" keygen -o board2.key >/dev/null
"$CAIRN" peers add board2 "$("$CAIRN" pubkey -k board2.key)" -l net/peers.conf >/dev/null
"$CAIRN" peers sign -l net/peers.conf >/dev/null
out=$("$CAIRN" peers publish --relay relay1 -l net/peers.conf 2>&1)
check "publish accepted" grep -q "serial $((serial + 1)) accepted" <<<"$out"
out=$("$CAIRN" peers publish --relay relay1 -l net/peers.conf --udp --address "127.0.0.1:$udp_port" 2>&1)
check "publish again over UDP: current" grep -q "already holds" <<<"$out"
check "adopted list kept in state" grep -q "serial = $((serial + 1))" state/peers.conf
check "metrics show serial +1" grep -q "^cairn_relay_peer_list_serial $((serial + 1))" \
	<<<"$(http /metrics)"
# A key outside the list cannot publish.
"$CAIRN" keygen -o stranger.key >/dev/null
out=$("$CAIRN" peers publish --relay relay1 -l net/peers.conf --key stranger.key 2>&1)
check "unlisted key cannot publish" test $? -ne 0

# SIGHUP re-reads the file: an older file is refused, a newer one adopted.
"$CAIRN" peers remove board2 -l net/peers.conf >/dev/null
"$CAIRN" peers sign -l net/peers.conf >/dev/null
kill -HUP "$relay_pid"
sleep 0.5
check "SIGHUP adopts serial +2" grep -q "reload: peer list serial $((serial + 2)) adopted" relay.log
check "relay still running" kill -0 "$relay_pid"

kill -TERM "$relay_pid"
wait "$relay_pid"
rc=$?
relay_pid=
check "SIGTERM exits 0" test "$rc" -eq 0
check "shutdown logged" grep -q "SIGTERM: shutting down" relay.log

if [ "$fail" -ne 0 ]; then
	echo "--- relay.log"
	cat relay.log
fi
echo "relay daemon: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
