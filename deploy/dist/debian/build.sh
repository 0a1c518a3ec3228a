#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages cairn, cairn-node and cairn-relay with
# dpkg-buildpackage (debhelper), from a copy of this source tree with
# deploy/dist/debian laid in as debian/ (the top level stays as it is).
#
# Usage: build.sh [--arch armhf|arm64] [--lintian] OUTDIR
#   --arch    cross build (needs crossbuild-essential-ARCH, qemu-user-static
#             and deploy/scripts/cross-sysroot.sh ARCH; build-dependencies
#             are not checked: they are in the sysroot, not installed)
#   --lintian run lintian on the result; fails on any error or warning
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
arch=
lint=0
while [ $# -gt 1 ]; do
	case "$1" in
	--arch) arch=$2; shift 2 ;;
	--lintian) lint=1; shift ;;
	*) echo "usage: build.sh [--arch armhf|arm64] [--lintian] OUTDIR" >&2; exit 2 ;;
	esac
done
out=${1:?usage: build.sh [--arch armhf|arm64] [--lintian] OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(dpkg-parsechangelog -l "$top/deploy/dist/debian/changelog" -S Version)
work=$(mktemp -d /tmp/cairn-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/cairn-$version
mkdir -p "$src"
# The files git knows (tracked, and new ones not ignored): no build trees.
cd "$top"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -co --exclude-standard -z
else
	find . -path ./build -prune -o -type f -print0
fi | xargs -0 cp --parents -t "$src"
cp -r "$top/deploy/dist/debian" "$src/debian"
rm -f "$src/debian/build.sh"
args=(-b -uc -us)
if [ -n "$arch" ]; then
	args+=(-a "$arch" -d)
fi
(cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)" \
	dpkg-buildpackage "${args[@]}") >"$work/build.log" 2>&1 || {
	grep -A5 "CMake Error" "$work/build.log" || true
	tail -40 "$work/build.log"
	echo "build.sh: dpkg-buildpackage failed" >&2
	exit 1
}
cp "$work"/*.deb "$out"/
ls "$out"/*.deb
if [ "$lint" = 1 ]; then
	# Errors and warnings fail; the one info tag left is explained in
	# docs/DESIGN.md ("Packages and cross builds").
	lintian --fail-on error,warning "$work"/*.changes
fi
