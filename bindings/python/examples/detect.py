#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Probe the cluster of a kubeconfig and print the state and findings, in
the same text as docs/examples/c/detect.c and bindings/go/examples/detect.

    python3 detect.py [KUBECONFIG]
"""

import sys

import fluxstate


def main(argv):
    if len(argv) > 2:
        print(f"usage: {argv[0]} [KUBECONFIG]", file=sys.stderr)
        return 2
    try:
        with fluxstate.Context(argv[1] if len(argv) > 1 else None) as ctx:
            report = ctx.probe()
    except fluxstate.FluxstateError as e:
        print(f"detect: {e}", file=sys.stderr)
        return 1

    print(f"state: {report.state.label}")
    print(f"summary: {report.summary}")
    print(f"action: {report.action}")
    print(f"namespace: {report.namespace or '-'}")
    print(f"installer: {report.installer}")
    print(f"version: {report.version or '-'}")
    print(f"findings: {len(report.findings)}")
    for f in report.findings:
        print(f"- {f.severity.label} {f.category}/{f.problem} {f.kind} {f.namespace or '-'} "
              f"{f.name or '-'} [{','.join(f.flags.labels)}]")
        print(f"  {f.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
