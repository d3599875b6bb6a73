#!/bin/sh
# A client-go exec credential plugin for tests. Run without a shell by the
# library; behaviour from its first argument, state in $FAKE_PLUGIN_DIR:
#   runs       one line per run
#   exec-info  the last KUBERNETES_EXEC_INFO (verbatim, with its newline)
#   args       the last argument list, one per line
#   fds        the open file descriptors it started with (fds-what: what they are)
# Modes: ok (token $FAKE_TOKEN, api version $2), bad-first (a wrong token on
# the first run), yaml, wrong-version, no-status, empty-status, cert-only,
# expired, fail, cert-encrypted, hang (never answers), close-stdout (closes stdout, then
# keeps running), hang-with-child (starts a sleep, its pid in child-pid, then hangs).
set -u
dir=${FAKE_PLUGIN_DIR:?}
echo run >>"$dir/runs"
# the descriptors it inherited (client-go's plugins get only 0, 1, 2)
(cd /proc/$$/fd && echo *) >"$dir/fds"
for n in $(cat "$dir/fds"); do printf '%s=%s\n' "$n" "$(readlink "/proc/$$/fd/$n")"; done >"$dir/fds-what"
printf '%s' "${KUBERNETES_EXEC_INFO-}" >"$dir/exec-info"
: >"$dir/args"
for a in "$@"; do printf '%s\n' "$a" >>"$dir/args"; done
mode=${1:-ok}
ver=${2:-client.authentication.k8s.io/v1}
n=$(wc -l <"$dir/runs")
tok=$FAKE_TOKEN
case $mode in
ok) ;;
bad-first) [ "$n" -eq 1 ] && tok=not-the-right-token ;;
yaml)
	printf 'apiVersion: %s\nkind: ExecCredential\nstatus:\n  token: %s\n' "$ver" "$tok"
	exit 0 ;;
wrong-version) ver=client.authentication.k8s.io/v1beta1 ;;
no-status)
	printf '{"apiVersion":"%s","kind":"ExecCredential"}\n' "$ver"
	exit 0 ;;
empty-status)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{}}\n' "$ver"
	exit 0 ;;
cert-only)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"clientCertificateData":"x"}}\n' "$ver"
	exit 0 ;;
expired)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2001-01-01T00:00:00Z"}}\n' "$ver" "$tok"
	exit 0 ;;
garbage)
	echo 'this is not a credential {'
	exit 0 ;;
fail)
	echo "fake plugin: failing on purpose" >&2
	exit 3 ;;
cert-encrypted)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"clientCertificateData":"c","clientKeyData":"-----BEGIN ENCRYPTED PRIVATE KEY-----\\nAAAA\\n-----END ENCRYPTED PRIVATE KEY-----\\n"}}\n' "$ver"
	exit 0 ;;
hang) exec sleep 60 ;;
hang-with-child)
	sleep 60 &
	echo $! >"$dir/child-pid"
	wait
	exit 0 ;;
close-stdout)
	exec >&-
	exec sleep 60 ;;
esac
# unknown fields are ignored, as client-go does (spec §6 row 40)
printf '{"apiVersion":"%s","kind":"ExecCredential","spec":{},"status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z","unknownField":1},"extra":{"a":[1]}}\n' "$ver" "$tok"
