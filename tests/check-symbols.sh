#!/bin/sh
# Fails when the shared library exports anything but the names listed in the
# version script, or misses one of them.
set -eu
lib=$1
sym=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' |
	grep -vE '^(_init|_fini|FLUXSTATE_[0-9_.]+)$' | sort -u)
listed=$(grep -oE '^[[:space:]]*fluxstate_[a-z0-9_]+;' "$sym" | tr -d ' \t;' | sort -u)
bad=$(printf '%s\n' "$exported" | grep -v '^fluxstate_' || true)
if [ -n "$bad" ]; then
	echo "not ok - symbols outside the fluxstate_ namespace are exported:"
	echo "$bad"
	exit 1
fi
if [ "$exported" != "$listed" ]; then
	echo "not ok - exported symbols differ from libfluxstate.sym:"
	diff -u /dev/fd/3 /dev/fd/4 3<<E1 4<<E2 || true
$listed
E1
$exported
E2
	exit 1
fi
n=$(printf '%s\n' "$exported" | wc -l)
echo "ok - $n symbols exported, all fluxstate_* and all in libfluxstate.sym"
