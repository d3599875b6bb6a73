#!/bin/sh
# classify.c must stay a pure function of the observations (docs/ARCHITECTURE.md):
# no I/O, no clock, no environment, no randomness. Check what its object file
# calls: memory and string functions, the report/table/observation helpers
# (report.c, fluxdata.c and its generated flux-releases.c, observations.c) and the string helpers of util.c.
# Anything else (getenv, fopen, clock_gettime, curl_*, fluxstate__client_*,
# fluxstate__now_ms, ...) fails, naming the symbol.
#
# Usage: check-classify-pure.sh LIBFLUXSTATE-INTERNAL.a
set -eu
ar=$1
nm=${NM:-nm}

refs=$("$nm" -u -A "$ar" | sed -n 's/^.*[:/]classify\.c\.o: *U //p')
if [ -z "$refs" ]; then
	echo "1..1"
	echo "not ok 1 - classify.c.o found in $ar"
	exit 1
fi
helpers=$("$nm" -A --defined-only "$ar" |
	sed -n 's/^.*[:/]\(report\|fluxdata\|[^:/]*flux-releases\|observations\)\.c\.o:[0-9a-f]* [A-Za-z] //p')

n=0
bad=""
for sym in $refs; do
	n=$((n + 1))
	case "$sym" in
	calloc|malloc|realloc|free|qsort|str*|mem*) continue ;;
	_GLOBAL_OFFSET_TABLE_|__stack_chk_fail|__assert_fail) continue ;;
	__asan_*|__ubsan_*|__sanitizer_*|__sancov_*|__gcov_*|__llvm_*) continue ;;
	fluxstate__strdup|fluxstate__strndup|fluxstate__streq|fluxstate__has_prefix|fluxstate__has_suffix) continue ;;
	fluxstate__asprintf|fluxstate__buf_*) continue ;;
	esac
	if printf '%s\n' "$helpers" | grep -qx "$sym"; then
		continue
	fi
	bad="$bad $sym"
done

echo "1..1"
if [ -n "$bad" ]; then
	echo "not ok 1 - classify.c calls only pure functions ($n symbols); not allowed:$bad"
	exit 1
fi
echo "ok 1 - classify.c calls only pure functions ($n symbols)"
