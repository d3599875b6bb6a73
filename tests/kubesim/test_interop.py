#!/usr/bin/python3
"""Interop: the REAL kubectl (pinned minors) and python3-kubernetes against
kubesim serving a Flux v2.7.5 bootstrap written by tests/fluxgen.

A missing kubectl is a FAILURE (tests/install-deps.sh installs Debian's
kubernetes-client when the pinned binaries are absent)."""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simhelper  # noqa: E402
from simhelper import Sim  # noqa: E402

GCLOUD_BIN = "/usr/lib/google-cloud-sdk/bin"
# a spread of minors keeps the suite fast; KUBESIM_KUBECTL_MINORS=all for all
MINORS = os.environ.get("KUBESIM_KUBECTL_MINORS", "27,30,33")
if MINORS == "all":
    MINORS = "27,28,29,30,31,32,33"

CONTROLLERS = ["helm-controller", "kustomize-controller",
               "notification-controller", "source-controller"]
CRDS = sorted([
    "alerts.notification.toolkit.fluxcd.io", "buckets.source.toolkit.fluxcd.io",
    "externalartifacts.source.toolkit.fluxcd.io",
    "gitrepositories.source.toolkit.fluxcd.io",
    "helmcharts.source.toolkit.fluxcd.io", "helmreleases.helm.toolkit.fluxcd.io",
    "helmrepositories.source.toolkit.fluxcd.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
    "ocirepositories.source.toolkit.fluxcd.io",
    "providers.notification.toolkit.fluxcd.io",
    "receivers.notification.toolkit.fluxcd.io"])
NAMESPACES = ["default", "flux-system", "kube-node-lease", "kube-public",
              "kube-system"]


def find_kubectls():
    found = []
    for m in MINORS.split(","):
        p = os.path.join(GCLOUD_BIN, "kubectl.1." + m.strip())
        if os.access(p, os.X_OK):
            found.append(p)
    if not found:
        # no pinned binaries: Debian's kubernetes-client (never the gcloud
        # dispatcher, which needs the pinned ones)
        for p in ("/usr/bin/kubectl", shutil.which("kubectl") or ""):
            if p and os.access(p, os.X_OK) and \
                    not os.path.realpath(p).startswith(GCLOUD_BIN):
                found.append(p)
                break
    return found


KUBECTLS = find_kubectls()


def table(out):
    """kubectl's column output -> (header, [rows as lists])."""
    lines = [l for l in out.splitlines() if l.strip()]
    return lines[0].split(), [l.split() for l in lines[1:]]


class Interop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(scenario="healthy-v2.7.5-bootstrap", config={
            "serverVersion": "v1.33.1",
            "users": [
                {"name": "admin", "token": "interop-admin-token",
                 "groups": ["system:masters"]},
                {"name": "cert-admin", "clientCert": True,
                 "groups": ["system:masters"]},
                {"name": "viewer", "token": "interop-viewer-token"},
            ],
            "deny": [{"user": "viewer", "verbs": ["list"], "group": "apps",
                      "resource": "deployments", "namespace": "flux-system"}],
            # only kubectl --chunk-size=2 meets the compacted-etcd answer
            "faults": [{"path": "/customresourcedefinitions$",
                        "query": "limit=2$", "expired": True}],
        })
        cls.homes = tempfile.mkdtemp(prefix="kubesim-kubectl-")

    @classmethod
    def tearDownClass(cls):
        rc = cls.sim.stop()
        shutil.rmtree(cls.homes, ignore_errors=True)
        assert rc == 0, rc

    def kubectl(self, binary, args, context=None, expect_rc=0):
        home = tempfile.mkdtemp(dir=self.homes)
        env = {"PATH": "/usr/bin:/bin", "HOME": home}
        cmd = [binary, "--kubeconfig", self.sim.kubeconfig, "--cache-dir",
               os.path.join(home, "cache")]
        if context:
            cmd += ["--context", context]
        cmd += args
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env,
                           timeout=60)
        self.assertEqual(p.returncode, expect_rc, "%s\nstdout: %s\nstderr: %s"
                         % (" ".join(cmd), p.stdout, p.stderr))
        return p.stdout, p.stderr

    def run_all(self, jobs):
        """jobs: [(binary, args, context, check)] run concurrently."""
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            futs = [(ex.submit(self.kubectl, b, a, c), chk, b, a, c)
                    for b, a, c, chk in jobs]
            for f, chk, b, a, c in futs:
                out, err = f.result()
                with self.subTest(kubectl=os.path.basename(b), args=a, context=c):
                    chk(out, err)

    def test_00_kubectl_present(self):
        self.assertTrue(KUBECTLS, "no kubectl found: neither %s/kubectl.1.{%s} "
                        "nor /usr/bin/kubectl; run tests/install-deps.sh"
                        % (GCLOUD_BIN, MINORS))

    def check_get_ns(self, out, err):
        head, rows = table(out)
        self.assertEqual(head, ["NAME", "STATUS", "AGE"])
        self.assertEqual([r[0] for r in rows], NAMESPACES)
        self.assertTrue(all(r[1] == "Active" and r[2] == "60m" for r in rows), out)

    def check_get_crd(self, out, err):
        head, rows = table(out)
        self.assertEqual(head, ["NAME", "CREATED", "AT"])
        self.assertEqual([r[0] for r in rows], CRDS)

    def check_get_deploy(self, out, err):
        head, rows = table(out)
        self.assertEqual(head, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
        self.assertEqual([r[0] for r in rows], CONTROLLERS)
        self.assertTrue(all(r[1:4] == ["1/1", "1", "1"] for r in rows), out)

    def check_gitrepos(self, out, err):
        head, rows = table(out)
        self.assertEqual(head[:5], ["NAMESPACE", "NAME", "URL", "AGE", "READY"])
        self.assertEqual([r[:2] for r in rows], [["flux-system", "flux-system"]])
        self.assertEqual(rows[0][2], "ssh://git@github.com/ronaldlokers/homelab")
        self.assertEqual(rows[0][4], "True")

    def check_version(self, out, err):
        self.assertEqual(json.loads(out)["gitVersion"], "v1.33.1")

    def check_deploy_json(self, out, err):
        d = json.loads(out)
        self.assertEqual(d["kind"], "List")
        self.assertEqual([i["metadata"]["name"] for i in d["items"]], CONTROLLERS)
        self.assertTrue(all(i["status"]["availableReplicas"] == 1
                            for i in d["items"]))

    def check_crd_names(self, out, err):
        self.assertEqual(out.split(), ["customresourcedefinition.apiextensions.k8s.io/"
                                       + n for n in CRDS])

    def check_one_name(self, out, err):
        self.assertEqual(out.split(), ["deployment.apps/source-controller"])

    def check_ks_names(self, out, err):
        self.assertEqual(out.split(),
                         ["kustomization.kustomize.toolkit.fluxcd.io/flux-system"])

    def check_ns_names(self, out, err):
        self.assertEqual(out.split(), ["namespace/" + n for n in NAMESPACES])

    def test_kubectl_get(self):
        self.assertTrue(KUBECTLS, "no kubectl found")
        jobs = []
        for k in KUBECTLS:
            jobs += [
                (k, ["get", "ns"], None, self.check_get_ns),
                (k, ["get", "crd"], None, self.check_get_crd),
                (k, ["get", "deploy", "-n", "flux-system"], None,
                 self.check_get_deploy),
                (k, ["get", "gitrepositories", "-A"], None, self.check_gitrepos),
                (k, ["get", "--raw", "/version"], None, self.check_version),
                (k, ["get", "deploy", "-n", "flux-system", "-o", "json"], None,
                 self.check_deploy_json),
                (k, ["get", "crd", "-o", "name", "--chunk-size=3"], None,
                 self.check_crd_names),
                (k, ["get", "deploy", "source-controller", "-n", "flux-system",
                     "-o", "name"], None, self.check_one_name),
                # the client-certificate user
                (k, ["get", "ns"], "kubesim-cert-admin", self.check_get_ns),
                (k, ["get", "ks", "-A", "-o", "name"], "kubesim-cert-admin",
                 self.check_ks_names),
                (k, ["get", "deploy", "-n", "flux-system"], "kubesim-cert-admin",
                 self.check_get_deploy),
            ]
        dispatcher = os.path.join(GCLOUD_BIN, "kubectl")
        if os.access(dispatcher, os.X_OK) and KUBECTLS[0].startswith(GCLOUD_BIN):
            jobs.append((dispatcher, ["get", "ns", "-o", "name"], None,
                         self.check_ns_names))
        self.run_all(jobs)
        log = self.sim.log_entries()
        cert = [e for e in log if e.get("clientCertCN") == "cert-admin"]
        self.assertTrue(cert)
        self.assertTrue(all(e["user"] == "cert-admin" and
                            "authorization" not in e["headers"] for e in cert))
        tok = [e for e in log if e.get("user") == "admin"]
        self.assertTrue(all(e["headers"]["authorization"].startswith("Bearer sha256:")
                            for e in tok))
        lists = [e for e in log if e.get("path") ==
                 "/apis/apps/v1/namespaces/flux-system/deployments"]
        self.assertTrue(any("as=Table" in e["headers"]["accept"] for e in lists))
        self.assertTrue(any(e["params"].get("continue") for e in log
                            if e.get("path", "").endswith("customresourcedefinitions")))
        # (test_kubectl_errors provokes 403/404 on purpose, maybe concurrently)
        bad = [e for e in log if e.get("status", 0) >= 400 and
               e["user"] != "viewer" and not e["path"].endswith("/nope")
               and e.get("fault") is None]
        self.assertEqual(bad, [])
        with open(self.sim.log) as f:
            self.assertNotIn("interop-admin-token", f.read())

    def test_kubectl_errors(self):
        self.assertTrue(KUBECTLS, "no kubectl found")
        k = KUBECTLS[-1]
        out, err = self.kubectl(k, ["get", "deploy", "-n", "flux-system"],
                                "kubesim-viewer", expect_rc=1)
        self.assertEqual(err.strip(), 'Error from server (Forbidden): deployments.apps'
                         ' is forbidden: User "viewer" cannot list resource '
                         '"deployments" in API group "apps" in the namespace '
                         '"flux-system"')
        out, err = self.kubectl(k, ["get", "deploy", "nope", "-n", "flux-system"],
                                expect_rc=1)
        self.assertEqual(err.strip(), 'Error from server (NotFound): '
                         'deployments.apps "nope" not found')

    def test_kubectl_expired_continue(self):
        self.assertTrue(KUBECTLS, "no kubectl found")
        for k in (KUBECTLS[0], KUBECTLS[-1]):
            out, err = self.kubectl(k, ["get", "crd", "-o", "name",
                                        "--chunk-size=2"], expect_rc=1)
            self.assertEqual(out.split(), ["customresourcedefinition."
                                           "apiextensions.k8s.io/" + n
                                           for n in CRDS[:2]])
            self.assertEqual(err.strip(), "Error from server (Expired): " +
                             simhelper.kubesim_module().EXPIRED_CONTINUE_MSG)

    def test_python_kubernetes(self):
        import warnings
        warnings.simplefilter("ignore", ResourceWarning)
        from kubernetes import client, config
        api = config.new_client_from_config(config_file=self.sim.kubeconfig)
        try:
            core = client.CoreV1Api(api)
            self.assertEqual(sorted(n.metadata.name for n in
                                    core.list_namespace().items), NAMESPACES)
            apps = client.AppsV1Api(api)
            deps = apps.list_namespaced_deployment("flux-system")
            self.assertEqual(sorted(d.metadata.name for d in deps.items),
                             CONTROLLERS)
            self.assertTrue(all(d.status.available_replicas == 1
                                for d in deps.items))
            ext = client.ApiextensionsV1Api(api)
            crds = ext.list_custom_resource_definition(
                label_selector="app.kubernetes.io/part-of=flux")
            self.assertEqual(sorted(c.metadata.name for c in crds.items), CRDS)
            conds = {c.type: c.status for c in crds.items[0].status.conditions}
            self.assertEqual(conds["Established"], "True")
            co = client.CustomObjectsApi(api)
            gr = co.list_cluster_custom_object("source.toolkit.fluxcd.io", "v1",
                                               "gitrepositories")
            self.assertEqual([i["metadata"]["name"] for i in gr["items"]],
                             ["flux-system"])
            v = client.VersionApi(api).get_code()
            self.assertEqual(v.git_version, "v1.33.1")
        finally:
            api.close()


if __name__ == "__main__":
    if not KUBECTLS:
        print("FAIL: no kubectl binary (pinned %s/kubectl.1.{%s} or "
              "/usr/bin/kubectl); run tests/install-deps.sh" % (GCLOUD_BIN, MINORS),
              file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
