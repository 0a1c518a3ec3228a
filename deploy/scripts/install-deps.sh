#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything cairn needs to build, test and run its demo on
# Debian 12, as root. Does nothing (and needs no network) when every package
# is already installed. Used by both README commands and by CI.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config
	libsodium-dev libevent-dev libnice-dev libc-ares-dev libconfig-dev
	# tests: unit framework, fuzzing (clang + libFuzzer runtime), format check
	libcmocka-dev clang libclang-rt-14-dev clang-format
	# lab and demo: namespaces, NAT, probes
	iproute2 nftables iputils-ping stun-client coturn iperf3 dnsutils python3 procps systemd
	# tests: signing a list by hand (test_cli), the validly signed fuzz seeds
	python3-cryptography
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
