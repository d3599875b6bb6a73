#!/usr/bin/python3
"""Issue #9's eight histories against the REAL control plane (etcd,
kube-apiserver, kube-controller-manager built from Go modules), each driven by
the real kubectl exactly as a user would, each checked with the C library
(docs/examples/c/detect.c), the CLI (`fluxstate check -o json`) and the
Python binding, which must agree.

    test_histories.py FLUXSTATE_CLI C_DETECT      (meson passes both)

The histories share one cluster and run in order (the numbers in the method
names); each leaves the cluster the way the next one starts from.
"""
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rchelper  # noqa: E402
from rchelper import findings  # noqa: E402

NS = "flux-system"
CONTROLLERS = ["helm-controller", "kustomize-controller", "notification-controller",
               "source-controller"]
PROBE = None
RESULTS = {}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(history, report):
    RESULTS[history] = {"state": report["state"], "summary": report["summary"],
                        "findings": sorted(report["_keys"])}
    sys.stderr.write("%s: %s (%s)\n" % (history, report["state"], report["summary"]))


class Proxy:
    """A TCP relay to the API server whose connections the test can cut, to
    drop a watch the way a load balancer or a network blip does (TLS passes
    through untouched: the client still talks to the real server)."""

    def __init__(self, port):
        self.target = port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.conns += [c, u]
                self.accepted += 1
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop_all(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        return len(conns) // 2

    def close(self):
        self.sock.close()
        self.drop_all()


class Histories(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # No namespace at start: history 1 creates flux-system the way a
        # user's setup step does. --http2-debug: history 8 counts connections.
        cls.c = rchelper.Cluster("--viewer-namespace", "", "--http2-debug")
        manifests, cls.version, source = rchelper.flux_install()
        sys.stderr.write("manifests: %s (Flux %s)\n" % (source, cls.version))
        RESULTS["manifests"] = source
        cls.crds = [d for d in manifests if d["kind"] == "CustomResourceDefinition"]
        cls.rest = [d for d in manifests if d["kind"] != "CustomResourceDefinition"]

    @classmethod
    def tearDownClass(cls):
        rc, st = cls.c.stop(keep=bool(os.environ.get("REALCLUSTER_KEEP")))
        sys.stderr.write("cluster: ready in %ss, peak RSS MiB %s, exit %d\n"
                         % (st.get("readySeconds"), json.dumps(st.get("peakRSSMiB")), rc))
        out = os.environ.get("REALCLUSTER_RESULTS")
        if out:
            with open(out, "w") as f:
                json.dump({"histories": RESULTS, "cluster": st}, f, indent=1, sort_keys=True)
        assert rc == 0, "tests/realcluster/start exited %d on SIGTERM" % rc

    # --- helpers ----------------------------------------------------------
    def apply(self, docs):
        self.c.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                       stdin=yaml.safe_dump_all(docs))

    def install_crds(self):
        self.apply(self.crds)
        self.c.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                       *["crd/" + d["metadata"]["name"] for d in self.crds])

    def set_available(self, name, available=True):
        """Deployment status the way the deployment controller writes it,
        through the status subresource (no kubelet runs pods here)."""
        d = self.c.get("deployment", name, "-n", NS)
        n = d["spec"].get("replicas", 1)
        cond = [{"type": "Available", "status": "True" if available else "False",
                 "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if available
                 else "Deployment does not have minimum availability.",
                 "lastUpdateTime": now(), "lastTransitionTime": now()},
                {"type": "Progressing", "status": "True",
                 "reason": "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
                 "message": "ReplicaSet has successfully progressed.",
                 "lastUpdateTime": now(), "lastTransitionTime": now()}]
        status = {"observedGeneration": d["metadata"]["generation"], "replicas": n,
                  "updatedReplicas": n, "readyReplicas": n if available else 0,
                  "availableReplicas": n if available else 0, "conditions": cond}
        if not available:
            status["unavailableReplicas"] = n
        self.c.kubectl("patch", "deployment", name, "-n", NS, "--subresource=status",
                       "--type=merge", "-p", json.dumps({"status": status}))

    def flux_deployments(self):
        return [d["metadata"]["name"] for d in
                self.c.get("deployments", "-n", NS, "-l", "app.kubernetes.io/part-of=flux")["items"]]

    def create_crs_with_finalizers(self):
        self.c.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all([
            {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
             "metadata": {"name": "flux-system", "namespace": NS,
                          "finalizers": ["finalizers.fluxcd.io"]},
             "spec": {"interval": "1m", "url": "https://example.com/fleet.git",
                      "ref": {"branch": "main"}}},
            {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
             "metadata": {"name": "flux-system", "namespace": NS,
                          "finalizers": ["finalizers.fluxcd.io"]},
             "spec": {"interval": "10m", "path": "./clusters/dev", "prune": True,
                      "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}}]))

    def audit_since(self, offset):
        with open(self.c.audit) as f:
            f.seek(offset)
            return [json.loads(l) for l in f if l.strip()]

    # --- the histories ----------------------------------------------------
    def test_1_h1_seed(self):
        """A setup step pre-creates flux-system and a sops-age Secret: none."""
        self.c.kubectl("create", "namespace", NS)
        self.c.kubectl("-n", NS, "create", "secret", "generic", "sops-age",
                       "--from-literal=age.agekey=AGE-SECRET-KEY-1REALCLUSTERTEST")
        # the real controllers add the default ServiceAccount and kube-root-ca.crt,
        # as on every real cluster: still no Flux
        self.c.wait("kube-root-ca.crt in flux-system", lambda: self.c.kubectl(
            "-n", NS, "get", "configmap", "kube-root-ca.crt", check=False).returncode == 0)
        r = PROBE.all(self.c.admin)
        record("h1-seed", r)
        self.assertEqual(r["state"], "none", r["summary"])
        self.assertTrue(findings(r, "namespace", "pre-created", NS), r["findings"])

    def test_2_h2_install(self):
        """The project's generated manifests applied with kubectl, every
        controller available: healthy; helm-controller unavailable: partial."""
        self.install_crds()
        self.apply(self.rest)
        deps = self.flux_deployments()
        self.assertEqual(sorted(deps), CONTROLLERS)
        # no deployment controller runs: a fresh Deployment has no status yet
        r = PROBE.all(self.c.admin)
        self.assertEqual(r["state"], "partial", r["summary"])
        for d in deps:
            self.set_available(d)
        r = PROBE.all(self.c.admin)
        record("h2-healthy", r)
        self.assertEqual(r["state"], "healthy", r["summary"])
        self.assertEqual(r["version"], self.version)
        self.assertFalse([f for f in r["findings"] if f["severity"] == "error"], r["findings"])

        self.set_available("helm-controller", False)
        r = PROBE.all(self.c.admin)
        record("h2-one-unavailable", r)
        self.assertEqual(r["state"], "partial", r["summary"])
        self.assertEqual([f["name"] for f in findings(r, "controller", "unavailable")],
                         ["helm-controller"])
        self.set_available("helm-controller", True)
        self.assertEqual(PROBE.all(self.c.admin)["state"], "healthy")

    def test_3_h5_viewer(self):
        """A user bound only to `view` in flux-system, on a healthy install:
        unknown, never none or healthy."""
        self.c.kubectl("-n", NS, "create", "rolebinding", "viewer-view",
                       "--clusterrole=view", "--user=viewer")
        # the binding is real: kubectl as viewer may list pods there, not CRDs
        self.c.kubectl("auth", "can-i", "list", "deployments", "-n", NS, kubeconfig=self.c.viewer)
        self.assertNotEqual(self.c.kubectl("auth", "can-i", "list", "crds",
                                           kubeconfig=self.c.viewer, check=False).returncode, 0)
        r = PROBE.all(self.c.viewer)
        record("h5-viewer", r)
        self.assertEqual(r["state"], "unknown", r["summary"])
        hidden = findings(r, "access", "not-visible")
        self.assertTrue(hidden, r["findings"])
        self.assertIn("CustomResourceDefinition", [f["kind"] for f in hidden])
        self.assertEqual(PROBE.run_cli(self.c.viewer, "check", "--expect", "none", "-q").returncode, 3)

    def test_4_h8_http2(self):
        """One detection = one HTTP/2 connection, counted on the server:
        kube-apiserver's own log names each connection it accepts (http2debug)
        and its audit log has one event per request."""
        apilog = os.path.join(self.c.dir, "kube-apiserver.log")
        log_off, audit_off = os.path.getsize(apilog), os.path.getsize(self.c.audit)
        p = PROBE.run_cli(self.c.cert, "check", "-o", "json", "-v")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["state"], "healthy")
        time.sleep(1)  # the audit backend writes after the response
        with open(apilog, errors="replace") as f:
            f.seek(log_off)
            conns = [l for l in f if "http2: server connection from 127.0.0.1:" in l]
        events = [e for e in self.audit_since(audit_off)
                  if e["user"]["username"] == "cert-admin" and e["stage"] == "ResponseComplete"]
        traced = [l for l in p.stderr.splitlines() if re.match(r"fluxstate: trace: GET /", l)]
        sys.stderr.write("h8: %d new HTTP/2 connection(s) during the probe, %d requests in the "
                         "audit log, %d traced by the CLI\n" % (len(conns), len(events), len(traced)))
        RESULTS["h8-http2"] = {"connections": len(conns), "requests": len(events),
                               "cliTrace": len(traced),
                               "uris": sorted(e["requestURI"] for e in events)}
        self.assertEqual(len(conns), 1, "new connections: %s" % conns)
        self.assertGreaterEqual(len(events), 10)
        if traced:
            self.assertEqual(len(traced), len(events))

    def test_5_h7_wait_for(self):
        """--wait-for across a real change, with every connection cut while
        it watches: it must watch again and see helm-controller go down."""
        proxy = Proxy(int(self.c.server.rsplit(":", 1)[1]))
        self.addCleanup(proxy.close)
        with open(self.c.cert) as f:
            kc = json.load(f)
        kc["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % proxy.port
        proxied = os.path.join(self.c.dir, "proxied.kubeconfig")
        with open(proxied, "w") as f:
            json.dump(kc, f)
        audit_off = os.path.getsize(self.c.audit)
        p = subprocess.Popen([PROBE.cli, "--kubeconfig", proxied, "--wait-for", "partial",
                              "--timeout", "120s"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=PROBE.env())
        self.addCleanup(lambda: p.poll() is None and p.kill())
        first = p.stdout.readline()
        self.assertIn("state: healthy", first)
        time.sleep(3)
        dropped = proxy.drop_all()
        self.assertGreaterEqual(dropped, 1, "no connection to drop: not watching?")
        time.sleep(3)
        self.set_available("helm-controller", False)
        out, err = p.communicate(timeout=90)
        out = first + out
        sys.stderr.write("h7 output:\n%s%s" % (out, err))
        watches = [e for e in self.audit_since(audit_off) if e["verb"] == "watch"
                   and e["user"]["username"] == "cert-admin" and e["stage"] == "ResponseComplete"]
        RESULTS["h7-wait-for"] = {"exit": p.returncode, "droppedConnections": dropped,
                                  "proxyConnections": proxy.accepted, "watchRequests": len(watches),
                                  "bookmarks": sum("allowWatchBookmarks=true" in e["requestURI"]
                                                   for e in watches),
                                  "output": out.splitlines()}
        self.assertEqual(p.returncode, 0, (out, err))
        self.assertRegex(out, r"healthy → partial")
        self.assertGreaterEqual(proxy.accepted, 2, "no new connection after the drop")
        self.assertTrue(watches, "no watch request reached the server")
        self.set_available("helm-controller", True)

    def test_6_h3_namespace_delete(self):
        """Flux objects with finalizers.fluxcd.io, controllers removed, the
        namespace deleted: the real namespace controller keeps it Terminating."""
        self.create_crs_with_finalizers()
        self.c.kubectl("-n", NS, "delete", "deployment", "-l", "app.kubernetes.io/part-of=flux")
        self.c.kubectl("delete", "namespace", NS, "--wait=false")

        def blocked():
            ns = self.c.get("namespace", NS)
            conds = {c["type"]: c for c in ns["status"].get("conditions", [])}
            fin = conds.get("NamespaceFinalizersRemaining", {})
            return ns["status"]["phase"] == "Terminating" and fin.get("status") == "True" and ns
        ns = self.c.wait("the namespace controller to report finalizers remaining", blocked)
        RESULTS["h3-namespace-conditions"] = ns["status"]["conditions"]
        r = PROBE.all(self.c.admin)
        record("h3-namespace-terminating", r)
        self.assertEqual(r["state"], "residual", r["summary"])
        term = findings(r, "namespace", "terminating", NS)
        self.assertTrue(term, r["findings"])
        self.assertIn("finalizer-blocked", term[0]["flags"])
        blocked_crs = findings(r, "custom-resource", "finalizer-blocked")
        self.assertEqual(sorted(f["kind"] for f in blocked_crs), ["GitRepository", "Kustomization"])

    def test_7_h6_cleanup_plan(self):
        """The cleanup plan, run with the real kubectl: the next probe is none."""
        p = PROBE.run_cli(self.c.admin, "cleanup-plan")
        self.assertEqual(p.returncode, 0, p.stderr)
        bindir = os.path.join(self.c.dir, "bin")
        os.makedirs(bindir, exist_ok=True)
        if not os.path.exists(os.path.join(bindir, "kubectl")):
            os.symlink(self.c.kubectl_bin, os.path.join(bindir, "kubectl"))
        plan = os.path.join(self.c.dir, "plan.sh")
        with open(plan, "w") as f:
            f.write(p.stdout)
        RESULTS["h6-plan"] = [l for l in p.stdout.splitlines() if l and not l.startswith("#")]
        run = subprocess.run(["sh", "-e", plan], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=300, env={"PATH": bindir + ":/usr/bin:/bin",
                                                          "HOME": self.c.home})
        self.assertEqual(run.returncode, 0, run.stdout)
        # the namespace controller finishes the deletion once finalizers are gone
        self.c.wait("flux-system to be deleted", lambda: self.c.kubectl(
            "get", "namespace", NS, check=False).returncode != 0, timeout=120)
        r = PROBE.all(self.c.admin)
        record("h6-after-cleanup", r)
        self.assertEqual(r["state"], "none", (r["summary"], r["findings"]))

    def test_8_h4_crd_delete(self):
        """kubectl delete crd while its objects carry finalizers: the real
        Terminating condition; residual without controllers, partial with."""
        self.c.kubectl("create", "namespace", NS)
        self.install_crds()
        self.create_crs_with_finalizers()
        crd = "gitrepositories.source.toolkit.fluxcd.io"
        self.c.kubectl("delete", "crd", crd, "--wait=false")

        def terminating():
            conds = {c["type"]: c for c in self.c.get("crd", crd)["status"].get("conditions", [])}
            return conds.get("Terminating", {}).get("status") == "True" and conds["Terminating"]
        cond = self.c.wait("the CRD's Terminating condition", terminating)
        RESULTS["h4-crd-condition"] = cond
        r = PROBE.all(self.c.admin)
        record("h4-crd-terminating-no-controllers", r)
        self.assertEqual(r["state"], "residual", r["summary"])
        t = findings(r, "crd", "terminating", crd)
        self.assertTrue(t, r["findings"])
        self.assertIn("blocks-reinstall", t[0]["flags"])
        self.assertIn("finalizer-blocked", t[0]["flags"])

        self.apply([d for d in self.rest if d["kind"] == "Deployment"])
        for d in self.flux_deployments():
            self.set_available(d)
        r = PROBE.all(self.c.admin)
        record("h4-crd-terminating-with-controllers", r)
        self.assertEqual(r["state"], "partial", r["summary"])
        self.assertTrue(findings(r, "crd", "terminating", crd), r["findings"])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: test_histories.py FLUXSTATE_CLI C_DETECT")
    PROBE = rchelper.Probe(os.path.abspath(sys.argv.pop(1)), os.path.abspath(sys.argv.pop(1)))
    unittest.main(verbosity=2)
