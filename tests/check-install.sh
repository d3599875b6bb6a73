#!/bin/bash
# Install a build into a DESTDIR and use it the way a consumer would: check
# the installed files, build docs/examples/c with pkg-config only, run it,
# the Go binding (go test + example) and the pip-installed Python binding
# against the API simulator, and compare the three programs' output.
#
# Usage: tests/check-install.sh BUILD_DIR DESTDIR_DIR
# Prints TAP; exits non-zero if any check failed.
set -uo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR DESTDIR_DIR" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" && destdir=$(cd "$2" && pwd) || exit 2
case "$destdir" in /|"") echo "refusing DESTDIR $destdir" >&2; exit 2 ;; esac
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export FLUXSTATE_KUBESIM=$top/tests/kubesim/kubesim.py
export FLUXSTATE_SCENARIOS=$top/tests/scenarios
export PYTHONDONTWRITEBYTECODE=1
unset FLUXSTATE_LIBRARY LD_PRELOAD

work=$(mktemp -d "${TMPDIR:-/tmp}/fluxstate-install.XXXXXX")
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check DESCRIPTION COMMAND...: run it, show its output only on failure.
check() {
	local desc=$1 log=$work/step.log
	shift
	if "$@" >"$log" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' "$log"
	fi
}

# --- install ---------------------------------------------------------------
rm -rf "$destdir"
check "meson install --destdir" meson install -C "$build" --destdir "$destdir"
opt() { meson introspect "$build" --buildoptions | "$PY" -c \
	'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]][0])' "$1"; }
prefix=$(opt prefix)
libdir=$(opt libdir)
case "$libdir" in /*) ;; *) libdir=$prefix/$libdir ;; esac
includedir=$(opt includedir)
case "$includedir" in /*) ;; *) includedir=$prefix/$includedir ;; esac
lib=$destdir$libdir
echo "# prefix $prefix, libdir $libdir"

# --- installed files -------------------------------------------------------
# Everything meson says it installs is there ...
check "every file meson installs is in DESTDIR" "$PY" -c '
import json, os, subprocess, sys
build, dest = sys.argv[1:3]
out = subprocess.run(["meson", "introspect", build, "--installed"], check=True,
                     capture_output=True, text=True).stdout
missing = [p for p in json.loads(out).values() if not os.path.lexists(dest + p)]
for p in missing:
    print("missing:", p)
sys.exit(1 if missing else 0)' "$build" "$destdir"

soname_ok() {
	[ -f "$lib/libfluxstate.so.0.1.0" ] && [ ! -L "$lib/libfluxstate.so.0.1.0" ] &&
		[ "$(readlink "$lib/libfluxstate.so.0")" = libfluxstate.so.0.1.0 ] &&
		[ -L "$lib/libfluxstate.so" ] && [ -e "$lib/libfluxstate.so" ] &&
		readelf -d "$lib/libfluxstate.so.0.1.0" | grep -q 'SONAME.*\[libfluxstate\.so\.0\]'
}
check "library with soname libfluxstate.so.0 and symlinks" soname_ok
check "public header installed" test -f "$destdir$includedir/fluxstate/fluxstate.h"
check "version header installed" grep -q 'FLUXSTATE_VERSION_MAJOR' "$destdir$includedir/fluxstate/fluxstate-version.h"
check "fluxstate.pc installed" test -f "$lib/pkgconfig/fluxstate.pc"
installed=$(meson introspect "$build" --installed)
datadir=$(opt datadir)
case "$datadir" in /*) ;; *) datadir=$prefix/$datadir ;; esac
mandir=$(opt mandir)
case "$mandir" in /*) ;; *) mandir=$prefix/$mandir ;; esac
if grep -q '/man1/' <<<"$installed"; then
	check "man page installed and renders" bash -c \
		"MANWIDTH=80 man -l -P cat '$destdir$mandir/man1/fluxstate.1' | grep -q '^EXIT STATUS'"
else
	skip "man page installed" "not built (scdoc missing or -Dman=disabled)"
fi
check "bash completion installed" \
	bash -c "source '$destdir$datadir/bash-completion/completions/fluxstate' && complete -p fluxstate"
check "zsh completion installed" grep -q '^#compdef fluxstate' "$destdir$datadir/zsh/site-functions/_fluxstate"

# The installed command runs from its prefix with nothing in LD_LIBRARY_PATH:
# its rpath ($ORIGIN/../<libdir>) finds the library beside it (not for /usr).
bindir=$(opt bindir)
case "$bindir" in /*) ;; *) bindir=$prefix/$bindir ;; esac
cli_runs_alone() {
	local out
	out=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD "$destdir$bindir/fluxstate" --version) || return 1
	echo "$out"
	# ldd prints the $ORIGIN path unnormalised (bin/../lib/...): compare real paths
	out=$(env -u LD_LIBRARY_PATH ldd "$destdir$bindir/fluxstate" | awk '$1 == "libfluxstate.so.0" { print $3 }')
	echo "libfluxstate.so.0 => $out"
	[ -n "$out" ] && [ "$(readlink -f "$out")" = "$(readlink -f "$lib/libfluxstate.so.0")" ]
}
if [ "$prefix" = /usr ]; then
	check "installed fluxstate has no rpath under /usr" \
		bash -c "! readelf -d '$destdir$bindir/fluxstate' | grep -Eq 'RPATH|RUNPATH'"
else
	check "installed fluxstate runs without LD_LIBRARY_PATH (rpath into $libdir)" cli_runs_alone
fi

# pkg-config on the DESTDIR tree: the sysroot prefixes -I/-L with DESTDIR.
export PKG_CONFIG_PATH=$lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$destdir
export PKG_CONFIG_DISABLE_UNINSTALLED=1
export LD_LIBRARY_PATH=$lib
pc_flags=$(pkg-config --cflags --libs fluxstate 2>&1)
if [ $? -eq 0 ] && grep -q -- "-I$destdir$includedir" <<<"$pc_flags" && grep -q -- "-L$lib" <<<"$pc_flags"; then
	ok "pkg-config points into DESTDIR ($pc_flags)"
else
	not_ok "pkg-config points into DESTDIR"
	echo "# $pc_flags"
fi
# Static linking needs what the library links: Requires.private in the .pc.
static_libs_ok() {
	local f
	f=$(pkg-config --static --libs fluxstate) || return 1
	for l in -lcurl -lyaml -lyajl -lcrypto -lssl -pthread; do
		grep -q -- "$l" <<<"$f" || { echo "missing $l in: $f"; return 1; }
	done
}
check "pkg-config --static lists curl, yaml, yajl, crypto, ssl, pthread" static_libs_ok

# --- C consumer --------------------------------------------------------------
cp -r "$top/docs/examples/c" "$work/c"
check "docs/examples/c builds with pkg-config only" make -C "$work/c" CC="${CC:-cc}"
c_uses_destdir() {
	ldd "$work/c/detect" | grep -q "libfluxstate.so.0 => $lib/libfluxstate.so.0"
}
check "C example loads the installed library" c_uses_destdir

# --- simulator ---------------------------------------------------------------
start_sim() { # scenario dir -> sets sim_pid, kubeconfig
	local out=$work/sim.out
	: >"$out"
	"$PY" "$FLUXSTATE_KUBESIM" --scenario "$1" --listen 127.0.0.1:0 \
		--kubeconfig-out "$work/kubeconfig" --log "$work/requests.jsonl" >"$out" 2>"$work/sim.err" &
	sim_pid=$!
	for _ in $(seq 200); do
		grep -q '^listening on ' "$out" && return 0
		if ! kill -0 "$sim_pid" 2>/dev/null; then
			wait "$sim_pid"
			local rc=$?
			sim_pid=
			return $rc
		fi
		sleep 0.1
	done
	return 1
}
stop_sim() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	sim_pid=
}

# --- Go against the installed prefix -------------------------------------------
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOENV=off CGO_ENABLED=1
export GOCACHE=$work/go-cache GOPATH=$work/go-path
unset CGO_CFLAGS CGO_LDFLAGS
if command -v go >/dev/null; then
	check "go vet against the installed prefix" bash -c "cd '$top/bindings/go' && go vet ./..."
	check "go build examples/detect against the installed prefix" \
		bash -c "cd '$top/bindings/go' && go build -o '$work/detect-go' ./examples/detect"
	if (cd "$top/bindings/go" && go test -count=1 ./...) >"$work/go-test.log" 2>&1; then
		ok "go test against the installed prefix ($(grep -c '^' "$work/go-test.log") lines)"
	else
		not_ok "go test against the installed prefix"
		sed 's/^/# /' "$work/go-test.log" | tail -40
	fi
else
	skip "Go binding against the installed prefix" "go not installed"
fi

# --- Python, pip-installed ---------------------------------------------------
# The wheel is built with the pinned backend from the build directory's venv
# (bindings/python/tests/pyvenv.py; made by `meson test --suite python`, else
# now), offline; a copy of the source keeps setuptools' build/ out of the tree.
pyvenv=$("$PY" "$top/bindings/python/tests/pyvenv.py" "$build" --print 2>"$work/venv.log")
if [ -x "$pyvenv" ]; then
	ok "the pinned Python venv ($pyvenv)"
else
	not_ok "the pinned Python venv"
	sed 's/^/# /' "$work/venv.log" | tail -20
fi
cp -r "$top/bindings/python" "$work/pysrc"
check "build the wheel (setuptools, pinned, offline)" \
	"$pyvenv" -m pip wheel --no-build-isolation --no-index --no-deps --disable-pip-version-check \
	-q -w "$work/wheel" "$work/pysrc"
check "pip install the wheel --target (offline)" bash -c \
	"'$PY' -m pip install --no-index --disable-pip-version-check --root-user-action=ignore \
	-q --target '$work/site' '$work'/wheel/fluxstate-*-py3-none-any.whl"
py_import() {
	# The soname load must find the DESTDIR copy through LD_LIBRARY_PATH.
	(cd "$work" && PYTHONPATH="$work/site" "$PY" -c '
import sys, fluxstate
assert fluxstate.__file__.startswith(sys.argv[1]), fluxstate.__file__
maps = open("/proc/self/maps").read()
assert sys.argv[2] + "/libfluxstate.so.0" in maps, "library not loaded from DESTDIR"
print(fluxstate.library_version, fluxstate.__file__)' "$work/site" "$lib")
}
check "import the installed package, library by soname" py_import
if (cd "$top/bindings/python/tests" && PYTHONPATH="$work/site" "$pyvenv" -m pytest \
	test_api.py test_v02.py -k "not ctrl_c") >"$work/py.log" 2>&1 &&
	grep -q "fluxstate from $work/site" "$work/py.log"; then
	ok "Python test_api and test_v02 against the installed package"
else
	not_ok "Python test_api and test_v02 against the installed package"
	sed 's/^/# /' "$work/py.log" | tail -30
fi

# A finding is two lines ("- ..." and its indented reason): compare units.
units() { awk '/^  / { u = u "\t" $0; next } { if (NR > 1) print u; u = $0 } END { print u }' "$1" | sort; }
same_sorted() { cmp -s <(units "$1") <(units "$2"); }

# --- the three programs on the same scenarios ------------------------------------
for scenario in seed-1292 namespace-terminating-finalizers healthy-v2.7.5-bootstrap; do
	dir=$FLUXSTATE_SCENARIOS/$scenario
	if [ ! -f "$dir/scenario.yaml" ]; then
		not_ok "$scenario: scenario missing"
		continue
	fi
	start_sim "$dir"
	rc=$?
	if [ $rc -ne 0 ]; then
		not_ok "$scenario: simulator failed to start"
		sed 's/^/# /' "$work/sim.err"
		continue
	fi
	kc=$work/kubeconfig
	"$work/c/detect" "$kc" >"$work/out-c" 2>&1
	rc_c=$?
	(cd "$work" && PYTHONPATH="$work/site" "$PY" "$top/bindings/python/examples/detect.py" "$kc") >"$work/out-py" 2>&1
	rc_py=$?
	if [ -x "$work/detect-go" ]; then
		"$work/detect-go" "$kc" >"$work/out-go" 2>&1
		rc_go=$?
	else
		cp "$work/out-c" "$work/out-go"
		rc_go=$rc_c
		echo "# (no Go example binary: Go output not compared)"
	fi
	stop_sim
	want=$("$PY" -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["expect"]["state"])' "$dir/scenario.yaml")
	got=$(sed -n 's/^state: //p' "$work/out-c")
	if [ $rc_c -eq 0 ] && [ "$got" = "$want" ]; then
		ok "$scenario: C example says $got"
	else
		not_ok "$scenario: C example says '${got}' (exit $rc_c), scenario expects $want"
		sed 's/^/# /' "$work/out-c"
	fi
	if [ $rc_py -eq 0 ] && [ $rc_go -eq 0 ] && cmp -s "$work/out-c" "$work/out-py" && cmp -s "$work/out-c" "$work/out-go"; then
		ok "$scenario: C, Go and Python print the same ($(grep -c '^- ' "$work/out-c") findings)"
	elif [ $rc_py -eq 0 ] && [ $rc_go -eq 0 ] && same_sorted "$work/out-c" "$work/out-go" && same_sorted "$work/out-c" "$work/out-py"; then
		# Each program ran its own probe: equal up to order means two probes
		# of one unchanged cluster listed the findings in different orders.
		not_ok "$scenario: same findings, different order: the library's finding order is not deterministic"
		diff "$work/out-c" "$work/out-go" | sed 's/^/# go: /'
		diff "$work/out-c" "$work/out-py" | sed 's/^/# py: /'
	else
		not_ok "$scenario: C, Go and Python differ (exit $rc_c/$rc_go/$rc_py)"
		diff "$work/out-c" "$work/out-go" | sed 's/^/# go: /'
		diff "$work/out-c" "$work/out-py" | sed 's/^/# py: /'
	fi
	if [ "${FLUXSTATE_SHOW_OUTPUT:-0}" = 1 ]; then
		for l in c go py; do echo "# --- $l"; sed 's/^/# /' "$work/out-$l"; done
	fi
done

echo "1..$n"
if [ $failed -ne 0 ]; then
	echo "# check-install: $failed of $n checks failed"
	exit 1
fi
echo "# check-install: all $n checks passed"
