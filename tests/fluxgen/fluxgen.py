#!/usr/bin/python3
"""fluxgen: the Kubernetes objects a Flux v2 install creates, written by the
project (no upstream manifest is copied). Used by the scenarios (kubesim
`state: - generate: {...}`), the demo and the real-cluster tests.

    python3 tests/fluxgen/fluxgen.py [--release v2.9.4]
        [--installer bootstrap|cli|install-yaml|helm|operator]
        [--namespace flux-system] [--components a,b,...]
        [--extra-components image-reflector-controller,...]
        [--parts namespace,crds,...] [--no-sync] [--unlabelled]

prints multi-document YAML that `kubectl apply` accepts. Custom resources
(the bootstrap sync objects, the FluxInstance) come last: on a real cluster
apply twice, or `--parts` the CRDs first. As a module:
`fluxgen.generate(release="v2.7.5", installer="bootstrap")` returns the
objects as a list of dicts. Facts come from libfluxstate/flux-releases.tsv
(image tags), crds.tsv and crd-versions.tsv beside this file; what each
installer does differently is written in tests/fluxgen/README.md.
"""
import argparse
import base64
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASES_TSV = os.path.join(HERE, "..", "..", "libfluxstate", "flux-releases.tsv")

INSTALLERS = ("bootstrap", "cli", "install-yaml", "helm", "operator")
DEFAULT_COMPONENTS = ["source-controller", "kustomize-controller",
                      "helm-controller", "notification-controller"]
IMAGE_COMPONENTS = ["image-reflector-controller", "image-automation-controller"]
PARTS = ("operator-crds", "operator", "namespace", "crds", "rbac", "policies",
         "controllers", "release-secret", "sync", "instance")
# Parts each installer writes by default (custom resources last).
DEFAULT_PARTS = {
    "bootstrap": ("namespace", "crds", "rbac", "policies", "controllers", "sync"),
    "cli": ("namespace", "crds", "rbac", "policies", "controllers"),
    "install-yaml": ("namespace", "crds", "rbac", "policies", "controllers"),
    "helm": ("namespace", "crds", "rbac", "policies", "controllers", "release-secret"),
    "operator": ("operator-crds", "operator", "namespace", "crds", "rbac", "policies", "controllers",
                 "instance"),
}
OPERATOR_VERSION = "v0.58.1"
# Per controller: container ports (name, port), a Service it fronts (name ->
# target port name), and whether it runs as system-cluster-critical.
CONTROLLERS = {
    "source-controller": ([("http", 9090), ("http-prom", 8080), ("healthz", 9440)],
                          {"source-controller": "http"}, True),
    "kustomize-controller": ([("http-prom", 8080), ("healthz", 9440)], {}, True),
    "helm-controller": ([("http-prom", 8080), ("healthz", 9440)], {}, True),
    "notification-controller": ([("http", 9090), ("http-webhook", 9292), ("http-prom", 8080),
                                 ("healthz", 9440)],
                                {"notification-controller": "http", "webhook-receiver": "http-webhook"},
                                False),
    "image-reflector-controller": ([("http-prom", 8080), ("healthz", 9440)], {}, False),
    "image-automation-controller": ([("http-prom", 8080), ("healthz", 9440)], {}, False),
    "source-watcher": ([("http", 9090), ("http-prom", 8080), ("healthz", 9440)],
                       {"source-watcher": "http"}, True),
}
CREATED = "2026-01-01T00:00:00Z"


class FluxgenError(Exception):
    """Bad arguments: an unknown release, installer, component or part."""


# ---------------------------------------------------------------------------
# The facts: read from the tables, never written twice
# ---------------------------------------------------------------------------

def _rows(path):
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    head = lines[0].split("\t")
    return [dict(zip(head, l.split("\t"))) for l in lines[1:]]


def vkey(v):
    """Sort key of a release tag "v2.7.5"."""
    try:
        return tuple(int(x) for x in v.lstrip("v").split("."))
    except ValueError:
        raise FluxgenError("not a release tag: %r" % (v,))


_CACHE = {}


def releases():
    """{release: {component: image tag or None, "kubernetes-minimum": ...}} in table order."""
    if "rel" not in _CACHE:
        out = {}
        for r in _rows(RELEASES_TSV):
            out[r.pop("flux")] = {k: (None if v == "-" else v) for k, v in r.items()}
        _CACHE["rel"] = out
    return _CACHE["rel"]


def crd_table():
    if "crd" not in _CACHE:
        crds = {}
        for r in _rows(os.path.join(HERE, "crds.tsv")):
            crds[r["crd"]] = r
            r["history"] = []
        for r in _rows(os.path.join(HERE, "crd-versions.tsv")):
            crds[r["crd"]]["history"].append((vkey(r["since"]), r["versions"].split()))
        _CACHE["crd"] = crds
    return _CACHE["crd"]


def latest_release():
    return max(releases(), key=vkey)


def crd_versions(crd, release):
    """[(name, storage, deprecated)] the CRD serves in `release`, or None."""
    cur = None
    for since, vs in crd_table()[crd]["history"]:
        if since <= vkey(release):
            cur = vs
    if cur is None:
        return None
    return [(v.rstrip("*~"), v.endswith("*"), v.endswith("~")) for v in cur]


def components_of(release, installer):
    """The components an installer installs by default."""
    tags = releases()[release]
    if installer == "install-yaml":  # every controller of the release
        return [c for c in CONTROLLERS if tags.get(c)]
    if installer == "helm":  # the chart: image controllers on, source-watcher off
        return DEFAULT_COMPONENTS + IMAGE_COMPONENTS
    return list(DEFAULT_COMPONENTS)


# ---------------------------------------------------------------------------
# Labels and metadata per installer
# ---------------------------------------------------------------------------

class Install:
    def __init__(self, release, installer, namespace, components, sync, labelled, reconciled):
        self.release = release
        self.installer = installer
        self.ns = namespace
        self.components = components
        self.sync = sync
        self.labelled = labelled
        self.reconciled = reconciled
        self.suffix = "-" + namespace if installer in ("bootstrap", "cli", "operator") else ""
        minor = vkey(release)[1]
        # the fluxcd-community chart's minor runs ten ahead of Flux's
        self.chart = "flux2-2.%d.%d" % (minor + 10, vkey(release)[2])

    def labels(self, component=None, part_of=True):
        l = {}
        if part_of:
            l["app.kubernetes.io/part-of"] = "flux"
        l["app.kubernetes.io/instance"] = self.ns
        if self.installer in ("bootstrap", "cli", "operator"):
            l["app.kubernetes.io/version"] = self.release
        elif self.installer == "helm":
            l["app.kubernetes.io/version"] = self.release.lstrip("v")
            l["app.kubernetes.io/managed-by"] = "Helm"
            l["helm.sh/chart"] = self.chart
        if self.installer == "operator":
            l["app.kubernetes.io/managed-by"] = "flux-operator"
            l["fluxcd.controlplane.io/name"] = "flux"
            l["fluxcd.controlplane.io/namespace"] = self.ns
        if self.installer == "bootstrap" and self.reconciled:  # kustomize-controller's owner labels
            l["kustomize.toolkit.fluxcd.io/name"] = self.ns
            l["kustomize.toolkit.fluxcd.io/namespace"] = self.ns
        if component:
            l["app.kubernetes.io/component"] = component
        return l

    def pod_labels(self, name):
        l = {"app": name}
        # v2.7.0 put the metadata labels on pod templates too (flux install,
        # install.yaml); the chart and the operator keep only `app`.
        if self.installer in ("bootstrap", "cli", "install-yaml") and vkey(self.release) >= (2, 7, 0):
            for k, v in self.labels(name).items():
                if not k.startswith("kustomize.toolkit.fluxcd.io/"):
                    l[k] = v
        return l

    def meta(self, name, namespaced, labels):
        md = {"name": name}
        if namespaced:
            md["namespace"] = self.ns
        if labels and self.labelled:
            md["labels"] = labels
        ann = {}
        if self.installer == "helm":
            ann = {"meta.helm.sh/release-name": "flux2", "meta.helm.sh/release-namespace": self.ns}
        elif self.installer == "operator":
            ann = {"kustomize.toolkit.fluxcd.io/ssa": "Ignore", "kustomize.toolkit.fluxcd.io/prune": "Disabled"}
        if ann:
            md["annotations"] = ann
        return md


def obj(api, kind, md, **rest):
    o = {"apiVersion": api, "kind": kind, "metadata": md}
    o.update(rest)
    return o


# ---------------------------------------------------------------------------
# The parts
# ---------------------------------------------------------------------------

def part_namespace(ins):
    if ins.installer == "helm":  # the chart has none: `helm install --create-namespace`
        return [obj("v1", "Namespace", {"name": ins.ns, "labels": {"kubernetes.io/metadata.name": ins.ns}})]
    l = ins.labels()
    l.update({"pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/warn-version": "latest"})
    md = ins.meta(ins.ns, False, l)
    if ins.installer == "operator":
        md["annotations"] = {"fluxcd.controlplane.io/prune": "disabled"}
    return [obj("v1", "Namespace", md)]


READY = '.status.conditions[?(@.type=="Ready")]'
COMMON_COLUMNS = {
    "Age": {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    "Ready": {"name": "Ready", "type": "string", "jsonPath": READY + ".status"},
    "Status": {"name": "Status", "type": "string", "jsonPath": READY + ".message"},
}


def crd(ins, name, labels):
    row = crd_table()[name]
    plural, group = name.split(".", 1)
    names = {"kind": row["kind"], "listKind": row["kind"] + "List", "plural": plural,
             "singular": row["kind"].lower()}
    if row["short-names"] != "-":
        names["shortNames"] = row["short-names"].split(",")
    if vkey(ins.release) >= (2, 9, 0) and row["category"] != "-" and row["component"] != "flux-operator":
        names["categories"] = ["all", "fluxcd", row["category"]]
    versions = []
    columns = [COMMON_COLUMNS.get(c) or {"name": c.split("=", 1)[0], "type": "string",
                                         "jsonPath": c.split("=", 1)[1]}
               for c in row["columns"].split(";")]
    for v, storage, deprecated in crd_versions(name, ins.release):
        ver = {"name": v, "served": True, "storage": storage,
               "additionalPrinterColumns": [dict(c) for c in columns],
               "schema": {"openAPIV3Schema": {"type": "object",
                                              "x-kubernetes-preserve-unknown-fields": True}},
               "subresources": {"status": {}}}
        if deprecated:
            ver["deprecated"] = True
        versions.append(ver)
    md = {"name": name}
    if labels and ins.labelled:
        md["labels"] = labels
    if ins.installer == "helm":
        md["annotations"] = {"meta.helm.sh/release-name": "flux2", "meta.helm.sh/release-namespace": ins.ns}
    return obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", md,
               spec={"group": group, "scope": "Namespaced", "names": names, "versions": versions})


def part_crds(ins):
    out = []
    for name, row in crd_table().items():
        if row["component"] in ins.components and crd_versions(name, ins.release):
            out.append(crd(ins, name, ins.labels(row["component"])))
    return out


def part_controllers(ins):
    out = []
    tags = releases()[ins.release]
    for c in ins.components:
        ports, services, critical = CONTROLLERS[c]
        sa = "source-watcher-controller" if (c == "source-watcher" and ins.installer == "helm") else c
        dl = ins.labels(c)
        dl["control-plane"] = "controller"
        pod = {
            "serviceAccountName": sa,
            "terminationGracePeriodSeconds": 10,
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "securityContext": {"fsGroup": 1337},
            "containers": [{
                "name": "manager",
                "image": "ghcr.io/fluxcd/%s:%s" % (c, tags[c]),
                "imagePullPolicy": "IfNotPresent",
                "args": ["--watch-all-namespaces=true", "--log-level=info",
                         "--log-encoding=json", "--enable-leader-election"],
                "env": [{"name": "RUNTIME_NAMESPACE",
                         "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                "ports": [{"containerPort": p, "name": n, "protocol": "TCP"} for n, p in ports],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "healthz"}},
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}},
                "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"},
                              "requests": {"cpu": "100m", "memory": "64Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
            }],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        }
        if critical:
            pod["priorityClassName"] = "system-cluster-critical"
        spec = {"replicas": 1, "selector": {"matchLabels": {"app": c}},
                "template": {"metadata": {"labels": ins.pod_labels(c),
                                          "annotations": {"prometheus.io/port": "8080",
                                                          "prometheus.io/scrape": "true"}},
                             "spec": pod}}
        if c == "source-controller":
            spec["strategy"] = {"type": "Recreate"}
        out.append(obj("v1", "ServiceAccount", ins.meta(sa, True, ins.labels(c))))
        for svc, target in services.items():
            sl = ins.labels(c)
            sl["control-plane"] = "controller"
            out.append(obj("v1", "Service", ins.meta(svc, True, sl),
                           spec={"type": "ClusterIP", "selector": {"app": c},
                                 "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                            "targetPort": target}]}))
        out.append(obj("apps/v1", "Deployment", ins.meta(c, True, dl), spec=spec))
    return out


def _service_accounts(ins):
    return [{"kind": "ServiceAccount", "name": ("source-watcher-controller"
                                                if c == "source-watcher" and ins.installer == "helm" else c),
             "namespace": ins.ns} for c in ins.components]


def part_rbac(ins):
    rb = "rbac.authorization.k8s.io/v1"
    groups = sorted({n.split(".", 1)[1] for n, r in crd_table().items()
                     if r["component"] != "flux-operator" and crd_versions(n, ins.release)})
    crd_rules = [
        {"apiGroups": groups, "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["namespaces", "secrets", "configmaps", "serviceaccounts"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create",
                                                                   "update", "patch", "delete"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    ]
    edit = [{"apiGroups": groups, "resources": ["*"],
             "verbs": ["create", "delete", "deletecollection", "patch", "update"]}]
    view = [{"apiGroups": groups, "resources": ["*"], "verbs": ["get", "list", "watch"]}]
    out = [obj(rb, "ClusterRole", ins.meta("crd-controller" + ins.suffix, False, ins.labels()),
               rules=crd_rules)]
    for name, rules, agg in (("flux-edit", edit, ("edit", "admin")),
                             ("flux-view", view, ("view", "edit", "admin"))):
        # the chart's aggregate roles carry only the aggregation labels
        l = {} if ins.installer == "helm" else ins.labels()
        for a in agg:
            l["rbac.authorization.k8s.io/aggregate-to-" + a] = "true"
        out.append(obj(rb, "ClusterRole", ins.meta(name + ins.suffix, False, l), rules=rules))
    reconcilers = [s for s in _service_accounts(ins) if s["name"] in ("kustomize-controller", "helm-controller")]
    out.append(obj(rb, "ClusterRoleBinding", ins.meta("cluster-reconciler" + ins.suffix, False, ins.labels()),
                   roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "cluster-admin"},
                   subjects=reconcilers or [{"kind": "ServiceAccount", "name": "kustomize-controller",
                                             "namespace": ins.ns}]))
    out.append(obj(rb, "ClusterRoleBinding", ins.meta("crd-controller" + ins.suffix, False, ins.labels()),
                   roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "crd-controller" + ins.suffix},
                   subjects=_service_accounts(ins)))
    return out


def part_policies(ins):
    out = []
    if ins.installer != "helm":  # the chart has no ResourceQuota
        out.append(obj("v1", "ResourceQuota", ins.meta("critical-pods" + ins.suffix, True, ins.labels()),
                       spec={"hard": {"pods": "1000"},
                             "scopeSelector": {"matchExpressions": [{
                                 "operator": "In", "scopeName": "PriorityClass",
                                 "values": ["system-node-critical", "system-cluster-critical"]}]}}))
    np = "networking.k8s.io/v1"
    out.append(obj(np, "NetworkPolicy", ins.meta("allow-egress", True, ins.labels()),
                   spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                         "ingress": [{"from": [{"podSelector": {}}]}], "egress": [{}]}))
    out.append(obj(np, "NetworkPolicy", ins.meta("allow-scraping", True, ins.labels()),
                   spec={"podSelector": {}, "policyTypes": ["Ingress"],
                         "ingress": [{"from": [{"namespaceSelector": {}}],
                                      "ports": [{"port": 8080, "protocol": "TCP"}]}]}))
    out.append(obj(np, "NetworkPolicy", ins.meta("allow-webhooks", True, ins.labels()),
                   spec={"podSelector": {"matchLabels": {"app": "notification-controller"}},
                         "policyTypes": ["Ingress"],
                         "ingress": [{"from": [{"namespaceSelector": {}}],
                                      "ports": [{"port": 9292, "protocol": "TCP"}]}]}))
    return out


def helm_release_secret(ns, release):
    return obj("v1", "Secret", {"name": "sh.helm.release.v1.%s.v1" % release, "namespace": ns,
                                "labels": {"owner": "helm", "name": release, "status": "deployed",
                                           "version": "1"}},
               type="helm.sh/release.v1",
               data={"release": base64.b64encode(b"generated by fluxgen").decode()})


def part_release_secret(ins):
    return [helm_release_secret(ins.ns, "flux2")]


def part_operator_crds(ins):
    """The flux-operator's CRDs (labelled by its chart, not part-of=flux)."""
    crds = [crd(ins, n, {"app.kubernetes.io/name": "flux-operator"})
            for n, r in crd_table().items() if r["component"] == "flux-operator"]
    for c in crds:
        c["metadata"].pop("annotations", None)
    return crds


def part_operator(ins):
    """The flux-operator itself, installed with its Helm chart."""
    l = {"app.kubernetes.io/name": "flux-operator", "app.kubernetes.io/instance": "flux-operator",
         "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/version": OPERATOR_VERSION,
         "helm.sh/chart": "flux-operator-" + OPERATOR_VERSION.lstrip("v")}
    sel = {"app.kubernetes.io/name": "flux-operator"}
    dep = obj("apps/v1", "Deployment", {"name": "flux-operator", "namespace": ins.ns, "labels": dict(l)},
              spec={"replicas": 1, "selector": {"matchLabels": sel},
                    "template": {"metadata": {"labels": dict(sel)},
                                 "spec": {"serviceAccountName": "flux-operator",
                                          "containers": [{
                                              "name": "manager",
                                              "image": "ghcr.io/controlplaneio-fluxcd/flux-operator:"
                                                       + OPERATOR_VERSION,
                                              "ports": [{"containerPort": 8080, "name": "http-metrics"},
                                                        {"containerPort": 9080, "name": "http-web"}],
                                              "env": [{"name": "RUNTIME_NAMESPACE", "valueFrom": {
                                                  "fieldRef": {"fieldPath": "metadata.namespace"}}}]}]}}})
    sa = obj("v1", "ServiceAccount", {"name": "flux-operator", "namespace": ins.ns, "labels": dict(l)})
    svc = obj("v1", "Service", {"name": "flux-operator", "namespace": ins.ns, "labels": dict(l)},
              spec={"type": "ClusterIP", "selector": sel,
                    "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"},
                              {"name": "http-web", "port": 9080, "targetPort": 9080, "protocol": "TCP"}]})
    crb = obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
              {"name": "flux-operator-cluster-admin", "labels": dict(l)},
              roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
              subjects=[{"kind": "ServiceAccount", "name": "flux-operator", "namespace": ins.ns}])
    return [sa, svc, crb, dep, helm_release_secret(ins.ns, "flux-operator")]


def part_sync(ins):
    """What `flux bootstrap` commits beside the components (gotk-sync.yaml)
    and the deploy-key Secret it creates; kustomize-controller labels both."""
    l = ins.labels() if ins.installer == "bootstrap" else {}
    l = {k: v for k, v in l.items() if k.startswith("kustomize.toolkit.fluxcd.io/")}
    secret = obj("v1", "Secret", {"name": ins.ns, "namespace": ins.ns}, type="Opaque",
                 data={k: base64.b64encode(b"generated by fluxgen").decode()
                       for k in ("identity", "identity.pub", "known_hosts")})
    git = obj("source.toolkit.fluxcd.io/v1", "GitRepository", ins.meta(ins.ns, True, l),
              spec={"interval": "1m0s", "ref": {"branch": "main"}, "secretRef": {"name": ins.ns},
                    "url": "ssh://git@github.com/example/fleet"})
    ks = obj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", ins.meta(ins.ns, True, l),
             spec={"interval": "10m0s", "path": "./clusters/production", "prune": True,
                   "sourceRef": {"kind": "GitRepository", "name": ins.ns}})
    return [secret, git, ks]


def flux_instance(ins, ready="True", reason="ReconciliationSucceeded",
                  message="Reconciliation finished in 52s", stalled=None):
    conds = [{"type": "Ready", "status": ready, "reason": reason, "message": message,
              "observedGeneration": 1, "lastTransitionTime": CREATED}]
    if stalled:
        conds.append({"type": "Stalled", "status": "True", "reason": stalled, "message": message,
                      "observedGeneration": 1, "lastTransitionTime": CREATED})
    major, minor, _ = vkey(ins.release)
    rev = ins.release + "@sha256:0123456789abcdef"
    return obj("fluxcd.controlplane.io/v1", "FluxInstance",
               {"name": "flux", "namespace": ins.ns, "generation": 1,
                "finalizers": ["fluxcd.controlplane.io/finalizer"]},
               spec={"distribution": {"version": "%d.%d.x" % (major, minor), "registry": "ghcr.io/fluxcd"},
                     "components": list(ins.components), "cluster": {"networkPolicy": True}},
               status={"conditions": conds, "lastAppliedRevision": rev, "lastAttemptedRevision": rev})


INSTANCE_STATES = {
    "ready": {},
    "not-ready": {"ready": "False", "reason": "HealthCheckFailed",
                  "message": "timeout waiting for: [Deployment/flux-system/helm-controller status: 'InProgress']"},
    "stalled": {"ready": "False", "reason": "BuildFailed", "message": "no match for version 2.99.x",
                "stalled": "BuildFailed"},
}


def generate(release=None, installer="bootstrap", namespace="flux-system", components=None,
             extra_components=None, parts=None, sync=True, labelled=True, instance="ready",
             reconciled=True):
    """The objects (list of dicts) of one Flux install; see the module doc."""
    release = release or latest_release()
    if release not in releases():
        raise FluxgenError("unknown release %s (known: %s … %s, libfluxstate/flux-releases.tsv)"
                           % (release, min(releases(), key=vkey), latest_release()))
    if installer not in INSTALLERS:
        raise FluxgenError("unknown installer %r (one of %s)" % (installer, ", ".join(INSTALLERS)))
    if installer == "cli":
        sync = False
    comps = list(components) if components else components_of(release, installer)
    comps += [c for c in (extra_components or []) if c not in comps]
    tags = releases()[release]
    for c in comps:
        if c not in CONTROLLERS:
            raise FluxgenError("unknown component %r (one of %s)" % (c, ", ".join(CONTROLLERS)))
        if not tags.get(c):
            raise FluxgenError("Flux %s has no %s" % (release, c))
    if parts is None:
        parts = [p for p in DEFAULT_PARTS[installer] if sync or p != "sync"]
    for p in parts:
        if p not in PARTS:
            raise FluxgenError("unknown part %r (one of %s)" % (p, ", ".join(PARTS)))
    if instance not in INSTANCE_STATES:
        raise FluxgenError("unknown instance state %r (one of %s)" % (instance, ", ".join(INSTANCE_STATES)))
    ins = Install(release, installer, namespace, comps, sync, labelled, reconciled)
    out = []
    for p in PARTS:  # a fixed order: what others refer to comes first
        if p not in parts:
            continue
        if p == "instance":
            out.append(flux_instance(ins, **INSTANCE_STATES[instance]))
        else:
            out.extend(globals()["part_" + p.replace("-", "_")](ins))
    return out


def generate_spec(spec):
    """generate() from a scenario's `generate:` mapping (camelCase keys)."""
    if not isinstance(spec, dict):
        raise FluxgenError("generate: expects a mapping, got %r" % (spec,))
    keys = {"release": "release", "installer": "installer", "namespace": "namespace",
            "components": "components", "extraComponents": "extra_components", "parts": "parts",
            "sync": "sync", "labelled": "labelled", "instance": "instance", "reconciled": "reconciled"}
    unknown = set(spec) - set(keys)
    if unknown:
        raise FluxgenError("generate: unknown key(s) %s (known: %s)"
                           % (", ".join(sorted(unknown)), ", ".join(sorted(keys))))
    return generate(**{keys[k]: v for k, v in spec.items()})


def dump(objs):
    import yaml  # python3-yaml; imported here so the tables load without it

    head = "# Generated by tests/fluxgen/fluxgen.py; not an upstream file.\n"
    return head + yaml.safe_dump_all(objs, sort_keys=False, default_flow_style=False)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fluxgen", description="Write the objects of a Flux v2 install "
                                 "as multi-document YAML (see tests/fluxgen/README.md).")
    ap.add_argument("--release", help="Flux release, e.g. v2.7.5 (default: the newest in the table)")
    ap.add_argument("--installer", default="bootstrap", choices=INSTALLERS)
    ap.add_argument("--namespace", default="flux-system")
    ap.add_argument("--components", help="comma-separated components (default: the installer's)")
    ap.add_argument("--extra-components", help="comma-separated components added to those")
    ap.add_argument("--parts", help="comma-separated parts to write (default: the installer's): "
                    + ",".join(PARTS))
    ap.add_argument("--no-sync", action="store_true", help="bootstrap without the sync objects")
    ap.add_argument("--unlabelled", action="store_true", help="drop the metadata labels")
    ap.add_argument("--not-reconciled", action="store_true",
                    help="bootstrap as committed, before kustomize-controller labels the objects")
    ap.add_argument("--instance", default="ready", choices=sorted(INSTANCE_STATES),
                    help="the FluxInstance status (operator)")
    ap.add_argument("--list-releases", action="store_true", help="print the known releases and exit")
    a = ap.parse_args(argv)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None
    try:
        if a.list_releases:
            sys.stdout.write("".join(r + "\n" for r in releases()))
            return 0
        objs = generate(a.release, a.installer, a.namespace, split(a.components),
                        split(a.extra_components), split(a.parts), not a.no_sync,
                        not a.unlabelled, a.instance, not a.not_reconciled)
    except FluxgenError as e:
        print("fluxgen: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write(dump(objs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
