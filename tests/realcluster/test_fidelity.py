#!/usr/bin/python3
"""Keep the simulator honest: the same manifests in kubesim and in the REAL
kube-apiserver, the same requests to both, and the answers compared.

    test_fidelity.py FLUXSTATE_CLI

The requests are the ones that matter: every request `fluxstate check` and
`fluxstate check --wait-for` make (read from kubesim's request log), the
real kubectl's requests from kubesim's interop test (get ns/crd/deploy/
gitrepositories -A, -o json/name, --chunk-size), and the error answers the
library relies on: 403 (a `view`-only user), 404 (a missing object, an
unknown path) and 410 (a continue token older than etcd's compaction).

Compared per request: status code, Content-Type, kind/apiVersion, the list
metadata's keys, every item's top-level and metadata keys, Status
reason/code/details, Table column names and row shapes, and which objects
each returns (kubesim's answer must not hold an object the real one lacks;
the real cluster's own built-in objects are listed, not failed).

Every difference must be fixed in kubesim or be listed in DELIBERATE below
(and in tests/kubesim/README.md, "Differences from a real API server").
"""
import base64
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import unittest
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kubesim"))
import rchelper  # noqa: E402
from simhelper import Sim  # noqa: E402

CLI = None
NS = "flux-system"
VIEWER_TOKEN = "fidelity-viewer-token"

# (regex over the difference text, why it is deliberate). Keep in step with
# tests/kubesim/README.md "Differences from a real API server".
DELIBERATE = [
    (r"item metadata keys: real-only \['managedFields'\] kubesim-only \{\}$",
     "kubesim keeps no managedFields (server-side apply bookkeeping); nothing reads them"),
    (r"^admin /apis\?\S* \[application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList\]: "
     r"item metadata keys: real-only \{\} kubesim-only \['creationTimestamp'\]$",
     "aggregated discovery: kubesim writes metadata.creationTimestamp: null in each "
     "APIGroupDiscovery, as servers before v1.34 did; nobody reads it"),
    (r"^admin /api\?\S* \[application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList\]: "
     r"objects only in kubesim: \[\(None, ''\)\]$",
     "aggregated discovery: the core group's metadata.name is \"\" in kubesim, omitted by "
     "v1.34 (the same empty name); nobody reads it"),
]

# kubectl's requests in kubesim's interop test (test_interop.py)
KUBECTL_ARGS = [
    ["get", "ns"], ["get", "crd"], ["get", "deploy", "-n", NS],
    ["get", "gitrepositories", "-A"], ["get", "--raw", "/version"],
    ["get", "deploy", "-n", NS, "-o", "json"], ["get", "crd", "-o", "name"],
    ["get", "crd", "--chunk-size=2"],
]


def norm_ctype(v):
    return ";".join(sorted(p.strip().replace(" ", "") for p in (v or "").split(";") if p.strip()))


class Server:
    """One HTTPS endpoint (kubesim or the real server) with its tokens."""

    def __init__(self, name, host_port, tls, tokens):
        self.name, self.tls, self.tokens = name, tls, tokens
        self.host, self.port = host_port

    def get(self, path, accept="application/json", user="admin"):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.tls, timeout=30)
        try:
            c.request("GET", path, headers={"Accept": accept, "Accept-Encoding": "identity",
                                            "Authorization": "Bearer " + self.tokens[user]})
            r = c.getresponse()
            return r.status, r.getheader("Content-Type"), r.read()
        finally:
            c.close()


def watch_events(body):
    """A watch answer: one JSON event per line; None if it is not one."""
    try:
        return [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    except ValueError:
        return None


def shape(status, ctype, body):
    """What is compared of one answer."""
    s = {"status": status, "contentType": norm_ctype(ctype)}
    try:
        doc = json.loads(body)
        events = [doc] if isinstance(doc, dict) and set(doc) == {"type", "object"} else None
    except ValueError:
        doc, events = None, watch_events(body)
    if doc is None or events is not None:
        if events is None:
            s["text"] = body.decode(errors="replace").strip()[:80]
            return s, {}
        # a watch stream: event types and the objects' kind/apiVersion
        s["events"] = sorted({(e.get("type"), (e.get("object") or {}).get("kind"),
                               (e.get("object") or {}).get("apiVersion")) for e in events})
        items = {}
        for e in events:
            md = (e.get("object") or {}).get("metadata") or {}
            items[(md.get("namespace"), md.get("name"))] = e.get("object") or {}
        return s, items
    if not isinstance(doc, dict):
        return s, {}
    s["kind"], s["apiVersion"] = doc.get("kind"), doc.get("apiVersion")
    if doc.get("kind") == "Status":
        s["reason"], s["code"] = doc.get("reason"), doc.get("code")
        s["details"] = sorted((doc.get("details") or {}).items()) if doc.get("details") else None
        s["statusKeys"] = sorted(doc)
    items = {}
    if "items" in doc or doc.get("kind", "").endswith("List") and doc.get("kind") != "APIGroupList":
        s["listMetadataKeys"] = sorted(k for k in (doc.get("metadata") or {})
                                       if k not in ("continue", "remainingItemCount"))
        for it in doc.get("items") or []:
            md = it.get("metadata") or {}
            items[(md.get("namespace"), md.get("name"))] = it
    if doc.get("kind") == "Table":
        s["columns"] = [c["name"] for c in doc.get("columnDefinitions") or []]
        for row in doc.get("rows") or []:
            obj = row.get("object") or {}
            md = obj.get("metadata") or {}
            items[(md.get("namespace"), md.get("name"))] = dict(obj, _rowKeys=sorted(row))
    return s, items


def compare(label, real, sim):
    """→ list of difference texts for one request."""
    (rs, ritems), (ss, sitems) = shape(*real), shape(*sim)
    diffs = []
    for k in sorted(set(rs) | set(ss)):
        if rs.get(k) != ss.get(k):
            diffs.append("%s: %s: real %r, kubesim %r" % (label, k, rs.get(k), ss.get(k)))
    only_sim = sorted(set(sitems) - set(ritems))
    if only_sim:
        diffs.append("%s: objects only in kubesim: %s" % (label, only_sim))
    for key in sorted(set(sitems) & set(ritems)):
        r, s = ritems[key], sitems[key]
        for what, a, b in (("item keys", r, s), ("item metadata keys", r.get("metadata") or {},
                                                  s.get("metadata") or {})):
            ka, kb = set(a), set(b)
            if ka != kb:
                diffs.append("%s: %s: real-only %s kubesim-only %s"
                             % (label, what, sorted(ka - kb) or "{}", sorted(kb - ka) or "{}"))
    return diffs, sorted(set(ritems) - set(sitems))


class Fidelity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        docs, _, source = rchelper.flux_install()
        sys.stderr.write("manifests: %s\n" % source)
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "sops-age", "namespace": NS},
                  "data": {"age.agekey": base64.b64encode(b"AGE-SECRET-KEY-1FIDELITY").decode()}}
        # viewer bound to view in flux-system. v1.34 serves the continue
        # tokens of recent lists from watch-cache snapshots and answers a token
        # older than any snapshot with an empty 200 list, not 410: with the
        # gate off they go to etcd, which answers 410 after a compaction.
        cls.real = rc = rchelper.Cluster("--apiserver-arg=--feature-gates=ListFromCacheSnapshot=false")
        try:
            cls.load_real(rc, docs, secret)
        except Exception:
            rc.stop(keep=True)
            raise
        cls.dir = rc.dir
        state = os.path.join(rc.dir, "state.yaml")
        with open(state, "w") as f:
            yaml.safe_dump_all(docs + [secret] + cls.real_crs, f)
        cls.sim = Sim(states=[state], config={
            "serverVersion": "v1.34.4",
            "users": [{"name": "admin", "token": "fidelity-admin-token",
                       "groups": ["system:masters"]},
                      {"name": "viewer", "token": VIEWER_TOKEN}],
            # what the built-in `view` role bound in flux-system does not allow
            "deny": [{"user": "viewer", "resource": "*", "namespace": ""},
                     {"user": "viewer", "resource": "secrets"}]})
        with open(rc.admin) as f:
            admin_tok = json.load(f)["users"][0]["user"]["token"]
        with open(rc.viewer) as f:
            viewer_tok = json.load(f)["users"][0]["user"]["token"]
        rtls = ssl.create_default_context(cafile=os.path.join(rc.dir, "ca.crt"))
        host, port = urllib.parse.urlsplit(rc.server).hostname, urllib.parse.urlsplit(rc.server).port
        cls.rs = Server("real", (host, port), rtls, {"admin": admin_tok, "viewer": viewer_tok})
        cls.ss = Server("kubesim", ("127.0.0.1", cls.sim.port), cls.sim.ssl_context(),
                        {"admin": "fidelity-admin-token", "viewer": VIEWER_TOKEN})
        cls.report = {"differences": [], "realOnlyObjects": {}, "requests": 0}

    @classmethod
    def load_real(cls, rc, docs, secret):
        crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
        rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
        rc.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(crds))
        rc.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                   *["crd/" + d["metadata"]["name"] for d in crds])
        rc.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                   stdin=yaml.safe_dump_all(rest + [secret]))
        cls.real_crs = [
            {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
             "metadata": {"name": "flux-system", "namespace": NS},
             "spec": {"interval": "1m", "url": "https://example.com/fleet.git", "ref": {"branch": "main"}}},
            {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
             "metadata": {"name": "apps", "namespace": NS},
             "spec": {"interval": "1m", "url": "https://example.com/apps.git", "ref": {"branch": "main"}}},
        ]
        rc.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(cls.real_crs))
        # the status kubesim synthesizes for a Deployment, set the way tests do
        for d in rest:
            if d["kind"] != "Deployment":
                continue
            name = d["metadata"]["name"]
            gen = rc.get("deployment", name, "-n", NS)["metadata"]["generation"]
            n = d["spec"].get("replicas", 1)
            st = {"observedGeneration": gen, "replicas": n, "updatedReplicas": n,
                  "readyReplicas": n, "availableReplicas": n, "conditions": [
                      {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                       "message": "Deployment has minimum availability."},
                      {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                       "message": "ReplicaSet has successfully progressed."}]}
            rc.kubectl("patch", "deployment", name, "-n", NS, "--subresource=status",
                       "--type=merge", "-p", json.dumps({"status": st}))

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        rc, st = cls.real.stop(keep=bool(os.environ.get("REALCLUSTER_KEEP")))
        out = os.environ.get("REALCLUSTER_FIDELITY")
        if out:
            with open(out, "w") as f:
                json.dump(cls.report, f, indent=1, sort_keys=True)
        assert rc == 0, rc

    # --- which requests ------------------------------------------------------
    def library_requests(self):
        """(path?query, Accept) of a probe and of the watches --wait-for opens."""
        start = len(self.sim.log_entries())
        env = rchelper.lib_env()
        p = subprocess.run([CLI, "--kubeconfig", self.sim.kubeconfig, "check", "-o", "json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["state"], "healthy")
        p = subprocess.run([CLI, "--kubeconfig", self.sim.kubeconfig, "--wait-for", "none",
                            "--timeout", "3s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
        self.assertEqual(p.returncode, 5, p.stderr)
        return self.logged(start)

    def kubectl_requests(self):
        start = len(self.sim.log_entries())
        kubectl = rchelper.find_kubectl()
        home = os.path.join(self.dir, "kubectl-home")
        os.makedirs(home, exist_ok=True)
        for args in KUBECTL_ARGS:
            subprocess.run([kubectl, "--kubeconfig", self.sim.kubeconfig, "--cache-dir",
                            os.path.join(home, "cache")] + args, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env={"PATH": "/usr/bin:/bin", "HOME": home})
        return self.logged(start)

    def logged(self, start):
        reqs = []
        for e in self.sim.log_entries()[start:]:
            if e.get("method") != "GET":
                continue
            q = e.get("query") or ""
            if e.get("watch"):
                # a watch never ends by itself: the same request, bounded
                q = re.sub(r"timeoutSeconds=\d+", "timeoutSeconds=1", q)
                if "timeoutSeconds" not in q:
                    q += "&timeoutSeconds=1"
                # a resourceVersion means nothing on the other server
                q = re.sub(r"(^|&)resourceVersion=[^&]*", "", q).lstrip("&")
            if "continue=" in q:
                continue  # tokens are per server; paging is compared below
            url = e["path"] + ("?" + q if q else "")
            reqs.append((url, (e.get("headers") or {}).get("accept") or "application/json"))
        return list(dict.fromkeys(reqs))

    # --- the diff --------------------------------------------------------------
    def diff_all(self, reqs, user="admin"):
        diffs = []
        for url, accept in reqs:
            label = "%s %s [%s]" % (user, url, accept.split(",")[0])
            d, real_only = compare(label, self.rs.get(url, accept, user), self.ss.get(url, accept, user))
            diffs += d
            if real_only:
                self.report["realOnlyObjects"][label] = ["%s/%s" % k for k in real_only]
            self.report["requests"] += 1
        return diffs

    def check(self, diffs):
        self.report["differences"] += diffs
        unexplained = [d for d in diffs if not any(re.search(p, d) for p, _ in DELIBERATE)]
        for d in diffs:
            sys.stderr.write("%s %s\n" % ("DIFF" if d in unexplained else "deliberate", d))
        self.assertEqual(unexplained, [], "differences not fixed in kubesim nor documented")

    def test_library_requests(self):
        reqs = self.library_requests()
        self.assertGreaterEqual(len(reqs), 12, reqs)
        self.check(self.diff_all(reqs))

    def test_kubectl_requests(self):
        reqs = self.kubectl_requests()
        self.assertGreaterEqual(len(reqs), len(KUBECTL_ARGS), reqs)
        self.check(self.diff_all(reqs))

    def test_errors(self):
        reqs = [
            ("/apis/apps/v1/namespaces/%s/deployments/no-such-controller" % NS, "application/json"),
            ("/api/v1/namespaces/no-such-namespace", "application/json"),
            ("/apis/source.toolkit.fluxcd.io/v1/namespaces/%s/gitrepositories/nope" % NS,
             "application/json"),
            ("/apis/no.such.group/v1/things", "application/json"),
            ("/apis/source.toolkit.fluxcd.io/v1/nosuchresources", "application/json"),
        ]
        diffs = self.diff_all(reqs)
        forbidden = [
            ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "application/json"),
            ("/api/v1/namespaces/%s/secrets" % NS, "application/json"),
            ("/apis/apps/v1/deployments?labelSelector=app.kubernetes.io%2Fpart-of%3Dflux",
             "application/json"),
            ("/api/v1/namespaces/%s/configmaps" % NS,
             "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"),
        ]
        diffs += self.diff_all(forbidden, user="viewer")
        self.check(diffs)

    def test_expired_continue(self):
        """410 Expired: a continue token older than etcd's compaction."""
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?limit=2"
        tokens = {}
        for srv in (self.rs, self.ss):
            st, ct, body = srv.get(path)
            self.assertEqual(st, 200)
            doc = json.loads(body)
            tokens[srv.name] = doc["metadata"]["continue"]
            self.assertIn("remainingItemCount", doc["metadata"], srv.name)
        # compact etcd past the token's revision (etcd's JSON gateway), then
        # write once so the compacted revision is not the newest
        with open(os.path.join(self.dir, "cluster.json")) as f:
            etcd = json.load(f)["etcd"]
        rc = self.real
        rc.kubectl("-n", NS, "create", "configmap", "fidelity-bump")
        import urllib.request
        with urllib.request.urlopen(etcd + "/v3/kv/range", data=json.dumps(
                {"key": base64.b64encode(b"/").decode()}).encode(), timeout=10) as r:
            rev = int(json.loads(r.read())["header"]["revision"])
        with urllib.request.urlopen(etcd + "/v3/kv/compaction", data=json.dumps(
                {"revision": str(rev), "physical": True}).encode(), timeout=10) as r:
            sys.stderr.write("etcd compaction at %d: %s\n" % (rev, r.read().decode()))
        # The token, moved to revision 1: older than the compaction on the real
        # server, a snapshot kubesim does not know, which it treats as compacted.
        for name, tok in tokens.items():
            t = json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
            t["rv"] = 1
            new = base64.urlsafe_b64encode(json.dumps(t, separators=(",", ":")).encode()).decode()
            tokens[name] = new if tok.endswith("=") else new.rstrip("=")
        real = self.rs.get(path + "&continue=" + urllib.parse.quote(tokens["real"]))
        sim = self.ss.get(path + "&continue=" + urllib.parse.quote(tokens["kubesim"]))
        self.assertEqual(real[0], 410, real)
        d, _ = compare("admin %s&continue=<expired>" % path, real, sim)
        rd, sd = json.loads(real[2]), json.loads(sim[2])
        for k in ("reason", "code"):
            self.assertEqual(rd.get(k), sd.get(k), (rd, sd))
        if bool(rd.get("metadata", {}).get("continue")) != bool(sd.get("metadata", {}).get("continue")):
            d.append("expired continue: a fresh token in metadata.continue: real %s, kubesim %s"
                     % (bool(rd["metadata"].get("continue")), bool(sd["metadata"].get("continue"))))
        self.check(d)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_fidelity.py FLUXSTATE_CLI")
    CLI = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
