#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the sysroot a cross build of cairn compiles, links and runs its
# unit tests (qemu-user) against: Debian 12's own ARCH packages of every
# library cairn uses, fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`, because the foreign -dev packages cannot be co-installed
# on Debian 12 (libnice-dev:armhf pulls gobject-introspection:armhf, which
# needs python3:armhf). Runtime libraries come with their dependency
# closure (libnice's gupnp-igd, soup, xml2, icu ...) so qemu finds them.
# The cross compiler's own C library (crossbuild-essential-ARCH) is used to
# compile; the sysroot's libc6 serves qemu at run time.
#
# Also writes SYSROOT/shlibs: the packages' own shlibs files, which the
# Debian cross build hands to dpkg-shlibdeps (deploy/dist/debian/rules).
#
# Usage: cross-sysroot.sh ARCH [SYSROOT]   (ARCH: armhf or arm64; as root;
# SYSROOT defaults to /opt/cairn-sysroot/ARCH). Does nothing when SYSROOT is
# complete for the current package list (a stamp records it).
set -euo pipefail
arch=${1:?usage: cross-sysroot.sh armhf|arm64 [SYSROOT]}
case "$arch" in armhf | arm64) ;; *) echo "cross-sysroot: ARCH must be armhf or arm64" >&2; exit 2 ;; esac
sysroot=${2:-/opt/cairn-sysroot/$arch}

# Headers, .so links and .pc files for compiling and linking. cairn links
# dynamically, so the .pc files' Requires.private (static linking only, but
# pkg-config insists they exist: gnutls, gupnp-igd, ... each with its own
# -dev chain) are dropped from the sysroot's copies below.
dev=(libsodium-dev libevent-dev libnice-dev libglib2.0-dev libc-ares-dev libconfig-dev
	libjansson-dev libcmocka-dev libminiupnpc-dev)
# What the programs load at run time (their closure is added below).
runtime=(libnice10 libsodium23 libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7
	libevent-pthreads-2.1-7 libevent-openssl-2.1-7 libc-ares2 libconfig9 libjansson4
	libcmocka0 libglib2.0-0 libminiupnpc17 libc6 libgcc-s1)

stamp=$sysroot/.cairn-sysroot
want="${dev[*]} ${runtime[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "cross-sysroot: $sysroot is missing or stale; run as root" >&2
	exit 1
fi
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	dpkg --add-architecture "$arch"
	apt-get update -qq
elif ! apt-cache show "libsodium23:$arch" >/dev/null 2>&1; then
	apt-get update -qq
fi

# The runtime closure in $arch, Depends only. apt-cache lists every
# alternative of an "a | b" dependency; tools and daemons among them
# (dbus, systemd, perl) are not libraries a program loads, so only lib*
# packages (and zlib1g) are kept.
mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances \
	"${runtime[@]/%/:$arch}" 2>/dev/null | grep -v '^[ <]' | grep ":$arch\$" |
	sed "s/:$arch\$//" | grep -E '^(lib|zlib1g$)' |
	grep -Ev '^lib(perl|systemd-shared|pam|debian-installer|gconf|dconf|elogind|proxy|semanage|newt|slang|cryptsetup|devmapper|fdisk|kmod|ip4tc|apparmor|argon2|seccomp|textwrap|ncurses|tinfo|readline|gdbm|db5|x11|xau|xcb|xdmcp|bsd|md0|dbus|proc2|smartcols|cap|audit)' |
	sort -u)
pkgs=$(printf '%s\n' "${dev[@]}" "${closure[@]}" | sort -u)

cache=/var/cache/cairn-cross/$arch
mkdir -p "$cache"
echo "cross-sysroot: $arch: $(wc -w <<<"$pkgs") packages into $sysroot"
# apt-get download writes into the current directory; files already there
# are not fetched again.
# (As root into a root-owned cache: apt's _apt sandbox user could not write there.)
# shellcheck disable=SC2046
(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root \
	$(sed "s/\$/:$arch/" <<<"$pkgs") >/dev/null)
rm -rf "$sysroot.new"
mkdir -p "$sysroot.new"
: >"$sysroot.new/shlibs"
ctl=$(mktemp -d)
trap 'rm -rf "$ctl" "$sysroot.new"' EXIT
for p in $pkgs; do
	deb=
	for f in "$cache/${p}_"*"_$arch.deb" "$cache/${p}_"*"_all.deb"; do
		[ -f "$f" ] && deb=$f
	done
	[ -n "$deb" ] || { echo "cross-sysroot: $p:$arch was not downloaded" >&2; exit 1; }
	dpkg-deb -x "$deb" "$sysroot.new"
	rm -rf "${ctl:?}"/*
	dpkg-deb -e "$deb" "$ctl"
	if [ -f "$ctl/shlibs" ]; then
		cat "$ctl/shlibs" >>"$sysroot.new/shlibs"
	fi
done
find "$sysroot.new" -name '*.pc' -exec sed -i '/^Requires.private:/d' {} +
# Absolute symbolic links inside the sysroot would point into this machine.
find "$sysroot.new" -type l -lname '/*' | while read -r l; do
	ln -sf "$sysroot$(readlink "$l")" "$l"
done
rm -rf "$sysroot"
mv "$sysroot.new" "$sysroot"
echo "$want" >"$stamp"
echo "cross-sysroot: $arch ready ($(du -sh "$sysroot" | cut -f1))"
