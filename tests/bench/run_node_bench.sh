#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cairn-node benchmark in the NAT lab (tests/lab). Builds cairn, cairn-node
# and cairn-relay in Release (build/release; incremental) and, as root,
# prints in one run, side by side on the same two hosts:
#   - iperf3 board -> cloud: one TCP stream, 4 TCP streams (Mbit/s at the
#     receiver) and UDP flat out (-u -b 0, 1300-byte payload; datagrams/s
#     received), and ping RTT (min/avg/max) with no load (0.05 s apart, and
#     the average 2 ms apart and back to back on one CPU), over
#       raw         the underlay: board connects to cloud's public address
#                   through its NAT (no overlay);
#       wg-go       wireguard-go from Debian's package (the baseline; static
#                   endpoints, board -> cloud's public address, its default
#                   MTU 1420), when installed (apt-get install wireguard-go
#                   wireguard-tools);
#       direct      cairn's direct path (overlay addresses, ICE on), with
#                   the node's default data path (offloads, UDP GSO/GRO,
#                   crypto workers: dataplane defaults);
#       relayed     cairn's relayed path: both nodes restarted with
#                   `ice = { enabled = false; };` and fresh state, so every
#                   packet crosses the relay;
#       direct-old, relayed-old  the same with the old single-packet data
#                   path (`dataplane = { offload = false; udp_gso = false;
#                   workers = 1; };`): before and after in one run;
#     with the ratio of each path to raw and to wireguard-go, and each
#     daemon's CPU use (and the relay's) during the one-stream transfer;
#   - the wake-up floor at the same three cadences (cn_wakefloor, no
#     overlay): what passing a datagram between sleeping processes costs
#     on this machine, four times, as a ping over any userspace overlay
#     does and raw does not, so the RTT lines can be read on any host;
#   - start-up times, from spawning the nodes: each relay link up, the first
#     answered ping board -> cloud (ping -D timestamps), and the direct path
#     as each side's `cairn status` shows it (polled every 50 ms);
#   - each daemon's VmRSS idle before the transfers and after them (and the
#     peak VmHWM), per path, and the relay's;
#   - the counters that explain a figure: UDP buffer errors and IP
#     fragmentation (/proc/net/snmp) in every namespace on the way, TUN
#     drops, cairn's drop counters (`cairn status --json`) and the relay's
#     (/metrics), as deltas over each transfer.
#
# Topology (lab.sh address plan):
#   relay1  public   203.0.113.100  (cairn-relay, UDP+TCP 443, STUN 3478)
#   cloud   public   203.0.113.20   node A, iperf3 server
#   board   192.168.1.10 behind r_board, a port-restricted cone NAT
#           (203.0.113.30)          node B, iperf3 client and pinger
#
# A benchmark, not a test: it never passes or fails on a figure. It exits
# non-zero only when it could not run (not root, a tool missing, the build
# failing, the relay or the overlay not coming up at all).
# Settings (environment):
#   CN_BENCH_SECS=5        iperf3 duration per path
#   CN_BENCH_PINGS=50      pings per path, 0.05 s apart (each path then gets
#                          10x as many 2 ms apart, which keep the CPUs from
#                          idling long, and 20x as many back to back with
#                          ping and the daemons on CPU 0: the RTTs apart
#                          show what waking each process from an idle CPU,
#                          and waking it on another CPU, cost)
#   CN_BENCH_WAIT_QUIET=30 before each transfer, wait up to this many seconds
#                          for other processes to use < 10% of a core (0: off)
#   CN_BENCH_TUN_MTU=      the nodes' tun.mtu (default: the node's, 1340), e.g.
#                          1340 to see the relayed path without fragmentation
#   CN_BENCH_OLD=1         also measure the old single-packet path (0: skip)
#   CN_BENCH_DATAPLANE=    settings for the nodes' dataplane section on the
#                          default rows, e.g. "workers = 1;" or "udp_gso = false;"
#                          (default: none, the node's defaults)
#   CN_BENCH_RELAYED=1     also measure the relayed path (0: skip phase 2)
#   CN_BENCH_ANCHORS=1     measure raw and wireguard-go (0: skip them; the ratios
#                          and "RTT over raw" then print as -)
#   CN_BENCH_PERF=         a directory: `perf record -g` of both daemons during
#                          the direct one-stream transfer and the direct pings
#                          (DIR/direct.A.data, direct.B.data, ping.A.data,
#                          ping.B.data; perf report -i FILE); the figures of
#                          those rows then include perf's overhead
set -uo pipefail
export LC_ALL=C # ping's and EPOCHREALTIME's decimal point

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/release
SECS=${CN_BENCH_SECS:-5}
PINGS=${CN_BENCH_PINGS:-50}
QUIET=${CN_BENCH_WAIT_QUIET:-30}
TUN_MTU=${CN_BENCH_TUN_MTU:-}
OLD=${CN_BENCH_OLD:-1}
DATAPLANE=${CN_BENCH_DATAPLANE:-}
RELAYED=${CN_BENCH_RELAYED:-1}
ANCHORS=${CN_BENCH_ANCHORS:-1}
PERFDIR=${CN_BENCH_PERF:-}

die() {
	echo "run_node_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
for t in cmake iperf3 ping ip nft python3 timeout awk getconf taskset; do
	command -v "$t" >/dev/null || die "'$t' is missing (deploy/scripts/install-deps.sh; iperf3: apt-get install iperf3)"
done
[[ $SECS =~ ^[1-9][0-9]?$ ]] || die "CN_BENCH_SECS must be 1..99"
[[ $PINGS =~ ^[1-9][0-9]{0,3}$ ]] || die "CN_BENCH_PINGS must be 1..9999"
[[ $QUIET =~ ^[0-9]{1,4}$ ]] || die "CN_BENCH_WAIT_QUIET must be a number of seconds"
[[ $TUN_MTU =~ ^([0-9]{4})?$ ]] || die "CN_BENCH_TUN_MTU must be 1280..9000"
[[ $OLD =~ ^[01]$ ]] || die "CN_BENCH_OLD must be 0 or 1"
[[ $DATAPLANE =~ ^([a-z_]+\ *=\ *[a-z0-9]+\;\ *)*$ ]] ||
	die "CN_BENCH_DATAPLANE must be settings such as 'workers = 1; offload = false;'"
[[ $RELAYED =~ ^[01]$ ]] || die "CN_BENCH_RELAYED must be 0 or 1"
[[ $ANCHORS =~ ^[01]$ ]] || die "CN_BENCH_ANCHORS must be 0 or 1"
if [ -n "$PERFDIR" ]; then
	command -v perf >/dev/null || die "CN_BENCH_PERF needs perf (apt-get install linux-perf)"
	mkdir -p "$PERFDIR" || die "cannot create $PERFDIR"
fi
WGGO=$(command -v wireguard-go) && WG=$(command -v wg) || WGGO=""

# ---- build (Release) ------------------------------------------------------------
mkdir -p "$build"
blog=$(mktemp /tmp/cn_node_bench_build.XXXXXX)
b0=${EPOCHREALTIME/./}
if ! cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCN_TESTS=ON >"$blog" 2>&1 ||
	! cmake --build "$build" -j "$(nproc)" --target cairn cairn-node cairn-relay cn_wakefloor >>"$blog" 2>&1; then
	tail -40 "$blog" >&2
	rm -f "$blog"
	die "build failed"
fi
rm -f "$blog"
b1=${EPOCHREALTIME/./}
CAIRN=$build/node/cli/cairn
NODE=$build/node/cairn-node
RELAY=$build/relay/cairn-relay
WAKEFLOOR=$build/tests/bench/cn_wakefloor
for b in "$CAIRN" "$NODE" "$RELAY"; do
	[ -x "$b" ] || die "$b was not built"
done

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
btype=$(cache CMAKE_BUILD_TYPE)
bsan=$(cache CN_SANITIZE)
bflags=$(cache CMAKE_C_FLAGS_RELEASE)
if ldd "$NODE" "$RELAY" 2>/dev/null | grep -Eq 'lib(asan|ubsan|tsan)'; then
	sanlib="sanitizer runtime LINKED"
else
	sanlib="no sanitizer runtime linked"
fi

# ---- the lab -----------------------------------------------------------------
export LAB_IPV6=1 # the overlay's TUN devices want IPv6
# shellcheck source=tests/lab/lab.sh
. "$top/tests/lab/lab.sh"
# shellcheck source=tests/lab/cairn_lab.sh
. "$top/tests/lab/cairn_lab.sh"
lab_init

RELAY_IP=203.0.113.100
CLOUD_IP=203.0.113.20
lab_public_host relay1 $RELAY_IP
lab_public_host cloud $CLOUD_IP
lab_nat r_board cone 203.0.113.30 192.168.1.0/24
lab_host board r_board 192.168.1.10 # checks the NAT (stun): sets LAB_V_*
NATCHECK="board's NAT checked: $LAB_V_MAPPED, filtering $LAB_V_FILTER"
cl_network bench relay1=$RELAY_IP -- cloud board
# The relay's metrics, on its namespace's loopback.
sed -i 's|^\(\s*listen = {.*\) };$|\1 metrics = "127.0.0.1:9101"; };|' "$LAB_DIR/relay1.conf"
grep -q 'metrics = ' "$LAB_DIR/relay1.conf" || die "could not add metrics to the relay's configuration"
cl_start_relay relay1 || die "the relay did not start: $(tail -5 "$LAB_DIR/relay1.log")"

HZ=$(getconf CLK_TCK)
FATAL=""

# ---- small helpers -------------------------------------------------------------
now_ms() { # sets NOW (ms, wall clock; no fork)
	local t=${EPOCHREALTIME/./}
	NOW=$((10#$t / 1000))
}

status_of() { # NODE [--json]: cairn status over the node's control socket
	timeout 3 "$CAIRN" status --socket "$LAB_DIR/$1.sock" "${@:2}" 2>/dev/null
}

path_of() { # NODE PEER
	status_of "$1" | awk -v p="$2" '$1 == p { print $3 }'
}

cpu_ticks() { # PID: utime + stime, clock ticks (0 when gone or none)
	local s
	[ -n "$1" ] || {
		echo 0
		return
	}
	s=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	s=${s##*) }
	awk '{ print $12 + $13 }' <<<"$s"
}

mem_of() { # PID: "VmRSS VmHWM" in KiB
	[ -n "$1" ] || {
		echo "0 0"
		return
	}
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' \
		"/proc/$1/status" 2>/dev/null || echo "0 0"
}

# dpid PID: the daemon a lab_spawn wrapper (cl_start_*: bash around it) runs.
dpid() {
	local p=$1 c i
	for ((i = 0; i < 3; i++)); do
		c=$(pgrep -P "$p" | head -1) || break
		[ -n "$c" ] || break
		p=$c
	done
	echo "$p"
}

# The daemons whose CPU a row reports: A (cloud), B (board), the relay.
PID_A="" PID_B="" PID_R=""

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# steal_ticks: time the hypervisor gave this machine's vCPUs to others (in busy_ticks)
steal_ticks() { awk '/^cpu / { print $9; exit }' /proc/stat; }

# wait_quiet: up to $QUIET s until the whole machine (the lab's idle
# daemons included) uses under 10% of one core over 0.5 s.
QUIET_NOTE=""
wait_quiet() {
	local deadline b0 b1 used=0
	[ "$QUIET" -gt 0 ] || return 0
	deadline=$(($(date +%s) + QUIET))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		b0=$(busy_ticks)
		sleep 0.5
		b1=$(busy_ticks)
		used=$(((b1 - b0) * 200 / HZ)) # percent of one core
		[ "$used" -lt 10 ] && return 0
	done
	QUIET_NOTE+=" $1:${used}%"
}

# snap FILE: the counters that explain a figure, one "key value" a line.
SNAP_NS=(board r_board inet relay1 cloud)
snap() {
	local n
	: >"$1"
	for n in "${SNAP_NS[@]}"; do
		lab_exec "$n" cat /proc/net/snmp | awk -v n="$n" '
			NR % 2 == 1 { split($0, h); next }
			{ p = h[1]; sub(":", "", p); for (i = 2; i <= NF; i++) print n "." p "." h[i], $i }' >>"$1"
	done
	for n in board cloud; do
		printf '%s.tun.rx_dropped %s\n%s.tun.tx_dropped %s\n' \
			"$n" "$(lab_exec "$n" cat /sys/class/net/cairn0/statistics/rx_dropped 2>/dev/null || echo 0)" \
			"$n" "$(lab_exec "$n" cat /sys/class/net/cairn0/statistics/tx_dropped 2>/dev/null || echo 0)" >>"$1"
		status_of "$n" --json | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for k, v in d.get("drops", {}).items():
    print("%s.node.drop_%s %d" % (sys.argv[1], k, v))
print("%s.node.path_changes %d" % (sys.argv[1], d.get("path_changes", 0)))
print("%s.node.handshakes_refused %d" % (sys.argv[1], d.get("handshakes_refused", 0)))' "$n" >>"$1"
	done
	lab_exec relay1 python3 -c '
import re, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9101/metrics", timeout=3).read().decode()
for l in t.splitlines():
    m = re.match(r"cairn_relay_(drops_total|packets_forwarded_total|bytes_forwarded_total|backpressure_pauses_total|not_here_total)(?:\{reason=\"(\w+)\"\})? (\d+)$", l)
    if m:
        print("relay1.relay.%s%s %s" % (m.group(1), "." + m.group(2) if m.group(2) else "", m.group(3)))' \
		>>"$1" 2>/dev/null || true
}

# diag PRE POST: the deltas worth a look, nonzero only.
diag() {
	awk '
		NR == FNR { pre[$1] = $2; next }
		{
			d = $2 - pre[$1]
			if (d == 0) next
			if ($1 ~ /\.Ip\.(Reasm|Frag|InDiscards|OutDiscards)/ ||
			    $1 ~ /\.Udp\.(InErrors|RcvbufErrors|SndbufErrors|NoPorts)/ ||
			    $1 ~ /\.(tun|node)\./ || $1 ~ /\.relay\./)
				printf "%s %+d\n", $1, d
		}' "$1" "$2"
}

# ping_summary OUTPUT: ping's summary as "min avg max loss%" (or "- - - 100%");
# the whole output goes to pings.log.
ping_summary() {
	local rtt loss
	echo "$1" >>"$LAB_DIR/pings.log"
	loss=$(grep -o '[0-9.]*% packet loss' <<<"$1" | grep -o '^[0-9.]*') || loss=100
	rtt=$(grep -o 'min/avg/max/mdev = [0-9./]*' <<<"$1" | awk -F'[=/ ]+' '{ print $5, $6, $7 }') ||
		rtt="- - -"
	[ -n "$rtt" ] || rtt="- - -"
	echo "$rtt ${loss:-100}%"
}

ping_stats() { # FROM DEST COUNT GAP
	ping_summary "$(lab_exec "$1" ping -n -q -c "$3" -i "$4" -W 1 "$2" 2>&1)"
}

# ping_pinned DEST: $((PINGS * 20)) pings back to back (ping -f) with ping
# and every thread of the row's daemons on CPU 0, so no wake-up crosses
# CPUs and none waits for an idle vCPU: what the daemons' own work adds to
# a round trip. The affinity is restored after.
ping_pinned() {
	local p pids="" out
	for p in "$PID_A" "$PID_B" "$PID_R"; do
		[ -n "$p" ] && taskset -a -p -c 0 "$p" >/dev/null 2>&1 && pids+=" $p"
	done
	out=$(lab_exec board taskset -c 0 ping -n -q -f -c $((PINGS * 20)) -W 1 "$1" 2>&1)
	for p in $pids; do
		taskset -a -p -c "0-$(($(nproc) - 1))" "$p" >/dev/null 2>&1
	done
	ping_summary "$out"
}

# perf_on TAG / perf_off: perf record -g of both daemons into $PERFDIR/TAG.{A,B}.data
# while the caller measures (only with CN_BENCH_PERF and only on the direct row).
PERF_PIDS="" ROW_NOW=""
perf_on() {
	local w
	PERF_PIDS=""
	[ -n "$PERFDIR" ] && [ "$ROW_NOW" = direct ] || return 0
	for w in A B; do
		local pid
		[ $w = A ] && pid=$PID_A || pid=$PID_B
		[ -n "$pid" ] || continue
		perf record -q -g -F 2000 -p "$pid" -o "$PERFDIR/$1.$w.data" >"$PERFDIR/$1.$w.log" 2>&1 &
		PERF_PIDS+=" $!"
	done
	sleep 0.3 # perf attached
}
perf_off() {
	local p
	for p in $PERF_PIDS; do
		kill -INT "$p" 2>/dev/null
	done
	for p in $PERF_PIDS; do
		timeout 20 tail --pid="$p" -f /dev/null
	done
	PERF_PIDS=""
}

# iperf_row ROW DEST [IPERF3 ARGS]: iperf3 board -> cloud (server in cloud);
# sets BW[ROW] (Mbit/s at the receiver), PPS[ROW] (UDP: datagrams/s
# received), RETR[ROW], CPU[ROW], DIAG[ROW].
declare -A BW=() PPS=() RETR=() CPU=() DIAG=() PING=() PINGB=() PINGF=() PATHSEEN=() MEM=()
iperf_row() {
	local row=$1 dest=$2 srv i c0a c0b c0r c1a c1b c1r m0 m1 s0 s1 t0 t1 out
	shift 2
	wait_quiet "$row"
	snap "$LAB_DIR/snap.$row.pre"
	srv=$(lab_spawn cloud "iperf3.$row.server.log" iperf3 -s -1 -p 5201)
	for ((i = 0; i < 100; i++)); do
		grep -q "listening" "$LAB_DIR/iperf3.$row.server.log" 2>/dev/null && break
		sleep 0.05
	done
	c0a=$(cpu_ticks "$PID_A") c0b=$(cpu_ticks "$PID_B") c0r=$(cpu_ticks "$PID_R")
	[ "$row" != "$ROW_NOW" ] || perf_on "$row"
	m0=$(busy_ticks) s0=$(steal_ticks)
	now_ms
	t0=$NOW
	lab_exec board timeout $((SECS + 20)) iperf3 -c "$dest" -p 5201 -t "$SECS" -J "$@" \
		>"$LAB_DIR/iperf3.$row.json" 2>"$LAB_DIR/iperf3.$row.err"
	now_ms
	t1=$NOW
	c1a=$(cpu_ticks "$PID_A") c1b=$(cpu_ticks "$PID_B") c1r=$(cpu_ticks "$PID_R")
	m1=$(busy_ticks) s1=$(steal_ticks)
	perf_off
	lab_kill "$srv" >/dev/null 2>&1
	snap "$LAB_DIR/snap.$row.post"
	out=$(python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    e = d["end"]
    c = e.get("cpu_utilization_percent", {})
    r = e["sum_received"]
    bps = r["bits_per_second"]
    if d["start"]["test_start"]["protocol"] == "UDP":
        # datagrams received of 1300 bytes each; "retr": those lost
        pps = "%.0f" % (r["bytes"] / 1300 / r["seconds"])
        retr = e.get("sum", {}).get("lost_packets", 0)
    else:
        retr = e["sum_sent"].get("retransmits", 0)
        pps = "-"
    print("%.0f %d %.0f %.0f %s" % (bps / 1e6, retr, c.get("host_total", -1),
          c.get("remote_total", -1), pps))
except Exception as x:
    print("- - - - -")' "$LAB_DIR/iperf3.$row.json")
	local isnd ircv
	read -r "BW[$row]" "RETR[$row]" isnd ircv "PPS[$row]" <<<"$out"
	if [ "${BW[$row]}" = - ]; then
		echo "# $row: iperf3 failed: $(grep -o '"error":.*' "$LAB_DIR/iperf3.$row.json" | head -1)$(tail -2 "$LAB_DIR/iperf3.$row.err")"
	fi
	local dt=$((t1 - t0))
	((dt > 0)) || dt=1
	# % of one core: daemon A, B, relay, iperf3 sender, receiver; then
	# the whole machine in % of all its CPUs (anything else running shows
	# here) and, of that, the steal time (the hypervisor ran something else).
	CPU[$row]=$(awk -v a=$((c1a - c0a)) -v b=$((c1b - c0b)) -v r=$((c1r - c0r)) -v m=$((m1 - m0)) \
		-v st=$((s1 - s0)) -v hz="$HZ" -v dt="$dt" -v n="$(nproc)" -v is="$isnd" -v ir="$ircv" '
		function pc(t) { return sprintf("%.0f", t * 100000 / hz / dt) }
		function pm(t) { return sprintf("%.0f", t * 100000 / hz / dt / n) }
		BEGIN { print pc(a), pc(b), pc(r), is, ir, pm(m), pm(st) }')
	DIAG[$row]=$(diag "$LAB_DIR/snap.$row.pre" "$LAB_DIR/snap.$row.post")
}

# startup TAG ICE: starts cloud and board (fresh state), pings cloud from
# board (ping -D -i 0.02) as soon as board's TUN is up, and polls both
# nodes' `cairn status` every 50 ms (at most 30 s). Sets T_* (ms after the
# first node was spawned; "-" when not seen).
startup() {
	local tag=$1 ice=$2 extra="" i t line ts sb sa pp="" respawn=0 logf
	[ "$ice" = 1 ] || extra='ice = { enabled = false; };'
	rm -rf "$LAB_DIR/cloud.state" "$LAB_DIR/board.state"
	[ -z "$DATAPLANE" ] || [ "${CL_DATAPLANE:-}" = off ] ||
		extra+=" dataplane = { $DATAPLANE };"
	cl_node_conf cloud "$extra"
	cl_node_conf board "$extra"
	if [ -n "$TUN_MTU" ]; then
		sed -i "s|^\(\s*tun = { name = \"cairn0\";\) };|\1 mtu = $TUN_MTU; };|" \
			"$LAB_DIR/cloud.conf" "$LAB_DIR/board.conf"
		grep -q "mtu = $TUN_MTU" "$LAB_DIR/board.conf" || die "could not set tun.mtu"
	fi
	T_RELAY_A=- T_RELAY_B=- T_TUN_B=- T_FIRST=- T_DIRECT_B=- T_DIRECT_A=- T_GAP=0
	now_ms
	T0=$NOW
	cl_start_node cloud
	now_ms
	T_GAP=$((NOW - T0))
	cl_start_node board
	for ((i = 0; i < 1000; i++)); do # board's TUN up with its address (10 s)
		ip -n "$(lab_ns board)" -4 -o addr show dev cairn0 up 2>/dev/null | grep -q "inet " && break
		sleep 0.01
	done
	now_ms
	T_TUN_B=$((NOW - T0))
	logf=$LAB_DIR/startping.$tag.log
	for ((i = 0; i < 600; i++)); do # 30 s in 50 ms steps
		now_ms
		t=$((NOW - T0))
		if [ "$T_FIRST" = - ] && { [ -z "$pp" ] || ! kill -0 "$pp" 2>/dev/null; } && [ $respawn -lt 20 ]; then
			respawn=$((respawn + 1))
			pp=$(lab_spawn board "startping.$tag.$respawn.log" ping -n -D -O -i 0.02 -W 1 -w 30 "$CLOUD_OV")
			ln -sf "startping.$tag.$respawn.log" "$logf"
		fi
		sb=$(status_of board)
		sa=$(status_of cloud)
		[ "$T_RELAY_B" != - ] || ! grep -q "^relay .*: up" <<<"$sb" || T_RELAY_B=$t
		[ "$T_RELAY_A" != - ] || ! grep -q "^relay .*: up" <<<"$sa" || T_RELAY_A=$t
		if [ "$T_FIRST" = - ]; then
			line=$(grep -m1 "bytes from" "$logf" 2>/dev/null) || line=
			if [ -n "$line" ]; then
				ts=${line#[}
				ts=${ts%%]*}
				T_FIRST=$((10#${ts/./} / 1000 - T0))
			fi
		fi
		[ "$T_DIRECT_B" != - ] || [ "$(awk '$1 == "cloud" { print $3 }' <<<"$sb")" != direct ] || T_DIRECT_B=$t
		[ "$T_DIRECT_A" != - ] || [ "$(awk '$1 == "board" { print $3 }' <<<"$sa")" != direct ] || T_DIRECT_A=$t
		if [ "$T_FIRST" != - ] && [ "$T_RELAY_A" != - ] && [ "$T_RELAY_B" != - ]; then
			[ "$ice" = 0 ] && break
			[ "$T_DIRECT_A" != - ] && [ "$T_DIRECT_B" != - ] && break
		fi
		sleep 0.05
	done
	[ -z "$pp" ] || lab_kill "$pp" >/dev/null 2>&1
	# Pings answered of those sent (the highest icmp_seq seen) while starting.
	T_PINGS=$(cat "$LAB_DIR"/startping."$tag".*.log 2>/dev/null | awk '
		match($0, /icmp_seq=[0-9]+/) {
			q = substr($0, RSTART + 9, RLENGTH - 9) + 0
			if (q > max) max = q
			if (/bytes from/ && !(q in seen)) { seen[q] = 1; n++ }
		}
		END { printf "%d/%d", n, max }')
	START_VIA=$(grep -m1 -o "session established via [a-z]*" "$LAB_DIR/board.log" | awk '{ print $4 }')
}

# measure ROW DEST: ping (no load), then iperf3 one stream, 4 streams and
# UDP; the overlay rows note the path board's status shows before and
# after, and the daemons' memory idle before and after the load.
measure() {
	local row=$1 dest=$2 p0="" p1="" ma0 mb0 ma1 mb1 ha hb
	case $row in raw | wg-go) ;; *) p0=$(path_of board cloud) ;; esac
	read -r ma0 _ <<<"$(mem_of "$PID_A")"
	read -r mb0 _ <<<"$(mem_of "$PID_B")"
	ROW_NOW=$row
	perf_on ping
	PING[$row]=$(ping_stats board "$dest" "$PINGS" 0.05)
	PINGB[$row]=$(ping_stats board "$dest" $((PINGS * 10)) 0.002)
	PINGF[$row]=$(ping_pinned "$dest")
	perf_off
	iperf_row "$row" "$dest"
	iperf_row "$row.p4" "$dest" -P 4
	iperf_row "$row.udp" "$dest" -u -b 0 -l 1300
	sleep 2 # idle again
	read -r ma1 ha <<<"$(mem_of "$PID_A")"
	read -r mb1 hb <<<"$(mem_of "$PID_B")"
	MEM[$row]="$ma0 $ma1 $ha $mb0 $mb1 $hb"
	case $row in raw | wg-go) p1=${p0:-} ;; *) p1=$(path_of board cloud) ;; esac
	if [ "$row" = raw ]; then
		PATHSEEN[$row]="underlay"
	elif [ "$row" = wg-go ]; then
		PATHSEEN[$row]="direct"
	elif [ "$p0" = "$p1" ]; then
		PATHSEEN[$row]=$p0
	else
		PATHSEEN[$row]="$p0->$p1"
	fi
}

nodes_pids() {
	PID_A=$(dpid "${CL_PID[cloud]}") PID_B=$(dpid "${CL_PID[board]}") PID_R=$(dpid "${CL_PID[relay1]}")
}

# wg_row: wireguard-go on cloud (wgc, 10.98.0.1) and board (wgb, 10.98.0.2),
# board -> cloud's public address through the NAT, keys made for the run.
wg_row() {
	local ka kb pa pb wa wb i
	ka=$("$WG" genkey) kb=$("$WG" genkey)
	pa=$("$WG" pubkey <<<"$ka") pb=$("$WG" pubkey <<<"$kb")
	printf '%s\n' "$ka" >"$LAB_DIR/wg.a.key"
	printf '%s\n' "$kb" >"$LAB_DIR/wg.b.key"
	chmod 600 "$LAB_DIR"/wg.?.key
	export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 # Debian's wireguard-go refuses Linux otherwise
	wa=$(lab_spawn cloud wg.cloud.log "$WGGO" -f wgc)
	wb=$(lab_spawn board wg.board.log "$WGGO" -f wgb)
	for ((i = 0; i < 100; i++)); do
		[ -S /var/run/wireguard/wgc.sock ] && [ -S /var/run/wireguard/wgb.sock ] && break
		sleep 0.05
	done
	lab_exec cloud "$WG" set wgc private-key "$LAB_DIR/wg.a.key" listen-port 51820 \
		peer "$pb" allowed-ips 10.98.0.2/32 &&
		lab_exec board "$WG" set wgb private-key "$LAB_DIR/wg.b.key" \
			peer "$pa" endpoint "$CLOUD_IP:51820" allowed-ips 10.98.0.1/32 persistent-keepalive 5 &&
		lab_exec cloud ip addr add 10.98.0.1/24 dev wgc && lab_exec cloud ip link set wgc up &&
		lab_exec board ip addr add 10.98.0.2/24 dev wgb && lab_exec board ip link set wgb up ||
		echo "# wg-go: could not configure wireguard-go: $(tail -3 "$LAB_DIR/wg.board.log")"
	lab_exec board ping -n -q -c 3 -i 0.2 -W 1 10.98.0.1 >/dev/null 2>&1 # handshake
	PID_A=$wa PID_B=$wb PID_R=""
	measure wg-go 10.98.0.1
	lab_kill "$wa" >/dev/null 2>&1
	lab_kill "$wb" >/dev/null 2>&1
}

# ---- raw and wireguard-go (cairn not running; the relay idles) --------------------
PID_R=$(dpid "${CL_PID[relay1]}")
if [ "$ANCHORS" = 1 ]; then
	measure raw "$CLOUD_IP"
	[ -z "$WGGO" ] || wg_row
fi

# ---- the wake-up floor (no overlay; cairn not running) -----------------------------
# floor GAP_US COUNT [CPU]: twice cn_wakefloor's average round trip on
# board's loopback, in ms ("-" if it failed): the 4 wake-ups a ping over
# a userspace overlay makes and the raw path does not, at that cadence.
floor() {
	local out avg
	out=$(lab_exec board "$WAKEFLOOR" "$2" "$1" ${3:+"$3"} 2>&1)
	echo "$1 us apart: $out" >>"$LAB_DIR/wakefloor.log"
	avg=$(grep -o 'avg_us=[0-9.]*' <<<"$out" | cut -d= -f2)
	[ -n "$avg" ] || { echo -; return; }
	awk -v a="$avg" 'BEGIN { printf "%.3f", 2 * a / 1000 }'
}
FLOOR=$(floor 50000 "$PINGS")
FLOORB=$(floor 2000 $((PINGS * 10)))
FLOORF=$(floor 0 $((PINGS * 20)) 0)

# ---- phase 1: ICE on -------------------------------------------------------------
CLOUD_OV=10.99.0.1 # cl_network numbers the nodes in order
startup ice 1
nodes_pids
S_RELAY_A=$T_RELAY_A S_RELAY_B=$T_RELAY_B S_TUN_B=$T_TUN_B S_FIRST=$T_FIRST S_GAP=$T_GAP
S_DIRECT_A=$T_DIRECT_A S_DIRECT_B=$T_DIRECT_B S_VIA=$START_VIA S_PINGS=$T_PINGS
DPLINE=$(grep -m1 -o "dataplane: .*" "$LAB_DIR/board.log")
if [ "$S_FIRST" = - ]; then
	FATAL="no ping answered over the overlay within 30 s (ICE on)"
else
	ov=$(status_of cloud --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ipv4"])' 2>/dev/null) &&
		[ "$ov" = "$CLOUD_OV" ] || echo "# note: cloud's overlay address is '$ov', expected $CLOUD_OV"
	measure direct "$CLOUD_OV"
fi
cl_stop_node cloud
cl_stop_node board
# What the crypto pool did (each node logs it when it stops).
POOL_A=$(grep -o "dataplane: crypto batches.*" "$LAB_DIR/cloud.log" | tail -1)
POOL_B=$(grep -o "dataplane: crypto batches.*" "$LAB_DIR/board.log" | tail -1)
GATE_A=$(grep -o "dataplane: load gate: .*" "$LAB_DIR/cloud.log" | tail -1)
GATE_B=$(grep -o "dataplane: load gate: .*" "$LAB_DIR/board.log" | tail -1)

# ---- phase 2: ICE off (every packet through the relay) ----------------------------
R_FIRST=- R_RELAY_A=- R_RELAY_B=- R_TUN_B=- R_VIA="" R_PINGS=-
if [ -z "$FATAL" ] && [ "$RELAYED" = 1 ]; then
	startup relay 0
	nodes_pids
	R_RELAY_A=$T_RELAY_A R_RELAY_B=$T_RELAY_B R_TUN_B=$T_TUN_B R_FIRST=$T_FIRST R_VIA=$START_VIA R_PINGS=$T_PINGS
	if [ "$R_FIRST" = - ]; then
		FATAL="no ping answered over the overlay within 30 s (ICE off)"
	else
		measure relayed "$CLOUD_OV"
	fi
	cl_stop_node cloud
	cl_stop_node board
fi

# ---- phase 3: the old single-packet path, direct and relayed ----------------------
if [ -z "$FATAL" ] && [ "$OLD" = 1 ]; then
	export CL_DATAPLANE=off
	startup old 1
	nodes_pids
	[ "$T_FIRST" = - ] || [ "$T_DIRECT_B" = - ] || measure direct-old "$CLOUD_OV"
	cl_stop_node cloud
	cl_stop_node board
	if [ "$RELAYED" = 1 ]; then
		startup oldrelay 0
		nodes_pids
		[ "$T_FIRST" = - ] || measure relayed-old "$CLOUD_OV"
	fi
	unset CL_DATAPLANE
fi
read -r M_R H_R <<<"$(mem_of "$(dpid "${CL_PID[relay1]}")")"
linkinfo() { # NODE DEV: "mtu N qlen N"
	ip -n "$(lab_ns "$1")" -o link show dev "$2" 2>/dev/null | grep -o 'mtu [0-9]*\|qlen [0-9]*' | paste -sd' '
}
TUNINFO=$(linkinfo board cairn0)
ETHINFO=$(linkinfo board eth0)

# ---- report -----------------------------------------------------------------------
ncpu=$(nproc)
model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null) &&
	{ git -C "$top" diff --quiet HEAD 2>/dev/null || rev+=" + uncommitted changes"; } || rev="not a git checkout"
echo "== cairn-node benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $rev)"
echo "machine: $ncpu CPU(s) ${model:+($model)}, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build:   $btype ($bflags), CN_SANITIZE=$bsan, $sanlib; built/checked in $(((b1 - b0) / 1000000)) s"
echo "lab:     relay1 $RELAY_IP, cloud (A) $CLOUD_IP public, board (B) 192.168.1.10 behind a cone NAT"
echo "         (203.0.113.30); board's veth ${ETHINFO:-?}, TUN ${TUNINFO:-?}; iperf3 -t $SECS board -> cloud,"
echo "         ping -c $PINGS -i 0.05 board -> cloud; relayed = both nodes restarted with ICE off;"
echo "         wg-go = $( [ -n "$WGGO" ] && dpkg-query -W -f='wireguard-go ${Version}' wireguard-go 2>/dev/null || echo 'not installed')"
echo "         $NATCHECK"
[ -z "$QUIET_NOTE" ] || echo "note:    the machine stayed busy before:$QUIET_NOTE of a core (figures include that load)"
echo
ROWS="raw wg-go direct relayed direct-old relayed-old"
ratio() { # A B: A/B with 2 decimals, or -
	if [ "${1:--}" != - ] && [ "${2:--}" != - ] && [ "${2:-0}" != 0 ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
	else
		echo -
	fi
}
printf '%-11s %-9s %9s %6s %6s %9s %6s %6s %9s %6s %6s %6s %22s %5s\n' "path" "seen" \
	"TCP1 Mb/s" "x raw" "x wg" "TCP4 Mb/s" "x raw" "x wg" "UDP pkt/s" "x raw" "x wg" "retr" \
	"RTT ms min/avg/max" "loss"
for row in $ROWS; do
	[ -n "${BW[$row]+set}" ] || continue
	read -r pmin pavg pmax ploss <<<"${PING[$row]:-- - - -}"
	printf '%-11s %-9s %9s %6s %6s %9s %6s %6s %9s %6s %6s %6s %22s %5s\n' "$row" \
		"${PATHSEEN[$row]:--}" \
		"${BW[$row]:--}" "$(ratio "${BW[$row]:-}" "${BW[raw]:-}")" \
		"$(ratio "${BW[$row]:-}" "${BW[wg-go]:-}")" \
		"${BW[$row.p4]:--}" "$(ratio "${BW[$row.p4]:-}" "${BW[raw.p4]:-}")" \
		"$(ratio "${BW[$row.p4]:-}" "${BW[wg-go.p4]:-}")" \
		"${PPS[$row.udp]:--}" "$(ratio "${PPS[$row.udp]:-}" "${PPS[raw.udp]:-}")" \
		"$(ratio "${PPS[$row.udp]:-}" "${PPS[wg-go.udp]:-}")" \
		"${RETR[$row]:--}" "$pmin/$pavg/$pmax" "$ploss"
done
echo "(TCP1/TCP4: one / four TCP streams, Mbit/s at the receiver; UDP: iperf3 -u -b 0 -l 1300,"
echo " datagrams/s received; x raw / x wg: ratio to raw and to wireguard-go; retr: TCP1 retransmissions;"
echo " RTT: ping with no load; seen: board's path to cloud before and after)"
rtt_over_raw() { # NAME: " row +ms" for each row of the ping series in array NAME
	local -n pings=$1
	local row
	for row in $ROWS; do
		[ "$row" != raw ] && [ -n "${pings[$row]+set}" ] || continue
		awk -v r="$row" -v a="$(cut -d' ' -f2 <<<"${pings[$row]}")" \
			-v b="$(cut -d' ' -f2 <<<"${pings[raw]:-- -}")" \
			'BEGIN { if (a != "-" && b != "-") printf " %s %+.3f", r, a - b }'
	done
}
echo "RTT over raw (avg, ms):$(rtt_over_raw PING)"
echo "  the same with $((PINGS * 10)) pings 2 ms apart (CPUs seldom idle: no wake-up from idle):$(rtt_over_raw PINGB)"
echo "  the same with $((PINGS * 20)) pings back to back, ping and the daemons on one CPU (no wake-up"
echo "  crosses CPUs or waits for a halted one: the daemons' own work):$(rtt_over_raw PINGF)"
echo "  wake-up floor, no overlay (cn_wakefloor: two processes on board's loopback pass a datagram there"
echo "  and back twice, the 4 wake-ups an overlay's ping makes and raw's does not): +$FLOOR 50 ms apart,"
echo "  +$FLOORB 2 ms apart, +$FLOORF back to back on one CPU"
echo "cairn data path (board's log): ${DPLINE:-?}"
echo "crypto pool, direct phase: A ${POOL_A:-(no pool)}; B ${POOL_B:-(no pool)}"
echo "load gate, direct phase: A ${GATE_A#dataplane: load gate: }; B ${GATE_B#dataplane: load gate: }"
echo
echo "CPU during the one-stream TCP transfer, % of one core (machine: % of all $(nproc) CPUs, softirq and"
echo "steal included; steal: the part the hypervisor gave to other guests)"
printf '%-11s %12s %12s %12s %12s %12s %9s %6s\n' "path" "daemon A" "daemon B" "cairn-relay" \
	"iperf3 send" "iperf3 recv" "machine" "steal"
for row in $ROWS; do
	[ -n "${CPU[$row]+set}" ] || continue
	read -r ca cb cr cs cv cm cst <<<"${CPU[$row]:-- - - - - - -}"
	printf '%-11s %12s %12s %12s %12s %12s %9s %6s\n' "$row" "$ca" "$cb" "$cr" "$cs" "$cv" "$cm" "$cst"
done
echo "(daemon: cairn-node, or wireguard-go on the wg-go row; A = cloud, B = board)"
echo
echo "daemon memory, VmRSS KiB idle before the transfers -> idle 2 s after them (+delta), peak VmHWM"
printf '%-11s %28s %28s\n' "path" "cloud (A)" "board (B)"
for row in $ROWS; do
	[ -n "${MEM[$row]+set}" ] || continue
	[ "$row" != raw ] || continue
	read -r a0 a1 ah b0m b1m bh <<<"${MEM[$row]}"
	printf '%-11s %28s %28s\n' "$row" "$a0->$a1 ($((a1 - a0))) $ah" "$b0m->$b1m ($((b1m - b0m))) $bh"
done
printf '%-11s %28s\n' "cairn-relay" "${M_R:--} (peak ${H_R:--}) after everything"
echo
echo "start-up, ms after spawning the first node (the second $S_GAP ms later; status polled every 50 ms,"
echo "first ping from ping -D timestamps, pinging every 20 ms from the moment board's TUN is up)"
printf '%-34s %10s %10s\n' "" "ICE on" "ICE off"
printf '%-34s %10s %10s\n' "board's TUN up, pinging starts" "$S_TUN_B" "$R_TUN_B"
printf '%-34s %10s %10s\n' "relay link up (first seen): A / B" "$S_RELAY_A/$S_RELAY_B" "$R_RELAY_A/$R_RELAY_B"
printf '%-34s %10s %10s\n' "first ping answered (session via)" "$S_FIRST (${S_VIA:-?})" "$R_FIRST (${R_VIA:-?})"
printf '%-34s %10s %10s\n' "direct path: board sees / cloud sees" "$S_DIRECT_B/$S_DIRECT_A" "-"
printf '%-34s %10s %10s\n' "start-up pings answered/sent" "$S_PINGS" "$R_PINGS"
echo
echo "counters that moved during each transfer (namespace.group.counter +delta; Ip/Udp from /proc/net/snmp):"
for row in $(for r in $ROWS; do echo "$r $r.p4 $r.udp"; done); do
	[ -n "${DIAG[$row]+set}" ] || continue
	if [ -z "${DIAG[$row]}" ]; then
		echo "  $row: none"
		continue
	fi
	echo "  $row:"
	paste -d' ' - - - <<<"${DIAG[$row]}" | column -t | sed 's/^/    /'
done
if [ -n "$FATAL" ]; then
	echo
	echo "run_node_bench: could not run: $FATAL"
	for f in relay1 cloud board; do
		echo "--- $f.log (tail)"
		tail -15 "$LAB_DIR/$f.log" 2>/dev/null
	done
	exit 1
fi
exit 0
