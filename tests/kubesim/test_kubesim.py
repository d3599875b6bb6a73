#!/usr/bin/python3
"""The simulator's own tests: HTTPS to a real kubesim process.

The state is built here, in the tests."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simhelper  # noqa: E402
from simhelper import Sim, PARTIAL_ACCEPT, TABLE_ACCEPT, AGG_ACCEPT, basic  # noqa: E402

sys.path.insert(0, os.path.dirname(simhelper.KUBESIM))
import kubesim  # noqa: E402


def ns(name, **md):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": dict(name=name, **md)}


def deploy(name, namespace="flux-system", labels=None, replicas=None, status=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": name, "namespace": namespace,
                      "labels": labels or {}},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [
                                   {"name": "manager",
                                    "image": "ghcr.io/fluxcd/%s:v1" % name}]}}}}
    if replicas is not None:
        d["spec"]["replicas"] = replicas
    if status is not None:
        d["status"] = status
    return d


CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gitrepositories.source.toolkit.fluxcd.io",
                 "labels": {"app.kubernetes.io/part-of": "flux"}},
    "spec": {"group": "source.toolkit.fluxcd.io", "scope": "Namespaced",
             "names": {"kind": "GitRepository", "listKind": "GitRepositoryList",
                       "plural": "gitrepositories", "singular": "gitrepository",
                       "shortNames": ["gitrepo"], "categories": ["flux"]},
             "versions": [
                 {"name": "v1", "served": True, "storage": True,
                  "subresources": {"status": {}},
                  "additionalPrinterColumns": [
                      {"jsonPath": ".spec.url", "name": "URL", "type": "string"},
                      {"jsonPath": ".metadata.creationTimestamp", "name": "Age",
                       "type": "date"},
                      {"jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                       "name": "Ready", "type": "string"}]},
                 {"name": "v1beta2", "served": True, "storage": False},
                 {"name": "v1beta1", "served": False, "storage": False}]},
    "status": {"acceptedNames": {"kind": "", "plural": ""}, "conditions": [],
               "storedVersions": []},
}

STATE = [
    ns("flux-system", labels={"app.kubernetes.io/part-of": "flux"}),
    ns("apps"),
    CRD,
    deploy("source-controller", labels={"app.kubernetes.io/part-of": "flux",
                                        "app.kubernetes.io/component": "source-controller"}),
    deploy("kustomize-controller", labels={"app.kubernetes.io/part-of": "flux",
                                           "app.kubernetes.io/component": "kustomize-controller"}),
    deploy("helm-controller", labels={"app.kubernetes.io/part-of": "flux"}),
    deploy("notification-controller", labels={"app.kubernetes.io/part-of": "flux"}),
    deploy("scaled", replicas=0),
    deploy("web", namespace="apps", labels={"tier": "front"},
           status={"observedGeneration": 1, "replicas": 3, "readyReplicas": 2}),
    {"apiVersion": "v1", "kind": "Secret",
     "metadata": {"name": "sops-age", "namespace": "flux-system"},
     "type": "Opaque", "data": {"age.agekey": "eA=="}},
    {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "cm-%02d" % i, "namespace": "apps",
                      "labels": {"idx": str(i), "parity": "even" if i % 2 == 0
                                 else "odd"}},
         "data": {"k": "v"}} for i in range(12)]},
    {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
     "metadata": {"name": "flux-system", "namespace": "flux-system",
                  "finalizers": ["finalizers.fluxcd.io"]},
     "spec": {"url": "ssh://git@example.com/repo", "interval": "1m"},
     "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "crd-controller-flux-system",
                  "labels": {"app.kubernetes.io/part-of": "flux"}},
     "rules": []},
]

CONFIG = {
    "serverVersion": "v1.29.1+k3s1",
    "users": [
        {"name": "admin", "token": "tok-admin-123", "groups": ["system:masters"]},
        {"name": "viewer", "token": "tok-viewer-456"},
        {"name": "basic-user", "password": "s3cret-pw"},
        {"name": "alice", "clientCert": True, "groups": ["dev", "ops"]},
    ],
    "deny": [
        {"user": "viewer", "verbs": ["list", "watch"], "resource": "secrets",
         "namespace": "*"},
        {"user": "viewer", "verbs": ["list"], "group": "apps",
         "resource": "deployments", "namespace": "flux-system"},
        {"user": "viewer", "verbs": ["get", "list"],
         "group": "apiextensions.k8s.io", "resource": "customresourcedefinitions"},
        {"user": "viewer", "verbs": ["get"], "resource": "namespaces"},
        {"user": "viewer", "verbs": ["get"], "path": "/version"},
    ],
    "deploymentStatus": {
        "flux-system/helm-controller": "unavailable",
        "flux-system/notification-controller": "progress-deadline-exceeded",
        "flux-system/kustomize-controller": "rolling",
    },
    "faults": [
        {"path": "^/api/v1/namespaces/apps/configmaps$", "query": "labelSelector=idx%3D1$",
         "status": 429},
        {"path": "/api/v1/namespaces/fault/", "status": 500, "nth": 2},
        {"path": "^/api/v1/namespaces/kube-public$", "status": 503,
         "retryAfter": 3},
        {"path": "^/api/v1/namespaces/default$", "status": 500,
         "body": "upstream connect error", "contentType": "text/plain"},
        {"path": "^/api/v1/namespaces/delay$", "delayMs": 300, "status": 404},
        {"path": "^/api/v1/namespaces/reset$", "reset": True, "status": 200,
         "body": {"kind": "Namespace", "metadata": {"name": "reset"},
                  "pad": "x" * 4000}},
        {"path": "^/api/v1/namespaces/truncate$", "truncate": 10, "status": 200,
         "body": {"kind": "Namespace", "metadata": {"name": "truncate"}}},
        {"path": "^/api/v1/namespaces/malformed$", "malformed": True, "status": 200,
         "body": {"kind": "Namespace", "metadata": {"name": "malformed"}}},
        {"path": "^/api/v1/namespaces/flux-system/secrets$", "oversized": 300000},
        {"path": "^/apis/apps/v1/namespaces/redirect/deployments$",
         "redirect": "https://other.example:6443"},
        {"path": "^/apis/apps/v1/deployments$", "expired": True, "nth": 1},
    ],
}


class Base(unittest.TestCase):
    sim = None

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(states=[STATE], config=CONFIG)

    @classmethod
    def tearDownClass(cls):
        rc = cls.sim.stop()
        assert rc == 0, "kubesim exited %s on SIGTERM" % rc

    def get(self, path, **kw):
        kw.setdefault("token", "tok-admin-123")
        return self.sim.get(path, **kw)

    def names(self, r):
        self.assertEqual(r.status, 200, r.body[:300])
        return [i["metadata"]["name"] for i in r.json()["items"]]

    def assertStatus(self, r, code, reason, message=None):
        self.assertEqual(r.status, code, r.body[:300])
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        st = r.json()
        self.assertEqual(st["kind"], "Status")
        self.assertEqual(st["apiVersion"], "v1")
        self.assertEqual(st["status"], "Failure")
        self.assertEqual(st["code"], code)
        self.assertEqual(st["reason"], reason)
        if message is not None:
            self.assertEqual(st["message"], message)
        return st


class TestDiscovery(Base):
    def test_version(self):
        v = self.get("/version").json()
        self.assertEqual(v["gitVersion"], "v1.29.1+k3s1")
        self.assertEqual((v["major"], v["minor"]), ("1", "29"))

    def test_legacy_api(self):
        r = self.get("/api?timeout=32s")
        self.assertEqual(r.json()["kind"], "APIVersions")
        self.assertEqual(r.json()["versions"], ["v1"])
        self.assertEqual(r.header("Content-Type"), "application/json")

    def test_legacy_apis_has_crd_group_with_preferred_version(self):
        groups = {g["name"]: g for g in self.get("/apis").json()["groups"]}
        for g in ("apps", "rbac.authorization.k8s.io", "apiextensions.k8s.io",
                  "networking.k8s.io", "source.toolkit.fluxcd.io"):
            self.assertIn(g, groups)
        src = groups["source.toolkit.fluxcd.io"]
        self.assertEqual([v["version"] for v in src["versions"]], ["v1", "v1beta2"])
        self.assertEqual(src["preferredVersion"]["groupVersion"],
                         "source.toolkit.fluxcd.io/v1")

    def test_group_version_resource_lists(self):
        core = {r["name"]: r for r in self.get("/api/v1").json()["resources"]}
        for n in ("namespaces", "secrets", "configmaps", "services",
                  "serviceaccounts", "resourcequotas", "namespaces/status"):
            self.assertIn(n, core)
        self.assertFalse(core["namespaces"]["namespaced"])
        self.assertTrue(core["secrets"]["namespaced"])
        apps = {r["name"]: r for r in self.get("/apis/apps/v1").json()["resources"]}
        self.assertEqual(apps["deployments"]["shortNames"], ["deploy"])
        src = self.get("/apis/source.toolkit.fluxcd.io/v1beta2").json()
        self.assertEqual(src["groupVersion"], "source.toolkit.fluxcd.io/v1beta2")
        gr = {r["name"]: r for r in src["resources"]}
        self.assertEqual(gr["gitrepositories"]["kind"], "GitRepository")
        self.assertEqual(gr["gitrepositories"]["shortNames"], ["gitrepo"])
        # a version that is not served does not exist
        r = self.get("/apis/source.toolkit.fluxcd.io/v1beta1")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b"404 page not found\n")
        self.assertEqual(self.get("/apis/nope.example.com/v1").status, 404)
        g = self.get("/apis/source.toolkit.fluxcd.io").json()
        self.assertEqual(g["kind"], "APIGroup")

    def test_aggregated_v2(self):
        r = self.get("/apis", accept=AGG_ACCEPT)
        self.assertEqual(r.header("Content-Type"), simhelper.AGG_ACCEPT.split(",")[0])
        body = r.json()
        self.assertEqual(body["kind"], "APIGroupDiscoveryList")
        self.assertEqual(body["apiVersion"], "apidiscovery.k8s.io/v2")
        self.assertTrue(r.header("ETag"))
        items = {i["metadata"]["name"]: i for i in body["items"]}
        self.assertNotIn("", items)
        src = items["source.toolkit.fluxcd.io"]
        self.assertEqual([v["version"] for v in src["versions"]], ["v1", "v1beta2"])
        res = src["versions"][0]["resources"][0]
        self.assertEqual(res["resource"], "gitrepositories")
        self.assertEqual(res["scope"], "Namespaced")
        self.assertEqual(res["responseKind"], {"group": "source.toolkit.fluxcd.io",
                                               "version": "v1",
                                               "kind": "GitRepository"})
        self.assertEqual(res["subresources"][0]["subresource"], "status")
        core = self.get("/api", accept=AGG_ACCEPT).json()
        self.assertEqual(core["items"][0]["metadata"]["name"], "")
        ns = [x for x in core["items"][0]["versions"][0]["resources"]
              if x["resource"] == "namespaces"][0]
        self.assertEqual(ns["scope"], "Cluster")
        # the ETag round trip
        r2 = self.get("/apis", accept=AGG_ACCEPT,
                      headers={"If-None-Match": r.header("ETag")})
        self.assertEqual(r2.status, 304)

    def test_no_v2beta1_from_1_33(self):
        sim = Sim(states=[STATE[:1]])
        try:
            acc = ("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                   "as=APIGroupDiscoveryList,application/json")
            r = sim.get("/apis", accept=acc)
            self.assertEqual(r.header("Content-Type"), "application/json")
            self.assertEqual(r.json()["kind"], "APIGroupList")
        finally:
            self.assertEqual(sim.stop(), 0)

    def test_aggregated_v2beta1_on_old_server(self):
        acc = ("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
               "as=APIGroupDiscoveryList,application/json")
        r = self.get("/apis", accept=acc)
        self.assertEqual(r.header("Content-Type"), acc.split(",")[0])
        self.assertEqual(r.json()["apiVersion"], "apidiscovery.k8s.io/v2beta1")

    def test_unknown_paths_are_plain_text_404(self):
        for p in ("/foo", "/apis/apps/v1/nothings", "/api/v2",
                  "/apis/apps/v1/deployments/source-controller",
                  "/apis/apps/v1/namespaces/x/clusterroles"):
            r = self.get(p)
            self.assertEqual(r.status, 404, p)
            self.assertEqual(r.body, b"404 page not found\n")
            self.assertTrue(r.header("Content-Type").startswith("text/plain"))


class TestAuth(Base):
    def test_anonymous_and_bad_credentials_get_401(self):
        for tok in (False, "wrong"):
            for p in ("/api", "/version", "/api/v1/namespaces"):
                r = self.sim.get(p, token=tok)
                self.assertStatus(r, 401, "Unauthorized", "Unauthorized")
        r = self.sim.get("/api", token=False,
                         headers={"Authorization": basic("basic-user", "nope")})
        self.assertEqual(r.status, 401)

    def test_basic_auth(self):
        r = self.sim.get("/api/v1/namespaces", token=False,
                         headers={"Authorization": basic("basic-user", "s3cret-pw")})
        self.assertIn("flux-system", self.names(r))

    def test_client_cert_user_and_groups_logged(self):
        r = self.sim.get("/api/v1/namespaces?limit=1", token=False,
                         cert_user="alice",
                         headers={"User-Agent": "cert-probe"})
        self.assertEqual(r.status, 200)
        e = [x for x in self.sim.log_entries()
             if x["headers"].get("user-agent") == "cert-probe"][-1]
        self.assertEqual(e["clientCertCN"], "alice")
        self.assertEqual(e["user"], "alice")
        self.assertEqual(e["groups"], ["dev", "ops", "system:authenticated"])
        self.assertEqual(e["alpn"], None)  # http.client offers no ALPN

    def test_kubeconfig_has_every_user(self):
        kc = self.sim.kc
        self.assertEqual(kc["current-context"], "kubesim")
        ctx = {c["name"]: c["context"]["user"] for c in kc["contexts"]}
        self.assertEqual(ctx["kubesim"], "admin")
        for u in ("admin", "viewer", "basic-user", "alice"):
            self.assertEqual(ctx["kubesim-" + u], u)
        self.assertIn("client-certificate-data", self.sim.user("alice"))
        self.assertEqual(self.sim.user("basic-user")["password"], "s3cret-pw")
        self.assertTrue(kc["clusters"][0]["cluster"]["server"].startswith(
            "https://127.0.0.1:"))

    def test_tls_server_name_and_sni(self):
        import ssl
        ctx = self.sim.ssl_context(check_hostname=True)
        for name in ("kubesim.test", "localhost"):
            with socket.create_connection(("127.0.0.1", self.sim.port)) as s:
                with ctx.wrap_socket(s, server_hostname=name) as t:
                    t.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n"
                              b"User-Agent: sni-" + name.encode() +
                              b"\r\nAuthorization: Bearer tok-admin-123\r\n"
                              b"Connection: close\r\n\r\n")
                    data = b""
                    while True:
                        chunk = t.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.assertIn(b"200 OK", data.split(b"\r\n")[0])
        with socket.create_connection(("127.0.0.1", self.sim.port)) as s:
            with self.assertRaises(ssl.SSLCertVerificationError):
                ctx.wrap_socket(s, server_hostname="other.example")
        sn = {e["headers"].get("user-agent"): e["sni"]
              for e in self.sim.log_entries() if "headers" in e}
        # the server logs the failed handshake once it notices
        self.assertTrue(simhelper.wait_for(lambda: "tls-handshake-failed" in [
            e.get("event") for e in self.sim.log_entries()]))
        self.assertEqual(sn["sni-kubesim.test"], "kubesim.test")

    def test_credentials_never_logged(self):
        self.sim.get("/api", token="tok-viewer-456")
        self.sim.get("/api", token=False,
                     headers={"Authorization": basic("basic-user", "s3cret-pw")})
        with open(self.sim.log) as f:
            text = f.read()
        for secret in ("tok-admin-123", "tok-viewer-456", "s3cret-pw",
                       basic("basic-user", "s3cret-pw").split()[1]):
            self.assertNotIn(secret, text)
        auths = {e["headers"].get("authorization") for e in self.sim.log_entries()}
        self.assertIn("Bearer " + kubesim.cred_digest("tok-viewer-456"), auths)


class TestListGet(Base):
    def test_namespaced_and_all_namespaces(self):
        r = self.get("/apis/apps/v1/namespaces/flux-system/deployments")
        self.assertEqual(sorted(self.names(r)), sorted([
            "source-controller", "kustomize-controller", "helm-controller",
            "notification-controller", "scaled"]))
        body = r.json()
        self.assertEqual(body["kind"], "DeploymentList")
        self.assertEqual(body["apiVersion"], "apps/v1")
        self.assertTrue(body["metadata"]["resourceVersion"])
        # typed lists carry no kind/apiVersion per item; custom resources do
        self.assertNotIn("kind", body["items"][0])
        cr = self.get("/apis/source.toolkit.fluxcd.io/v1/gitrepositories").json()
        self.assertEqual(cr["items"][0]["kind"], "GitRepository")
        r = self.get("/apis/apps/v1/deployments")
        self.assertIn("web", self.names(r))
        self.assertEqual(self.names(self.get(
            "/apis/apps/v1/namespaces/nowhere/deployments")), [])

    def test_missing_metadata_filled(self):
        o = self.get("/api/v1/namespaces/flux-system/secrets/sops-age").json()
        md = o["metadata"]
        for k in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertTrue(md.get(k), k)
        self.assertNotIn("generation", md)
        d = self.get("/apis/apps/v1/namespaces/apps/deployments/web").json()
        self.assertEqual(d["metadata"]["generation"], 1)
        n = self.get("/api/v1/namespaces/apps").json()
        self.assertEqual(n["metadata"]["labels"],
                         {"kubernetes.io/metadata.name": "apps"})
        self.assertEqual(n["spec"], {"finalizers": ["kubernetes"]})

    def test_get_not_found(self):
        r = self.get("/apis/apps/v1/namespaces/flux-system/deployments/nope")
        st = self.assertStatus(r, 404, "NotFound", 'deployments.apps "nope" not found')
        self.assertEqual(st["details"], {"name": "nope", "group": "apps",
                                         "kind": "deployments"})
        r = self.get("/api/v1/namespaces/nope")
        self.assertStatus(r, 404, "NotFound", 'namespaces "nope" not found')

    def test_custom_resource_every_served_version(self):
        for v in ("v1", "v1beta2"):
            r = self.get("/apis/source.toolkit.fluxcd.io/%s/namespaces/"
                         "flux-system/gitrepositories/flux-system" % v)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["apiVersion"], "source.toolkit.fluxcd.io/" + v)
        r = self.get("/apis/source.toolkit.fluxcd.io/v1/gitrepositories")
        self.assertEqual(r.json()["kind"], "GitRepositoryList")
        self.assertEqual(self.names(r), ["flux-system"])

    def test_label_selectors(self):
        base = "/api/v1/namespaces/apps/configmaps?labelSelector="
        cases = {
            "parity=even": [0, 2, 4, 6, 8, 10],
            "parity==odd,idx!=1": [3, 5, 7, 9, 11],
            "idx in (1, 2,3)": [1, 2, 3],
            "idx notin (0,1,2,3,4,5,6,7,8,9)": [10, 11],
            "parity": list(range(12)),
            "!parity": [],
            "nolabel": [],
            "!nolabel,idx=11": [11],
        }
        import urllib.parse
        for sel, want in cases.items():
            r = self.get(base + urllib.parse.quote(sel))
            self.assertEqual(self.names(r), ["cm-%02d" % i for i in want], sel)
        r = self.get(base + urllib.parse.quote("idx in (1"))
        self.assertStatus(r, 400, "BadRequest")

    def test_field_selectors(self):
        r = self.get("/apis/apps/v1/deployments?fieldSelector="
                     "metadata.name%3Dsource-controller&labelSelector="
                     "app.kubernetes.io%2Fpart-of%3Dflux&limit=2")
        self.assertEqual(self.names(r), ["source-controller"])
        r = self.get("/apis/apps/v1/deployments?fieldSelector="
                     "metadata.namespace%3Dapps")
        self.assertEqual(self.names(r), ["web"])
        r = self.get("/apis/apps/v1/deployments?fieldSelector="
                     "metadata.namespace!%3Dflux-system")
        self.assertEqual(self.names(r), ["web"])
        r = self.get("/apis/apps/v1/deployments?fieldSelector=spec.replicas%3D1")
        self.assertStatus(r, 400, "BadRequest",
                          "field label not supported: spec.replicas")

    def test_paging(self):
        seen, cont, calls = [], None, 0
        rvs = set()
        while True:
            q = "?limit=5" + ("&continue=" + cont if cont else "")
            body = self.get("/api/v1/namespaces/apps/configmaps" + q).json()
            calls += 1
            seen += [i["metadata"]["name"] for i in body["items"]]
            rvs.add(body["metadata"]["resourceVersion"])
            cont = body["metadata"].get("continue")
            if calls == 1:
                self.assertEqual(body["metadata"]["remainingItemCount"], 7)
            if not cont:
                break
        self.assertEqual(calls, 3)
        self.assertEqual(seen, ["cm-%02d" % i for i in range(12)])
        self.assertEqual(len(rvs), 1)
        # with a selector: no remainingItemCount
        body = self.get("/api/v1/namespaces/apps/configmaps?limit=2&"
                        "labelSelector=parity%3Dodd").json()
        self.assertIn("continue", body["metadata"])
        self.assertNotIn("remainingItemCount", body["metadata"])
        self.assertEqual(len(self.names(self.get(
            "/api/v1/namespaces/apps/configmaps?limit=-1"))), 12)
        r = self.get("/api/v1/namespaces/apps/configmaps?limit=2&continue=garbage")
        self.assertStatus(r, 400, "BadRequest")

    def test_expired_continue_fault(self):
        first = self.get("/apis/apps/v1/deployments?limit=2").json()
        tok = first["metadata"]["continue"]
        r = self.get("/apis/apps/v1/deployments?limit=2&continue=" + tok)
        st = self.assertStatus(r, 410, "Expired", kubesim.EXPIRED_CONTINUE_MSG)
        fresh = st["metadata"]["continue"]
        self.assertTrue(fresh)
        # the inconsistent token works
        r = self.get("/apis/apps/v1/deployments?limit=50&continue=" + fresh)
        self.assertEqual(r.status, 200)

    def test_partial_object_metadata(self):
        for v in ("v1", "v1beta1"):
            acc = ("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;"
                   "v=%s,application/json" % v)
            body = self.get("/apis/apps/v1/namespaces/flux-system/deployments",
                            accept=acc).json()
            self.assertEqual(body["kind"], "PartialObjectMetadataList")
            self.assertEqual(body["apiVersion"], "meta.k8s.io/" + v)
            for it in body["items"]:
                self.assertEqual(it["kind"], "PartialObjectMetadata")
                self.assertEqual(set(it), {"kind", "apiVersion", "metadata"})
                self.assertTrue(it["metadata"]["uid"])
        body = self.get("/apis/apps/v1/namespaces/nowhere/deployments",
                        accept=PARTIAL_ACCEPT).json()
        self.assertEqual(body["items"], [])
        one = self.get("/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/"
                       "gitrepositories/flux-system",
                       accept="application/json;as=PartialObjectMetadata;"
                       "g=meta.k8s.io;v=v1").json()
        self.assertEqual(one["kind"], "PartialObjectMetadata")
        self.assertEqual(one["metadata"]["finalizers"], ["finalizers.fluxcd.io"])
        # a list Accept on a single get falls back to the plain object
        one = self.get("/api/v1/namespaces/apps", accept=PARTIAL_ACCEPT)
        self.assertEqual(one.status, 200)

    def test_not_acceptable(self):
        r = self.get("/api/v1/namespaces",
                     accept="application/vnd.kubernetes.protobuf")
        self.assertStatus(r, 406, "NotAcceptable")
        r = self.get("/api/v1/namespaces",
                     accept="application/json;as=PartialObjectMetadataList;"
                     "g=meta.k8s.io;v=v2")
        self.assertEqual(r.status, 406)

    def test_table(self):
        body = self.get("/apis/apps/v1/namespaces/flux-system/deployments?limit=500",
                        accept=TABLE_ACCEPT).json()
        self.assertEqual(body["kind"], "Table")
        self.assertEqual(body["apiVersion"], "meta.k8s.io/v1")
        cols = [c["name"] for c in body["columnDefinitions"]]
        self.assertEqual(cols[:5], ["Name", "Ready", "Up-to-date", "Available", "Age"])
        rows = {r["cells"][0]: r for r in body["rows"]}
        self.assertEqual(rows["source-controller"]["cells"][1], "1/1")
        self.assertEqual(rows["helm-controller"]["cells"][1], "0/1")
        self.assertEqual(rows["source-controller"]["cells"][4], "60m")
        self.assertEqual(rows["source-controller"]["object"]["kind"],
                         "PartialObjectMetadata")
        body = self.get("/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
                        accept=TABLE_ACCEPT).json()
        self.assertEqual([c["name"] for c in body["columnDefinitions"]],
                         ["Name", "URL", "Age", "Ready"])
        self.assertEqual(body["rows"][0]["cells"],
                         ["flux-system", "ssh://git@example.com/repo", "60m", "True"])
        self.assertEqual(body["rows"][0]["object"]["metadata"]["namespace"],
                         "flux-system")
        body = self.get("/api/v1/namespaces?includeObject=Object",
                        accept=TABLE_ACCEPT).json()
        self.assertEqual(body["rows"][0]["object"]["kind"], "Namespace")
        self.assertEqual(body["rows"][0]["cells"][1], "Active")


class TestStatusSynthesis(Base):
    def deployment_status(self, name, ns="flux-system"):
        return self.get("/apis/apps/v1/namespaces/%s/deployments/%s"
                        % (ns, name)).json()

    def conds(self, st):
        return {c["type"]: c for c in st.get("conditions", [])}

    def test_crd_established(self):
        crd = self.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                       "gitrepositories.source.toolkit.fluxcd.io").json()
        st = crd["status"]
        c = self.conds(st)
        self.assertEqual(c["Established"]["status"], "True")
        self.assertEqual(c["NamesAccepted"]["reason"], "NoConflicts")
        self.assertEqual(st["storedVersions"], ["v1"])
        self.assertEqual(st["acceptedNames"]["plural"], "gitrepositories")
        self.assertEqual(st["acceptedNames"]["shortNames"], ["gitrepo"])

    def test_deployment_modes(self):
        d = self.deployment_status("source-controller")
        st = d["status"]
        self.assertEqual(st["availableReplicas"], 1)
        self.assertEqual(st["observedGeneration"], d["metadata"]["generation"])
        self.assertEqual(self.conds(st)["Available"]["status"], "True")
        st = self.deployment_status("helm-controller")["status"]
        self.assertEqual(self.conds(st)["Available"]["status"], "False")
        self.assertNotIn("availableReplicas", st)
        self.assertEqual(st["unavailableReplicas"], 1)
        st = self.deployment_status("notification-controller")["status"]
        self.assertEqual(self.conds(st)["Progressing"]["reason"],
                         "ProgressDeadlineExceeded")
        d = self.deployment_status("kustomize-controller")
        self.assertLess(d["status"]["observedGeneration"],
                        d["metadata"]["generation"])
        d = self.deployment_status("scaled")
        self.assertNotIn("replicas", d["status"])
        self.assertEqual(self.conds(d["status"])["Available"]["status"], "True")

    def test_manifest_status_wins(self):
        st = self.deployment_status("web", "apps")["status"]
        self.assertEqual(st, {"observedGeneration": 1, "replicas": 3,
                              "readyReplicas": 2})

    def test_namespace_active(self):
        self.assertEqual(self.get("/api/v1/namespaces/flux-system").json()
                         ["status"], {"phase": "Active"})


class TestDeny(Base):
    def viewer(self, path):
        return self.sim.get(path, token="tok-viewer-456")

    def test_namespaced_list(self):
        r = self.viewer("/apis/apps/v1/namespaces/flux-system/deployments")
        st = self.assertStatus(
            r, 403, "Forbidden",
            'deployments.apps is forbidden: User "viewer" cannot list resource '
            '"deployments" in API group "apps" in the namespace "flux-system"')
        self.assertEqual(st["details"], {"group": "apps", "kind": "deployments"})
        # other namespaces and all-namespaces are not covered by that rule
        self.assertEqual(self.viewer("/apis/apps/v1/namespaces/apps/deployments")
                         .status, 200)
        self.assertEqual(self.viewer("/apis/apps/v1/deployments").status, 200)

    def test_cluster_scope(self):
        r = self.viewer("/api/v1/secrets")
        self.assertStatus(
            r, 403, "Forbidden",
            'secrets is forbidden: User "viewer" cannot list resource "secrets" '
            'in API group "" at the cluster scope')
        r = self.viewer("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        self.assertStatus(
            r, 403, "Forbidden",
            'customresourcedefinitions.apiextensions.k8s.io is forbidden: User '
            '"viewer" cannot list resource "customresourcedefinitions" in API '
            'group "apiextensions.k8s.io" at the cluster scope')
        r = self.viewer("/api/v1/secrets?watch=true")
        self.assertIn('cannot watch resource "secrets"', r.json()["message"])

    def test_named_get_and_namespace(self):
        r = self.viewer("/api/v1/namespaces/apps")
        st = self.assertStatus(
            r, 403, "Forbidden",
            'namespaces "apps" is forbidden: User "viewer" cannot get resource '
            '"namespaces" in API group "" in the namespace "apps"')
        self.assertEqual(st["details"]["name"], "apps")
        r = self.viewer("/version")
        self.assertStatus(r, 403, "Forbidden",
                          'forbidden: User "viewer" cannot get path "/version"')
        self.assertEqual(self.viewer("/api/v1/namespaces").status, 200)


class TestFaults(Base):
    def test_429_plain_text_like_apf(self):
        r = self.get("/api/v1/namespaces/apps/configmaps?labelSelector=idx%3D1")
        self.assertEqual(r.status, 429)
        self.assertEqual(r.body, kubesim.APF_429_TEXT.encode())
        self.assertTrue(r.header("Content-Type").startswith("text/plain"))
        self.assertEqual(r.header("Retry-After"), "1")
        e = self.sim.log_entries()[-1]
        self.assertEqual((e["status"], e["fault"], e["user"]), (429, 0, "admin"))

    def test_nth_occurrence(self):
        codes = [self.get("/api/v1/namespaces/fault/secrets").status
                 for _ in range(3)]
        self.assertEqual(codes, [200, 500, 200])

    def test_status_json_with_retry_after(self):
        r = self.get("/api/v1/namespaces/kube-public")
        st = self.assertStatus(r, 503, "ServiceUnavailable")
        self.assertEqual(r.header("Retry-After"), "3")
        self.assertEqual(st["details"]["retryAfterSeconds"], 3)

    def test_text_body(self):
        r = self.get("/api/v1/namespaces/default")
        self.assertEqual((r.status, r.body), (500, b"upstream connect error"))

    def test_delay(self):
        t = time.time()
        r = self.get("/api/v1/namespaces/delay")
        self.assertGreaterEqual(time.time() - t, 0.29)
        self.assertEqual(r.status, 404)

    def test_reset_mid_body(self):
        with self.assertRaises((http.client.IncompleteRead, ConnectionError)):
            self.get("/api/v1/namespaces/reset")

    def test_truncate(self):
        with self.assertRaises(http.client.IncompleteRead) as cm:
            self.get("/api/v1/namespaces/truncate")
        self.assertEqual(len(cm.exception.partial), 10)

    def test_malformed(self):
        r = self.get("/api/v1/namespaces/malformed")
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            r.json()

    def test_oversized(self):
        r = self.get("/api/v1/namespaces/flux-system/secrets")
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(len(r.body), 300000)
        self.assertEqual(self.names(r), ["sops-age"])

    def test_redirect(self):
        r = self.get("/apis/apps/v1/namespaces/redirect/deployments?limit=1")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "https://other.example:6443"
                         "/apis/apps/v1/namespaces/redirect/deployments?limit=1")

    def test_keep_alive_survives_faults(self):
        c = self.sim.conn()
        try:
            for p in ("/api", "/api/v1/namespaces/default", "/apis"):
                r = self.get(p, conn=c)
                self.assertIn(r.status, (200, 500))
        finally:
            c.close()


class TestWatchAndControl(unittest.TestCase):
    """State changes through the control endpoint, seen by watches."""

    def setUp(self):
        self.sim = Sim(states=[STATE])

    def tearDown(self):
        self.assertEqual(self.sim.stop(), 0)

    def watch(self, path, events, stop_after, conn_holder=None):
        c = self.sim.conn(timeout=20)
        if conn_holder is not None:
            conn_holder.append(c)
        c.request("GET", path, headers={"Authorization": "Bearer " + self.sim.token,
                                        "Accept": "application/json"})
        r = c.getresponse()
        events.append(("status", r.status, r.getheader("Transfer-Encoding")))
        while True:
            line = r.readline()
            if not line:
                break
            ev = json.loads(line)
            events.append((ev["type"], ev["object"]))
            if stop_after and stop_after(events):
                break
        c.close()

    def test_watch_sees_apply_modify_delete(self):
        lst = self.sim.get("/apis/apps/v1/namespaces/flux-system/deployments").json()
        rv = lst["metadata"]["resourceVersion"]
        events = []
        t = threading.Thread(target=self.watch, args=(
            "/apis/apps/v1/namespaces/flux-system/deployments?watch=true&"
            "resourceVersion=%s&timeoutSeconds=10" % rv, events,
            lambda ev: len(ev) >= 4))
        t.start()
        self.assertTrue(simhelper.wait_for(lambda: len(events) >= 1))
        time.sleep(0.1)
        self.sim.control("apply", deploy("image-reflector-controller"))
        self.sim.control("apply", deploy("source-controller", replicas=2))
        self.sim.control("delete", [{"kind": "Deployment", "namespace": "flux-system",
                                     "name": "helm-controller"}])
        t.join(10)
        self.assertFalse(t.is_alive())
        self.assertEqual(events[0][:3], ("status", 200, "chunked"))
        got = [(e[0], e[1]["metadata"]["name"]) for e in events[1:]]
        self.assertEqual(got, [("ADDED", "image-reflector-controller"),
                               ("MODIFIED", "source-controller"),
                               ("DELETED", "helm-controller")])
        mod = events[2][1]
        self.assertEqual(mod["spec"]["replicas"], 2)
        self.assertEqual(mod["status"]["availableReplicas"], 2)
        self.assertEqual(mod["metadata"]["generation"], 2)
        rvs = [int(e[1]["metadata"]["resourceVersion"]) for e in events[1:]]
        self.assertEqual(rvs, sorted(rvs))
        self.assertGreater(rvs[0], int(rv))

    def test_new_namespace_is_active_at_once(self):
        rv = self.sim.get("/api/v1/namespaces").json()["metadata"]["resourceVersion"]
        self.sim.control("apply", ns("newns"))
        events = []
        self.watch("/api/v1/namespaces?watch=true&timeoutSeconds=1&"
                   "resourceVersion=" + rv, events, None)
        self.assertEqual([(e[0], e[1]["status"]["phase"]) for e in events[1:]],
                         [("ADDED", "Active")])

    def test_watch_without_rv_lists_then_times_out(self):
        events = []
        t0 = time.time()
        self.watch("/api/v1/namespaces?watch=1&timeoutSeconds=1&labelSelector="
                   "kubernetes.io%2Fmetadata.name%3Dapps", events, None)
        self.assertGreaterEqual(time.time() - t0, 0.9)
        self.assertEqual([(e[0], e[1]["metadata"]["name"]) for e in events[1:]],
                         [("ADDED", "apps")])

    def test_watch_too_old_rv(self):
        events = []
        self.watch("/api/v1/namespaces?watch=true&resourceVersion=5&"
                   "timeoutSeconds=5", events, None)
        self.assertEqual(events[1][0], "ERROR")
        self.assertEqual(events[1][1]["code"], 410)
        self.assertTrue(events[1][1]["message"].startswith(
            "too old resource version: 5 ("))

    def test_client_disconnect_ends_watch(self):
        holder, events = [], []
        t = threading.Thread(target=lambda: self._quiet(self.watch, (
            "/api/v1/namespaces?watch=true&timeoutSeconds=30", events, None,
            holder)))
        t.start()
        self.assertTrue(simhelper.wait_for(lambda: len(events) >= 5))
        holder[0].sock.shutdown(socket.SHUT_RDWR)
        t.join(5)
        # the server thread notices too: a fresh request still works quickly
        self.assertEqual(self.sim.get("/api").status, 200)

    @staticmethod
    def _quiet(fn, args):
        try:
            fn(*args)
        except (OSError, ValueError, http.client.HTTPException):
            pass

    def test_apply_crd_adds_discovery_and_reset_restores(self):
        crd = json.loads(json.dumps(CRD))
        crd["metadata"]["name"] = "kustomizations.kustomize.toolkit.fluxcd.io"
        crd["spec"].update(group="kustomize.toolkit.fluxcd.io", names={
            "kind": "Kustomization", "plural": "kustomizations"})
        crd["spec"]["versions"] = [{"name": "v1", "served": True, "storage": True}]
        ks = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
              "metadata": {"name": "flux-system", "namespace": "flux-system"},
              "spec": {"path": "./"}}
        self.sim.control("apply", [crd, ks])
        groups = [g["name"] for g in self.sim.get("/apis").json()["groups"]]
        self.assertIn("kustomize.toolkit.fluxcd.io", groups)
        r = self.sim.get("/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
                         accept=TABLE_ACCEPT).json()
        self.assertEqual(r["rows"][0]["cells"][0], "flux-system")
        self.sim.control("delete", [{"kind": "Namespace", "name": "apps"}] +
                         [{"kind": "ConfigMap", "namespace": "apps"}] +
                         [{"kind": "Deployment", "namespace": "apps"}])
        self.assertEqual(self.sim.get("/api/v1/namespaces/apps").status, 404)
        self.sim.control("reset")
        self.assertEqual(self.sim.get("/api/v1/namespaces/apps").status, 200)
        self.assertEqual(self.sim.get(
            "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations").status, 404)

    def test_namespace_terminating_follows_content(self):
        self.sim.control("apply", {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "flux-system",
                                                "deletionTimestamp":
                                                "2026-01-01T00:00:00Z"}})
        st = self.sim.get("/api/v1/namespaces/flux-system").json()["status"]
        self.assertEqual(st["phase"], "Terminating")
        c = {x["type"]: x for x in st["conditions"]}
        self.assertEqual(c["NamespaceFinalizersRemaining"]["message"],
                         "Some content in the namespace has finalizers remaining: "
                         "finalizers.fluxcd.io in 1 resource instances")
        self.assertIn("gitrepositories.source.toolkit.fluxcd.io has 1 resource "
                      "instances", c["NamespaceContentRemaining"]["message"])
        self.sim.control("delete", [{"kind": k, "namespace": "flux-system"}
                                    for k in ("Deployment", "Secret", "GitRepository")])
        st = self.sim.get("/api/v1/namespaces/flux-system").json()["status"]
        c = {x["type"]: x for x in st["conditions"]}
        self.assertEqual(c["NamespaceContentRemaining"]["status"], "False")
        self.assertEqual(c["NamespaceFinalizersRemaining"]["reason"],
                         "ContentHasNoFinalizers")

    def test_control_chunked_body(self):
        c = self.sim.conn()
        doc = (b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: chunky, "
               b"namespace: default}\n")
        c.request("POST", "/_kubesim/apply", body=iter([doc[:20], doc[20:]]),
                  encode_chunked=True)
        r = c.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["applied"]), (200, 1))
        c.close()
        self.assertEqual(self.sim.get("/api/v1/namespaces/default/configmaps/"
                                      "chunky").status, 200)

    def test_control_rejects_bad_input(self):
        r = self.sim.request("/_kubesim/apply", method="POST", token=False,
                             body=b"kind: Widget\napiVersion: x.io/v1\n"
                             b"metadata: {name: a}\n")
        self.assertEqual(r.status, 400)
        self.assertIn("Widget", r.json()["message"])


class TestAnonymousEnabled(unittest.TestCase):
    """anonymous: true = --anonymous-auth with RBAC's public-info-viewer."""

    @classmethod
    def setUpClass(cls):
        crd = json.loads(json.dumps(CRD))
        crd["metadata"]["deletionTimestamp"] = "2026-01-02T03:04:05Z"
        cls.sim = Sim(states=[[ns("flux-system"), crd]],
                      config={"anonymous": True,
                              "deploymentStatus": {}})

    @classmethod
    def tearDownClass(cls):
        assert cls.sim.stop() == 0

    def test_public_info_only(self):
        self.assertEqual(self.sim.get("/version", token=False).status, 200)
        r = self.sim.get("/healthz", token=False)
        self.assertEqual((r.status, r.body), (200, b"ok"))
        r = self.sim.get("/api", token=False)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["message"],
                         'forbidden: User "system:anonymous" cannot get path "/api"')
        r = self.sim.get("/api/v1/namespaces", token=False)
        self.assertEqual(r.json()["message"],
                         'namespaces is forbidden: User "system:anonymous" cannot '
                         'list resource "namespaces" in API group "" at the '
                         'cluster scope')
        # a wrong token is still 401, not anonymous
        self.assertEqual(self.sim.get("/version", token="bad").status, 401)

    def test_crd_terminating(self):
        crd = self.sim.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                           "gitrepositories.source.toolkit.fluxcd.io").json()
        conds = {c["type"]: c for c in crd["status"]["conditions"]}
        self.assertEqual(conds["Terminating"]["reason"], "InstanceDeletionInProgress")
        self.assertEqual(conds["Terminating"]["message"],
                         "CustomResource deletion is in progress")
        self.assertEqual(conds["Established"]["status"], "True")
        self.assertEqual(crd["metadata"]["finalizers"],
                         ["customresourcecleanup.apiextensions.k8s.io"])
        # still served while terminating
        self.assertEqual(self.sim.get("/apis/source.toolkit.fluxcd.io/v1/"
                                      "gitrepositories").status, 200)


class TestScenarioConfigFileAndOptions(unittest.TestCase):
    """A scenario whose config is a file; maxPageSize, legacy-only discovery,
    YAML, gzip and Table watches."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        import yaml
        d = tempfile.mkdtemp(prefix="kubesim-scn-")
        big = [{"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "big-%03d" % i, "namespace": "default"},
                "data": {"blob": "y" * 2000}} for i in range(100)]
        with open(os.path.join(d, "objects.yaml"), "w") as f:
            yaml.safe_dump_all(STATE[:3] + big, f)
        with open(os.path.join(d, "kubesim.yaml"), "w") as f:
            yaml.safe_dump({"maxPageSize": 2, "aggregatedDiscovery": False,
                            "remove": [{"kind": "Namespace", "name": "apps"}]}, f)
        with open(os.path.join(d, "scenario.yaml"), "w") as f:
            yaml.safe_dump({"description": "test", "state": ["objects.yaml"],
                            "config": "kubesim.yaml",
                            "expect": {"state": "none"}}, f)
        cls.sim = Sim(scenario=d)

    @classmethod
    def tearDownClass(cls):
        assert cls.sim.stop() == 0

    def test_config_file_applied(self):
        self.assertEqual(self.sim.get("/api/v1/namespaces/apps").status, 404)
        self.assertEqual(self.sim.get("/version").json()["gitVersion"],
                         kubesim.DEFAULT_SERVER_VERSION)

    def test_max_page_size(self):
        body = self.sim.get("/api/v1/namespaces?limit=500").json()
        self.assertEqual(len(body["items"]), 2)
        self.assertTrue(body["metadata"]["continue"])
        # no limit: no paging (the apiserver never pages unasked)
        self.assertEqual(len(self.sim.get("/api/v1/namespaces").json()["items"]), 5)

    def test_legacy_only_discovery(self):
        r = self.sim.get("/apis", accept=AGG_ACCEPT)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.json()["kind"], "APIGroupList")

    def test_yaml(self):
        r = self.sim.get("/api/v1/namespaces/flux-system",
                         accept="application/yaml")
        self.assertEqual(r.header("Content-Type"), "application/yaml")
        self.assertIn(b"name: flux-system", r.body)

    def test_gzip_large_bodies(self):
        import gzip
        r = self.sim.get("/api/v1/namespaces/default/configmaps",
                         headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        body = json.loads(gzip.decompress(r.body))
        self.assertEqual(len(body["items"]), 100)
        r = self.sim.get("/api/v1/namespaces/default/configmaps")
        self.assertIsNone(r.header("Content-Encoding"))

    def test_table_watch(self):
        c = self.sim.conn()
        c.request("GET", "/api/v1/namespaces?watch=true&timeoutSeconds=1",
                  headers={"Authorization": "Bearer " + self.sim.token,
                           "Accept": TABLE_ACCEPT})
        r = c.getresponse()
        events = [json.loads(l) for l in r.read().splitlines() if l.strip()]
        c.close()
        self.assertEqual(len(events), 5)
        self.assertEqual(events[0]["object"]["kind"], "Table")
        self.assertTrue(events[0]["object"]["columnDefinitions"])
        self.assertEqual(events[1]["object"]["columnDefinitions"], [])
        self.assertEqual(sorted(e["object"]["rows"][0]["cells"][0] for e in events),
                         ["default", "flux-system", "kube-node-lease",
                          "kube-public", "kube-system"])


class TestServerSANs(unittest.TestCase):
    def test_cert_only_for_one_name(self):
        import ssl
        sim = Sim(states=[STATE[:1]],
                  config={"serverSANs": ["only-this-name.example"]})
        try:
            ctx = sim.ssl_context(check_hostname=True)
            with socket.create_connection(("127.0.0.1", sim.port)) as s:
                with ctx.wrap_socket(s, server_hostname="only-this-name.example"):
                    pass
            for name in ("127.0.0.1", "kubesim.test", "localhost"):
                with socket.create_connection(("127.0.0.1", sim.port)) as s:
                    with self.assertRaises(ssl.SSLCertVerificationError):
                        ctx.wrap_socket(s, server_hostname=name)
        finally:
            self.assertEqual(sim.stop(), 0)


class TestCLI(unittest.TestCase):
    def run_sim(self, *args, timeout=10):
        return subprocess.run([simhelper.PYTHON, simhelper.KUBESIM] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)

    def write(self, name, text):
        import tempfile
        d = tempfile.mkdtemp(prefix="kubesim-cli-")
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_generate_entry(self):
        d = os.path.dirname(self.write("scenario.yaml", "state:\n- generate: "
                                       "{release: v2.2.2, installer: helm}\n"))
        sim = kubesim.Simulator(scenario=d)
        crd = sim.store.objects[("apiextensions.k8s.io", "CustomResourceDefinition", "",
                                 "helmreleases.helm.toolkit.fluxcd.io")]
        self.assertEqual(crd["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm")
        self.assertEqual([v["name"] for v in crd["spec"]["versions"]], ["v2beta1", "v2beta2"])
        self.assertIn(("apps", "Deployment", "flux-system", "image-reflector-controller"),
                      sim.store.objects)

    def test_bad_generate_entry_is_named(self):
        d = os.path.dirname(self.write("scenario.yaml", "state:\n- generate: "
                                       "{release: v2.99.0}\n"))
        r = self.run_sim("--scenario", d)
        self.assertEqual(r.returncode, 2)
        self.assertIn("kubesim: state: unknown release v2.99.0", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_bad_inputs_are_named(self):
        cases = [
            ("kind: Widget\napiVersion: x.io/v1\nmetadata: {name: a}\n",
             "Widget (apiVersion x.io/v1) is neither a built-in kind nor served"),
            ("kind: Secret\napiVersion: v1\nmetadata: {name: a, namespace: q}\n",
             "Secret q/a is in namespace q, which is not in the state"),
            ("kind: Secret\napiVersion: v1\nmetadata: {}\n",
             "Secret without metadata.name"),
            ("a: [\n", "invalid YAML"),
        ]
        for text, msg in cases:
            p = self.write("s.yaml", text)
            r = self.run_sim("--state", p)
            self.assertEqual(r.returncode, 2, text)
            self.assertIn(msg, r.stderr)
            self.assertIn(p, r.stderr)
        p = self.write("c.yaml", "deploymentStatus: {flux-system/x: unavailable}\n")
        r = self.run_sim("--config", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("deploymentStatus: no Deployment flux-system/x", r.stderr)
        p = self.write("c.yaml", "faults: [{path: x, stauts: 500}]\n")
        r = self.run_sim("--config", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("faults[0]: unknown key(s) stauts", r.stderr)
        p = self.write("c.yaml", "serverVersoin: v1.2.3\n")
        r = self.run_sim("--config", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown key(s): serverVersoin", r.stderr)
        r = self.run_sim("--state", "/nonexistent/state.yaml")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/state.yaml", r.stderr)

    def test_later_files_override_and_plain_http(self):
        a = self.write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                       "  name: c\n  namespace: default\ndata: {v: one}\n")
        b = self.write("b.yaml", "apiVersion: v1\nkind: List\nitems:\n"
                       "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n"
                       "    name: c\n    namespace: default\n  data: {v: two}\n")
        # start-up time is the kubesim-startup benchmark's job, not a test's
        sim = Sim(states=[a, b], plain=True)
        try:
            self.assertTrue(sim.url.startswith("http://127.0.0.1:"))
            o = sim.get("/api/v1/namespaces/default/configmaps/c").json()
            self.assertEqual(o["data"], {"v": "two"})
            self.assertNotIn("certificate-authority-data",
                             sim.kc["clusters"][0]["cluster"])
        finally:
            self.assertEqual(sim.stop(), 0)

    def test_https_start_kubeconfig_first_and_sigterm(self):
        # Start-up time is measured by the kubesim-startup benchmark
        # (bench_startup.py), not asserted here.
        sim = Sim(states=[STATE])  # reads the kubeconfig right after the line
        try:
            self.assertTrue(sim.url.startswith("https://127.0.0.1:"), sim.url)
            self.assertEqual(sim.kc["current-context"], "kubesim")
            self.assertEqual(sim.get("/version").status, 200)
        finally:
            self.assertEqual(sim.stop(), 0)


class TestPureHelpers(unittest.TestCase):
    def test_meson_runs_every_class(self):
        # meson.build lists the classes of this file in two tests
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "meson.build")) as f:
            meson = f.read()
        for name, obj in globals().items():
            if isinstance(obj, type) and issubclass(obj, unittest.TestCase) \
                    and name.startswith("Test"):
                self.assertIn("'%s'" % name, meson)

    def test_human_duration(self):
        for s, want in ((5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"),
                        (3600, "60m"), (3 * 3600, "3h"), (3 * 3600 + 600, "3h10m"),
                        (50 * 3600, "2d2h"), (10 * 86400, "10d"),
                        (800 * 86400, "2y70d")):
            self.assertEqual(kubesim.human_duration(s), want, s)

    def test_version_priority(self):
        self.assertEqual(kubesim.sort_versions(
            ["v1beta1", "v2", "v1alpha1", "v1", "v1beta2", "foo"]),
            ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"])

    def test_merge_patch(self):
        self.assertEqual(kubesim.merge_patch({"a": 1, "b": {"c": 2, "d": 3}},
                                             {"b": {"c": None, "e": 4}, "f": [1]}),
                         {"a": 1, "b": {"d": 3, "e": 4}, "f": [1]})

    def test_jsonpath(self):
        o = {"status": {"conditions": [{"type": "A", "status": "x"},
                                       {"type": "Ready", "status": "True"}]}}
        self.assertEqual(kubesim.jsonpath_first(
            o, '.status.conditions[?(@.type=="Ready")].status'), "True")
        self.assertEqual(kubesim.jsonpath_first(o, ".status.conditions[0].type"), "A")
        self.assertIsNone(kubesim.jsonpath_first(o, ".spec.x"))


WRITE_STATE = [
    ns("flux-system"),
    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
     "metadata": {"name": "gadgets.example.com"},
     "spec": {"group": "example.com", "scope": "Namespaced",
              "names": {"kind": "Gadget", "plural": "gadgets"},
              "versions": [{"name": "v1", "served": True, "storage": True}]}},
    {"apiVersion": "example.com/v1", "kind": "Gadget",
     "metadata": {"name": "held", "namespace": "flux-system", "finalizers": ["example.com/x"]}},
    {"apiVersion": "example.com/v1", "kind": "Gadget",
     "metadata": {"name": "free", "namespace": "flux-system"}},
    {"apiVersion": "v1", "kind": "ServiceAccount",
     "metadata": {"name": "sa", "namespace": "flux-system"}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "role"}, "rules": []},
]


class TestWrites(unittest.TestCase):
    """DELETE and PATCH as kube-apiserver (and the namespace and CRD
    finalizers of kube-controller-manager / apiextensions) answer them."""

    def setUp(self):
        self.sim = Sim(states=[WRITE_STATE], config={
            "users": [{"name": "admin", "token": "tok-admin", "groups": ["system:masters"]},
                      {"name": "viewer", "token": "tok-viewer"}],
            "deny": [{"user": "viewer", "verbs": ["delete", "patch"], "resource": "*"}]})

    def tearDown(self):
        self.assertEqual(self.sim.stop(), 0)

    def req(self, method, path, body=None, ctype="application/json", token="tok-admin"):
        return self.sim.request(path, method=method, token=token,
                                headers={"Content-Type": ctype} if body is not None else None,
                                body=json.dumps(body) if body is not None else None)

    def get(self, path):
        return self.sim.request(path, token="tok-admin")

    G = "/apis/example.com/v1/namespaces/flux-system/gadgets/"

    def test_delete_without_finalizers_is_immediate(self):
        r = self.req("DELETE", self.G + "free", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                  "propagationPolicy": "Background"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["status"], "Success")
        self.assertEqual(r.json()["details"]["name"], "free")
        self.assertEqual(self.get(self.G + "free").status, 404)
        self.assertEqual(self.req("DELETE", self.G + "free").status, 404)

    def test_finalizers_hold_the_object_until_the_last_is_removed(self):
        r = self.req("DELETE", self.G + "held")
        self.assertEqual(r.status, 200, r.body)
        md = r.json()["metadata"]
        self.assertIn("deletionTimestamp", md)
        self.assertEqual(md["finalizers"], ["example.com/x"])
        self.assertEqual(self.get(self.G + "held").status, 200)
        # a merge patch cannot clear the deletionTimestamp, only the finalizers
        r = self.req("PATCH", self.G + "held", {"metadata": {"finalizers": None}},
                     "application/merge-patch+json")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.get(self.G + "held").status, 404)

    def test_json_patch_test_op_guards_a_change(self):
        cur = self.get(self.G + "held").json()["metadata"]
        stale = [{"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
                 {"op": "remove", "path": "/metadata/finalizers"}]
        r = self.req("PATCH", self.G + "held", stale, "application/json-patch+json")
        self.assertEqual(r.status, 422, r.body)
        st = r.json()
        self.assertEqual(st["reason"], "Invalid")
        self.assertIn("testing value /metadata/resourceVersion failed",
                      st["details"]["causes"][0]["message"])
        self.assertEqual(self.get(self.G + "held").json()["metadata"]["finalizers"], ["example.com/x"])
        good = [{"op": "test", "path": "/metadata/resourceVersion", "value": cur["resourceVersion"]},
                {"op": "test", "path": "/metadata/finalizers", "value": ["example.com/x"]},
                {"op": "remove", "path": "/metadata/finalizers"}]
        r = self.req("PATCH", self.G + "held", good, "application/json-patch+json")
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn("finalizers", r.json()["metadata"])
        self.assertNotEqual(r.json()["metadata"]["resourceVersion"], cur["resourceVersion"])

    def test_preconditions(self):
        sa = "/api/v1/namespaces/flux-system/serviceaccounts/sa"
        cur = self.get(sa).json()["metadata"]
        r = self.req("DELETE", sa, {"preconditions": {"uid": "not-it"}})
        st = r.json()
        self.assertEqual((r.status, st["reason"]), (409, "Conflict"), r.body)
        self.assertIn("Precondition failed: UID in precondition: not-it", st["message"])
        r = self.req("DELETE", sa, {"preconditions": {"uid": cur["uid"], "resourceVersion": "1"}})
        self.assertEqual(r.status, 409, r.body)
        r = self.req("DELETE", sa, {"preconditions": {"uid": cur["uid"],
                                                      "resourceVersion": cur["resourceVersion"]}})
        self.assertEqual(r.status, 200, r.body)

    def test_dry_run_persists_nothing(self):
        before = self.get(self.G + "held").json()["metadata"]
        r = self.sim.request(self.G + "held?dryRun=All", method="DELETE", token="tok-admin")
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("deletionTimestamp", r.json()["metadata"])
        r = self.sim.request("/api/v1/namespaces/flux-system/serviceaccounts/sa?dryRun=All",
                             method="DELETE", token="tok-admin")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.get("/api/v1/namespaces/flux-system/serviceaccounts/sa").status, 200)
        self.assertEqual(self.get(self.G + "held").json()["metadata"], before)
        r = self.sim.request("/api/v1/namespaces/flux-system/serviceaccounts/sa?dryRun=Maybe",
                             method="DELETE", token="tok-admin")
        self.assertEqual(r.status, 400, r.body)
        # DeleteOptions in the body carry it too
        r = self.req("DELETE", "/api/v1/namespaces/flux-system/serviceaccounts/sa", {"dryRun": ["All"]})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.get("/api/v1/namespaces/flux-system/serviceaccounts/sa").status, 200)

    def test_delete_with_a_body_ignores_the_query(self):
        """As kube-apiserver: with a body, DeleteOptions come from it alone,
        so ?dryRun=All beside a body deletes for real."""
        sa = "/api/v1/namespaces/flux-system/serviceaccounts/sa"
        r = self.sim.request(sa + "?dryRun=All", method="DELETE", token="tok-admin",
                             headers={"Content-Type": "application/json"},
                             body=json.dumps({"propagationPolicy": "Background"}))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.get(sa).status, 404)

    def test_denied_write_is_403_naming_the_verb(self):
        r = self.req("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/role", token="tok-viewer")
        self.assertEqual(r.status, 403, r.body)
        self.assertIn('cannot delete resource "clusterroles"', r.json()["message"])

    def test_namespace_terminates_until_empty(self):
        r = self.req("DELETE", "/api/v1/namespaces/flux-system")
        self.assertEqual(r.status, 200, r.body)
        n = self.get("/api/v1/namespaces/flux-system").json()
        self.assertEqual(n["status"]["phase"], "Terminating")
        # content without finalizers is gone, the held Gadget waits
        self.assertEqual(self.get("/api/v1/namespaces/flux-system/serviceaccounts/sa").status, 404)
        self.assertIn("deletionTimestamp", self.get(self.G + "held").json()["metadata"])
        r = self.req("PATCH", self.G + "held", [{"op": "remove", "path": "/metadata/finalizers"}],
                     "application/json-patch+json")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.get("/api/v1/namespaces/flux-system").status, 404)

    def test_crd_deletion_takes_its_objects(self):
        crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com"
        r = self.req("DELETE", crd)
        self.assertEqual(r.status, 200, r.body)
        conds = {c["type"]: c for c in self.get(crd).json()["status"]["conditions"]}
        self.assertEqual(conds["Terminating"]["reason"], "InstanceDeletionInProgress")
        self.assertEqual(self.get(self.G + "free").status, 404)
        self.req("PATCH", self.G + "held", {"metadata": {"finalizers": []}}, "application/merge-patch+json")
        self.assertEqual(self.get(crd).status, 404)
        # the group is gone: any method gets the plain 404
        self.assertEqual(self.req("DELETE", self.G + "held").status, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
