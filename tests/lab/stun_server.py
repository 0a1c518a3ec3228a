#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""STUN binding server and UDP reachability probes for the namespace lab.

  stun_server.py serve IP PORT [--ready FILE] [--max-seconds N]
      Answers Binding requests on IP:PORT. RFC 5389 requests (magic cookie)
      get MAPPED-ADDRESS and XOR-MAPPED-ADDRESS; RFC 3489 requests (no
      cookie, like Debian's `stun` client) get MAPPED-ADDRESS only, since a
      classic parser rejects the unknown comprehension-required 0x0020.
      FILE is created once the socket is bound. Exits after N seconds
      (default 900) so a server whose cleanup was skipped cannot linger.

  stun_server.py filter HOST_NS SPORT PROBE_NS PROBE_IP MAPPED_IP:PORT OPEN POS NEG
      Measures a NAT's filtering from one process that opens sockets in two
      network namespaces (paths like /run/netns/NAME; needs root):
        1. unsolicited: a probe socket that the host never talked to sends
           to MAPPED (the host's mapped address); does it reach the host's
           socket on 0.0.0.0:SPORT?
        2. reply: the host sends to probe socket 1 (PROBE_IP, the probe
           namespace's public address) from SPORT; probe 1
           answers to the source it saw (the host's mapping toward it);
           does the answer come back? (the positive control)
        3. otherport: a second probe socket on the same address, another
           port, sends to that mapping; does it reach the host?
        4. punch: the host sends to probe socket 2 (which sent to it
           first, like a peer's early hole-punch packet): which mapping
           does probe 2 see?
      OPEN=1 when 1 and 3 are expected to reach the host: those waits are
      then POS seconds (ending early on arrival), else NEG seconds (a packet
      that is not coming is waited for in full). Prints one line:
        unsolicited=reached|blocked reply=ok|none seen=IP:PORT
        otherport=reached|blocked|skipped punch=IP:PORT|none

  stun_server.py reach FROM_NS TO_NS DEST_IP SECONDS
      Binds a UDP socket on 0.0.0.0 (ephemeral port) in TO_NS, sends to
      DEST_IP:that port from FROM_NS, prints "reached" or "blocked"
      (exit 0 / 1) after at most SECONDS.

  stun_server.py tcpreach FROM_NS TO_NS DEST_IP SECONDS
      The same with a TCP connection (listener in TO_NS, connect from
      FROM_NS, one line each way): "reached" or "blocked".

Only the standard library; IPv4 only (the lab is IPv4).
"""
import ctypes
import os
import select
import socket
import struct
import sys
import time

COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
ATTR_MAPPED = 0x0001
ATTR_XOR_MAPPED = 0x0020
CLONE_NEWNET = 0x40000000


def opt(args, name, default):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return default


def addr_attr(kind, ip, port, xor):
    raw = socket.inet_aton(ip)
    if xor:
        port ^= COOKIE >> 16
        raw = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", COOKIE)))
    return struct.pack("!HHBBH", kind, 8, 0, 1, port) + raw


def answer(pkt, src):
    """Returns the response to a Binding request, or None to ignore pkt."""
    if len(pkt) < 20 or pkt[0] & 0xC0:
        return None
    mtype, mlen = struct.unpack("!HH", pkt[:4])
    if mtype != BINDING_REQUEST or mlen % 4 or 20 + mlen > len(pkt):
        return None
    modern = struct.unpack("!I", pkt[4:8])[0] == COOKIE
    attrs = addr_attr(ATTR_MAPPED, src[0], src[1], False)
    if modern:
        attrs += addr_attr(ATTR_XOR_MAPPED, src[0], src[1], True)
    # Bytes 4..20 are the RFC 3489 transaction id, or the cookie and the
    # RFC 5389 id: echoed either way.
    return struct.pack("!HH", BINDING_SUCCESS, len(attrs)) + pkt[4:20] + attrs


def serve(args):
    ready = opt(args, "--ready", None)
    max_seconds = float(opt(args, "--max-seconds", "900"))
    ip, port = args[0], int(args[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    if ready:
        with open(ready + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(ready + ".tmp", ready)
    deadline = time.monotonic() + max_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("max-seconds reached, exiting", flush=True)
            return 0
        if not select.select([s], [], [], min(left, 1.0))[0]:
            continue
        pkt, src = s.recvfrom(2048)
        reply = answer(pkt, src)
        if reply is not None:
            s.sendto(reply, src)
            print("binding from %s:%d" % src, flush=True)


_libc = None


def socket_in(ns_path, port=0, kind=socket.SOCK_DGRAM):
    """A socket (UDP unless kind) bound to 0.0.0.0:port inside the
    namespace at ns_path."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(ns_path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns %s: %s" % (ns_path, os.strerror(err)))
    finally:
        os.close(fd)
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    return s


def wait_for(sock, seconds, want=None):
    """The first datagram (payload, source) within seconds, or None.
    With want, other payloads (strays) are skipped."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return None
        pkt, src = sock.recvfrom(2048)
        if want is None or pkt == want:
            return pkt, src


def send_burst(sock, payload, dest):
    # Three copies 20 ms apart: nothing is lost in the lab, but the first
    # packet can wait for ARP.
    for i in range(3):
        if i:
            time.sleep(0.02)
        sock.sendto(payload, dest)


def filter_check(args):
    host_ns, sport, probe_ns, probe_ip, mapped, open_, pos, neg = args
    sport, pos, neg = int(sport), float(pos), float(neg)
    mip, mport = mapped.rsplit(":", 1)
    mapped = (mip, int(mport))
    expect_open = open_ == "1"
    window = pos if expect_open else neg
    host = socket_in(host_ns, sport)
    probe1 = socket_in(probe_ns)
    probe2 = socket_in(probe_ns)
    out = []

    send_burst(probe2, b"unsolicited", mapped)
    got = wait_for(host, window, b"unsolicited")
    out.append("unsolicited=" + ("reached" if got else "blocked"))

    p1 = (probe_ip, probe1.getsockname()[1])
    host.sendto(b"ping", p1)
    got = wait_for(probe1, pos, b"ping")
    seen = None
    if got:
        seen = got[1]
        probe1.sendto(b"pong", seen)
        got = wait_for(host, pos, b"pong")
    out.append("reply=" + ("ok" if got else "none"))
    out.append("seen=%s:%d" % seen if seen else "seen=none")

    if seen:
        send_burst(probe2, b"otherport", seen)
        got = wait_for(host, window, b"otherport")
        out.append("otherport=" + ("reached" if got else "blocked"))
    else:
        out.append("otherport=skipped")

    # 4. The host now sends to probe 2, which sent to it first (like a
    # peer's hole-punch packet arriving before ours): which mapping does
    # probe 2 see? A NAT that accepted the early packet has had to move it.
    host.sendto(b"punch", (probe_ip, probe2.getsockname()[1]))
    got = wait_for(probe2, pos, b"punch")
    out.append("punch=%s:%d" % got[1] if got else "punch=none")
    print(" ".join(out), flush=True)
    return 0


def reach(args):
    from_ns, to_ns, dest, seconds = args
    rx = socket_in(to_ns)
    tx = socket_in(from_ns)
    send_burst(tx, b"reach", (dest, rx.getsockname()[1]))
    got = wait_for(rx, float(seconds), b"reach")
    print("reached" if got else "blocked", flush=True)
    return 0 if got else 1


def tcp_reach(args):
    from_ns, to_ns, dest, seconds = args
    seconds = float(seconds)
    lst = socket_in(to_ns, kind=socket.SOCK_STREAM)
    lst.listen(1)
    tx = socket_in(from_ns, kind=socket.SOCK_STREAM)
    tx.settimeout(seconds)
    ok = False
    try:
        tx.connect((dest, lst.getsockname()[1]))
        lst.settimeout(seconds)
        conn, _ = lst.accept()
        conn.settimeout(seconds)
        tx.sendall(b"reach\n")
        ok = conn.recv(16) == b"reach\n"
        conn.close()
    except OSError:
        ok = False
    print("reached" if ok else "blocked", flush=True)
    return 0 if ok else 1


def main():
    args = sys.argv[1:]
    modes = {"serve": serve, "filter": filter_check, "reach": reach, "tcpreach": tcp_reach}
    if not args or args[0] not in modes:
        sys.stderr.write(__doc__)
        return 2
    return modes[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
