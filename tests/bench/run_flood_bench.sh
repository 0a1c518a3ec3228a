#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Robustness benchmark in the NAT lab (tests/lab): how a node and a relay
# hold up under a handshake flood from strangers while two listed peers
# ping each other. Builds cairn, cairn-node, cairn-relay and cn_flood in
# Release (build/bench, shared with the other benchmarks; incremental) and,
# as root, prints for each target:
#   - initiations/s sent (the flood is bounded: CN_FLOOD_RATE datagrams/s for
#     CN_FLOOD_SECS s from CN_FLOOD_SOURCES source addresses, CN_FLOOD_GARBAGE
#     percent garbage: random bytes or initiation-shaped with a wrong mac1)
#     and how many the target refused by its own counters (absorbed);
#   - the target's CPU (% of one core) over the flood, and before it idle;
#   - its VmRSS before and after;
#   - the listed pair's ping loss and RTT during the flood (both directions);
#   - bytes the target answered to the strangers vs bytes it received from
#     them (cn_flood counts what comes back to its source addresses).
# Target 1 is node a's UDP sockets (its direct paths; the nodes use ICE, so
# the pair's traffic is direct); target 2 is the relay's UDP link port, with
# both nodes restarted without ICE so the pair's traffic crosses the relay.
#
# Topology (lab.sh address plan; no NAT, so strangers reach the sockets):
#   relay1  203.0.113.100     a  203.0.113.20     b  203.0.113.21
#   flood   203.0.113.200 .. 200+CN_FLOOD_SOURCES-1 (cn_flood)
#
# A benchmark, not a test: it never passes or fails on a figure. It exits
# non-zero only when it could not run (not root, a tool missing, the build
# failing, the overlay not coming up). Do not run it while another
# benchmark runs (it checks `pgrep -f bench` first).
# Settings (environment):
#   CN_FLOOD_RATE=4000      datagrams per second (initiations + garbage)
#   CN_FLOOD_SECS=20        flood duration per target
#   CN_FLOOD_SOURCES=50     source addresses (1..54)
#   CN_FLOOD_GARBAGE=20     percent of the datagrams that are garbage
set -uo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/bench
RATE=${CN_FLOOD_RATE:-4000}
SECS=${CN_FLOOD_SECS:-20}
NSRC=${CN_FLOOD_SOURCES:-50}
GARBAGE=${CN_FLOOD_GARBAGE:-20}

die() {
	echo "run_flood_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for t in cmake ping ip nft python3 timeout awk getconf ss; do
	command -v "$t" >/dev/null || die "'$t' is missing"
done
[[ $RATE =~ ^[1-9][0-9]{0,5}$ ]] || die "CN_FLOOD_RATE must be 1..999999"
[[ $SECS =~ ^[1-9][0-9]?$ ]] || die "CN_FLOOD_SECS must be 1..99"
if ! [[ $NSRC =~ ^[1-9][0-9]?$ ]] || [ "$NSRC" -gt 54 ]; then die "CN_FLOOD_SOURCES must be 1..54"; fi
if ! [[ $GARBAGE =~ ^[0-9]{1,3}$ ]] || [ "$GARBAGE" -gt 100 ]; then die "CN_FLOOD_GARBAGE must be 0..100"; fi
others=$(pgrep -f bench | grep -v -x -e "$$" -e "$PPID" || true)
for p in $others; do
	# this script and its own children are fine; anything else named *bench* is not
	[ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$$" ] && continue
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
	[[ $cmd == *run_flood_bench* ]] && continue
	[ -n "$cmd" ] && die "another benchmark runs (pid $p: $cmd); try later"
done

# ---- build (Release, shared with the other benchmarks) ---------------------------
mkdir -p "$build"
# shellcheck source=tests/bench/bench_build.sh
. "$top/tests/bench/bench_build.sh"
bench_build "$top" "$build" cairn cairn-node cairn-relay cn_flood || die "build failed"
CAIRN=$build/node/cli/cairn
NODE=$build/node/cairn-node
RELAY=$build/relay/cairn-relay
FLOOD=$build/tests/bench/cn_flood
for b in "$CAIRN" "$NODE" "$RELAY" "$FLOOD"; do
	[ -x "$b" ] || die "$b was not built"
done

# ---- the lab -----------------------------------------------------------------
export LAB_IPV6=1
# shellcheck source=tests/lab/lab.sh
. "$top/tests/lab/lab.sh"
# shellcheck source=tests/lab/cairn_lab.sh
. "$top/tests/lab/cairn_lab.sh"
lab_init

RELAY_IP=203.0.113.100
lab_public_host relay1 $RELAY_IP
lab_public_host a 203.0.113.20
lab_public_host b 203.0.113.21
lab_public_host flood 203.0.113.200
for i in $(seq 1 $((NSRC - 1))); do
	ip -n "$(lab_ns flood)" addr add "203.0.113.$((200 + i))/24" dev eth0 ||
		die "cannot add the flood's source addresses"
done
cl_network flood relay1=$RELAY_IP -- a b
sed -i 's|^\(\s*listen = {.*\) };$|\1 metrics = "127.0.0.1:9101"; };|' "$LAB_DIR/relay1.conf"
cl_start_relay relay1 || die "the relay did not start: $(tail -5 "$LAB_DIR/relay1.log")"
HZ=$(getconf CLK_TCK)

cpu_ticks() { # PID: utime + stime in clock ticks
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	s=${s##*) }
	awk '{ print $12 + $13 }' <<<"$s"
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
refused_node() { # NODE: handshakes_refused from cairn status --json
	timeout 3 "$CAIRN" status --socket "$LAB_DIR/$1.sock" --json 2>/dev/null |
		python3 -c 'import json, sys
try: print(json.load(sys.stdin).get("handshakes_refused", 0))
except Exception: print(0)'
}
refused_relay() { # the relay's handshake failures, all reasons, and rate_limited alone
	lab_exec relay1 python3 -c '
import re, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9101/metrics", timeout=3).read().decode()
tot = rl = 0
for l in t.splitlines():
    m = re.match(r"cairn_relay_handshake_failures_total\{reason=\"(\w+)\"\} (\d+)$", l)
    if m:
        tot += int(m.group(2))
        if m.group(1) == "rate_limited":
            rl += int(m.group(2))
print(tot, rl)' 2>/dev/null || echo "0 0"
}
pinger() { # FROM TO OUT: pings for the flood's duration, summary into OUT
	lab_exec "$1" ping -q -i 0.1 -W 1 -c $((SECS * 10)) "$2" >"$3" 2>&1
}
ping_line() { # FILE: "loss X%, rtt min/avg/max Y ms"
	local loss rtt
	loss=$(grep -o '[0-9.]*% packet loss' "$1" | cut -d% -f1)
	rtt=$(sed -n 's/^rtt [^=]*= \([0-9.]*\)\/\([0-9.]*\)\/\([0-9.]*\)\/.*/\1\/\2\/\3/p' "$1")
	echo "loss ${loss:-?}%, rtt min/avg/max ${rtt:-?} ms"
}

# flood_run LABEL PID REFUSED_FN TARGETS...: one measured flood.
flood_run() {
	local label=$1 pid=$2 fn=$3 t0 t1 c0 c1 r0 r1 idle0 idle1 rss0 rss1 out
	shift 3
	idle0=$(cpu_ticks "$pid")
	sleep 2
	idle1=$(cpu_ticks "$pid")
	rss0=$(rss_kb "$pid")
	r0=$($fn)
	c0=$(cpu_ticks "$pid")
	t0=${EPOCHREALTIME/./}
	pinger a 10.99.0.2 "$LAB_DIR/ping_ab.$label" &
	local pa=$!
	pinger b 10.99.0.1 "$LAB_DIR/ping_ba.$label" &
	local pb=$!
	out=$(lab_exec flood timeout $((SECS + 10)) "$FLOOD" --pubkey "$PUBKEY" --network flood \
		--src-base 203.0.113.200 --src-count "$NSRC" --rate "$RATE" --seconds "$SECS" \
		--garbage "$GARBAGE" "$@")
	t1=${EPOCHREALTIME/./}
	c1=$(cpu_ticks "$pid")
	wait "$pa" "$pb"
	r1=$($fn)
	rss1=$(rss_kb "$pid")
	echo "== $label: flood of $RATE datagrams/s for $SECS s from $NSRC addresses, $GARBAGE% garbage"
	echo "   targets: $*"
	eval "$(tr ' ' '\n' <<<"$out" | grep '=' | sed 's/^/f_/')"
	awk -v s="${f_seconds:-0}" -v i="${f_init:-0}" -v g="${f_garbage:-0}" \
		-v r0="${r0%% *}" -v r1="${r1%% *}" 'BEGIN {
		if (s <= 0) s = 1
		printf "   sent: %.0f initiations/s (valid mac1, unknown keys) + %.0f garbage/s\n", i / s, g / s
		printf "   refused by the target (its counters): %d in %.1f s = %.0f/s\n", r1 - r0, s, (r1 - r0) / s
	}'
	if [ "${r1#* }" != "$r1" ]; then
		echo "   of them rate limited per source: $((${r1#* } - ${r0#* }))"
	fi
	awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v i0="$idle0" -v i1="$idle1" -v hz="$HZ" 'BEGIN {
		printf "   CPU: %.1f%% of a core during the flood (idle before: %.1f%%)\n",
			(c1 - c0) / hz / ((t1 - t0) / 1e6) * 100, (i1 - i0) / hz / 2 * 100
	}'
	echo "   VmRSS: ${rss0:-?} kB before, ${rss1:-?} kB after"
	echo "   pair a -> b: $(ping_line "$LAB_DIR/ping_ab.$label")"
	echo "   pair b -> a: $(ping_line "$LAB_DIR/ping_ba.$label")"
	awk -v sb="${f_sent_bytes:-0}" -v rb="${f_recv_bytes:-0}" -v rn="${f_recv:-0}" 'BEGIN {
		printf "   strangers: %d bytes received by the target, %d bytes answered (%d datagrams), ratio %.4f\n",
			sb, rb, rn, sb ? rb / sb : 0
	}'
}

# ---- 1: the node, pair on a direct path ---------------------------------------------
for n in a b; do
	cl_start_node "$n"
done
for n in a b; do
	cl_wait 20 cl_relay_up "$n" || die "$n did not reach the relay"
done
# Traffic starts the sessions and ICE; the flood goes to the direct sockets.
cl_wait 20 lab_exec a ping -c 1 -W 1 10.99.0.2 >/dev/null || die "the pair does not answer"
cl_wait 40 cl_path_is a b direct || echo "(note: a -> b is $(cl_path a b), not direct)"
cl_wait 10 cl_path_is b a direct || true
PUBKEY=$("$CAIRN" pubkey -k "$LAB_DIR/a.key")
apid=$(cl_daemon_pid a)
# Unconnected UDP sockets of the node but DNS: the direct paths' (the relay
# link's socket is connected, the kernel drops strangers' datagrams to it).
ports=$(lab_exec a ss -Huanp | awk -v p="pid=$apid," 'index($0, p) && $5 ~ /\*$/ { n = split($4, x, ":"); if (x[n] != 53) print x[n] }' | sort -u)
[ -n "$ports" ] || die "node a has no UDP socket to flood"
targets=()
for p in $ports; do
	targets+=("203.0.113.20:$p")
done
echo "cairn flood benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, build $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")"
echo "pair path before the flood: a -> b $(cl_path a b), b -> a $(cl_path b a)"
flood_run node "$apid" "refused_node a" "${targets[@]}"
echo "   pair path after: a -> b $(cl_path a b), b -> a $(cl_path b a)"

# ---- 2: the relay, pair relayed -----------------------------------------------------
for n in a b; do
	cl_stop_node "$n"
	rm -rf "$LAB_DIR/$n.state"
	cl_start_node "$n" 'ice = { enabled = false; };'
done
for n in a b; do
	cl_wait 20 cl_relay_up "$n" || die "$n did not reach the relay"
done
cl_wait 20 lab_exec a ping -c 1 -W 1 10.99.0.2 >/dev/null || die "the relayed pair does not answer"
PUBKEY=$("$CAIRN" pubkey -k "$LAB_DIR/relay1.key")
echo "pair path before the flood: a -> b $(cl_path a b) $(cl_relay_of a b)"
flood_run relay "$(cl_daemon_pid relay1)" refused_relay "$RELAY_IP:443"
echo "   pair path after: a -> b $(cl_path a b) $(cl_relay_of a b)"
