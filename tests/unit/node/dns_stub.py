#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A tiny authoritative DNS stub over UDP for test_resolver.c.

Binds 127.0.0.1 (or --bind ADDR --port N) on an ephemeral port, prints the port on stdout (one line)
and answers from the fixed zone below until killed (or --lifetime seconds
pass, so a crashed test never leaves it behind). Names starting with "drop"
get no answer at all; names not in the zone get NXDOMAIN. For "raw.test"
it appends "Q <hex>" and "R <hex>" lines (the query received and the answer
sent) to the --log file before sending, so the test can compare bytes.
"""
import argparse
import ipaddress
import socket
import struct
import sys
import time

A, AAAA, SRV = 1, 28, 33

ZONE = {
    "host.test": {A: ["192.0.2.10", "192.0.2.11"], AAAA: ["2001:db8::10"]},
    "v4only.test": {A: ["192.0.2.20"]},
    "v6only.test": {AAAA: ["2001:db8::20"]},
    "many.test": {A: ["198.51.100.%d" % i for i in range(1, 21)]},
    "raw.test": {A: ["192.0.2.99"]},
    "_cairn._udp.test": {SRV: [(20, 0, 5003, "c.test"), (10, 60, 5001, "a.test"),
                               (30, 0, 5004, "d.test"), (10, 40, 5002, "b.test")]},
    "_none._udp.test": {SRV: [(0, 0, 0, ".")]},
    # The NAT lab's relay found by SRV, then A (tests/lab/test_names.sh).
    "_cairn._udp.lab.test": {SRV: [(10, 0, 443, "relay1.lab.test")]},
    "relay1.lab.test": {A: ["203.0.113.100"]},
}


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rdata(qtype, value):
    if qtype == A:
        return ipaddress.IPv4Address(value).packed
    if qtype == AAAA:
        return ipaddress.IPv6Address(value).packed
    prio, weight, port, target = value
    return struct.pack("!HHH", prio, weight, port) + encode_name(target)


def answer(query):
    """Returns the response bytes, or None to stay silent."""
    if len(query) < 12:
        return None, None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:
        return None, None
    pos, labels = 12, []
    while pos < len(query) and query[pos] != 0:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    pos += 1
    if pos + 4 > len(query):
        return None, None
    qtype, _qclass = struct.unpack("!HH", query[pos:pos + 4])
    question = query[12:pos + 4]
    name = ".".join(labels).lower()
    if name.startswith("drop"):
        return name, None
    rcode, records = 0, []
    if name in ZONE:
        records = ZONE[name].get(qtype, [])
    else:
        rcode = 3
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
    msg = struct.pack("!HHHHHH", qid, rflags, 1, len(records), 0, 0) + question
    for value in records:
        rd = rdata(qtype, value)
        msg += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(rd)) + rd
    return name, msg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--bind", default="127.0.0.1",
                    help="address to listen on (the lab's upstream uses its own)")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    sock.settimeout(0.5)
    print(sock.getsockname()[1], flush=True)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        try:
            query, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        name, msg = answer(query)
        if msg is None:
            continue
        if name == "raw.test":
            with open(args.log, "a") as f:
                f.write("Q %s\nR %s\n" % (query.hex(), msg.hex()))
        sock.sendto(msg, peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
