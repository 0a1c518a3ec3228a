#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Enrolment in the NAT lab: new boards behind NATs come up with `cairn
# invite` on the admin's machine and `cairn join` on the board, nothing
# written by hand.
#   - key first: the board prints its key (join --key-only), the admin's
#     invite adds, signs and publishes, the board's join fetches and checks
#     the list, writes its configuration and key (0600) and becomes the
#     node; it reaches the cloud node by name, and the cloud node it;
#   - token first: join prints its key and waits until the admin's invite
#     with --key, then comes up;
#   - refused: a token with one character changed; an unlisted key with
#     --wait 0; a second join over an existing configuration.
# Usage: test_join.sh CAIRN CAIRN_NODE CAIRN_RELAY
set -u
CAIRN=${1:?usage: test_join.sh CAIRN CAIRN_NODE CAIRN_RELAY}
NODE=${2:?}
RELAY=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$here/lab.sh"
# shellcheck source=tests/lab/cairn_lab.sh
. "$here/cairn_lab.sh"
lab_init

D=$LAB_DIR
lab_public_host relay1 203.0.113.100
lab_public_host cloud1 203.0.113.20
lab_nat home cone 203.0.113.10 192.168.1.0/24
lab_host board3 home 192.168.1.10
lab_nat home2 symmetric 203.0.113.11 192.168.2.0/24
lab_host board4 home2 192.168.2.10
cl_network join relay1=203.0.113.100 -- cloud1
cl_resolv_conf board3
cl_resolv_conf board4
cl_start_relay relay1
cl_start_node cloud1
cl_check "cloud1 links to the relay" cl_wait 20 cl_relay_up cloud1

admin() { lab_exec cloud1 "$CAIRN" "$@"; } # the admin works on cloud1, root key beside the list
join_args() { # NODE: where a board keeps its files in the lab
	echo --key "$D/$1/node.key" --config "$D/$1/node.conf" --list "$D/$1/peers.conf" \
		--state-dir "$D/$1/state" --socket "$D/$1.sock" --start exec --node "$NODE"
}
token_of() { grep -o 'cairn1:[A-Za-z0-9_-]*' "$1" | head -1; }
mkdir -p "$D/board3" "$D/board4"

# --- key first
# shellcheck disable=SC2046
key3=$(lab_exec board3 "$CAIRN" join --key-only $(join_args board3))
cl_check "join --key-only prints a public key" test ${#key3} -eq 44
cl_check "the key file is 0600" test "$(stat -c %a "$D/board3/node.key")" = 600
admin invite board3 --key "$key3" --groups boards -l "$D/net/peers.conf" >"$D/invite3.out" 2>&1
cat "$D/invite3.out"
cl_check "invite published to relay1" grep -Eq "relay relay1: serial [0-9]+ accepted" "$D/invite3.out"
token=$(token_of "$D/invite3.out")
cl_check "invite printed a token" test -n "$token"
no_secret() { # TOKEN KEYFILE...: no key file's secret seed is inside the token's bytes
	python3 - "$@" <<-'PY'
		import base64, sys
		t = sys.argv[1][len("cairn1:"):]
		blob = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
		for f in sys.argv[2:]:
		    seed = base64.b64decode(open(f).read().strip())
		    if seed in blob or seed[:8] in blob:
		        sys.exit(1)
	PY
}
cl_check "the token holds no secret key" no_secret "$token" "$D/net/root.key" "$D/board3/node.key" "$D/relay1.key"

bad=${token:0:20}$([ "${token:20:1}" = A ] && echo B || echo A)${token:21}
# shellcheck disable=SC2046
cl_check "a mistyped token is refused" cl_fails lab_exec board3 "$CAIRN" join "$bad" $(join_args board3) --wait 0
cl_check "nothing written for a refused token" test ! -e "$D/board3/node.conf"

# A token naming another root key: the relay's genuine list does not verify.
mkdir -p "$D/fake"
cp "$D/net/peers.conf" "$D/fake/peers.conf"
"$CAIRN" keygen -o "$D/fake/root.key" >/dev/null
fake=$(admin invite fakeboard -l "$D/fake/peers.conf" --root-key "$D/fake/root.key" | grep -o 'cairn1:[A-Za-z0-9_-]*')
# shellcheck disable=SC2046
lab_exec board3 "$CAIRN" join "$fake" $(join_args board3) --wait 0 >"$D/join-fake.out" 2>&1
cat "$D/join-fake.out"
cl_check "a list not signed by the token's root key is refused" grep -q "list refused: .*signature does not match" "$D/join-fake.out"
cl_check "nothing written for an unverified list" test ! -e "$D/board3/node.conf" -a ! -e "$D/board3/peers.conf"

CL_RUN=$((CL_RUN + 1))
# shellcheck disable=SC2046
CL_PID[board3]=$(lab_spawn board3 "board3.$CL_RUN.log" "$CAIRN" join "$token" $(join_args board3) --wait 0)
ln -sf "board3.$CL_RUN.log" "$D/board3.log"
cl_check "board3 joined (verified list)" cl_wait 20 grep -q "joined network join as board3.join.cairn" "$D/board3.log"
cl_check "board3's node links to the relay" cl_wait 30 cl_relay_up board3
cl_check "board3's configuration was written by join" grep -q "Written by 'cairn join'" "$D/board3/node.conf"
cl_check "the key stays 0600" test "$(stat -c %a "$D/board3/node.key")" = 600
cl_check "board3 pings cloud1 by name" cl_wait 30 lab_exec board3 "$CAIRN" ping cloud1 -c 1 --socket "$D/board3.sock"
cl_check "cloud1 learned board3 from the relay" cl_wait 30 lab_exec cloud1 "$CAIRN" ping board3 -c 1 --socket "$D/cloud1.sock"
cl_check "board3 resolves cloud1.join.cairn" cl_wait 10 lab_exec board3 ping -c 1 -W 2 cloud1.join.cairn
admin invite board3 -l "$D/net/peers.conf" >"$D/invite3b.out" 2>&1
cl_check "invite of a listed peer prints its token again" grep -q "cairn join cairn1:" "$D/invite3b.out"
cl_check "and asks for no key" cl_fails grep -q "prints its public key" "$D/invite3b.out"
# shellcheck disable=SC2046
cl_check "a second join over the configuration is refused" cl_fails lab_exec board3 "$CAIRN" join "$token" $(join_args board3) --wait 0

# --- token first, and an unlisted key
admin invite board4 -l "$D/net/peers.conf" >"$D/invite4.out" 2>&1
cat "$D/invite4.out"
token4=$(token_of "$D/invite4.out")
# shellcheck disable=SC2046
lab_exec board4 "$CAIRN" join "$token4" $(join_args board4) --wait 0 >"$D/join4-once.out" 2>&1
cl_check "an unlisted key is refused by the relay" grep -q "refused this key" "$D/join4-once.out"
cl_check "nothing written for an unlisted key" test ! -e "$D/board4/node.conf"
CL_RUN=$((CL_RUN + 1))
# shellcheck disable=SC2046
CL_PID[board4]=$(lab_spawn board4 "board4.$CL_RUN.log" "$CAIRN" join "$token4" $(join_args board4) --wait 120)
ln -sf "board4.$CL_RUN.log" "$D/board4.log"
cl_check "join asks the admin for the key" cl_wait 20 grep -q "cairn invite NAME --key" "$D/board4.log"
key4=$(grep -o 'public key: [A-Za-z0-9+/=]*' "$D/board4.log" | head -1 | cut -d' ' -f3)
admin invite board4 --key "$key4" --groups boards -l "$D/net/peers.conf" >"$D/invite4b.out" 2>&1
cl_check "the second invite published" grep -q "accepted" "$D/invite4b.out"
cl_check "board4 joined after the invite" cl_wait 30 grep -q "joined network join as board4" "$D/board4.log"
cl_check "board4's node links to the relay" cl_wait 30 cl_relay_up board4
cl_check "board4 pings board3 by name" cl_wait 40 lab_exec board4 "$CAIRN" ping board3 -c 1 --socket "$D/board4.sock"

for n in board3 board4 cloud1; do cl_stop_node "$n"; done
cl_stop_relay relay1
cl_done
