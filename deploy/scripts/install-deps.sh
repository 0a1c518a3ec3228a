#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs everything cairn needs to build, test and run its demo on
# Debian 12, as root: Debian packages, and the armhf and arm64 sysroots of
# the cross builds (deploy/scripts/cross-sysroot.sh; CN_CROSS=0 skips
# them). Does nothing (and needs no network) when everything is in place.
# Used by both README commands and by CI.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config
	libsodium-dev libevent-dev libnice-dev libc-ares-dev libconfig-dev libminiupnpc-dev libjansson-dev
	# tests: unit framework, fuzzing (clang + libFuzzer runtime), format check
	libcmocka-dev clang libclang-rt-14-dev clang-format
	# lab and demo: namespaces, NAT, probes
	iproute2 nftables iputils-ping stun-client coturn iperf3 dnsutils python3 procps systemd
	# tests: signing a list by hand (test_cli), the validly signed fuzz seeds
	python3-cryptography
	# lab: a router that speaks PCP, NAT-PMP and UPnP-IGD (only the daemon:
	# the "miniupnpd" package would add a service; see below)
	miniupnpd-nftables
	# Debian packages: build, lintian, manual pages; adduser for their scripts
	debhelper lintian help2man adduser
)
cross=(crossbuild-essential-armhf crossbuild-essential-arm64 qemu-user-static)
if [ "${CN_CROSS:-1}" != 0 ]; then
	packages+=("${cross[@]}")
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -ne 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${CN_CROSS:-1}" != 0 ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	for arch in armhf arm64; do
		bash "$here/cross-sysroot.sh" "$arch"
	done
fi

# miniupnpd-nftables ships only the binary and its nft helper scripts (no
# service, no postinst). The lab runs it inside a router namespace with its
# own config. Should the "miniupnpd" service package be present anyway, keep
# its service off: a UPnP daemon on the host's real interfaces is never wanted.
if command -v systemctl >/dev/null && systemctl list-unit-files miniupnpd.service 2>/dev/null |
	grep -q miniupnpd; then
	systemctl disable --now miniupnpd.service >/dev/null 2>&1 || true
fi
