#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes validly signed deploy manifests (deploy/manifest.h) into
# tests/fuzz/corpus/fuzz_deploy_manifest/, signed with the RFC 8032 test 1
# key that fuzz_deploy_manifest.c verifies against, so the target's
# "verified" branch runs from the first input. Deterministic (Ed25519
# signatures are), so re-running changes nothing. Needs python3-cryptography.
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
CONTEXT = b"cairn deploy manifest v1\0"


def manifest(key, app, version, size, digest, time):
    pk = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = (bytes([1, len(app)]) + app + bytes([len(version)]) + version +
            struct.pack(">Q", size) + digest + struct.pack(">q", time) + pk)
    return body + key.sign(CONTEXT + body)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus",
                       "fuzz_deploy_manifest")
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    seeds = {
        "signed_small": manifest(key, b"app", b"1.0", 4096, bytes(range(32)), 1764547200),
        "signed_longest": manifest(key, b"a" * 63, b"V" * 64, 64 << 30, b"\xff" * 32,
                                   (1 << 63) - 1),
        "signed_min": manifest(key, b"x", b"0", 1, bytes(32), 1),
        "signed_odd_version": manifest(key, b"web-api", b"2.0.1+build.7_rc-1", 123456789,
                                       bytes(32 - i for i in range(32)), 1700000000),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
