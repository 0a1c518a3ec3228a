#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cairn-node --check in a temporary directory (no root, no network): a
# valid configuration passes; an unlisted key, a list signed by another
# root, a key file readable by others and a newer state copy are each
# judged as the node would at start.
# Usage: test_node_check.sh CAIRN CAIRN_NODE
set -u
CAIRN=${1:?usage: test_node_check.sh CAIRN CAIRN_NODE}
NODE=${2:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0
fail=0
check() { # NAME CMD...
	local name=$1
	shift
	if "$@" >"$tmp/cmd.out" 2>&1; then
		pass=$((pass + 1))
		echo "ok: $name"
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
		cat "$tmp/cmd.out"
	fi
	[ "$1" = grep ] || cp "$tmp/cmd.out" "$tmp/out" # the last command's output, for grep
}
fails() { ! "$@"; }

"$CAIRN" network init --name chk --dir net >/dev/null || exit 1
"$CAIRN" keygen -o node.key >/dev/null || exit 1
"$CAIRN" keygen -o other.key >/dev/null || exit 1
"$CAIRN" peers add board1 "$("$CAIRN" pubkey -k node.key)" -l net/peers.conf >/dev/null || exit 1
"$CAIRN" peers sign -l net/peers.conf >/dev/null || exit 1
mkdir -p state
conf() { # KEY LIST
	cat >node.conf <<-EOF2
		identity_key = "$tmp/$1";
		root_key = "$(cat net/root.pub)";
		peer_list = "$tmp/$2";
		state_dir = "$tmp/state";
	EOF2
}
conf node.key net/peers.conf
check "a valid configuration passes" "$NODE" --config node.conf --check
check "it names the node and serial" grep -q "node board1 of network chk, peer list serial 2" "$tmp/out"
conf other.key net/peers.conf
check "an unlisted key fails" fails "$NODE" --config node.conf --check
check "and says so" grep -q "is not in the peer list" "$tmp/out"
conf node.key net/peers.conf
chmod 644 node.key
check "a key file readable by others fails" fails "$NODE" --config node.conf --check
chmod 600 node.key
cp -r net net2
"$CAIRN" keygen -o net2/root.key --force >/dev/null
"$CAIRN" peers sign -l net2/peers.conf >/dev/null
conf node.key net2/peers.conf
check "a list signed by another root fails" fails "$NODE" --config node.conf --check
check "and says why" grep -q "signature does not match" "$tmp/out"
# A newer list in the state directory (what relays delivered) is the one in force.
cp net/peers.conf state/peers.conf
"$CAIRN" peers remove board1 -l state/peers.conf >/dev/null
"$CAIRN" peers sign -l state/peers.conf --root-key net/root.key >/dev/null
conf node.key net/peers.conf
check "the newer state copy is in force (board1 removed there)" fails "$NODE" --config node.conf --check
echo "test_node_check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
