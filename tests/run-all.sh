#!/bin/bash
# Builds libfluxstate and runs every test suite: the plain build
# (-Wall -Wextra -Werror), the same under ASan+UBSan, the unit, transport and
# detection tests under valgrind, the client's threads under ThreadSanitizer,
# the fuzzers briefly, and an installed-tree check of the C, Go and
# pkg-config consumers.  Usage: tests/run-all.sh   (from a fresh clone)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "${SKIP_DEPS:-0}" = 1 ] || bash tests/install-deps.sh
out=${BUILD_ROOT:-$top/_ci}
mkdir -p "$out"
status=0
step() { printf '\n==> %s\n' "$*"; }

step "build (gcc, -Werror) and test"
meson setup --wipe "$out/build" -Dwerror=true >/dev/null 2>&1 || meson setup "$out/build" -Dwerror=true
meson compile -C "$out/build"
meson test -C "$out/build" --print-errorlogs --num-processes 2 || status=1

step "ASan + UBSan build and test"
meson setup --wipe "$out/asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null 2>&1 ||
	meson setup "$out/asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C "$out/asan"
meson test -C "$out/asan" --print-errorlogs --num-processes 2 || status=1

step "C unit, transport and detection tests under valgrind"
# suite memcheck: the C test programs (not the Python/shell ones, which would run python under valgrind)
meson test -C "$out/build" --setup valgrind --suite memcheck --print-errorlogs --num-processes 2 || status=1

step "ThreadSanitizer: the client test, contexts on several threads at once"
meson setup --wipe "$out/tsan" -Dwerror=true -Db_sanitize=thread -Db_lundef=false >/dev/null 2>&1 ||
	meson setup "$out/tsan" -Dwerror=true -Db_sanitize=thread -Db_lundef=false
meson compile -C "$out/tsan" tests/transport/test-client
meson test -C "$out/tsan" --no-rebuild --print-errorlogs client || status=1

if [ -x tests/fuzz/run-fuzzers.sh ]; then
	step "fuzzers (clang, libFuzzer, ASan+UBSan)"
	bash tests/fuzz/run-fuzzers.sh "$out/fuzz" || status=1
fi

if [ -x tests/check-install.sh ]; then
	step "installed tree: pkg-config C consumer, Go binding, Python binding"
	bash tests/check-install.sh "$out/build" "$out/destdir" || status=1
fi

if [ $status -eq 0 ]; then
	echo; echo "run-all: all suites passed"
else
	echo; echo "run-all: FAILED (see above)"
fi
exit $status
