#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the units with `systemd-analyze verify`. The units name the
# installed binaries (/usr/local/bin); before `make install`, pass the build
# directory and copies pointing at the built binaries are checked instead.
# Usage: verify.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v systemd-analyze >/dev/null || { echo "verify: systemd-analyze not installed" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in cairn-node.service cairn-relay.service; do
	if [ -n "${1:-}" ]; then
		sed -e "s|/usr/local/bin/cairn-node|$1/node/cairn-node|" \
			-e "s|/usr/local/bin/cairn-relay|$1/relay/cairn-relay|" "$here/$u" >"$tmp/$u"
	else
		cp "$here/$u" "$tmp/$u"
	fi
done
systemd-analyze verify "$tmp/cairn-node.service" "$tmp/cairn-relay.service"
echo "verify: units OK"
