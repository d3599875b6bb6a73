#!/bin/bash
# Builds the libFuzzer harnesses with clang + ASan + UBSan and runs each for
# FUZZ_SECONDS (default 30) on a copy of its seed corpus. Any crash, leak or
# sanitizer report fails the run.  Usage: tests/fuzz/run-fuzzers.sh BUILD_DIR
# The long run (tests/fuzz/README.md): FUZZ_RUNS=5000000 FUZZ_NICE=15 runs each
# harness, one at a time, for that many executions instead of a time.
# FUZZ_HARNESSES="json-stream client" runs only those (two runs can then share
# a machine, each with its own BUILD_DIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/_ci/fuzz}
seconds=${FUZZ_SECONDS:-30}
CC=clang meson setup --wipe "$build" "$top" -Dfuzz=true -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false >/dev/null 2>&1 ||
	CC=clang meson setup "$build" "$top" -Dfuzz=true -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
status=0
ran=0
for name in ${FUZZ_HARNESSES:-kubeconfig json-stream exec-output client}; do
	exe=$build/tests/fuzz/fuzz-$name
	seeds=$top/tests/fuzz/corpus/${name%-stream}
	[ -d "$seeds" ] || seeds=$top/tests/fuzz/corpus/$name
	ninja -C "$build" "tests/fuzz/fuzz-$name" >/dev/null || { echo "not ok - fuzz-$name does not build"; status=1; continue; }
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
	if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="$seconds"); fi
	if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 nice -n "${FUZZ_NICE:-0}" "$exe" "${limit[@]}" -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$build/crash-$name-" "$work" >"$build/fuzz-$name.log" 2>&1; then
		echo "ok - fuzz-$name: $(grep -E '^Done [0-9]+ runs' "$build/fuzz-$name.log" | tail -1) (no finding)"
	else
		echo "not ok - fuzz-$name failed; log: $build/fuzz-$name.log"
		tail -40 "$build/fuzz-$name.log"
		status=1
	fi
	rm -rf "$work"
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "not ok - no fuzz harness ran"; status=1; }
exit $status
