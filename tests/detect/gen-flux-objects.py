#!/usr/bin/python3
"""Write the self-contained Flux object sets the detection scenarios load
(tests/scenarios/_objects/*.yaml), built from flux-inventory.md §2 and §6:
what `flux install`, install.yaml, the community Helm chart and the
flux-operator create, with each installer's labels and names. No schemas,
no pod specs beyond what detection reads: these are not the real manifests
(those are read from ../shared/fixtures at test time).

Run it after changing it: python3 tests/detect/gen-flux-objects.py
"""
import os
import sys

import yaml

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios", "_objects")

# (plural, group, kind, owner, [(version, storage)]) for v2.7.5 (§2.3)
CRDS = [
    ("gitrepositories", "source.toolkit.fluxcd.io", "GitRepository", "source-controller", [("v1", True), ("v1beta2", False)]),
    ("ocirepositories", "source.toolkit.fluxcd.io", "OCIRepository", "source-controller", [("v1", True), ("v1beta2", False)]),
    ("helmrepositories", "source.toolkit.fluxcd.io", "HelmRepository", "source-controller", [("v1", True), ("v1beta2", False)]),
    ("helmcharts", "source.toolkit.fluxcd.io", "HelmChart", "source-controller", [("v1", True), ("v1beta2", False)]),
    ("buckets", "source.toolkit.fluxcd.io", "Bucket", "source-controller", [("v1", True), ("v1beta2", False)]),
    ("externalartifacts", "source.toolkit.fluxcd.io", "ExternalArtifact", "source-controller", [("v1", True)]),
    ("kustomizations", "kustomize.toolkit.fluxcd.io", "Kustomization", "kustomize-controller", [("v1", True), ("v1beta2", False)]),
    ("helmreleases", "helm.toolkit.fluxcd.io", "HelmRelease", "helm-controller", [("v2", True), ("v2beta2", False)]),
    ("alerts", "notification.toolkit.fluxcd.io", "Alert", "notification-controller", [("v1beta3", True), ("v1beta2", False)]),
    ("providers", "notification.toolkit.fluxcd.io", "Provider", "notification-controller", [("v1beta3", True), ("v1beta2", False)]),
    ("receivers", "notification.toolkit.fluxcd.io", "Receiver", "notification-controller", [("v1", True), ("v1beta2", False)]),
]
IMAGE_CRDS = [
    ("imagerepositories", "image.toolkit.fluxcd.io", "ImageRepository", "image-reflector-controller", [("v1", True), ("v1beta2", False)]),
    ("imagepolicies", "image.toolkit.fluxcd.io", "ImagePolicy", "image-reflector-controller", [("v1", True), ("v1beta2", False)]),
    ("imageupdateautomations", "image.toolkit.fluxcd.io", "ImageUpdateAutomation", "image-automation-controller", [("v1", True), ("v1beta2", False)]),
]
OPERATOR_CRDS = [
    ("fluxinstances", "fluxcd.controlplane.io", "FluxInstance", "flux-operator", [("v1", True)]),
    ("fluxreports", "fluxcd.controlplane.io", "FluxReport", "flux-operator", [("v1", True)]),
]

CORE = ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"]
IMAGE = ["image-reflector-controller", "image-automation-controller"]
TAGS = {  # v2.7.5 (§2.4)
    "source-controller": "v1.7.4", "kustomize-controller": "v1.7.3", "helm-controller": "v1.4.5",
    "notification-controller": "v1.7.5", "image-reflector-controller": "v1.0.4",
    "image-automation-controller": "v1.0.4",
}
VERSION = "v2.7.5"
CHART = "flux2-2.17.2"


def labels(flavor, ns, component=None, part_of=True):
    """The metadata labels each installer sets (§2.1, §2.6, §2.8, §2.9)."""
    l = {}
    if part_of:
        l["app.kubernetes.io/part-of"] = "flux"
    l["app.kubernetes.io/instance"] = ns
    if flavor in ("cli", "operator"):
        l["app.kubernetes.io/version"] = VERSION
    elif flavor == "helm":
        l["app.kubernetes.io/version"] = VERSION.lstrip("v")
        l["app.kubernetes.io/managed-by"] = "Helm"
        l["helm.sh/chart"] = CHART
    if flavor == "operator":
        l["app.kubernetes.io/managed-by"] = "flux-operator"
        l["fluxcd.controlplane.io/name"] = "flux"
        l["fluxcd.controlplane.io/namespace"] = ns
    if component:
        l["app.kubernetes.io/component"] = component
    return l


def crd(flavor, ns, plural, group, kind, owner, versions, with_labels=True):
    md = {"name": "%s.%s" % (plural, group)}
    if with_labels:
        md["labels"] = labels(flavor, ns, owner if owner != "flux-operator" else None,
                              part_of=owner != "flux-operator")
        if owner == "flux-operator":
            md["labels"] = {"app.kubernetes.io/name": "flux-operator"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": md,
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()},
            "versions": [{"name": v, "served": True, "storage": s,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}
                         for v, s in versions],
        },
    }


def deployment(flavor, ns, name, tag=None):
    md = {"name": name, "namespace": ns, "labels": labels(flavor, ns, name)}
    md["labels"]["control-plane"] = "controller"
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
        "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"serviceAccountName": name,
                                  "containers": [{"name": "manager",
                                                  "image": "ghcr.io/fluxcd/%s:%s" % (name, tag or TAGS[name])}]}},
        },
    }


def simple(kind, api, ns, name, lbls, extra=None):
    md = {"name": name, "labels": lbls}
    if ns:
        md["namespace"] = ns
    o = {"apiVersion": api, "kind": kind, "metadata": md}
    o.update(extra or {})
    return o


def namespace(flavor, ns):
    if flavor == "helm":  # the chart has no Namespace: `helm install --create-namespace`
        return simple("Namespace", "v1", None, ns, {"kubernetes.io/metadata.name": ns})
    l = labels(flavor, ns)
    l.update({"pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/warn-version": "latest"})
    return simple("Namespace", "v1", None, ns, l)


def controllers(flavor, ns, names):
    out = []
    for n in names:
        out.append(deployment(flavor, ns, n))
        out.append(simple("ServiceAccount", "v1", ns, n, labels(flavor, ns, n)))
    svc = {"spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    if "source-controller" in names:
        out.append(simple("Service", "v1", ns, "source-controller", labels(flavor, ns, "source-controller"),
                          dict(svc, spec=dict(svc["spec"], selector={"app": "source-controller"}))))
    if "notification-controller" in names:
        for s in ("notification-controller", "webhook-receiver"):
            out.append(simple("Service", "v1", ns, s, labels(flavor, ns, "notification-controller"),
                              dict(svc, spec=dict(svc["spec"], selector={"app": "notification-controller"}))))
    return out


def rbac(flavor, ns):
    suffix = "-" + ns if flavor in ("cli", "operator") else ""
    rb = "rbac.authorization.k8s.io/v1"
    out = []
    for name in ("crd-controller", "flux-edit", "flux-view"):
        l = labels(flavor, ns)
        if flavor == "helm" and name != "crd-controller":
            l = {}  # the chart's aggregate roles carry no part-of (§2.8)
        if name == "flux-edit":
            l.update({"rbac.authorization.k8s.io/aggregate-to-edit": "true",
                      "rbac.authorization.k8s.io/aggregate-to-admin": "true"})
        if name == "flux-view":
            l.update({"rbac.authorization.k8s.io/aggregate-to-view": "true"})
        out.append(simple("ClusterRole", rb, None, name + suffix, l,
                          {"rules": [{"apiGroups": ["source.toolkit.fluxcd.io"], "resources": ["*"],
                                      "verbs": ["get", "list", "watch"]}]}))
    for name, role in (("cluster-reconciler", "cluster-admin"), ("crd-controller", "crd-controller" + suffix)):
        out.append(simple("ClusterRoleBinding", rb, None, name + suffix, labels(flavor, ns),
                          {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                           "subjects": [{"kind": "ServiceAccount", "name": "kustomize-controller", "namespace": ns}]}))
    if flavor != "helm":
        out.append(simple("ResourceQuota", "v1", ns, "critical-pods" + suffix, labels(flavor, ns),
                          {"spec": {"hard": {"pods": "1000"}}}))
    for name in ("allow-egress", "allow-scraping", "allow-webhooks"):
        out.append(simple("NetworkPolicy", "networking.k8s.io/v1", ns, name, labels(flavor, ns),
                          {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}))
    return out


def helm_release_secret(ns, release="flux2"):
    return simple("Secret", "v1", ns, "sh.helm.release.v1.%s.v1" % release,
                  {"owner": "helm", "name": release, "status": "deployed", "version": "1"},
                  {"type": "helm.sh/release.v1", "data": {"release": "ZHVtbXk="}})


def operator(ns):
    d = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "flux-operator", "namespace": ns,
                     "labels": {"app.kubernetes.io/name": "flux-operator",
                                "app.kubernetes.io/instance": "flux-operator",
                                "app.kubernetes.io/managed-by": "Helm",
                                "app.kubernetes.io/version": "v0.58.1"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "flux-operator"}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": "flux-operator"}},
                              "spec": {"containers": [{"name": "manager",
                                                       "image": "ghcr.io/controlplaneio-fluxcd/flux-operator:v0.58.1"}]}}},
    }
    sa = simple("ServiceAccount", "v1", ns, "flux-operator", {"app.kubernetes.io/name": "flux-operator"})
    crb = simple("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", None, "flux-operator-cluster-admin",
                 {"app.kubernetes.io/name": "flux-operator"},
                 {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                  "subjects": [{"kind": "ServiceAccount", "name": "flux-operator", "namespace": ns}]})
    return [d, sa, crb]


def flux_instance(ns, ready="True", reason="ReconciliationSucceeded", message="Reconciliation finished in 52s",
                  stalled=None):
    conds = [{"type": "Ready", "status": ready, "reason": reason, "message": message,
              "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    if stalled:
        conds.append({"type": "Stalled", "status": "True", "reason": stalled, "message": message,
                      "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"})
    return {
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": ns, "generation": 1,
                     "finalizers": ["fluxcd.controlplane.io/finalizer"]},
        "spec": {"distribution": {"version": "2.7.x", "registry": "ghcr.io/fluxcd"},
                 "components": CORE, "cluster": {"networkPolicy": False}},
        "status": {"conditions": conds, "lastAppliedRevision": VERSION + "@sha256:0123456789abcdef",
                   "lastAttemptedRevision": VERSION + "@sha256:0123456789abcdef"},
    }


def write(name, objs, comment):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("# Generated by tests/detect/gen-flux-objects.py: %s\n" % comment)
        f.write(yaml.safe_dump_all(objs, sort_keys=False, default_flow_style=False))


def main():
    os.makedirs(OUT, exist_ok=True)
    for flavor, what in (("cli", "flux install %s" % VERSION), ("install-yaml", "install.yaml (kustomize build manifests/install)"),
                         ("helm", "fluxcd-community chart %s" % CHART), ("operator", "FluxInstance-rendered %s" % VERSION)):
        for ns in (("flux-system", "flux") if flavor == "cli" else ("flux-system",)):
            tag = "%s-%s" % (flavor, ns)
            write("%s-namespace.yaml" % tag, [namespace(flavor, ns)], "%s: the namespace" % what)
            write("%s-crds.yaml" % tag, [crd(flavor, ns, *c) for c in CRDS], "%s: the 11 core CRDs" % what)
            comps = CORE + IMAGE if flavor in ("install-yaml", "helm") else CORE
            write("%s-controllers.yaml" % tag, controllers(flavor, ns, comps),
                  "%s: Deployments, ServiceAccounts, Services" % what)
            write("%s-rbac.yaml" % tag, rbac(flavor, ns), "%s: cluster RBAC, quota, network policies" % what)
            if flavor in ("install-yaml", "helm"):
                write("%s-image-crds.yaml" % tag, [crd(flavor, ns, *c) for c in IMAGE_CRDS],
                      "%s: the image automation CRDs" % what)
    write("cli-flux-system-image-crds.yaml", [crd("cli", "flux-system", *c) for c in IMAGE_CRDS],
          "flux install --components-extra: image CRDs")
    write("cli-flux-system-image-controllers.yaml", controllers("cli", "flux-system", IMAGE),
          "flux install --components-extra: image controllers")
    write("crds-unlabelled-image.yaml", [crd("cli", "flux-system", *c, with_labels=False) for c in IMAGE_CRDS],
          "image CRDs without labels (image-automation-controller#435)")
    write("helm-release-secret.yaml", [helm_release_secret("flux-system")], "Helm 3 release secret of chart flux2")
    write("operator-crds.yaml", [crd("operator", "flux-system", *c) for c in OPERATOR_CRDS], "flux-operator CRDs")
    write("operator-deployment.yaml", operator("flux-system") + [helm_release_secret("flux-system", "flux-operator")],
          "flux-operator Deployment (Helm chart), SA, cluster-admin binding")
    write("flux-instance-ready.yaml", [flux_instance("flux-system")], "FluxInstance Ready=True")
    write("flux-instance-not-ready.yaml",
          [flux_instance("flux-system", "False", "HealthCheckFailed",
                         "timeout waiting for: [Deployment/flux-system/helm-controller status: 'InProgress']")],
          "FluxInstance Ready=False")
    write("flux-instance-stalled.yaml",
          [flux_instance("flux-system", "False", "BuildFailed", "no match for version 2.99.x", stalled="BuildFailed")],
          "FluxInstance Stalled=True")
    return 0


if __name__ == "__main__":
    sys.exit(main())
