#!/usr/bin/python3
"""tests/fluxgen: every release of libfluxstate/flux-releases.tsv and every
installer generates objects a kube-apiserver accepts (structural CRD schemas,
one storage version, valid pod templates) carrying each installer's labels,
names and the release's images and CRD versions; kubesim loads them all."""
import os
import subprocess
import sys
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "kubesim"))
import fluxgen  # noqa: E402
import kubesim  # noqa: E402

PART_OF = "app.kubernetes.io/part-of"
VERSION = "app.kubernetes.io/version"
MANAGED = "app.kubernetes.io/managed-by"


def by_kind(objs, kind):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def release_rows():
    """flux-releases.tsv read here on its own, not through fluxgen."""
    path = os.path.join(HERE, "..", "..", "libfluxstate", "flux-releases.tsv")
    with open(path, encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    head = rows[0]
    return {r[0]: dict(zip(head[1:], r[1:])) for r in rows[1:]}


class Matrix(unittest.TestCase):
    def test_every_release_and_installer(self):
        rows = release_rows()
        self.assertGreaterEqual(len(rows), 38)
        for rel, tags in rows.items():
            for inst in fluxgen.INSTALLERS:
                with self.subTest(release=rel, installer=inst):
                    self.check_install(rel, inst, tags, fluxgen.generate(rel, inst))

    def check_install(self, rel, inst, tags, objs):
        keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]
        self.assertEqual(len(keys), len(set(keys)), "an object is written twice")
        crds = by_kind(objs, "CustomResourceDefinition")
        for name, c in crds.items():
            vs = c["spec"]["versions"]
            self.assertEqual(sum(v["storage"] for v in vs), 1, name)
            self.assertTrue(all(v["served"] for v in vs), name)
            for v in vs:
                self.assertEqual(v["schema"]["openAPIV3Schema"],
                                 {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
            self.assertEqual(name, "%s.%s" % (c["spec"]["names"]["plural"], c["spec"]["group"]))
        deps = by_kind(objs, "Deployment")
        for name, d in deps.items():
            sel = d["spec"]["selector"]["matchLabels"]
            tl = d["spec"]["template"]["metadata"]["labels"]
            self.assertLessEqual(sel.items(), tl.items(), "%s: the selector picks its pods" % name)
            c = d["spec"]["template"]["spec"]["containers"][0]
            if name != "flux-operator":
                self.assertEqual(c["image"], "ghcr.io/fluxcd/%s:%s" % (name, tags[name]))
                sa = d["spec"]["template"]["spec"]["serviceAccountName"]
                self.assertIn(sa, by_kind(objs, "ServiceAccount"))
        comps = set(deps) - {"flux-operator"}
        want = {"install-yaml": {c for c, t in tags.items() if t != "-" and c != "kubernetes-minimum"},
                "helm": set(fluxgen.DEFAULT_COMPONENTS + fluxgen.IMAGE_COMPONENTS)}
        self.assertEqual(comps, want.get(inst, set(fluxgen.DEFAULT_COMPONENTS)))
        roles = set(by_kind(objs, "ClusterRole"))
        sfx = "-flux-system" if inst in ("bootstrap", "cli", "operator") else ""
        self.assertEqual(roles, {"crd-controller" + sfx, "flux-edit" + sfx, "flux-view" + sfx})
        self.assertLessEqual({"cluster-reconciler" + sfx, "crd-controller" + sfx},
                             set(by_kind(objs, "ClusterRoleBinding")))
        quota = set(by_kind(objs, "ResourceQuota"))
        self.assertEqual(quota, set() if inst == "helm" else {"critical-pods" + sfx})
        self.assertEqual(set(by_kind(objs, "NetworkPolicy")), {"allow-egress", "allow-scraping", "allow-webhooks"})
        gitrepo = crds["gitrepositories.source.toolkit.fluxcd.io"]["metadata"]["labels"]
        self.assertEqual(gitrepo[PART_OF], "flux")
        if inst == "install-yaml":
            self.assertNotIn(VERSION, gitrepo)
        elif inst == "helm":
            self.assertEqual((gitrepo[VERSION], gitrepo[MANAGED]), (rel[1:], "Helm"))
        else:
            self.assertEqual(gitrepo[VERSION], rel)
        self.assertEqual(gitrepo.get(MANAGED), {"helm": "Helm", "operator": "flux-operator"}.get(inst))
        self.assertEqual("kustomize.toolkit.fluxcd.io/name" in gitrepo, inst == "bootstrap")
        self.assertEqual("FluxInstance" in {o["kind"] for o in objs}, inst == "operator")
        self.assertEqual("GitRepository" in {o["kind"] for o in objs}, inst == "bootstrap")

    def test_kubesim_serves_every_install(self):
        for rel in ("v2.0.0", "v2.3.0", "v2.6.4", "v2.7.0", "v2.9.4"):
            for inst in fluxgen.INSTALLERS:
                with self.subTest(release=rel, installer=inst):
                    sim = kubesim.Simulator(state_files=[{"generate": {"release": rel, "installer": inst,
                                                                       "extraComponents": ["image-reflector-controller"]}}])
                    self.assertIn(("apps", "Deployment", "flux-system", "image-reflector-controller"),
                                  sim.store.objects)


class Facts(unittest.TestCase):
    """CRD versions at releases whose real manifests were read."""

    def versions(self, rel, crd):
        c = by_kind(fluxgen.generate(rel, "cli", extra_components=fluxgen.IMAGE_COMPONENTS),
                    "CustomResourceDefinition").get(crd)
        if c is None:
            return None
        return " ".join(v["name"] + ("*" if v["storage"] else "") + ("~" if v.get("deprecated") else "")
                        for v in c["spec"]["versions"])

    def test_crd_versions(self):
        cases = [
            ("v2.0.0", "helmreleases.helm.toolkit.fluxcd.io", "v2beta1*"),
            ("v2.2.2", "helmreleases.helm.toolkit.fluxcd.io", "v2beta1~ v2beta2*"),
            ("v2.2.2", "alerts.notification.toolkit.fluxcd.io", "v1beta1~ v1beta2~ v1beta3*"),
            ("v2.2.2", "buckets.source.toolkit.fluxcd.io", "v1beta1 v1beta2*"),
            ("v2.4.0", "buckets.source.toolkit.fluxcd.io", "v1* v1beta1~ v1beta2~"),
            ("v2.4.0", "ocirepositories.source.toolkit.fluxcd.io", "v1beta2*"),
            ("v2.6.0", "ocirepositories.source.toolkit.fluxcd.io", "v1* v1beta2~"),
            ("v2.6.4", "externalartifacts.source.toolkit.fluxcd.io", None),
            ("v2.7.5", "externalartifacts.source.toolkit.fluxcd.io", "v1*"),
            ("v2.7.5", "gitrepositories.source.toolkit.fluxcd.io", "v1* v1beta2~"),
            ("v2.7.5", "imagepolicies.image.toolkit.fluxcd.io", "v1* v1beta2~"),
            ("v2.8.2", "helmreleases.helm.toolkit.fluxcd.io", "v2*"),
            ("v2.8.2", "receivers.notification.toolkit.fluxcd.io", "v1* v1beta2~"),
            ("v2.9.4", "alerts.notification.toolkit.fluxcd.io", "v1beta3*"),
            ("v2.9.4", "imageupdateautomations.image.toolkit.fluxcd.io", "v1*"),
        ]
        for rel, crd, want in cases:
            with self.subTest(release=rel, crd=crd):
                self.assertEqual(self.versions(rel, crd), want)

    def test_crd_counts(self):
        # 10 CRDs for the default components up to v2.6, 11 from v2.7 (ExternalArtifact)
        for rel, n in (("v2.2.2", 10), ("v2.6.4", 10), ("v2.7.0", 11), ("v2.9.4", 11)):
            self.assertEqual(len(by_kind(fluxgen.generate(rel, "cli"), "CustomResourceDefinition")), n, rel)

    def test_categories_from_v2_9(self):
        gen = lambda rel: by_kind(fluxgen.generate(rel, "cli"), "CustomResourceDefinition")
        self.assertEqual(gen("v2.9.0")["kustomizations.kustomize.toolkit.fluxcd.io"]["spec"]["names"]["categories"],
                         ["all", "fluxcd", "fluxcd-appliers"])
        self.assertNotIn("categories", gen("v2.8.8")["kustomizations.kustomize.toolkit.fluxcd.io"]["spec"]["names"])

    def test_pod_template_labels_from_v2_7(self):
        for rel, inst, want in (("v2.6.4", "cli", {"app": "helm-controller"}),
                                ("v2.7.0", "helm", {"app": "helm-controller"}),
                                ("v2.7.0", "cli", {"app": "helm-controller", PART_OF: "flux",
                                                   "app.kubernetes.io/instance": "flux-system",
                                                   VERSION: "v2.7.0",
                                                   "app.kubernetes.io/component": "helm-controller"})):
            d = by_kind(fluxgen.generate(rel, inst), "Deployment")["helm-controller"]
            self.assertEqual(d["spec"]["template"]["metadata"]["labels"], want, (rel, inst))

    def test_options(self):
        objs = fluxgen.generate("v2.7.5", "bootstrap", namespace="flux", parts=["rbac"], reconciled=False)
        self.assertEqual({o["metadata"]["name"] for o in objs},
                         {"crd-controller-flux", "flux-edit-flux", "flux-view-flux",
                          "cluster-reconciler-flux", "crd-controller-flux"})
        self.assertFalse(any("kustomize.toolkit.fluxcd.io/name" in o["metadata"].get("labels", {}) for o in objs))
        crds = fluxgen.generate("v2.7.5", "cli", components=fluxgen.IMAGE_COMPONENTS, parts=["crds"], labelled=False)
        self.assertEqual(len(crds), 3)
        self.assertFalse(any("labels" in o["metadata"] for o in crds))
        helm = by_kind(fluxgen.generate("v2.7.5", "helm", extra_components=["source-watcher"]), "ServiceAccount")
        self.assertIn("source-watcher-controller", helm)
        inst = fluxgen.generate("v2.7.5", "operator", parts=["instance"], instance="stalled")[0]
        self.assertEqual([c["type"] for c in inst["status"]["conditions"]], ["Ready", "Stalled"])

    def test_errors_are_named(self):
        for kw, msg in (({"release": "v1.0.0"}, "unknown release v1.0.0"),
                        ({"installer": "kubectl"}, "unknown installer"),
                        ({"release": "v2.6.4", "components": ["source-watcher"]}, "Flux v2.6.4 has no source-watcher"),
                        ({"components": ["tf-controller"]}, "unknown component 'tf-controller'"),
                        ({"parts": ["everything"]}, "unknown part 'everything'")):
            with self.subTest(**kw):
                with self.assertRaises(fluxgen.FluxgenError) as cm:
                    fluxgen.generate(**kw)
                self.assertIn(msg, str(cm.exception))
        with self.assertRaises(fluxgen.FluxgenError):
            fluxgen.generate_spec({"release": "v2.7.5", "color": "blue"})


class CLI(unittest.TestCase):
    def run_gen(self, *args):
        return subprocess.run(["/usr/bin/python3", os.path.join(HERE, "fluxgen.py")] + list(args),
                              capture_output=True, text=True, timeout=60)

    def test_defaults(self):
        p = self.run_gen()
        self.assertEqual(p.returncode, 0, p.stderr)
        objs = [d for d in yaml.safe_load_all(p.stdout) if d]
        newest = max(release_rows(), key=fluxgen.vkey)
        self.assertEqual(by_kind(objs, "Namespace")["flux-system"]["metadata"]["labels"][VERSION], newest)
        self.assertEqual(set(by_kind(objs, "Deployment")), set(fluxgen.DEFAULT_COMPONENTS))
        self.assertIn("GitRepository", {o["kind"] for o in objs})
        # custom resources after every CRD, so one pass of kubectl apply gets the CRDs in first
        kinds = [o["kind"] for o in objs]
        self.assertLess(max(i for i, k in enumerate(kinds) if k == "CustomResourceDefinition"),
                        kinds.index("GitRepository"))

    def test_flags(self):
        p = self.run_gen("--release", "v2.2.2", "--installer", "install-yaml", "--namespace", "gitops",
                         "--components", "source-controller,kustomize-controller",
                         "--extra-components", "image-reflector-controller")
        self.assertEqual(p.returncode, 0, p.stderr)
        objs = [d for d in yaml.safe_load_all(p.stdout) if d]
        self.assertEqual(set(by_kind(objs, "Deployment")),
                         {"source-controller", "kustomize-controller", "image-reflector-controller"})
        self.assertTrue(all(o["metadata"].get("namespace") in (None, "gitops") for o in objs))

    def test_bad_release(self):
        p = self.run_gen("--release", "v2.99.0")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertIn("fluxgen: unknown release v2.99.0", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
