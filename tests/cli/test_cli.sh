#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of the `cairn` command line: a network made from scratch
# without editing a file by hand, then every refusal the user can meet.
# Usage: test_cli.sh PATH_TO_CAIRN
set -u
CAIRN=${1:?usage: test_cli.sh PATH_TO_CAIRN}
work=$(mktemp -d /tmp/cn_test_cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
pass=0
fail=0

ok() { # ok NAME CMD...: CMD must succeed
	local name=$1
	shift
	if out=$("$@" 2>&1); then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name: expected success, got: $out"
	fi
}

# refused NAME PATTERN CMD...: CMD must refuse (exit 1, not a usage error's
# 2) and print PATTERN (a non-empty grep pattern).
refused() {
	local name=$1 pattern=$2 rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ -z "$pattern" ]; then
		fail=$((fail + 1))
		echo "FAIL: $name: the test gives no pattern to look for"
	elif [ "$rc" -ne 1 ]; then
		fail=$((fail + 1))
		echo "FAIL: $name: expected exit 1, got $rc: $out"
	elif ! grep -q -- "$pattern" <<<"$out"; then
		fail=$((fail + 1))
		echo "FAIL: $name: message lacks '$pattern': $out"
	else
		pass=$((pass + 1))
	fi
}

usage_error() { # usage_error NAME PATTERN CMD...: CMD must exit 2 and print PATTERN
	local name=$1 pattern=$2 rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 2 ] || ! grep -q -- "$pattern" <<<"$out"; then
		fail=$((fail + 1))
		echo "FAIL: $name: expected exit 2 and '$pattern', got $rc: $out"
	else
		pass=$((pass + 1))
	fi
}

check() { # check NAME CONDITION-CMD...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
	fi
}

# Help on every command and subcommand.
for c in "--help" "keygen --help" "pubkey --help" "network --help" "network init --help" \
	"peers --help" "peers add --help" "peers sign --help" "peers verify --help" "peers show --help" \
	"invite --help" "join --help"; do
	# shellcheck disable=SC2086
	ok "help: $c" "$CAIRN" $c
done
usage_error "unknown command" "unknown command" "$CAIRN" frobnicate

# Keys.
b1=$("$CAIRN" keygen -o board1.key)
check "keygen prints a 44-char key" test "${#b1}" -eq 44
check "key file mode 0600" test "$(stat -c %a board1.key)" = 600
check "pubkey matches keygen" test "$("$CAIRN" pubkey -k board1.key)" = "$b1"
refused "keygen refuses to overwrite" "refusing to overwrite" "$CAIRN" keygen -o board1.key
ok "keygen --force" "$CAIRN" keygen -o board1.key --force
b1=$("$CAIRN" pubkey -k board1.key)
b2=$("$CAIRN" keygen -o board2.key)
r1=$("$CAIRN" keygen -o relay1.key)
chmod 644 board2.key
refused "pubkey refuses a readable key file" "chmod 600" "$CAIRN" pubkey -k board2.key
chmod 600 board2.key

# A network from scratch.
ok "network init" "$CAIRN" network init --name demo --dir net --prefix4 10.99.0.0/24
check "root key mode 0600" test "$(stat -c %a net/root.key)" = 600
refused "network init twice" "exists" "$CAIRN" network init --name demo --dir net
refused "network init bad name" "name" "$CAIRN" network init --name "Bad_Name" --dir net2
ok "verify empty list" "$CAIRN" peers verify -l net/peers.conf
ok "add board1" "$CAIRN" peers add board1 "$b1" -l net/peers.conf --groups boards,deployers
ok "add board2" "$CAIRN" peers add board2 "$b2" -l net/peers.conf --groups boards --ipv4 10.99.0.20
ok "add relay1" "$CAIRN" peers relay-add relay1 "$r1" 192.0.2.1 -l net/peers.conf
refused "edited list is unsigned" "signature" "$CAIRN" peers verify -l net/peers.conf
refused "duplicate name" "board1" "$CAIRN" peers add board1 "$r1" -l net/peers.conf
refused "duplicate key" "key" "$CAIRN" peers add board3 "$b1" -l net/peers.conf
refused "address outside prefix" "prefix" "$CAIRN" peers add board3 "$("$CAIRN" keygen -o b3.key)" --ipv4 10.98.0.3 -l net/peers.conf
refused "bad key text" "not a public key" "$CAIRN" peers add board3 "notakey" -l net/peers.conf
ok "sign" "$CAIRN" peers sign -l net/peers.conf
out=$("$CAIRN" peers verify -l net/peers.conf)
check "verify names the serial" grep -q "serial 4" <<<"$out"
check "verify counts peers" grep -q "2 peers, 1 relays" <<<"$out"
out=$("$CAIRN" peers show -l net/peers.conf)
check "show lists board1 at .1" grep -q "board1 .*10.99.0.1 " <<<"$out"
check "show lists board2 at .20" grep -q "board2 .*10.99.0.20 " <<<"$out"
check "show says verified" grep -q "signature verified" <<<"$out"
out=$("$CAIRN" peers show -l net/peers.conf --json)
check "show --json" grep -q '"name":"board2","key":"'"$b2"'","ipv4":"10.99.0.20"' <<<"$out"

# One byte changed anywhere is refused with a clear message.
cp net/peers.conf good.conf
sed 's/10.99.0.20/10.99.0.21/' good.conf >net/peers.conf
refused "tampered list" "signature" "$CAIRN" peers verify -l net/peers.conf --root "$(cat net/root.pub)"
size=$(stat -c %s good.conf)
for off in 0 $((size / 3)) $((size / 2)) $((size - 10)); do
	cp good.conf net/peers.conf
	printf '\x01' | dd of=net/peers.conf bs=1 seek="$off" conv=notrunc status=none
	refused "byte $off flipped" "signature" "$CAIRN" peers verify -l net/peers.conf
done
cp good.conf net/peers.conf
ok "restored list verifies" "$CAIRN" peers verify -l net/peers.conf
refused "wrong root key" "signature" "$CAIRN" peers verify -l net/peers.conf --root "$b1"
refused "rollback" "rollback\|serial" "$CAIRN" peers verify -l net/peers.conf --held-serial 5
ok "held serial equal" "$CAIRN" peers verify -l net/peers.conf --held-serial 4
# An @include inside a correctly signed list (a root key holder's mistake,
# or a signer tricked into it) is refused by the include guard, after the
# signature checked out; signed here by hand as cairn peers sign refuses it.
sign_body() { # FILE: replaces FILE's signature line with the root key's signature of the rest
	python3 - "$1" net/root.key <<-'PY'
		import base64, sys
		from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
		path, keyfile = sys.argv[1], sys.argv[2]
		body = open(path, "rb").read()
		body = body[: body.index(b"# cairn-signature: ")]
		seed = base64.b64decode(open(keyfile).read().strip())
		sig = Ed25519PrivateKey.from_private_bytes(seed).sign(b"cairn peerlist signature v1\0" + body)
		open(path, "wb").write(body + b"# cairn-signature: ed25519 " + base64.b64encode(sig) + b"\n")
	PY
}
cp good.conf net/peers.conf
sign_body net/peers.conf
ok "the hand signer signs like cairn" cmp -s good.conf net/peers.conf
sed 's|^peers = ($|@include "/etc/passwd"\npeers = (|' good.conf >net/peers.conf
sign_body net/peers.conf
refused "include in a signed list refused by the guard" "'@include' is not allowed" \
	"$CAIRN" peers verify -l net/peers.conf
printf '@include "/etc/passwd"\n' >>good.conf.tail
cat good.conf good.conf.tail >net/peers.conf
refused "bytes after the signature line refused" "follow the signature line" \
	"$CAIRN" peers verify -l net/peers.conf
cp good.conf net/peers.conf

# Removal, expiry.
ok "remove board2" "$CAIRN" peers remove board2 -l net/peers.conf
refused "remove unknown" "board9" "$CAIRN" peers remove board9 -l net/peers.conf
ok "sign with expiry" "$CAIRN" peers sign -l net/peers.conf --expires-in 30
out=$("$CAIRN" peers show -l net/peers.conf)
check "board2 gone" test "$(grep -c board2 <<<"$out")" -eq 0
check "expiry shown" grep -q "expires 20" <<<"$out"
ok "signed list with expiry verifies" "$CAIRN" peers verify -l net/peers.conf

# Enrolment without a network connection: what invite and join refuse
# before any relay is asked (the lab's test_join runs the whole flow).
usage2() { "$@" >/dev/null 2>&1; [ $? -eq 2 ]; } # CMD...: exits 2 (usage)
ok "join --key-only" "$CAIRN" join --key-only --key "$work/j/node.key"
check "join --key-only: 0600" test "$(stat -c %a "$work/j/node.key")" = 600
k1=$("$CAIRN" join --key-only --key "$work/j/node.key")
check "join --key-only again: the same key" test "$k1" = "$("$CAIRN" pubkey -k "$work/j/node.key")"
check "join: no token is a usage error (2)" usage2 "$CAIRN" join
refused "join: garbage" "not a cairn token" "$CAIRN" join "cairn1:AAAA" --config "$work/j/node.conf"
refused "join: other text" "not a cairn token" "$CAIRN" join "hello" --config "$work/j/node.conf"
check "join: a bad --start is a usage error (2)" usage2 "$CAIRN" join x --start maybe
check "join wrote no configuration" test ! -e "$work/j/node.conf"
check "invite: a bad name is a usage error (2)" usage2 "$CAIRN" invite Board -l net/peers.conf
refused "invite: bad key" "not a public key" "$CAIRN" invite board7 --key nope -l net/peers.conf
cp net/peers.conf inv.conf
cp net/root.key net/root.pub .
"$CAIRN" peers relay-remove relay1 -l inv.conf >/dev/null 2>&1
refused "invite: a list without relays" "has no relay" "$CAIRN" invite board7 --key "$k1" -l inv.conf
before=$(sha256sum net/peers.conf)
refused "invite: a taken name" "board1" "$CAIRN" invite board1 --key "$k1" -l net/peers.conf --no-publish
check "a refused invite changes nothing" test "$before" = "$(sha256sum net/peers.conf)"
ok "invite --no-publish" "$CAIRN" invite board7 --key "$k1" --groups boards -l net/peers.conf --no-publish
check "invite prints a token" grep -q "cairn join cairn1:" <<<"$out"
ok "the invited list verifies" "$CAIRN" peers verify -l net/peers.conf
check "board7 is in it" grep -q '"name":"board7"' <<<"$("$CAIRN" peers show -l net/peers.conf --json)"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
