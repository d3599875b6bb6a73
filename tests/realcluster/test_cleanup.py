#!/usr/bin/python3
"""Issue #14 against the REAL control plane (etcd, kube-apiserver,
kube-controller-manager built from Go modules): each residual history, made
with the real kubectl as a user makes it, is cleaned to `none` by
`fluxstate cleanup --yes`, and every object the plan did not name (nor hold
inside a namespace or CRD it deleted) is still there with the same uid; a
user without delete rights gets one refusal per object and nothing changes;
a change between plan and apply is a conflict and is not overwritten.

    test_cleanup.py FLUXSTATE_CLI      (meson passes it)

One cluster; the histories run in order, each starting and ending at `none`.
"""
import json
import os
import subprocess
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rchelper  # noqa: E402

NS = "flux-system"
CLI = None
INSTALL = []
RBAC = ("ClusterRole", "ClusterRoleBinding")
# The flux-operator's FluxInstance kind, for the orphaned-instance history
# (the generated install has no operator): group, names and one served version.
FLUXINSTANCE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "fluxinstances.fluxcd.controlplane.io",
                 "labels": {"app.kubernetes.io/managed-by": "flux-operator"}},
    "spec": {"group": "fluxcd.controlplane.io", "scope": "Namespaced",
             "names": {"kind": "FluxInstance", "plural": "fluxinstances", "singular": "fluxinstance",
                       "listKind": "FluxInstanceList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}

# The user's own objects: none is Flux v2 evidence, every one must survive.
USER = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password", "namespace": "team-a"},
     "type": "Opaque", "stringData": {"password": "not-a-real-one"}},
    {"apiVersion": "v1", "kind": "ConfigMap",
     "metadata": {"name": "settings", "namespace": "team-a", "labels": {"app.kubernetes.io/part-of": "shop"}},
     "data": {"a": "b"}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "team-a-view"}, "rules": []},
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": "widgets.example.com"},
     "spec": {"group": "example.com", "scope": "Namespaced",
              "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
              "versions": [{"name": "v1", "served": True, "storage": True,
                            "schema": {"openAPIV3Schema": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}]}},
]
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget",
          "metadata": {"name": "gear", "namespace": "team-a", "finalizers": ["example.com/keep"]}}
# Read everything, write nothing: what a user without delete rights has.
READER = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "realcluster-reader"},
     "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "realcluster-reader"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "realcluster-reader"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}]},
]
# What the test compares before and after (resource, namespaced).
WATCHED = ["namespaces", "secrets", "configmaps", "serviceaccounts", "services", "networkpolicies",
           "resourcequotas", "deployments.apps", "clusterroles", "clusterrolebindings",
           "customresourcedefinitions", "widgets.example.com"]


class Cleanup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global INSTALL
        INSTALL, version, source = rchelper.flux_install()
        sys.stderr.write("Flux %s from %s\n" % (version, source))
        cls.c = rchelper.Cluster("--viewer-namespace", "")
        cls.apply_docs(USER + READER)
        cls.c.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/widgets.example.com")
        cls.apply_docs([WIDGET])

    @classmethod
    def tearDownClass(cls):
        rc, _ = cls.c.stop(keep=bool(os.environ.get("REALCLUSTER_KEEP")))
        assert rc == 0, "tests/realcluster/start exited %d on SIGTERM" % rc

    # --- helpers ----------------------------------------------------------
    @classmethod
    def apply_docs(cls, docs):
        docs = [d for d in docs if d]
        if not docs:
            return
        cls.c.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                      stdin=yaml.safe_dump_all([d for d in docs if d]))

    def flux(self, *kinds):
        """Flux objects from the project's manifests (rchelper.flux_install),
        only those of @kinds (all when none given); CRDs established first."""
        docs = [d for d in INSTALL if not kinds or d["kind"] in kinds]
        crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
        if crds:
            self.apply_docs(crds)
            self.c.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                           *["crd/" + d["metadata"]["name"] for d in crds])
        self.apply_docs([d for d in docs if d["kind"] != "CustomResourceDefinition"])
        return docs

    def objects(self):
        out = {}
        for res in WATCHED:
            for o in self.c.get(res, "-A")["items"]:
                md = o["metadata"]
                out[(o["apiVersion"].rpartition("/")[0], o["kind"], md.get("namespace") or "", md["name"])] = md["uid"]
        return out

    def cli(self, *args, kubeconfig=None, timeout=300):
        return subprocess.run([CLI, "--kubeconfig", kubeconfig or self.c.admin] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                              env=rchelper.lib_env())

    def state(self):
        return json.loads(self.cli("-o", "json").stdout)

    def delete_controllers(self):
        self.c.kubectl("-n", NS, "delete", "deployments", "-l", "app.kubernetes.io/part-of=flux", "--wait=true")

    def gone(self, *what):
        self.c.wait(" ".join(what) + " gone",
                    lambda: self.c.kubectl("get", *what, check=False).returncode != 0, timeout=120)

    def clean(self, history):
        """fluxstate cleanup --yes -o json to none; every other object kept."""
        report = self.state()
        self.assertEqual(report["state"], "residual", (history, report["summary"]))
        before = self.objects()
        r = self.cli("cleanup", "--yes", "-o", "json")
        self.assertEqual(r.returncode, 0, (history, r.stdout[-3000:], r.stderr))
        ev = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        plan = [e for e in ev if e["event"] == "plan"]
        self.assertEqual([e["event"] for e in ev],
                         ["plan"] * len(plan) + ["dry-run"] * len(plan) + ["apply"] * len(plan) + ["result"])
        self.assertEqual(ev[-1]["result"], "none", r.stdout[-2000:])
        gone = set()
        for s in plan:
            if s["verb"] != "delete":
                continue
            key = (s["apiVersion"].rpartition("/")[0], s["kind"], s["namespace"] or "", s["name"])
            gone.add(key)
            if s["kind"] == "Namespace":
                gone |= {k for k in before if k[2] == s["name"]}
        after = self.objects()
        for key, uid in before.items():
            if key not in gone:
                self.assertEqual(after.get(key), uid, "%s: %s was not in the plan but changed or vanished"
                                 % (history, key))
        self.assertIn(("example.com", "Widget", "team-a", "gear"), after)
        w = self.c.get("widget.example.com", "gear", "-n", "team-a")
        self.assertEqual(w["metadata"]["finalizers"], ["example.com/keep"])
        self.assertEqual(self.state()["state"], "none")
        sys.stderr.write("%s: %d steps, cleaned to none\n" % (history, len(plan)))
        return plan

    def make_crs(self, ns):
        self.apply_docs([
            {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
             "metadata": {"name": "flux-system", "namespace": ns, "finalizers": ["finalizers.fluxcd.io"]},
             "spec": {"interval": "1m", "url": "https://example.com/fleet.git", "ref": {"branch": "main"}}},
            {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "flux-system", "namespace": ns, "finalizers": ["finalizers.fluxcd.io"]},
             "spec": {"interval": "10m", "path": "./clusters/dev", "prune": True,
                      "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}}])

    # --- the histories ----------------------------------------------------
    def test_1_namespace_terminating_behind_finalizers(self):
        self.flux()
        self.make_crs(NS)
        self.delete_controllers()
        self.c.kubectl("delete", "namespace", NS, "--wait=false")
        self.c.wait("flux-system Terminating with finalizers remaining", lambda: any(
            c["type"] == "NamespaceFinalizersRemaining" and c["status"] == "True"
            for c in self.c.get("namespace", NS).get("status", {}).get("conditions", [])))
        plan = self.clean("namespace Terminating behind finalizers")
        self.assertTrue([s for s in plan if s["verb"] == "remove-finalizers" and s["kind"] == "Kustomization"])

    def test_2_crd_terminating(self):
        self.flux("CustomResourceDefinition")
        self.apply_docs([{"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                          "metadata": {"name": "podinfo", "namespace": "team-a",
                                       "finalizers": ["finalizers.fluxcd.io"]},
                          "spec": {"interval": "5m", "chart": {"spec": {
                              "chart": "podinfo", "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}}}}])
        self.c.kubectl("delete", "crd", "helmreleases.helm.toolkit.fluxcd.io", "--wait=false")
        self.c.wait("helmreleases CRD Terminating", lambda: any(
            c["type"] == "Terminating" and c["status"] == "True"
            for c in self.c.get("crd", "helmreleases.helm.toolkit.fluxcd.io")["status"]["conditions"]))
        self.clean("CRD Terminating")

    def test_3_orphaned_flux_instance(self):
        self.flux("Namespace", "CustomResourceDefinition")
        self.apply_docs([FLUXINSTANCE_CRD])
        self.c.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                       "crd/fluxinstances.fluxcd.controlplane.io")
        self.apply_docs([{"apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
                          "metadata": {"name": "flux", "namespace": NS,
                                       "finalizers": ["fluxcd.controlplane.io/finalizer"]},
                          "spec": {"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}}}])
        plan = self.clean("orphaned FluxInstance")
        self.assertTrue([s for s in plan if s["kind"] == "FluxInstance" and s["verb"] == "remove-finalizers"])

    def test_4_rbac_only(self):
        self.flux(*RBAC)
        self.clean("RBAC-only leftovers")

    def test_5_deleted_namespace_crds_remaining(self):
        self.flux()
        self.delete_controllers()
        self.c.kubectl("delete", "namespace", NS, "--wait=true", "--timeout=120s")
        self.clean("deleted namespace with CRDs remaining")

    def test_6_no_delete_rights_refused_per_object(self):
        self.flux("CustomResourceDefinition", *RBAC)
        before = self.objects()
        r = self.cli("cleanup", "--yes", "-o", "json", kubeconfig=self.c.viewer)
        self.assertEqual(r.returncode, 4, (r.stdout[-2000:], r.stderr))
        ev = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        plan = [e for e in ev if e["event"] == "plan"]
        dry = [e for e in ev if e["event"] == "dry-run"]
        self.assertTrue(plan)
        # every step was tried in the dry run, each refusal names its object
        self.assertEqual([(e["kind"], e["name"]) for e in dry], [(e["kind"], e["name"]) for e in plan])
        for e in dry:
            self.assertEqual(e["result"], "refused", e)
            self.assertIn("forbidden", e["message"])
            self.assertIn(e["name"], e["message"])
        self.assertFalse([e for e in ev if e["event"] == "apply"])
        self.assertEqual(self.objects(), before)
        self.clean("leftovers after the refused attempt")

    def test_7_concurrent_change_is_a_conflict(self):
        import fluxstate
        self.flux()
        self.make_crs(NS)
        self.delete_controllers()
        with fluxstate.Context(self.c.admin) as ctx:
            plan = fluxstate.plan_cleanup(ctx, ctx.probe())
            self.c.kubectl("-n", NS, "patch", "kustomization.kustomize.toolkit.fluxcd.io", "flux-system",
                           "--type=json", "-p", json.dumps([{"op": "add", "path": "/metadata/finalizers/-",
                                                             "value": "example.com/audit"}]))
            with self.assertRaises(fluxstate.ConflictError) as cm:
                fluxstate.apply_cleanup(ctx, plan)
        self.assertIn("Kustomization", str(cm.exception))
        ks = self.c.get("kustomization.kustomize.toolkit.fluxcd.io", "flux-system", "-n", NS)
        self.assertEqual(ks["metadata"]["finalizers"], ["finalizers.fluxcd.io", "example.com/audit"])
        self.assertEqual(self.state()["state"], "residual")
        self.clean("after the conflict, planned again")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_cleanup.py FLUXSTATE_CLI")
    CLI = sys.argv.pop(1)
    unittest.main(verbosity=2)
