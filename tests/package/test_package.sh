#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages on this machine, and gone again: builds cairn,
# cairn-node and cairn-relay (deploy/dist/debian/build.sh, lintian clean),
# installs them with dpkg, checks what they put in place (users, units,
# /etc/cairn examples, state directories, man pages), enrols a node with
# the installed programs against the installed relay on loopback (relay
# configuration from the installed example, `cairn-relay --check`,
# `cairn invite`, `cairn join --start no`, `cairn-node --check`), then
# purges and checks nothing is left: no file, directory, user or group.
#
# Needs root. Exits 77 (skipped) when cairn packages, users or /etc/cairn
# are already on this machine: it never touches an existing installation.
# Usage: test_package.sh [SOURCE_DIR]
set -u
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
pass=0
fail=0
check() { # NAME CMD...
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
fails() { ! "$@"; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "test_package: needs root (dpkg -i)"
	exit 77
fi
for p in cairn cairn-node cairn-relay; do
	if dpkg-query -W "$p" >/dev/null 2>&1; then
		echo "test_package: package $p is known to dpkg here; not touching it"
		exit 77
	fi
done
for u in cairn cairn-relay; do
	if getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; then
		echo "test_package: user or group $u exists here; not touching it"
		exit 77
	fi
done
for d in /etc/cairn /var/lib/cairn /var/lib/cairn-relay; do
	if [ -e "$d" ]; then
		echo "test_package: $d exists here; not touching it"
		exit 77
	fi
done

# While installed, the packages' system user "cairn" exists, and daemons
# started meanwhile by other tests drop to it (and keep it from being
# deleted). CI runs this alone (RUN_SERIAL); on a shared development
# machine, wait for a quiet moment instead.
if [ "${CI:-}" != true ] && ip netns list 2>/dev/null | grep -q '^cn[0-9]*-'; then
	echo "test_package: NAT lab tests are running on this machine; skipped (CI=true forces it)"
	exit 77
fi

tmp=$(mktemp -d /tmp/cn_pkg.XXXXXX)
relay_pid=
cleanup() {
	if [ -n "$relay_pid" ] && kill -0 "$relay_pid" 2>/dev/null; then
		kill "$relay_pid"
		wait "$relay_pid" 2>/dev/null
	fi
	for p in cairn cairn-node cairn-relay; do
		if dpkg-query -W "$p" >/dev/null 2>&1; then
			dpkg --purge "$p" >/dev/null 2>&1
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "test_package: building the packages (lintian on) ..."
if ! bash "$top/deploy/dist/debian/build.sh" --lintian "$tmp/debs" >"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log"
	echo "test_package: the packages did not build"
	exit 1
fi
check "build and lintian clean" true
debs=()
for p in cairn cairn-node cairn-relay; do
	debs+=("$(ls "$tmp"/debs/"${p}"_*.deb)")
done
check "dpkg -i" dpkg -i "${debs[@]}"
for p in cairn cairn-node cairn-relay; do
	check "$p installed" installed "$p"
done
check "system user cairn" getent passwd cairn
check "system user cairn-relay" getent passwd cairn-relay
check "cairn has no login shell" test "$(getent passwd cairn | cut -d: -f7)" = /usr/sbin/nologin
check "/var/lib/cairn 0700 cairn" test "$(stat -c '%a %U' /var/lib/cairn)" = "700 cairn"
check "/var/lib/cairn-relay 0700 cairn-relay" test "$(stat -c '%a %U' /var/lib/cairn-relay)" = "700 cairn-relay"
check "example configurations in /etc/cairn" test -f /etc/cairn/node.conf.example -a -f /etc/cairn/relay.conf.example
check "units installed" test -f /lib/systemd/system/cairn-node.service -a -f /lib/systemd/system/cairn-relay.service
check "units name /usr/bin" grep -q "ExecStart=/usr/bin/cairn-node " /lib/systemd/system/cairn-node.service
check "units not enabled on install" test ! -e /etc/systemd/system/multi-user.target.wants/cairn-node.service
if command -v systemd-analyze >/dev/null; then
	check "units verify" systemd-analyze verify /lib/systemd/system/cairn-node.service \
		/lib/systemd/system/cairn-relay.service
fi
check "man pages" test -f /usr/share/man/man1/cairn.1.gz -a -f /usr/share/man/man1/cairn-node.1.gz
check "cairn --version" /usr/bin/cairn --version

# A network whose admin and relay are this machine, on loopback.
port=$((20000 + RANDOM % 20000))
/usr/bin/cairn network init --name pkgtest --dir "$tmp/net" >/dev/null
/usr/bin/cairn keygen -o /etc/cairn/relay.key >/dev/null
chown cairn-relay: /etc/cairn/relay.key
/usr/bin/cairn peers relay-add relay1 "$(/usr/bin/cairn pubkey -k /etc/cairn/relay.key)" 127.0.0.1 \
	--port "$port" -l "$tmp/net/peers.conf" >/dev/null
/usr/bin/cairn peers sign -l "$tmp/net/peers.conf" >/dev/null
cp "$tmp/net/peers.conf" /etc/cairn/peers.conf
# The installed example with this network's root key and loopback ports.
sed -e "s|^root_key = .*|root_key = \"$(cat "$tmp/net/root.pub")\";|" \
	-e "s|^  tcp = .*|  tcp = [ \"127.0.0.1:$port\" ];|" \
	-e "s|^  udp = .*|  udp = [ \"127.0.0.1:$port\" ];|" \
	-e "s|^  stun = .*|  stun = [ \"127.0.0.1:$((port + 1))\" ];|" \
	-e "s|^  metrics = .*|  metrics = \"\";|" /etc/cairn/relay.conf.example >/etc/cairn/relay.conf
check "cairn-relay --check on the installed configuration" /usr/bin/cairn-relay --config /etc/cairn/relay.conf --check
/usr/bin/cairn-relay --config /etc/cairn/relay.conf >"$tmp/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 50); do
	grep -q running "$tmp/relay.log" && break
	sleep 0.1
done
check "the installed relay runs" grep -q running "$tmp/relay.log"

key=$(/usr/bin/cairn join --key-only)
check "join --key-only made /etc/cairn/node.key 0600 for cairn" test "$(stat -c '%a %U' /etc/cairn/node.key)" = "600 cairn"
/usr/bin/cairn invite board1 --key "$key" -l "$tmp/net/peers.conf" >"$tmp/invite.out" 2>&1
check "invite published to the relay" grep -q "accepted" "$tmp/invite.out"
token=$(grep -o 'cairn1:[A-Za-z0-9_-]*' "$tmp/invite.out" | head -1)
check "join with the token (--start no)" /usr/bin/cairn join "$token" --start no --wait 0
check "join wrote /etc/cairn/node.conf" grep -q "Written by 'cairn join'" /etc/cairn/node.conf
check "cairn-node --check on the installed configuration" /usr/bin/cairn-node --config /etc/cairn/node.conf --check
kill "$relay_pid"
wait "$relay_pid" 2>/dev/null
relay_pid=

check "dpkg --purge" dpkg --purge cairn cairn-node cairn-relay
for p in cairn cairn-node cairn-relay; do
	check "$p gone from dpkg" fails dpkg-query -W "$p"
done
for f in /etc/cairn /var/lib/cairn /var/lib/cairn-relay /usr/bin/cairn /usr/bin/cairn-node \
	/usr/bin/cairn-relay /lib/systemd/system/cairn-node.service /usr/share/doc/cairn-node \
	/usr/share/man/man1/cairn.1.gz; do
	check "$f removed" test ! -e "$f"
done
for u in cairn cairn-relay; do
	check "user $u removed" fails getent passwd "$u"
	check "group $u removed" fails getent group "$u"
done
no_systemd_state() { ! find /var/lib/systemd -name 'cairn-*' | grep -q .; }
check "no systemd state left" no_systemd_state
echo "test_package: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
