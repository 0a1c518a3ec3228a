#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The data-plane pieces wired together (tests/lab/fastpath_probe.c: TUN
# offloads, segmentation, batch sealing on worker threads, UDP GSO/GRO,
# coalesced TUN writes) between two network namespaces this script creates
# and deletes (cn-fp-PID-a, cn-fp-PID-b, joined by one veth pair; nothing
# touches the host's interfaces). Checks: ping both ways over the overlay,
# 32 MiB over IPv4 and 8 MiB over IPv6 TCP arrive intact (SHA-256), UDP datagrams of mixed
# sizes arrive intact, and the probes really used super-packets, GSO and
# coalescing when the kernel has them. Throughput is not measured here.
#   usage: test_fastpath.sh path/to/fastpath_probe
# Exit 0 pass, 1 fail, 77 skip (not root, no /dev/net/tun, no netns, no python3).
set -euo pipefail

probe=${1:?usage: test_fastpath.sh path/to/fastpath_probe}
a=cn-fp-$$-a
b=cn-fp-$$-b
dir=$(mktemp -d /tmp/cn_fp.XXXXXX)
pids=()

cleanup() {
	exec 3>&- 4>&- 2>/dev/null || true
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	for s in a b; do
		echo "--- probe $s"
		cat "$dir/$s.out" 2>/dev/null || true
	done
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v ip >/dev/null || skip "no ip(8)"
command -v python3 >/dev/null || skip "no python3"
ip netns add "$a" || skip "cannot create a network namespace"
ip netns add "$b"
ip -n "$a" link add veth0 type veth peer name veth0 netns "$b"
ip -n "$a" addr add 10.201.0.1/24 dev veth0
ip -n "$b" addr add 10.201.0.2/24 dev veth0
for n in "$a" "$b"; do
	ip -n "$n" link set lo up
	ip -n "$n" link set veth0 up
done

mkfifo "$dir/a.in" "$dir/b.in"
timeout 60 ip netns exec "$a" "$probe" a 10.201.0.1 10.201.0.2 1 50 <"$dir/a.in" >"$dir/a.out" 2>&1 &
pids+=($!)
exec 3>"$dir/a.in"
timeout 60 ip netns exec "$b" "$probe" b 10.201.0.2 10.201.0.1 1 50 <"$dir/b.in" >"$dir/b.out" 2>&1 &
pids+=($!)
exec 4>"$dir/b.in"
for _ in $(seq 100); do
	grep -q '^ready' "$dir/a.out" && grep -q '^ready' "$dir/b.out" && break
	sleep 0.1
done
grep -q '^ready' "$dir/a.out" && grep -q '^ready' "$dir/b.out" || fail "probes not ready in 10 s"
head -1 "$dir/a.out"

ip netns exec "$a" ping -c 3 -i 0.2 -W 2 10.202.0.2 >/dev/null || fail "no ping a -> b over the overlay"
ip netns exec "$b" ping -c 3 -i 0.2 -W 2 10.202.0.1 >/dev/null || fail "no ping b -> a over the overlay"
echo "ok: ping both ways over the overlay"

# TCP: deterministic bytes, hashed on both ends, over IPv4 and IPv6.
cat >"$dir/sink.py" <<'PY'
import hashlib, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 5001)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest())
PY
cat >"$dir/source.py" <<'PY'
import hashlib, socket, sys
blk = hashlib.sha256(b"cairn").digest() * 2048  # 64 KiB
count = int(sys.argv[2]) * 16  # MiB
data = b"".join(hashlib.sha256(blk + i.to_bytes(2, "big")).digest() + blk[32:] for i in range(count))
s = socket.create_connection((sys.argv[1], 5001), timeout=20); s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())
PY
tcp_check() { # address MiB
	timeout 30 ip netns exec "$b" python3 "$dir/sink.py" "$1" >"$dir/sink.out" 2>&1 &
	local sinkpid=$!
	sleep 0.5
	timeout 30 ip netns exec "$a" python3 "$dir/source.py" "$1" "$2" >"$dir/source.out" 2>&1 ||
		fail "TCP source to $1: $(cat "$dir/source.out")"
	wait "$sinkpid" || fail "TCP sink on $1: $(cat "$dir/sink.out")"
	[ "$(cat "$dir/source.out")" = "$(cat "$dir/sink.out")" ] ||
		fail "TCP bytes to $1 differ: sent $(cat "$dir/source.out"), got $(cat "$dir/sink.out")"
	echo "ok: $2 MiB over TCP to $1 through the fast path, SHA-256 equal ($(cut -c1-24 "$dir/sink.out")...)"
}
tcp_check 10.202.0.2 32
tcp_check fd92::2 8

# UDP: datagrams of mixed sizes, each checked.
cat >"$dir/udp.py" <<'PY'
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("10.202.0.2", 5002)); r.settimeout(3)
sizes = [1, 100, 1000, 1372, 1372, 1372, 500, 1372, 8000]
print("ready", flush=True)
got = []
try:
    while len(got) < len(sizes):
        got.append(r.recv(65535))
except socket.timeout:
    pass
ok = all(g == bytes([i % 251]) * s for i, (g, s) in enumerate(zip(got, sizes)))
print("udp", len(got), "ok" if ok and len(got) == len(sizes) else "bad")
PY
timeout 10 ip netns exec "$b" python3 "$dir/udp.py" >"$dir/udp.out" 2>&1 &
udppid=$!
pids+=($udppid)
for _ in $(seq 30); do grep -q ready "$dir/udp.out" && break; sleep 0.1; done
ip netns exec "$a" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i, n in enumerate([1, 100, 1000, 1372, 1372, 1372, 500, 1372, 8000]):
    s.sendto(bytes([i % 251]) * n, ("10.202.0.2", 5002))
'
wait "$udppid" || true
grep -q '^udp 9 ok' "$dir/udp.out" || fail "UDP datagrams: $(cat "$dir/udp.out")"
echo "ok: 9 UDP datagrams (1..8000 bytes, the last fragmented) intact and in order"

echo stop >&3
echo stop >&4
for p in "${pids[@]:0:2}"; do wait "$p" || fail "probe exited with $?"; done
pids=()
sa=$(grep '^stats' "$dir/a.out") || fail "no stats from a"
sb=$(grep '^stats' "$dir/b.out") || fail "no stats from b"
echo "a: $sa"
echo "b: $sb"
val() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }
[ "$(val "$sa" drops)" -eq 0 ] && [ "$(val "$sb" drops)" -eq 0 ] || fail "a probe dropped packets"
if grep -q 'offload tso' "$dir/a.out"; then
	[ "$(val "$sa" super_packets)" -gt 0 ] || fail "a read no TSO super-packet"
	[ "$(val "$sb" coalesced)" -gt 0 ] || fail "b coalesced nothing"
fi
if grep -q 'gso 1' "$dir/a.out"; then
	[ "$(val "$sa" gso_msgs)" -gt 0 ] || fail "a sent no GSO message"
fi
echo "PASS"
