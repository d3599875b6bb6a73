#!/bin/bash
# Installs the Debian 12 packages the build and the whole test suite need.
# Idempotent; needs root (or sudo). Nothing is downloaded from anywhere but
# the Debian archive. The pinned pytest, mypy and setuptools
# (bindings/python/requirements-dev.txt) and staticcheck are installed by
# their meson tests into the build directory.
set -euo pipefail
packages=(
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	libcurl4-openssl-dev libyaml-dev libyajl-dev libcmocka-dev libssl-dev
	python3 python3-yaml python3-kubernetes python3-venv python3-pip python3-jsonschema
	scdoc doxygen valgrind openssl git ca-certificates time
	man-db groff-base
)
# Go is NOT installed from Debian (golang-go is too old for the real-cluster
# tier's Kubernetes v1.34 module and would shadow the Go >= 1.24 on PATH):
# tests/realcluster/build and the Go binding use the `go` already on PATH.
# The real kubectl is needed by the simulator's interop tests. Use the pinned
# Google Cloud SDK binaries when present, otherwise Debian's kubernetes-client.
if ! ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* >/dev/null 2>&1 && ! command -v kubectl >/dev/null 2>&1; then
	packages+=(kubernetes-client)
fi
# Check that Go on PATH is new enough (a missing tool fails CI).
if ! go version 2>/dev/null | grep -Eq ' go1\.(2[6-9]|[3-9][0-9])'; then
	echo "install-deps: the Go binding needs Go 1.26 or later on PATH (https://go.dev/dl); found: $(go version 2>&1)" >&2
	exit 1
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
