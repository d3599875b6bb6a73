#!/usr/bin/python3
"""The extra cross-check against real Flux manifests (run only where they
exist: meson registers it when ../shared/fixtures/flux is present at
configure time, as in CI).

    crosscheck.py FLUXSTATE-BINARY DIR

For each DIR/gotk-components-vX.Y.Z.yaml (real `flux bootstrap` output), the
simulator serves that file, and then what tests/fluxgen generates for the
same release (`--installer cli`, i.e. `flux install`); fluxstate must report
the same state, installer, version, components and finding names for both.
Then the same with the bootstrap sync objects (GitRepository and
Kustomization flux-system) beside each. Before that, object by object: the
same names, labels, CRD versions (served, storage, deprecated) and images."""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "kubesim"))
import fluxgen  # noqa: E402
import kubesim  # noqa: E402


def report(cli, state):
    sim = kubesim.Simulator(state_files=state, config={"serverVersion": "v1.33.1"})
    sim.start()
    try:
        with tempfile.TemporaryDirectory() as d:
            kc = os.path.join(d, "kubeconfig")
            sim.write_kubeconfig(kc)
            env = {k: v for k, v in os.environ.items()
                   if k not in ("KUBECONFIG", "FLUX_SYSTEM_NAMESPACE", "LD_PRELOAD")}
            if env.get("FLUXSTATE_LD_PRELOAD"):
                env["LD_PRELOAD"] = env["FLUXSTATE_LD_PRELOAD"]
            p = subprocess.run([cli, "--kubeconfig", kc, "-o", "json"], capture_output=True,
                               text=True, timeout=120, env=env)
    finally:
        sim.stop()
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise SystemExit("fluxstate gave no report (exit %d): %s" % (p.returncode, p.stderr))


def essence(r):
    return {
        "state": r["state"], "installer": r["installer"], "version": r["version"],
        "bootstrapped": r["bootstrapped"],
        "components": sorted((c["name"], c["version"], c["ready"]) for c in r["components"]),
        "findings": sorted((f.get("category"), f.get("problem"), f.get("kind"), f.get("name"))
                           for f in r["findings"]),
    }


def inventory(objs):
    """What must agree object by object: names, labels, CRD versions, images."""
    out = {}
    for o in objs:
        md = o["metadata"]
        v = {"labels": md.get("labels") or {}}
        if o["kind"] == "CustomResourceDefinition":
            v["versions"] = [(x["name"], x["served"], x["storage"], bool(x.get("deprecated")))
                             for x in o["spec"]["versions"]]
        if o["kind"] == "Deployment":
            v["images"] = [c["image"] for c in o["spec"]["template"]["spec"]["containers"]]
            v["pod-labels"] = o["spec"]["template"]["metadata"]["labels"]
        out[(o["kind"], md.get("namespace"), md["name"])] = v
    return out


def main():
    cli, folder = sys.argv[1], sys.argv[2]
    files = sorted(f for f in os.listdir(folder) if re.match(r"gotk-components-v[\d.]+\.yaml$", f))
    if not files:
        print("crosscheck: no gotk-components-*.yaml in %s" % folder, file=sys.stderr)
        return 1
    sync = {"generate": {"installer": "bootstrap", "parts": ["sync"], "reconciled": False}}
    n, failed = 0, 0
    for f in files:
        rel = f[len("gotk-components-"):-len(".yaml")]
        real = os.path.join(folder, f)
        n += 1
        want = inventory(kubesim.load_manifest_file(real))
        have = inventory(fluxgen.generate(rel, "cli"))
        diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        failed += bool(diff)
        print("%s %d - %s: the generated objects, labels, CRD versions and images are the real ones"
              % ("not ok" if diff else "ok", n, rel))
        for k in diff:
            print("#   %s: real %s, generated %s" % ("/".join(x for x in k if x), want.get(k), have.get(k)))
        for what, a, b in (
                ("flux install", [real], [{"generate": {"release": rel, "installer": "cli"}}]),
                ("bootstrap", [real, {"generate": dict(sync["generate"], release=rel)}],
                 [{"generate": {"release": rel, "installer": "bootstrap", "reconciled": False}}])):
            n += 1
            want, have = essence(report(cli, a)), essence(report(cli, b))
            ok = want == have
            failed += not ok
            print("%s %d - %s %s: real and generated classify alike (%s, %s, %s)"
                  % ("ok" if ok else "not ok", n, rel, what, want["state"], want["installer"], want["version"]))
            for k in want:
                if want[k] != have[k]:
                    print("#   %s: real %s, generated %s" % (k, want[k], have[k]))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
