#!/usr/bin/python3
"""Write a large cluster for the benchmarks: a kubesim state file (JSON, which
loads much faster than YAML) with N Flux Kustomizations spread over ten
namespaces, and a scenario directory that adds it to a `flux install` v2.7.5
written by tests/fluxgen.

  gen-scale.py --objects 100000 --out DIR [--must-read-all]

--must-read-all removes kustomize-controller, so a detection must list every
Kustomization (as metadata) to report them as orphaned; without it the
install is healthy and the objects are never read. Prints DIR.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = [{"generate": {"release": "v2.7.5", "installer": "cli"}}]
NAMESPACES = 10


def objects(n):
    items = [{"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "apps-%d" % i}} for i in range(NAMESPACES)]
    for i in range(n):
        items.append({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "app-%06d" % i, "namespace": "apps-%d" % (i % NAMESPACES),
                         "labels": {"team": "t%d" % (i % 7)}},
            "spec": {"interval": "10m", "path": "./apps/%d" % i, "prune": True,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system",
                                   "namespace": "flux-system"}},
        })
    return {"apiVersion": "v1", "kind": "List", "items": items}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--must-read-all", action="store_true")
    a = ap.parse_args()
    if a.objects < 0:
        sys.exit("gen-scale: --objects must be >= 0")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "objects.json"), "w") as f:
        json.dump(objects(a.objects), f, separators=(",", ":"))
    state = BASE + ["objects.json"]
    cfg = {"serverVersion": "v1.33.1"}
    if a.must_read_all:
        cfg["remove"] = [{"kind": "Deployment", "namespace": "flux-system",
                          "name": "kustomize-controller"}]
    with open(os.path.join(a.out, "scenario.yaml"), "w") as f:
        json.dump({"description": "%d Kustomizations%s" % (
            a.objects, ", kustomize-controller missing" if a.must_read_all else ""),
            "state": state, "config": cfg}, f, indent=1)
    print(a.out)


if __name__ == "__main__":
    main()
