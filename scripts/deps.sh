#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install (default) or check (--check) the Debian packages in scripts/deps.txt.
set -eu
list="$(dirname "$0")/deps.txt"
pkgs=$(grep -v '^#' "$list" | grep -v '^$')
missing=""
for p in $pkgs; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
if [ "${1:-}" = "--check" ]; then
	if [ -n "$missing" ]; then
		echo "pinconv: error: missing Debian packages:$missing (run 'make deps')" >&2
		exit 1
	fi
	exit 0
fi
if [ -z "$missing" ]; then
	echo "deps: all $(echo $pkgs | wc -w) packages already installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "pinconv: error: must be root to install:$missing (try: sudo make deps)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "deps: installed:$missing"
