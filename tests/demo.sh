#!/bin/bash
# The README's first command: build fluxstate and run it against the bundled
# Kubernetes API simulator on two clusters, so a newcomer sees real output:
#   - the cluster from cluster-template#1292 (a pre-created, empty flux-system
#     namespace: `kubectl get namespace` says "installed", fluxstate says none);
#   - a cluster whose Flux namespace is stuck Terminating behind finalizers
#     (residual), with the cleanup plan fluxstate prints for it;
# then the manual page, rendered by man(1).
# Usage: tests/demo.sh   (SKIP_DEPS=1 skips installing Debian packages;
#                         DEMO_BUILD=DIR changes the build dir, ./build-demo;
#                         FLUXSTATE_CLI=PATH runs that binary, building nothing:
#                         the cli-demo test does)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "${SKIP_DEPS:-0}" = 1 ] || bash tests/install-deps.sh

build=${DEMO_BUILD:-$top/build-demo}
if [ -n "${FLUXSTATE_CLI:-}" ]; then
	fluxstate=$FLUXSTATE_CLI
else
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" -Dtests=false >/dev/null
	fi
	meson compile -C "$build" >/dev/null
	fluxstate=$build/bindings/cli/fluxstate
fi
scenarios=$top/tests/scenarios

work=$(mktemp -d /tmp/fluxstate-demo-XXXXXX)
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

if [ -t 1 ]; then
	bold=$'\033[1m' dim=$'\033[2m' reset=$'\033[0m'
else
	bold='' dim='' reset=''
fi

# start_sim NAME: run the simulator on tests/scenarios/NAME; sets $kubeconfig.
start_sim() {
	local name=$1 dir=$work/$1 i
	mkdir -p "$dir"
	python3 tests/kubesim/kubesim.py --scenario "$scenarios/$name" \
		--listen 127.0.0.1:0 --kubeconfig-out "$dir/kubeconfig" --log "$dir/requests.jsonl" \
		>"$dir/stdout" 2>"$dir/stderr" &
	pids+=($!)
	for ((i = 0; i < 200; i++)); do
		if grep -q "listening on" "$dir/stdout" 2>/dev/null && [ -s "$dir/kubeconfig" ]; then
			kubeconfig=$dir/kubeconfig
			return 0
		fi
		if ! kill -0 "${pids[-1]}" 2>/dev/null; then
			cat "$dir/stderr" >&2
			echo "demo: the simulator did not start on $name" >&2
			exit 1
		fi
		sleep 0.05
	done
	echo "demo: the simulator did not start on $name within 10 s" >&2
	exit 1
}

# show CMD...: print the command as a user would type it, run it, print the exit code.
show() {
	local rc=0 meaning
	printf '\n%s$ fluxstate%s%s\n' "$bold" "${*:+ $*}" "$reset"
	KUBECONFIG=$kubeconfig "$fluxstate" "$@" || rc=$?
	case $rc in
	0) meaning="ok / as expected" ;;
	1) meaning="state not as expected" ;;
	2) meaning="usage or kubeconfig error" ;;
	3) meaning="unknown: could not see enough" ;;
	4) meaning="cannot reach or authenticate" ;;
	5) meaning="wait timed out" ;;
	*) meaning="?" ;;
	esac
	printf '%s(exit code %d: %s)%s\n' "$dim" "$rc" "$meaning" "$reset"
}

scenario_named() {
	# the #1292 seed; named by the simulator work, found by its number
	local d
	for d in "$scenarios"/*1292*/; do
		[ -f "$d/scenario.yaml" ] && { basename "$d"; return 0; }
	done
	echo "demo: no #1292 scenario in $scenarios" >&2
	exit 1
}

describe() {
	# the raw line: an unquoted " #" in it would be a YAML comment
	sed -n 's/^description: *//p' "$scenarios/$1/scenario.yaml" | head -n 1 | sed 's/^"\(.*\)"$/\1/'
}

seed=$(scenario_named)
residual=namespace-terminating-finalizers

printf '%s==> Cluster 1: %s%s\n%s\n' "$bold" "$seed" "$reset" "$(describe "$seed")"
start_sim "$seed"
printf '%s(the simulator is listening; KUBECONFIG=%s)%s\n' "$dim" "$kubeconfig" "$reset"
show
show --expect none

printf '\n%s==> Cluster 2: %s%s\n%s\n' "$bold" "$residual" "$reset" "$(describe "$residual")"
start_sim "$residual"
printf '%s(the simulator is listening; KUBECONFIG=%s)%s\n' "$dim" "$kubeconfig" "$reset"
show
show --expect none
show cleanup-plan

# The manual page: the one the build made, else rendered here from its scdoc source.
page=$build/docs/fluxstate.1
if [ ! -s "$page" ]; then
	page=$work/fluxstate.1
	scdoc <docs/fluxstate.1.scd >"$page"
fi
printf '\n%s==> The manual page: man -l %s%s\n\n' "$bold" "${page#"$work"/}" "$reset"
MANPAGER=cat MANWIDTH=80 man -l "$page"
printf '\nMore: %s --help, docs/cli.md\n' "$fluxstate"
