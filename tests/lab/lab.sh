# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# tests/lab/lab.sh - a NAT lab built from network namespaces, for cairn's
# end-to-end tests. Source it from a bash test (as root):
#
#   . "$(dirname "$0")/../lab/lab.sh"
#   lab_init                                  # prefix, temp dir, traps
#   lab_nat home cone 203.0.113.10 192.168.1.0/24
#   lab_host a home 192.168.1.10              # checks the NAT once (STUN)
#   lab_public_host relay 203.0.113.100
#   pid=$(lab_spawn relay relay.log cairn-relay -c relay.conf)
#   lab_exec a cairn ...
#
# Everything lives in namespaces named cn<PID>-<NAME> (PID of the shell that
# called lab_init) joined by veth pairs and bridges that exist only inside
# them: nothing is attached to the machine's own interfaces, and the only
# routes lead to the lab's documentation-range addresses. lab_cleanup (run by
# the EXIT/INT/TERM traps lab_init installs) kills what the lab started, by
# PID, and deletes the namespaces. See README.md beside this file.
#
# Builder functions keep their state in shell variables: call them from the
# test's main shell, not from $( ) or a pipeline. They exit the script with
# "lab: ..." on stderr when something is wrong (the traps clean up).
# lab_verify_nat returns 1 instead, so a test can report.

# Globals meant for the sourcing test (LAB_*) look unused to shellcheck, and
# $LAB_PYTHON is a command with options ("python3 -I -S"), split on purpose.
# shellcheck disable=SC2034,SC2086

if [ -n "${_LAB_SH_LOADED:-}" ]; then
	return 0
fi
_LAB_SH_LOADED=1
LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- address plan (README.md) -------------------------------------------
LAB_SEG1=203.0.113    # the internet segment (TEST-NET-3), /24
LAB_SEG2=198.51.100   # a second public segment (TEST-NET-2), same bridge
LAB_STUN_PORT=3478
LAB_STUN1_IP=$LAB_SEG1.2
LAB_STUN2_IP=$LAB_SEG2.2
LAB_PROBE_IP=$LAB_SEG1.3
LAB_STUN1=$LAB_STUN1_IP:$LAB_STUN_PORT
LAB_STUN2=$LAB_STUN2_IP:$LAB_STUN_PORT
LAB_NAT_TYPES="none cone fullcone symmetric udpblock"

# ---- tunables -------------------------------------------------------------
: "${LAB_AUTOVERIFY:=1}"   # lab_host checks its router chain once (STUN)
: "${LAB_EXEC_TIMEOUT:=60}" # lab_exec bound, seconds
: "${LAB_POS_WAIT:=2}"     # waiting for a packet that should come (ends early)
: "${LAB_NEG_WAIT:=0.3}"   # waiting for a packet that should not come
: "${LAB_IPV6:=0}"         # 1: leave IPv6 on in the namespaces (e.g. for a TUN's IPv6)
: "${LAB_KEEP_LOGS:=auto}" # auto: keep $LAB_DIR when the test fails (not ^C); 1; 0
: "${LAB_TERM_WAIT:=1}"    # lab_kill: seconds between TERM and KILL
if [ -z "${LAB_PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then
		LAB_PYTHON="/usr/bin/python3 -I -S" # distro python: starts in ~10 ms
	else
		LAB_PYTHON=python3
	fi
fi

# ---- state ---------------------------------------------------------------
LAB_PREFIX=        # cn<PID>-
LAB_DIR=           # logs, ready files, the PID registry
LAB_LAST_PID=
LAB_V_MAPPED='' LAB_V_FILTER='' LAB_V_EXPECT='' LAB_V_M1='' LAB_V_M2='' # lab_verify_nat
_lab_state=none    # none | up | cleaning | cleaned
_lab_prev_exit_trap=
_lab_held_signal=
_lab_in_trap=0
_lab_atexit=()
declare -gA _lab_kind=() _lab_ip=() _lab_pfx=() _lab_type=() _lab_up=()
declare -gA _lab_lanip=() _lab_lanpfx=() _lab_lancidr=() _lab_router=() _lab_verified=()
declare -gA _lab_ip6=() _lab_lan6=() # IPv6 underlay (lab_addr6, lab_lan6, lab_host6)
_lab_inet6=

_lab_die() {
	echo "lab: $*" >&2
	exit 1
}

_lab_need() {
	[ "$_lab_state" = up ] || _lab_die "call lab_init first"
}

# ---- small helpers ---------------------------------------------------------
_lab_ip2int() { # A.B.C.D -> integer; fails on anything else
	local IFS=. a b c d
	[[ $1 =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
	read -r a b c d <<<"$1"
	a=$((10#$a)) b=$((10#$b)) c=$((10#$c)) d=$((10#$d)) # 08 is not octal here
	((a < 256 && b < 256 && c < 256 && d < 256)) || return 1
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

_lab_int2ip() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# _lab_in_cidr IP CIDR: true when IP is a host address inside CIDR
# (neither the network nor the broadcast address).
_lab_in_cidr() {
	local ip net len mask
	ip=$(_lab_ip2int "$1") || return 1
	net=$(_lab_ip2int "${2%/*}") || return 1
	len=${2#*/}
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	(((ip & mask) == (net & mask) && (ip & ~mask & 0xffffffff) != 0 &&
		(ip | mask) != 0xffffffff)) || return 1
	return 0
}

_lab_internal=0 # set while the lab builds its own nodes

_lab_check_name() {
	[[ $1 =~ ^[a-z][a-z0-9_]{0,13}$ ]] ||
		_lab_die "bad name '$1': [a-z][a-z0-9_]*, at most 14 characters"
	[ -z "${_lab_kind[$1]:-}" ] || _lab_die "name '$1' is already used"
	case $1 in
	inet | stun1 | stun2 | probe)
		[ "$_lab_internal" = 1 ] || _lab_die "name '$1' is the lab's own"
		;;
	esac
}

# _lab_ns NAME -> the namespace's full name (exits when NAME is unknown).
_lab_ns() {
	[ -n "${_lab_kind[$1]:-}" ] || _lab_die "no lab node '$1'"
	echo "$LAB_PREFIX$1"
}

# lab_ns NAME: prints NAME's namespace (for `ip -n`, /run/netns/...).
lab_ns() {
	_lab_need
	_lab_ns "$1"
}

# lab_ip NAME: prints NAME's own address (a router's WAN address).
lab_ip() {
	_lab_need
	[ -n "${_lab_kind[$1]:-}" ] || _lab_die "no lab node '$1'"
	echo "${_lab_ip[$1]:-}"
}

# lab_lan_ip ROUTER: prints the router's LAN address (its hosts' gateway).
lab_lan_ip() {
	_lab_need
	[ "${_lab_kind[$1]:-}" = router ] || _lab_die "'$1' is not a router"
	echo "${_lab_lanip[$1]}"
}

# Runs a command in namespace $1 (full name) without ip-netns-exec's mount
# namespace: for the lab's own plumbing (nft, sysctl, probes).
_lab_nsx() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# _lab_sysctl NS path=value...: paths under /proc/sys; missing ones skipped.
_lab_sysctl() {
	local ns=$1
	shift
	# shellcheck disable=SC2016 # expanded by that sh
	_lab_nsx "$ns" sh -c 'for kv; do f=/proc/sys/${kv%%=*}
		[ -e "$f" ] || continue
		echo "${kv#*=}" >"$f" || exit 1; done' sh "$@" ||
		_lab_die "sysctl in $ns failed: $*"
}

# _lab_addns NAME KIND: creates the namespace, IPv6 off unless LAB_IPV6=1
# (no DAD, RS or MLD noise on the lab's links), records the node.
_lab_addns() {
	local ns=$LAB_PREFIX$1
	ip netns add "$ns" || _lab_die "ip netns add $ns failed"
	_lab_kind[$1]=$2
	if [ "$LAB_IPV6" != 1 ]; then
		_lab_sysctl "$ns" net/ipv6/conf/all/disable_ipv6=1 net/ipv6/conf/default/disable_ipv6=1
	fi
}

# _lab_router_sysctls NS: forwarding, no redirects, no reverse-path filter,
# and bridged frames kept away from the IP hooks: br_netfilter is built in
# and bridge-nf-call-iptables=1 by default, so without this same-LAN
# traffic crosses the forward chain (NOTES-deps.md section 7).
_lab_router_sysctls() {
	_lab_sysctl "$1" net/ipv4/ip_forward=1 \
		net/ipv4/conf/all/send_redirects=0 net/ipv4/conf/default/send_redirects=0 \
		net/ipv4/conf/all/rp_filter=0 net/ipv4/conf/default/rp_filter=0 \
		net/bridge/bridge-nf-call-iptables=0 net/bridge/bridge-nf-call-ip6tables=0 \
		net/bridge/bridge-nf-call-arptables=0
}

# _lab_attach NODE IFNAME BRIDGE_NODE BRIDGE: a veth pair, IFNAME in NODE's
# namespace and port v<NODE> on BRIDGE in BRIDGE_NODE's namespace. Both ends
# are created directly in their namespaces: nothing passes through the
# machine's own namespace.
_lab_attach() {
	local ns=$LAB_PREFIX$1 brns=$LAB_PREFIX$3 port=v$1
	ip -n "$ns" link add "$2" type veth peer name "$port" netns "$brns" ||
		_lab_die "veth $1/$2 -> $3 failed"
	ip -n "$brns" link set dev "$port" master "$4" up || _lab_die "bridge port $port in $3 failed"
}

# ---- lifecycle -------------------------------------------------------------

# lab_init: checks tools, picks the prefix cn<PID>-, makes $LAB_DIR,
# removes stale namespaces of dead runs, installs EXIT/INT/TERM traps that
# run lab_cleanup. An EXIT trap set before lab_init still runs after it.
lab_init() {
	local tool
	[ "$_lab_state" = none ] || _lab_die "lab_init called twice"
	[ "$(id -u)" = 0 ] || _lab_die "needs root (network namespaces)"
	for tool in ip nft nsenter timeout stun ps; do
		command -v "$tool" >/dev/null || _lab_die "needs '$tool' in PATH"
	done
	local me=$BASHPID # (inside $( ) BASHPID is the subshell's)
	LAB_PREFIX="cn$me-"
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cn_lab.$me.XXXXXX") || _lab_die "mktemp failed"
	: >"$LAB_DIR/pids"
	: >"$LAB_DIR/running" # a dir still holding this after its run died is stale
	_lab_prev_exit_trap=$(trap -p EXIT) # "trap -- 'CMD' EXIT", quoted for eval
	if [ -n "$_lab_prev_exit_trap" ]; then
		_lab_prev_exit_trap=${_lab_prev_exit_trap#trap -- }
		eval "_lab_prev_exit_trap=${_lab_prev_exit_trap% EXIT}"
	fi
	trap '_lab_on_trap EXIT' EXIT
	trap '_lab_on_trap INT' INT
	trap '_lab_on_trap TERM' TERM
	_lab_state=up
	lab_cleanup_stale
}

_lab_on_trap() {
	local rc=$? sig=$1
	_lab_in_trap=1
	case $sig in
	INT) rc=130 ;;
	TERM) rc=143 ;;
	esac
	lab_cleanup "$rc"
	case $_lab_held_signal in # a signal that came during the cleanup
	INT) rc=130 ;;
	TERM) rc=143 ;;
	esac
	if [ "$sig" != EXIT ]; then
		exit "$rc" # runs the EXIT trap: lab_cleanup is then a no-op
	fi
	if [ -n "$_lab_prev_exit_trap" ]; then
		set +e # exiting anyway; the earlier trap sees $? as the exit status
		_lab_status "$rc"
		eval "$_lab_prev_exit_trap"
	fi
	exit "$rc"
}

_lab_status() { return "$1"; }

# lab_atexit CMD...: run CMD (eval'd) at cleanup, before processes are
# killed and namespaces deleted; last registered runs first.
lab_atexit() {
	_lab_atexit=("$*" "${_lab_atexit[@]}")
}

# lab_cleanup [STATUS]: kills every process started through the lab (and
# anything else still inside its namespaces) by PID, deletes the lab's
# namespaces, removes $LAB_DIR (kept when STATUS is non-zero, see
# LAB_KEEP_LOGS). Idempotent; the traps call it.
lab_cleanup() {
	local - rc=${1:-0} cmd pid start ns n=0
	local -a names=()
	set +e
	[ "$_lab_state" = up ] || return 0
	_lab_state=cleaning
	# A signal now must not cut the cleanup short: it is held and acted on
	# when the cleanup is done.
	_lab_held_signal=
	trap '_lab_held_signal=INT' INT
	trap '_lab_held_signal=TERM' TERM
	for cmd in "${_lab_atexit[@]}"; do
		eval "$cmd"
	done
	if [ -s "$LAB_DIR/pids" ]; then
		while read -r pid start; do
			_lab_kill_checked "$pid" "$start"
		done <"$LAB_DIR/pids"
	fi
	for ns in /run/netns/"$LAB_PREFIX"*; do
		[ -e "$ns" ] && names+=("${ns##*/}")
	done
	_lab_delete_namespaces "${names[@]}"
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		if [ "$LAB_KEEP_LOGS" = 1 ] ||
			{ [ "$LAB_KEEP_LOGS" = auto ] && [ "$rc" != 0 ] && [ "$rc" != 130 ]; }; then
			rm -f "$LAB_DIR/running"
			echo "lab: logs kept in $LAB_DIR" >&2
		else
			rm -rf "$LAB_DIR"
		fi
	fi
	_lab_state=cleaned
	trap '_lab_on_trap INT' INT
	trap '_lab_on_trap TERM' TERM
	if [ "$_lab_in_trap" = 0 ]; then
		case $_lab_held_signal in
		INT) exit 130 ;;
		TERM) exit 143 ;;
		esac
	fi
	return 0
}

# _lab_delete_namespaces NS...: kills the processes inside them (TERM, then
# KILL after 1 s), then deletes them.
_lab_delete_namespaces() {
	local - ns pid
	set +e
	local -a pids=()
	[ $# -gt 0 ] || return 0
	for ns in "$@"; do
		while read -r pid; do
			[ -n "$pid" ] && [ "$pid" != "$BASHPID" ] && pids+=("$pid")
		done < <(ip netns pids "$ns" 2>/dev/null)
	done
	if [ ${#pids[@]} -gt 0 ]; then
		_lab_kill_pids "${pids[@]}"
	fi
	printf 'netns del %s\n' "$@" | ip -force -batch - 2>/dev/null
	return 0
}

# _lab_alive PID: false only when PID is surely gone: no /proc entry, or a
# zombie. Builtins only (no fork that could fail under load), and anything
# unreadable counts as alive: stale cleanup must never take a live run.
_lab_alive() {
	local line=
	[ -d "/proc/$1" ] || return 1
	read -r line <"/proc/$1/stat" 2>/dev/null || return 0
	line=${line##*) } # the comm field can hold spaces and ")"
	case ${line%% *} in
	Z | X) return 1 ;;
	esac
	return 0
}

_lab_starttime() { # PID -> start time in clock ticks (field 22), or 0
	local rest=
	read -r rest <"/proc/$1/stat" 2>/dev/null || {
		echo 0
		return 0
	}
	rest=${rest##*) }
	# shellcheck disable=SC2086 # split on purpose
	set -- $rest
	echo "${20:-0}" # field 22 overall: the 20th after "pid (comm)"
}

# _lab_kill_pids PID...: TERM, up to LAB_TERM_WAIT s to go, then KILL; reaps
# our children.
_lab_kill_pids() {
	local - pid i left n
	set +e # kill and wait fail on processes already gone or not our children
	n=$(awk -v s="$LAB_TERM_WAIT" 'BEGIN { printf "%d", s * 50 }')
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < n; i++)); do
		left=0
		for pid in "$@"; do
			_lab_alive "$pid" && left=1
		done
		[ $left = 0 ] && break
		sleep 0.02
	done
	if [ $left = 1 ]; then
		kill -KILL "$@" 2>/dev/null
	fi
	for pid in "$@"; do
		wait "$pid" 2>/dev/null
	done
	return 0
}

# _lab_descendants PID: PID and all its descendants, one per line.
_lab_descendants() {
	local -A kids=()
	local pid ppid todo=("$1") cur
	while read -r pid ppid; do
		kids[$ppid]+="$pid "
	done < <(ps -e -o pid=,ppid=)
	while [ ${#todo[@]} -gt 0 ]; do
		cur=${todo[0]}
		todo=("${todo[@]:1}")
		echo "$cur"
		for pid in ${kids[$cur]:-}; do
			todo+=("$pid")
		done
	done
}

# Kills PID and its descendants if PID still is the process that was
# registered (same start time): PIDs are not reused on us.
_lab_kill_checked() {
	local - pid=$1 start=$2
	set +e
	local -a tree=()
	_lab_alive "$pid" || {
		wait "$pid" 2>/dev/null
		return 0
	}
	[ "$start" = 0 ] || [ "$(_lab_starttime "$pid")" = "$start" ] || return 0
	mapfile -t tree < <(_lab_descendants "$pid")
	_lab_kill_pids "${tree[@]}"
}

# lab_cleanup_stale: deletes namespaces named cn<PID>-* whose PID is no
# longer running (left by a run killed with SIGKILL), and the processes
# still inside them, and such runs' temp dirs (not logs kept on purpose).
# Namespaces of live runs and names not matching the lab's pattern are left
# alone. lab_init calls it.
lab_cleanup_stale() {
	local - f name owner
	set +e
	local -a stale=()
	# Only judge from a /proc that shows this process (our PID namespace).
	[ -d "/proc/$BASHPID" ] || return 0
	for f in "${TMPDIR:-/tmp}"/cn_lab.*.*/running; do
		[ -e "$f" ] || continue
		name=${f%/running}
		[[ ${name##*/} =~ ^cn_lab\.([0-9]+)\.[A-Za-z0-9]{6}$ ]] || continue
		owner=${BASH_REMATCH[1]}
		[ "$name" != "$LAB_DIR" ] || continue
		_lab_alive "$owner" || rm -rf "$name"
	done
	for f in /run/netns/cn*-*; do
		[ -e "$f" ] || continue
		name=${f##*/}
		[[ $name =~ ^cn([0-9]+)-[a-z][a-z0-9_]*$ ]] || continue
		owner=${BASH_REMATCH[1]}
		if [ "$owner" = "$BASHPID" ] && [ "$name" != "${name#"$LAB_PREFIX"}" ] &&
			[ -z "${_lab_kind[${name#"$LAB_PREFIX"}]:-}" ]; then
			stale+=("$name") # our PID reused after a crash; not ours yet
		elif ! _lab_alive "$owner"; then
			stale+=("$name")
		fi
	done
	if [ ${#stale[@]} -gt 0 ]; then
		echo "lab: removing ${#stale[@]} stale namespace(s): ${stale[*]}" >&2
		_lab_delete_namespaces "${stale[@]}"
	fi
	return 0
}

# ---- builders --------------------------------------------------------------

# lab_internet: the "internet" namespace inet: bridge br0 holding every
# public host and router WAN, and a core router on it with 203.0.113.1/24 and
# 198.51.100.1/24 (the public hosts' gateway; routes to public LANs behind
# `none` routers). Called by the other builders when needed.
lab_internet() {
	_lab_need
	[ -z "${_lab_kind[inet]:-}" ] || return 0
	local ns=${LAB_PREFIX}inet
	_lab_addns inet inet
	_lab_router_sysctls "$ns"
	ip -n "$ns" -batch - <<-EOF || _lab_die "internet setup failed"
		link set dev lo up
		link add br0 type bridge
		link set dev br0 up
		addr add $LAB_SEG1.1/24 dev br0
		addr add $LAB_SEG2.1/24 dev br0
	EOF
}

_lab_public_segment() { # IP -> prints the segment's gateway, fails if not public
	if _lab_in_cidr "$1" "$LAB_SEG1.0/24"; then
		echo "$LAB_SEG1.1"
	elif _lab_in_cidr "$1" "$LAB_SEG2.0/24"; then
		echo "$LAB_SEG2.1"
	else
		return 1
	fi
}

_lab_check_free_ip() {
	local n
	if [ "$_lab_internal" = 0 ] && { _lab_in_cidr "$1" "$LAB_SEG1.0/24" ||
		_lab_in_cidr "$1" "$LAB_SEG2.0/24"; } && [ "${1##*.}" -lt 10 ]; then
		_lab_die "address $1: .1-.9 of the public segments are the lab's own"
	fi
	for n in "${!_lab_ip[@]}"; do
		[ "${_lab_ip[$n]}" != "$1" ] || _lab_die "address $1 is already used by '$n'"
	done
	for n in "${!_lab_lanip[@]}"; do
		[ "${_lab_lanip[$n]}" != "$1" ] || _lab_die "address $1 is already used by '$n'"
	done
}

# lab_public_host NAME IP: a host on the internet segment (IP in
# 203.0.113.0/24 or 198.51.100.0/24; .1-.9 are the lab's own).
lab_public_host() {
	_lab_need
	local name=$1 ip=$2 gw ns
	[ $# -eq 2 ] || _lab_die "usage: lab_public_host NAME IP"
	_lab_check_name "$name"
	gw=$(_lab_public_segment "$ip") || _lab_die "$ip is not in $LAB_SEG1.0/24 or $LAB_SEG2.0/24"
	_lab_check_free_ip "$ip"
	lab_internet
	ns=$LAB_PREFIX$name
	_lab_addns "$name" public
	_lab_attach "$name" eth0 inet br0
	ip -n "$ns" -batch - <<-EOF || _lab_die "public host $name setup failed"
		link set dev lo up
		link set dev eth0 up
		addr add $ip/24 dev eth0
		route add default via $gw
	EOF
	_lab_ip[$name]=$ip
	_lab_pfx[$name]=24
}

# The nftables ruleset of a router of TYPE with WAN address WANIP.
_lab_ruleset() {
	local type=$1 wanip=$2
	echo "table ip lab {"
	if [ "$type" = fullcone ]; then
		# Endpoint-independent filtering for every host behind the router:
		# each UDP mapping the masquerade makes (key: the mapped port) is
		# remembered with the host's own address and port, and any inbound
		# UDP to that port is sent there. Entries live 3 minutes past the
		# last outbound packet (longer than conntrack's 2-minute UDP stream).
		cat <<-EOF
			map fullcone {
				type inet_service : ipv4_addr . inet_service
				flags timeout
				timeout 3m
				size 65535
			}
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "wan" ip daddr $wanip udp dport @fullcone dnat ip to udp dport map @fullcone
			}
			chain learn {
				type filter hook postrouting priority srcnat + 10; policy accept;
				oifname "wan" meta l4proto udp ct direction original ct status snat update @fullcone { udp sport timeout 3m : ct original ip saddr . ct original proto-src }
			}
		EOF
	fi
	# Unsolicited packets to the router itself are dropped: a hole-punch
	# packet that reached the router would confirm a conntrack entry and
	# push the host's later mapping onto another port (NOTES section 7).
	cat <<-EOF
		chain input {
			type filter hook input priority filter; policy drop;
			iif "lo" accept
			ct state established,related accept
			iifname "lan" accept
		}
		chain forward {
			type filter hook forward priority filter; policy drop;
	EOF
	[ "$type" != udpblock ] || echo '		meta l4proto udp drop'
	echo '		iifname "lan" oifname "wan" accept'
	echo '		iifname "wan" oifname "lan" ct state established,related accept'
	[ "$type" != fullcone ] || echo '		iifname "wan" oifname "lan" ct status dnat accept'
	[ "$type" != none ] || echo '		iifname "wan" oifname "lan" accept'
	echo '	}'
	case $type in
	cone | fullcone | udpblock)
		printf '\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n'
		printf '\t\toifname "wan" masquerade\n\t}\n'
		;;
	symmetric)
		printf '\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n'
		printf '\t\toifname "wan" masquerade fully-random\n\t}\n'
		;;
	esac
	echo "}"
}

# lab_nat NAME TYPE PUBLIC_IP LAN_CIDR [UPSTREAM]: a router. Its WAN has
# PUBLIC_IP on the internet bridge, or, with UPSTREAM (another router), on
# UPSTREAM's LAN (double NAT: PUBLIC_IP then inside UPSTREAM's LAN_CIDR).
# Its LAN is bridge "lan" with the first address of LAN_CIDR; lab_host puts
# hosts there. TYPE: none cone fullcone symmetric udpblock (README.md).
lab_nat() {
	_lab_need
	local name=$1 type=${2:-} ip=${3:-} cidr=${4:-} up=${5:-}
	local gw pfx brnode br ns lanip len net
	if [ $# -lt 4 ] || [ $# -gt 5 ]; then
		_lab_die "usage: lab_nat NAME TYPE PUBLIC_IP LAN_CIDR [UPSTREAM]"
	fi
	_lab_check_name "$name"
	[[ " $LAB_NAT_TYPES " == *" $type "* ]] || _lab_die "NAT type '$type' is not one of: $LAB_NAT_TYPES"
	[[ $cidr =~ ^[0-9.]+/([0-9]+)$ ]] || _lab_die "bad LAN '$cidr' (A.B.C.D/LEN)"
	len=${BASH_REMATCH[1]}
	((len >= 8 && len <= 30)) || _lab_die "LAN prefix /$len: use /8 to /30"
	net=$(_lab_ip2int "${cidr%/*}") || _lab_die "bad LAN '$cidr'"
	net=$((net & ((0xffffffff << (32 - len)) & 0xffffffff)))
	lanip=$(_lab_int2ip $((net + 1)))
	cidr=$(_lab_int2ip "$net")/$len
	if [ -n "$up" ]; then
		[ "${_lab_kind[$up]:-}" = router ] || _lab_die "upstream '$up' is not a router"
		_lab_in_cidr "$ip" "${_lab_lancidr[$up]}" || _lab_die "$ip is not in $up's LAN ${_lab_lancidr[$up]}"
		gw=${_lab_lanip[$up]}
		pfx=${_lab_lanpfx[$up]}
		brnode=$up br=lan
	else
		gw=$(_lab_public_segment "$ip") || _lab_die "$ip is not in $LAB_SEG1.0/24 or $LAB_SEG2.0/24"
		pfx=24 brnode=inet br=br0
		lab_internet
	fi
	_lab_check_free_ip "$ip"
	_lab_check_free_ip "$lanip"
	ns=$LAB_PREFIX$name
	_lab_addns "$name" router
	_lab_router_sysctls "$ns"
	_lab_attach "$name" wan "$brnode" "$br"
	ip -n "$ns" -batch - <<-EOF || _lab_die "router $name setup failed"
		link set dev lo up
		link set dev wan up
		addr add $ip/$pfx dev wan
		link add lan type bridge
		link set dev lan up
		addr add $lanip/$len dev lan
		route add default via $gw
	EOF
	_lab_ruleset "$type" "$ip" | _lab_nsx "$ns" nft -f - ||
		_lab_die "nftables ruleset of $type router $name rejected"
	if [ "$type" = none ]; then # the public LAN is routed to, not hidden
		ip -n "$LAB_PREFIX$brnode" route add "$cidr" via "$ip" ||
			_lab_die "route to $name's LAN failed"
	fi
	_lab_ip[$name]=$ip
	_lab_pfx[$name]=$pfx
	_lab_type[$name]=$type
	_lab_up[$name]=$up
	_lab_lanip[$name]=$lanip
	_lab_lanpfx[$name]=$len
	_lab_lancidr[$name]=$cidr
}

# lab_host NAME ROUTER LAN_IP: a host on ROUTER's LAN, default route via the
# router. The first host behind a router checks the router chain once with
# lab_verify_nat (LAB_AUTOVERIFY=0 turns that off) and exits the test
# loudly if the NAT misbehaves.
lab_host() {
	_lab_need
	local name=$1 router=${2:-} ip=${3:-} ns
	[ $# -eq 3 ] || _lab_die "usage: lab_host NAME ROUTER LAN_IP"
	_lab_check_name "$name"
	[ "${_lab_kind[$router]:-}" = router ] || _lab_die "'$router' is not a router"
	_lab_in_cidr "$ip" "${_lab_lancidr[$router]}" || _lab_die "$ip is not in $router's LAN ${_lab_lancidr[$router]}"
	_lab_check_free_ip "$ip"
	ns=$LAB_PREFIX$name
	_lab_addns "$name" host
	_lab_attach "$name" eth0 "$router" lan
	ip -n "$ns" -batch - <<-EOF || _lab_die "host $name setup failed"
		link set dev lo up
		link set dev eth0 up
		addr add $ip/${_lab_lanpfx[$router]} dev eth0
		route add default via ${_lab_lanip[$router]}
	EOF
	_lab_ip[$name]=$ip
	_lab_pfx[$name]=${_lab_lanpfx[$router]}
	_lab_router[$name]=$router
	if [ "$LAB_AUTOVERIFY" = 1 ] && [ -z "${_lab_verified[$router]:-}" ]; then
		lab_verify_nat "$router" "$name" >/dev/null || exit 1
	fi
}

# ---- running things --------------------------------------------------------

# lab_exec NAME CMD...: runs CMD in NAME's namespace (ip netns exec: /sys
# and /etc/netns/ as for that namespace), bounded by LAB_EXEC_TIMEOUT
# seconds; returns CMD's status (124 on timeout).
lab_exec() {
	_lab_need
	local ns
	ns=$(_lab_ns "$1") || exit 1
	shift
	timeout -k 2 "$LAB_EXEC_TIMEOUT" ip netns exec "$ns" "$@"
}

# lab_spawn NAME LOGFILE CMD...: starts CMD in the background in NAME's
# namespace, stdout and stderr to LOGFILE (relative names land in
# $LAB_DIR), stdin from /dev/null. Prints the PID and sets LAB_LAST_PID;
# the PID is registered (in a file, so pid=$(lab_spawn ...) works) and
# killed by lab_cleanup. The process is CMD itself (ip netns exec execs it).
lab_spawn() {
	_lab_need
	local ns log pid
	[ $# -ge 3 ] || _lab_die "usage: lab_spawn NAME LOGFILE CMD..."
	ns=$(_lab_ns "$1") || exit 1
	log=$2
	shift 2
	[[ $log == */* ]] || log=$LAB_DIR/$log
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid $(_lab_starttime "$pid")" >>"$LAB_DIR/pids"
	LAB_LAST_PID=$pid
	echo "$pid"
}

# lab_kill PID: TERM (KILL after LAB_TERM_WAIT s) PID and its descendants, if PID is a
# process lab_spawn started and it still runs.
lab_kill() {
	_lab_need
	local pid start
	[ $# -eq 1 ] || _lab_die "usage: lab_kill PID"
	while read -r pid start; do
		if [ "$pid" = "$1" ]; then
			_lab_kill_checked "$pid" "$start"
			return 0
		fi
	done <"$LAB_DIR/pids"
	echo "lab: lab_kill: $1 was not started by lab_spawn" >&2
	return 1
}

# lab_wait_file FILE [SECONDS]: waits (default 5 s) until FILE exists.
lab_wait_file() {
	local i n
	n=$(awk -v s="${2:-5}" 'BEGIN { printf "%d", s * 100 }')
	for ((i = 0; i < n; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.01
	done
	[ -e "$1" ]
}

# _lab_reach MODE WAIT FROM TO [DEST_IP]: MODE reach (UDP) or tcpreach.
_lab_reach() {
	local mode=$1 wait=$2 from to dest=${5:-}
	from=$(_lab_ns "$3") || exit 1
	to=$(_lab_ns "$4") || exit 1
	[ -n "$dest" ] || dest=${_lab_ip[$4]}
	timeout 10 $LAB_PYTHON "$LAB_HOME/stun_server.py" "$mode" \
		"/run/netns/$from" "/run/netns/$to" "$dest" "$wait" >/dev/null
}

# lab_udp_reach FROM TO [DEST_IP]: true when a UDP datagram sent from FROM
# to TO's address (or DEST_IP) reaches a socket in TO within LAB_POS_WAIT s
# (returns as soon as it does).
lab_udp_reach() {
	_lab_need
	_lab_reach reach "$LAB_POS_WAIT" "$@"
}

# lab_udp_blocked FROM TO [DEST_IP]: true when nothing arrives within
# LAB_NEG_WAIT s (the check that something must not get through).
lab_udp_blocked() {
	_lab_need
	! _lab_reach reach "$LAB_NEG_WAIT" "$@"
}

# lab_tcp_reach FROM TO [DEST_IP], lab_tcp_blocked FROM TO [DEST_IP]: the
# same with a TCP connection (and one line sent over it).
lab_tcp_reach() {
	_lab_need
	_lab_reach tcpreach "$LAB_POS_WAIT" "$@"
}

lab_tcp_blocked() {
	_lab_need
	! _lab_reach tcpreach "$LAB_NEG_WAIT" "$@"
}

# lab_stun_servers: public hosts stun1 (203.0.113.2) and stun2
# (198.51.100.2) running stun_server.py on port 3478, and probe
# (203.0.113.3) for filtering checks. lab_verify_nat calls it.
lab_stun_servers() {
	_lab_need
	[ -z "${_lab_kind[stun1]:-}" ] || return 0
	local s
	_lab_internal=1
	lab_public_host stun1 "$LAB_STUN1_IP"
	lab_public_host stun2 "$LAB_STUN2_IP"
	lab_public_host probe "$LAB_PROBE_IP"
	_lab_internal=0
	for s in stun1 stun2; do
		lab_spawn "$s" "$s.log" $LAB_PYTHON "$LAB_HOME/stun_server.py" serve \
			"${_lab_ip[$s]}" "$LAB_STUN_PORT" --ready "$LAB_DIR/$s.ready" >/dev/null
	done
	for s in stun1 stun2; do
		lab_wait_file "$LAB_DIR/$s.ready" 5 ||
			_lab_die "STUN server $s did not start: $(tail -3 "$LAB_DIR/$s.log")"
	done
}

# _lab_stun HOSTNS SERVER_IP SPORT WAIT: Debian's RFC 3489 client from
# SPORT; prints IP:PORT of the mapped address, nothing without an answer.
_lab_stun() {
	local out
	out=$(_lab_nsx "$1" timeout "$4" stun "$2:$LAB_STUN_PORT" 1 -v -p "$3" 2>&1) || true
	out=$(grep -o 'mappedAddr=[0-9.]*:[0-9]*' <<<"$out" | head -1) || true
	out=${out#mappedAddr=}
	[ "$out" = "0.0.0.0:0" ] && out=
	echo "$out"
}

# lab_verify_nat ROUTER HOST [SPORT]: checks what HOST (behind ROUTER,
# maybe through more routers) sees of the NAT chain from SPORT (default
# random) against what the routers' types promise:
#   mapping  - Debian's stun client asks stun1 and stun2 (two addresses):
#              udpblock anywhere: no answer; symmetric anywhere: two
#              different mapped ports; only `none`: the host's own address
#              and port; else (cone, fullcone, double cone): one mapped port,
#              on the outermost NAT's public address;
#   filtering - a packet from probe, which HOST never talked to, to the
#              mapped address must reach HOST only when every router is
#              fullcone or none; after HOST sends to probe port P1 the
#              answer from P1 must come back (always); a packet from another
#              probe port to that mapping must again reach HOST only when
#              every router is fullcone or none;
#   stability - unless symmetric, the mapping seen by probe P1 (a third
#              destination), and by the probe port that sent the early
#              unsolicited packet when HOST then sends to it (a hole punch
#              that arrived first), is the one the STUN servers saw.
# Prints one line; sets LAB_V_M1 and LAB_V_M2 (the mapped IP:PORT from
# stun1 and stun2, empty without an answer), LAB_V_MAPPED ("no answer",
# "own address A:P", "one mapping A:P", "per destination A:P, :Q"),
# LAB_V_FILTER ("open", "port-restricted", "-" when not measured) and
# LAB_V_EXPECT (what the types promise). Returns 1 after "lab: NAT TYPE on ROUTER misbehaves: ..."
# on stderr.
lab_verify_nat() {
	_lab_need
	local router=$1 host=${2:-} sport=${3:-} r chain="" types=""
	local block=0 sym=0 allnone=1 open=1 outer="" wait m1 m2 own
	local hostns probens res why="" expect_map
	[ $# -ge 2 ] || _lab_die "usage: lab_verify_nat ROUTER HOST [SPORT]"
	[ "${_lab_kind[$router]:-}" = router ] || _lab_die "'$router' is not a router"
	[ "${_lab_kind[$host]:-}" = host ] || _lab_die "'$host' is not a host (lab_host)"
	r=${_lab_router[$host]}
	while [ -n "$r" ]; do
		chain+="$r "
		types+="${_lab_type[$r]} "
		case ${_lab_type[$r]} in
		udpblock) block=1 allnone=0 open=0 ;;
		symmetric) sym=1 allnone=0 open=0 ;;
		cone) allnone=0 open=0 ;;
		fullcone) allnone=0 ;;
		esac
		[ "${_lab_type[$r]}" = none ] || outer=${_lab_ip[$r]}
		r=${_lab_up[$r]}
	done
	[[ " $chain" == *" $router "* ]] || _lab_die "'$host' is not behind '$router'"
	local label="${_lab_type[$router]} on $router"
	[ "$chain" = "$router " ] || label+=" (chain: ${types% })"
	own=${_lab_ip[$host]}
	[ -n "$sport" ] || sport=$((20000 + RANDOM % 30000))
	lab_stun_servers
	hostns=$LAB_PREFIX$host
	probens=${LAB_PREFIX}probe
	LAB_V_MAPPED='' LAB_V_FILTER=-
	if [ $block = 1 ]; then
		wait=$LAB_NEG_WAIT expect_map="no answer"
	elif [ $sym = 1 ]; then
		wait=$LAB_POS_WAIT expect_map="ports differ"
	elif [ $allnone = 1 ]; then
		wait=$LAB_POS_WAIT expect_map="own address"
	else
		wait=$LAB_POS_WAIT expect_map="same port"
	fi
	LAB_V_EXPECT=$expect_map
	if [ $block = 0 ]; then
		if [ $open = 1 ]; then LAB_V_EXPECT+=", open"; else LAB_V_EXPECT+=", filtered"; fi
	fi

	m1=$(_lab_stun "$hostns" "$LAB_STUN1_IP" "$sport" "$wait")
	m2=$(_lab_stun "$hostns" "$LAB_STUN2_IP" "$sport" "$wait")
	LAB_V_M1=$m1 LAB_V_M2=$m2
	if [ -z "$m1" ] && [ -z "$m2" ]; then
		LAB_V_MAPPED="no answer"
	elif [ "$m1" = "$own:$sport" ] && [ "$m2" = "$m1" ]; then
		LAB_V_MAPPED="own address $m1"
	elif [ "$m1" = "$m2" ]; then
		LAB_V_MAPPED="one mapping $m1"
	elif [ -n "$m1" ] && [ -n "$m2" ] && [ "${m1%:*}" = "${m2%:*}" ]; then
		LAB_V_MAPPED="per destination $m1, :${m2##*:}"
	else
		LAB_V_MAPPED="${m1:-none} / ${m2:-none}"
	fi
	if [ $block = 1 ]; then
		[ -z "$m1$m2" ] || why="UDP got through: stun answers $m1 / $m2"
	elif [ -z "$m1" ] || [ -z "$m2" ]; then
		why="no STUN answer from ${m1:+$LAB_STUN2}${m1:-$LAB_STUN1} (from $own:$sport)"
	elif [ "${m1%:*}" != "${m2%:*}" ]; then
		why="mapped addresses differ: $m1 vs $m2"
	elif [ $allnone = 1 ]; then
		[ "$m1" = "$own:$sport" ] && [ "$m2" = "$own:$sport" ] ||
			why="expected own address $own:$sport, got $m1 / $m2"
	elif [ "${m1%:*}" != "$outer" ]; then
		why="mapped address ${m1%:*} is not the outermost NAT's $outer"
	elif [ $sym = 1 ]; then
		[ "${m1##*:}" != "${m2##*:}" ] || why="same mapped port ${m1##*:} for both servers (want one per destination)"
	else
		[ "${m1##*:}" = "${m2##*:}" ] || why="mapped port changes with the destination: $m1 vs $m2 (want one mapping)"
	fi

	if [ -z "$why" ] && [ $block = 0 ]; then
		res=$(timeout 15 $LAB_PYTHON "$LAB_HOME/stun_server.py" filter "/run/netns/$hostns" "$sport" \
			"/run/netns/$probens" "$LAB_PROBE_IP" "$m1" "$open" "$LAB_POS_WAIT" "$LAB_NEG_WAIT" 2>&1) || true
		case $res in
		*"reply=ok"*) ;;
		*) why="no answer from probe after $host sent to it ($res)" ;;
		esac
		local seen punch
		seen=$(grep -o 'seen=[0-9.:]*' <<<"$res") || true
		punch=$(grep -o 'punch=[0-9.:]*' <<<"$res") || true
		seen=${seen#seen=} punch=${punch#punch=}
		if [ -z "$why" ] && [ -z "$punch" ]; then
			why="probe got nothing when $host sent to it after an early packet ($res)"
		elif [ -z "$why" ] && [ $sym = 0 ] && [ "$seen" != "$m1" ]; then
			why="mapping toward a third address is $seen, not $m1"
		elif [ -z "$why" ] && [ $sym = 0 ] && [ "$punch" != "$m1" ]; then
			why="an early inbound packet from a peer moved the mapping to $punch (was $m1): a router accepted it?"
		fi
		if [ -z "$why" ]; then
			if [[ $res == *unsolicited=reached*otherport=reached* ]]; then
				LAB_V_FILTER="open"
				[ $open = 1 ] || why="unsolicited packets reach $host (want address+port dependent filtering)"
			elif [[ $res == *unsolicited=blocked*otherport=blocked* ]]; then
				LAB_V_FILTER="port-restricted"
				[ $open = 0 ] || why="unsolicited packets do not reach $host (want endpoint-independent filtering)"
			else
				LAB_V_FILTER="inconsistent"
				why="filtering is neither open nor port-restricted: $res"
			fi
		fi
	fi
	if [ -n "$why" ]; then
		echo "lab: NAT $label misbehaves: $why" >&2
		return 1
	fi
	_lab_verified[$router]=1
	echo "lab: NAT $label ok: $LAB_V_MAPPED; filtering $LAB_V_FILTER"
	return 0
}

# ---- a router that grants port mappings (PCP, NAT-PMP, UPnP-IGD) ----------

# lab_nat_upnp NAME PUBLIC_IP LAN_CIDR [TYPE]: a `cone` (or TYPE: symmetric)
# router (lab_nat) that also
# runs Debian's miniupnpd (package miniupnpd-nftables) inside its namespace,
# serving PCP and NAT-PMP (UDP 5351) and UPnP-IGD (SSDP and HTTP) on its LAN
# bridge only. The daemon's config names only the namespace's own interfaces
# (ext_ifname=wan, listening_ip=lan), so it cannot touch the machine's; its
# rules go into a table of their own (inet cn_upnp) in the router's
# namespace, and the lab's forward chain accepts what they DNAT. miniupnpd
# refuses a reserved external address (all of the lab's are documentation
# ranges) unless STUN shows the WAN is unfiltered, so it asks the lab's stun1
# at start (ext_perform_stun). Sets LAB_UPNP_PID (killed by lab_cleanup like
# anything lab_spawn starts); the log is $LAB_DIR/upnp-NAME.log.
lab_nat_upnp() {
	_lab_need
	[ $# -eq 3 ] || [ $# -eq 4 ] || _lab_die "usage: lab_nat_upnp NAME PUBLIC_IP LAN_CIDR [TYPE]"
	local name=$1 type=${4:-cone} ns conf log i
	[ "$type" = cone ] || [ "$type" = symmetric ] || _lab_die "lab_nat_upnp: TYPE cone or symmetric"
	command -v miniupnpd >/dev/null || [ -x /usr/sbin/miniupnpd ] ||
		_lab_die "needs miniupnpd (deploy/scripts/install-deps.sh installs miniupnpd-nftables)"
	lab_stun_servers
	lab_nat "$name" "$type" "$2" "$3"
	ns=$LAB_PREFIX$name
	# The router's own packets keep their ports, so miniupnpd's STUN check
	# (below) sees an unfiltered WAN; the LAN's are still randomized.
	if [ "$type" = symmetric ]; then
		_lab_nsx "$ns" nft insert rule ip lab postrouting oifname "wan" ip saddr "$2" accept ||
			_lab_die "router $name: postrouting exemption rejected"
	fi
	conf=$LAB_DIR/upnp-$name.conf
	log=$LAB_DIR/upnp-$name.log
	_lab_nsx "$ns" nft -f - <<-EOF || _lab_die "miniupnpd tables in $name rejected"
		insert rule ip lab forward iifname "wan" oifname "lan" ct status dnat accept
		table inet cn_upnp {
			chain forward {
				type filter hook forward priority filter; policy accept;
				jump forward_upnp
			}
			chain forward_upnp {
			}
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				jump prerouting_upnp
			}
			chain prerouting_upnp {
			}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				jump postrouting_upnp
			}
			chain postrouting_upnp {
			}
		}
	EOF
	cat >"$conf" <<-EOF
		ext_ifname=wan
		listening_ip=lan
		ext_perform_stun=yes
		ext_stun_host=$LAB_STUN1_IP
		ext_stun_port=$LAB_STUN_PORT
		enable_natpmp=yes
		enable_upnp=yes
		secure_mode=yes
		system_uptime=no
		min_lifetime=120
		max_lifetime=3600
		lease_file=$LAB_DIR/upnp-$name.leases
		uuid=3d3cec3a-8cf0-11e0-98ee-00$(printf '%010x' "$$")
		upnp_table_name=cn_upnp
		upnp_nat_table_name=cn_upnp
		upnp_forward_chain=forward_upnp
		upnp_nat_chain=prerouting_upnp
		upnp_nat_postrouting_chain=postrouting_upnp
		allow 1024-65535 ${_lab_lancidr[$name]} 1024-65535
		deny 0-65535 0.0.0.0/0 0-65535
	EOF
	LAB_UPNP_PID=$(lab_spawn "$name" "$log" /usr/sbin/miniupnpd -f "$conf" -d \
		-P "$LAB_DIR/upnp-$name.pid")
	for ((i = 0; i < 100; i++)); do
		grep -q 'Listening for NAT-PMP/PCP' "$log" 2>/dev/null && break
		_lab_alive "$LAB_UPNP_PID" || break
		sleep 0.1
	done
	if ! grep -q 'Port forwarding is now enabled' "$log" ||
		! grep -q 'Listening for NAT-PMP/PCP' "$log"; then
		_lab_die "miniupnpd on $name did not start: $(tail -5 "$log")"
	fi
}

# ---- IPv6 underlay ------------------------------------------------------------
#
# The internet is IPv4 only unless a test adds IPv6 (LAB_IPV6=1 first): the
# segment 2001:db8::/64 on the same bridge (core router 2001:db8::1), each
# router's LAN a /64 of 2001:db8:N::/64 routed to the router's WAN address,
# and in each router a stateful IPv6 firewall (table ip6 lab6) as home
# routers have: no NAT66, outbound from the LAN accepted, inbound only
# established/related, nothing unsolicited to the router but neighbour
# discovery. Addresses are static (nodad: no duplicate detection wait).

LAB_SEG6=2001:db8:: # the internet's IPv6 segment, /64
LAB_GW6=2001:db8::1

_lab_need6() {
	[ "$LAB_IPV6" = 1 ] || _lab_die "IPv6 in the lab needs LAB_IPV6=1 before the nodes are built"
}

# lab_inet6: IPv6 on the internet segment (the builders below call it).
lab_inet6() {
	_lab_need
	_lab_need6
	lab_internet
	[ -z "${_lab_inet6:-}" ] || return 0
	_lab_sysctl "${LAB_PREFIX}inet" net/ipv6/conf/all/forwarding=1
	ip -n "${LAB_PREFIX}inet" addr add "$LAB_GW6/64" dev br0 nodad ||
		_lab_die "internet IPv6 setup failed"
	_lab_inet6=1
}

# lab_addr6 NAME IP6: a public host or a router gets IP6/64 on the internet
# segment (its eth0 or wan) and a default route via the core router.
lab_addr6() {
	_lab_need
	local name=$1 ip6=${2:-} ns dev=eth0
	[ $# -eq 2 ] || _lab_die "usage: lab_addr6 NAME IP6"
	lab_inet6
	ns=$(_lab_ns "$name") || exit 1
	[ "${_lab_kind[$name]:-}" != router ] || dev=wan
	[ -z "${_lab_up[$name]:-}" ] || _lab_die "$name is behind another router: no IPv6 WAN here"
	ip -n "$ns" -batch - <<-EOF2 || _lab_die "IPv6 address $ip6 on $name failed"
		addr add $ip6/64 dev $dev nodad
		route add ::/0 via $LAB_GW6 dev $dev
	EOF2
	_lab_ip6[$name]=$ip6
}

# lab_lan6 ROUTER PREFIX6: ROUTER's LAN gets PREFIX6 (a /64, e.g.
# 2001:db8:1::) with PREFIX6 1 on the router, routed to it from the core;
# the router forwards IPv6 through its stateful firewall. ROUTER needs an
# IPv6 WAN address (lab_addr6) first.
lab_lan6() {
	_lab_need
	local name=$1 pfx=${2:-} ns
	[ $# -eq 2 ] || _lab_die "usage: lab_lan6 ROUTER PREFIX6"
	[ "${_lab_kind[$name]:-}" = router ] || _lab_die "'$name' is not a router"
	[ -n "${_lab_ip6[$name]:-}" ] || _lab_die "$name has no IPv6 WAN address (lab_addr6)"
	ns=$LAB_PREFIX$name
	_lab_sysctl "$ns" net/ipv6/conf/all/forwarding=1
	ip -n "$ns" addr add "${pfx}1/64" dev lan nodad || _lab_die "IPv6 on $name's LAN failed"
	ip -n "${LAB_PREFIX}inet" -6 route add "$pfx/64" via "${_lab_ip6[$name]}" ||
		_lab_die "route to $name's IPv6 LAN failed"
	_lab_nsx "$ns" nft -f - <<-EOF2 || _lab_die "IPv6 firewall of $name rejected"
		table ip6 lab6 {
			chain input {
				type filter hook input priority filter; policy drop;
				iif "lo" accept
				ct state established,related accept
				iifname "lan" accept
				icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
			}
			chain forward {
				type filter hook forward priority filter; policy drop;
				iifname "lan" oifname "wan" accept
				iifname "wan" oifname "lan" ct state established,related accept
			}
		}
	EOF2
	_lab_lan6[$name]=$pfx
}

# lab_host6 NAME IP6: host NAME (behind a router with lab_lan6) gets IP6/64
# on eth0 and a default route via its router.
lab_host6() {
	_lab_need
	local name=$1 ip6=${2:-} router
	[ $# -eq 2 ] || _lab_die "usage: lab_host6 NAME IP6"
	router=${_lab_router[$name]:-}
	[ -n "$router" ] && [ -n "${_lab_lan6[$router]:-}" ] ||
		_lab_die "$name is not behind a router with an IPv6 LAN (lab_lan6)"
	ip -n "$LAB_PREFIX$name" -batch - <<-EOF2 || _lab_die "IPv6 on host $name failed"
		addr add $ip6/64 dev eth0 nodad
		route add ::/0 via ${_lab_lan6[$router]}1 dev eth0
	EOF2
	_lab_ip6[$name]=$ip6
}
