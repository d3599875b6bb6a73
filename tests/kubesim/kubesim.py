#!/usr/bin/python3
"""kubesim: a small Kubernetes API server simulator for tests.

Serves plain Kubernetes manifests (the cluster state) over HTTPS the way a
kube-apiserver answers the read-only requests kubectl and client libraries
make: discovery (legacy and aggregated v2), get/list/watch for built-in kinds
and every CRD in the state, selectors, paging, Table and
PartialObjectMetadata output, Status errors, authentication (bearer token,
basic, client certificate), deny rules and injected faults.  See README.md.

Standard library plus PyYAML only.  Importable: tests use Simulator directly.
"""

import argparse
import base64
import bisect
import copy
import datetime
import gzip
import hashlib
import http.server
import ipaddress
import json
import os
import pickle
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import deque

import yaml

try:
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml-less PyYAML
    _YamlLoader = yaml.SafeLoader

DEFAULT_SERVER_VERSION = "v1.33.1"
DEFAULT_SERVER_NAME = "kubesim.test"
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch",
             "update", "watch"]

AGG_CT_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGG_CT_V2BETA1 = ("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                  "as=APIGroupDiscoveryList")

EXPIRED_CONTINUE_MSG = (
    "The provided continue parameter is too old to display a consistent list "
    "result. You can start a new list without the continue parameter, or use "
    "the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent "
    "list - objects that were created, modified, or deleted between the time "
    "the first chunk was returned and now may show up in the list.")
APF_429_TEXT = "Too many requests, please try again later.\n"

REASONS = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed",
          "the server does not allow this method on the requested resource"),
    406: ("NotAcceptable", "the server was unable to respond with a content "
          "type that the client supports"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Expired", "the resource version is too old"),
    413: ("RequestEntityTooLarge", "request entity too large"),
    415: ("UnsupportedMediaType", "the server does not support the media type"),
    422: ("Invalid", "the server rejected our request due to an error in our "
          "request"),
    429: ("TooManyRequests", "the server has received too many requests and "
          "has asked us to try again later"),
    500: ("InternalError", "an error on the server (\"kubesim injected fault\") "
          "has prevented the request from succeeding"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the "
          "request"),
    504: ("Timeout", "the server was unable to return a response in the time "
          "allotted, but may still be processing the request"),
}


class KubesimError(Exception):
    """A problem with the state, config or command line (exit status 2)."""


# ---------------------------------------------------------------------------
# Built-in resources
# ---------------------------------------------------------------------------

class Resource:
    """One served resource (group/version/plural) and what discovery says."""

    def __init__(self, group, version, kind, plural, singular, namespaced,
                 short=(), categories=(), subresources=(), verbs=None,
                 printer=None, crd=None, columns=None, list_kind=None):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular
        self.namespaced = namespaced
        self.short = list(short)
        self.categories = list(categories)
        self.subresources = list(subresources)
        self.verbs = list(verbs or ALL_VERBS)
        self.printer = printer
        self.crd = crd
        self.columns = columns  # CRD additionalPrinterColumns
        self.list_kind = list_kind or kind + "List"

    @property
    def group_version(self):
        return self.version if not self.group else self.group + "/" + self.version

    @property
    def qualified(self):
        """What Status messages call it: deployments.apps, namespaces."""
        return self.plural if not self.group else self.plural + "." + self.group


def _r(group, version, kind, plural, namespaced, short=(), cats=(),
       subs=(), printer=None, singular=None):
    return Resource(group, version, kind, plural, singular or kind.lower(),
                    namespaced, short, cats, subs, printer=printer)


BUILTINS = [
    _r("", "v1", "Namespace", "namespaces", False, ["ns"], (),
       ["status", "finalize"], "namespace"),
    _r("", "v1", "Pod", "pods", True, ["po"], ["all"], ["status", "log"],
       "default"),
    _r("", "v1", "Service", "services", True, ["svc"], ["all"], ["status"],
       "service"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"], (), (),
       "serviceaccount"),
    _r("", "v1", "Secret", "secrets", True, (), (), (), "secret"),
    _r("", "v1", "ConfigMap", "configmaps", True, ["cm"], (), (), "configmap"),
    _r("", "v1", "ResourceQuota", "resourcequotas", True, ["quota"], (),
       ["status"], "age"),
    _r("", "v1", "LimitRange", "limitranges", True, ["limits"], (), (), "age"),
    _r("", "v1", "Endpoints", "endpoints", True, ["ep"], (), (), "age",
       singular="endpoints"),
    _r("", "v1", "Event", "events", True, ["ev"], (), (), "age"),
    _r("", "v1", "Node", "nodes", False, ["no"], (), ["status"], "age"),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True,
       ["pvc"], (), ["status"], "age"),
    _r("", "v1", "PersistentVolume", "persistentvolumes", False, ["pv"], (),
       ["status"], "age"),
    _r("apps", "v1", "Deployment", "deployments", True, ["deploy"], ["all"],
       ["status", "scale"], "deployment"),
    _r("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"], ["all"],
       ["status", "scale"], "age"),
    _r("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"], ["all"],
       ["status", "scale"], "age"),
    _r("apps", "v1", "DaemonSet", "daemonsets", True, ["ds"], ["all"],
       ["status"], "age"),
    _r("batch", "v1", "Job", "jobs", True, (), ["all"], ["status"], "age"),
    _r("batch", "v1", "CronJob", "cronjobs", True, ["cj"], ["all"], ["status"],
       "age"),
    _r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True,
       ["netpol"], (), (), "networkpolicy"),
    _r("networking.k8s.io", "v1", "Ingress", "ingresses", True, ["ing"], (),
       ["status"], "age"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False,
       (), (), (), "default"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
       "clusterrolebindings", False, (), (), (), "default"),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles", True, (), (), (),
       "default"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True,
       (), (), (), "default"),
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
       "customresourcedefinitions", False, ["crd", "crds"], ["api-extensions"],
       ["status"], "default"),
    _r("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
       "mutatingwebhookconfigurations", False, (), ["api-extensions"], (),
       "default"),
    _r("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
       "validatingwebhookconfigurations", False, (), ["api-extensions"], (),
       "default"),
    _r("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, (),
       ["api-extensions"], ["status"], "default"),
    _r("coordination.k8s.io", "v1", "Lease", "leases", True, (), (), (),
       "default"),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True,
       ["pdb"], (), ["status"], "age"),
    _r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False,
       ["pc"], (), (), "default"),
    _r("storage.k8s.io", "v1", "StorageClass", "storageclasses", False,
       ["sc"], (), (), "default"),
]

BUILTIN_GROUPS = {r.group for r in BUILTINS}


def version_priority(v):
    """Sort key for Kubernetes versions: v1 > v1beta2 > v1beta1 > v1alpha1."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (0, 0, 0, v)  # non-kube-like: lowest, alphabetical
    major = int(m.group(1))
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, major, minor, "")


def sort_versions(vs):
    return sorted(vs, key=lambda v: tuple(
        -x if isinstance(x, int) else x for x in version_priority(v)))


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def rfc3339(ts):
    return datetime.datetime.fromtimestamp(
        int(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.datetime.strptime(
            s.replace(".000000", "").split(".")[0].rstrip("Z"),
            "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def human_duration(seconds):
    """apimachinery duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    s = int(seconds)
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 192:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        dy = (h // 24) % 365
        return ("%dy%dd" % (h // 24 // 365, dy)) if dy else \
            "%dy" % (h // 24 // 365)
    return "%dy" % (h // 24 // 365)


def age_of(obj, now=None):
    ts = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    if ts is None:
        return "<unknown>"
    return human_duration((now or time.time()) - ts)


def cred_digest(secret):
    """Credentials never leave the process: log type + short hash only."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "replace")
                                      ).hexdigest()[:12]


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def has_content(v):
    """True when a status value says something (not a controller-gen stub)."""
    if isinstance(v, dict):
        return any(has_content(x) for x in v.values())
    if isinstance(v, list):
        return any(has_content(x) for x in v)
    return v not in (None, "", False, 0)


def split_api_version(api_version):
    if "/" in api_version:
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version


class JSONPatchError(Exception):
    """An RFC 6902 patch that does not apply (the apiserver answers 422)."""


def _pointer(path):
    if path == "":
        return []
    if not isinstance(path, str) or not path.startswith("/"):
        raise JSONPatchError("invalid JSON pointer %r" % (path,))
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _parent(doc, tokens, path):
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise JSONPatchError("doc is missing path: %s" % path)
    return cur


def json_patch(doc, ops):
    """RFC 6902 as evanphx/json-patch applies it (the apiserver's library):
    add, remove, replace, move, copy, test; a failed test or a missing path
    is an error."""
    if not isinstance(ops, list):
        raise JSONPatchError("a JSON patch must be an array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise JSONPatchError("operation needs op and path: %r" % (op,))
        kind, path = op["op"], op["path"]
        tokens = _pointer(path)
        if kind == "test":
            try:
                cur = doc
                for t in tokens:
                    cur = cur[int(t)] if isinstance(cur, list) else cur[t]
            except (KeyError, IndexError, ValueError, TypeError):
                raise JSONPatchError("testing value %s failed: test failed" % path)
            if cur != op.get("value"):
                raise JSONPatchError("testing value %s failed: test failed" % path)
            continue
        if kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            cur = doc
            try:
                for t in src:
                    cur = cur[int(t)] if isinstance(cur, list) else cur[t]
            except (KeyError, IndexError, ValueError, TypeError):
                raise JSONPatchError("doc is missing from path: %s" % op.get("from"))
            value = copy.deepcopy(cur)
            if kind == "move":
                doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
            doc = json_patch(doc, [{"op": "add", "path": path, "value": value}])
            continue
        if not tokens:
            if kind in ("add", "replace"):
                doc = copy.deepcopy(op.get("value"))
                continue
            raise JSONPatchError("cannot %s the whole document" % kind)
        parent, last = _parent(doc, tokens, path), tokens[-1]
        if kind == "add":
            if isinstance(parent, list):
                i = len(parent) if last == "-" else int(last) if last.isdigit() else -1
                if i < 0 or i > len(parent):
                    raise JSONPatchError("add operation: index out of bounds: %s" % path)
                parent.insert(i, copy.deepcopy(op.get("value")))
            elif isinstance(parent, dict):
                parent[last] = copy.deepcopy(op.get("value"))
            else:
                raise JSONPatchError("doc is missing path: %s" % path)
        elif kind in ("remove", "replace"):
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                if kind == "remove":
                    del parent[int(last)]
                else:
                    parent[int(last)] = copy.deepcopy(op.get("value"))
            elif isinstance(parent, dict) and last in parent:
                if kind == "remove":
                    del parent[last]
                else:
                    parent[last] = copy.deepcopy(op.get("value"))
            else:
                raise JSONPatchError("%s operation does not apply: doc is missing "
                                     "path: %s" % (kind, path))
        else:
            raise JSONPatchError("unexpected kind: %s" % kind)
    return doc


def obj_key(obj):
    g, _ = split_api_version(obj.get("apiVersion", ""))
    md = obj.get("metadata") or {}
    return (g, obj.get("kind", ""), md.get("namespace") or "", md.get("name", ""))


def describe_key(key):
    g, kind, ns, name = key
    kg = kind + ("." + g if g else "")
    return "%s %s%s" % (kg, ns + "/" if ns else "", name)


# ---------------------------------------------------------------------------
# Manifest loading
# ---------------------------------------------------------------------------

def clone(o):
    """A deep copy of parsed data; pickling is several times faster than
    copy.deepcopy, which dominated loading 100k-object states."""
    return pickle.loads(pickle.dumps(o, pickle.HIGHEST_PROTOCOL))


def load_yaml_docs(text, origin):
    try:
        docs = list(yaml.load_all(text, Loader=_YamlLoader))
    except yaml.YAMLError as e:
        raise KubesimError("%s: invalid YAML: %s" % (origin, e))
    return objects_of_docs(docs, origin)


def objects_of_docs(docs, origin):
    """The objects of parsed documents (Lists unpacked), validated."""
    out = []
    for i, d in enumerate(docs):
        if d is None:
            continue
        if not isinstance(d, dict):
            raise KubesimError("%s: document %d is not a mapping" % (origin, i + 1))
        if str(d.get("kind", "")).endswith("List") and "items" in d:
            items = d.get("items") or []
            if not isinstance(items, list):
                raise KubesimError("%s: document %d: items is not a list"
                                   % (origin, i + 1))
            out.extend(items)
        else:
            out.append(d)
    for o in out:
        if not isinstance(o, dict):
            raise KubesimError("%s: a list item is not a mapping" % origin)
        for f in ("apiVersion", "kind"):
            if not isinstance(o.get(f), str) or not o.get(f):
                raise KubesimError("%s: object without %s: %s"
                                   % (origin, f, json.dumps(o)[:120]))
        md = o.get("metadata")
        if not isinstance(md, dict) or not isinstance(md.get("name"), str) \
                or not md.get("name"):
            raise KubesimError("%s: %s without metadata.name" % (origin, o["kind"]))
    return out


_FILE_CACHE = {}


def load_manifest_file(path):
    """Parsed objects of one file (cached by path, size and mtime: tests load
    the same fixtures many times in one process)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise KubesimError("cannot read state file %s: %s" % (path, e.strerror))
    ck = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if ck not in _FILE_CACHE:
        _FILE_CACHE[ck] = _load_manifest_file(path)
    return clone(_FILE_CACHE[ck])


def _load_manifest_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise KubesimError("cannot read state file %s: %s" % (path, e.strerror))
    if path.endswith(".json"):
        try:
            d = json.loads(text)
        except ValueError as e:
            raise KubesimError("%s: invalid JSON: %s" % (path, e))
        # parsed as JSON, not re-read as YAML: large generated states load fast
        return objects_of_docs([d], path)
    return load_yaml_docs(text, path)


# ---------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------

_LABEL_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"


class SelectorError(Exception):
    pass


def _split_top(s):
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = re.fullmatch(r"(" + _LABEL_KEY + r")\s+(in|notin)\s*\(([^)]*)\)", part)
        if m:
            vals = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.fullmatch(r"!\s*(" + _LABEL_KEY + r")", part)
        if m:
            reqs.append((m.group(1), "!", None))
            continue
        m = re.fullmatch(r"(" + _LABEL_KEY + r")\s*(==|!=|=)\s*([-A-Za-z0-9_.]*)", part)
        if m:
            op = "=" if m.group(2) in ("=", "==") else "!="
            reqs.append((m.group(1), op, m.group(3)))
            continue
        m = re.fullmatch(_LABEL_KEY, part)
        if m:
            reqs.append((part, "exists", None))
            continue
        raise SelectorError("unable to parse requirement: %s" % part)
    return reqs


def label_match(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        has = key in labels
        cur = labels.get(key)
        if op == "=" and not (has and cur == val):
            return False
        if op == "!=" and has and cur == val:
            return False
        if op == "in" and not (has and cur in val):
            return False
        if op == "notin" and has and cur in val:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


def parse_field_selector(s, allowed):
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'"
                                % (s, part))
        field, op, val = m.group(1), m.group(2), m.group(3)
        if field not in allowed:
            raise SelectorError('field label not supported: %s' % field)
        reqs.append((field, "!=" if op == "!=" else "=", val))
    return reqs


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    return "" if cur is None else str(cur)


def field_match(reqs, obj):
    for field, op, val in reqs:
        cur = field_value(obj, field)
        if (op == "=") != (cur == val):
            return False
    return True


# ---------------------------------------------------------------------------
# A JSONPath subset for CRD additionalPrinterColumns
# ---------------------------------------------------------------------------

_JP_TOKEN = re.compile(
    r"\.([A-Za-z0-9_\-]+)"
    r"|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*==\s*[\"']([^\"']*)[\"']\)\]"
    r"|\[(\d+)\]"
    r"|\[[\"']([^\"']+)[\"']\]")


def jsonpath_first(obj, path):
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    cur = [obj]
    pos = 0
    while pos < len(path):
        m = _JP_TOKEN.match(path, pos)
        if not m:
            return None
        pos = m.end()
        nxt = []
        for c in cur:
            if m.group(1) is not None or m.group(5) is not None:
                k = m.group(1) if m.group(1) is not None else m.group(5)
                if isinstance(c, dict) and k in c:
                    nxt.append(c[k])
            elif m.group(2) is not None:
                if isinstance(c, list):
                    for item in c:
                        if str(field_value(item, m.group(2))) == m.group(3):
                            nxt.append(item)
            else:
                i = int(m.group(4))
                if isinstance(c, list) and i < len(c):
                    nxt.append(c[i])
        cur = nxt
    return cur[0] if cur else None


# ---------------------------------------------------------------------------
# Tables (what `kubectl get` prints)
# ---------------------------------------------------------------------------

def _col(name, typ="string", fmt="", desc="", prio=0):
    return {"name": name, "type": typ, "format": fmt,
            "description": desc or name, "priority": prio}


NAME_COL = _col("Name", "string", "name",
                "Name must be unique within a namespace. Is required when "
                "creating resources, although some resources may allow a "
                "client to request the generation of an appropriate name "
                "automatically.")
AGE_COL = _col("Age", "string", "",
               "CreationTimestamp is a timestamp representing the server time "
               "when this object was created.")


def _deploy_cells(o, now):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    want = spec.get("replicas", 1)
    cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    sel = ",".join("%s=%s" % kv for kv in sorted(
        ((spec.get("selector") or {}).get("matchLabels") or {}).items()))
    return ["%d/%d" % (st.get("readyReplicas", 0), want),
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0),
            age_of(o, now), ",".join(c.get("name", "") for c in cs),
            ",".join(c.get("image", "") for c in cs), sel]


PRINTERS = {
    "default": ([_col("Created At", "date", "", "CreationTimestamp is a "
                      "timestamp representing the server time when this "
                      "object was created.")],
                lambda o, now: [(o.get("metadata") or {}).get(
                    "creationTimestamp", "")]),
    "age": ([AGE_COL], lambda o, now: [age_of(o, now)]),
    "namespace": ([_col("Status", desc="The status of the namespace"), AGE_COL],
                  lambda o, now: [(o.get("status") or {}).get("phase", ""),
                                  age_of(o, now)]),
    "deployment": ([_col("Ready", desc="Number of the pod with ready state"),
                    _col("Up-to-date", "integer", desc="Total number of "
                         "non-terminated pods targeted by this deployment "
                         "that have the desired template spec."),
                    _col("Available", "integer", desc="Total number of "
                         "available pods (ready for at least minReadySeconds)"
                         " targeted by this deployment."),
                    AGE_COL,
                    _col("Containers", prio=1, desc="Names of each container "
                         "in the template."),
                    _col("Images", prio=1, desc="Images referenced by each "
                         "container in the template."),
                    _col("Selector", prio=1, desc="Label selector for pods.")],
                   _deploy_cells),
    "secret": ([_col("Type", desc="Used to facilitate programmatic handling "
                     "of secret data."),
                _col("Data", "integer", desc="Data contains the secret data."),
                AGE_COL],
               lambda o, now: [o.get("type", "Opaque"),
                               len(o.get("data") or {}) + len(
                                   o.get("stringData") or {}),
                               age_of(o, now)]),
    "configmap": ([_col("Data", "integer", desc="Data contains the "
                        "configuration data."), AGE_COL],
                  lambda o, now: [len(o.get("data") or {}) + len(
                      o.get("binaryData") or {}), age_of(o, now)]),
    "serviceaccount": ([_col("Secrets", "integer"), AGE_COL],
                       lambda o, now: [len(o.get("secrets") or []),
                                       age_of(o, now)]),
    "service": ([_col("Type"), _col("Cluster-IP"), _col("External-IP"),
                 _col("Port(s)"), AGE_COL,
                 _col("Selector", prio=1)],
                lambda o, now: _service_cells(o, now)),
    "networkpolicy": ([_col("Pod-Selector"), AGE_COL],
                      lambda o, now: [",".join("%s=%s" % kv for kv in sorted(
                          (((o.get("spec") or {}).get("podSelector") or {})
                           .get("matchLabels") or {}).items())) or "<none>",
                          age_of(o, now)]),
}


def _service_cells(o, now):
    spec = o.get("spec") or {}
    ports = ",".join("%s/%s" % (p.get("port", ""), p.get("protocol", "TCP"))
                     for p in spec.get("ports") or []) or "<none>"
    sel = ",".join("%s=%s" % kv for kv in sorted(
        (spec.get("selector") or {}).items())) or "<none>"
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"),
            "<none>", ports, age_of(o, now), sel]


def _crd_cell(col, o, now):
    v = jsonpath_first(o, col.get("jsonPath", ""))
    typ = col.get("type", "string")
    if v is None:
        return None
    if typ == "date":
        ts = parse_time(v)
        return human_duration(now - ts) if ts is not None else "<invalid>"
    if typ == "integer":
        return v if isinstance(v, int) and not isinstance(v, bool) else None
    if typ == "number":
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) \
            else None
    if typ == "boolean":
        return v if isinstance(v, bool) else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def table_columns(res):
    if res.crd is not None:
        cols = res.columns
        if not cols:
            return [NAME_COL, AGE_COL]
        out = [NAME_COL]
        for c in cols:
            out.append(_col(c.get("name", ""), "string" if c.get("type") ==
                            "date" else c.get("type", "string"),
                            c.get("format", ""), c.get("description", ""),
                            int(c.get("priority", 0) or 0)))
        return out
    return [NAME_COL] + PRINTERS[res.printer][0]


def table_cells(res, obj, now):
    name = obj["metadata"]["name"]
    if res.crd is not None:
        if not res.columns:
            return [name, age_of(obj, now)]
        return [name] + [_crd_cell(c, obj, now) for c in res.columns]
    return [name] + PRINTERS[res.printer][1](obj, now)


# ---------------------------------------------------------------------------
# Content negotiation
# ---------------------------------------------------------------------------

def parse_accept(header):
    """[(type, {param: value})] in the client's order (q is ignored)."""
    out = []
    for part in (header or "").split(","):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.split(";")]
        params = {}
        for b in bits[1:]:
            if "=" in b:
                k, v = b.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
        out.append((bits[0].lower(), params))
    return out or [("application/json", {})]


def negotiate(accept, single, watch=False):
    """Pick the response shape for a resource request.

    Returns ('json'|'yaml'|'table'|'partial'|'empty-watch', meta-version) or
    (None, None) when nothing acceptable is offered (406). A watch streams
    single objects: as=PartialObjectMetadata gives metadata events, while
    as=PartialObjectMetadataList makes kube-apiserver end the watch at once
    with an empty 200 ('empty-watch'), as checked against the real one."""
    for mt, p in parse_accept(accept):
        if mt not in ("application/json", "*/*", "application/*",
                      "application/yaml"):
            continue
        as_ = p.get("as")
        if as_ is None:
            return ("yaml" if mt == "application/yaml" else "json"), None
        if mt != "application/json" or p.get("g") != "meta.k8s.io" or \
                p.get("v") not in ("v1", "v1beta1"):
            continue
        if as_ == "Table":
            return "table", p["v"]
        if as_ == "PartialObjectMetadataList" and not single:
            return ("empty-watch" if watch else "partial"), p["v"]
        if as_ == "PartialObjectMetadata" and (single or watch):
            return "partial", p["v"]
    return None, None


def wants_aggregated(accept, server_minor):
    for mt, p in parse_accept(accept):
        if mt == "application/json" and p.get("g") == "apidiscovery.k8s.io" \
                and p.get("as") == "APIGroupDiscoveryList":
            if p.get("v") == "v2":
                return "v2"
            if p.get("v") == "v2beta1" and server_minor < 33:
                return "v2beta1"
        elif mt in ("application/json", "*/*") and "as" not in p:
            return None
    return None


# ---------------------------------------------------------------------------
# Status synthesis (what controllers would have written)
# ---------------------------------------------------------------------------

def synth_crd_status(obj):
    spec = obj.get("spec") or {}
    ts = obj["metadata"].get("creationTimestamp")
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("plural", "")))
    names.setdefault("listKind", str(names.get("kind", "")) + "List")
    conds = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found", "lastTransitionTime": ts},
        {"type": "Established", "status": "True",
         "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted",
         "lastTransitionTime": ts},
    ]
    if obj["metadata"].get("deletionTimestamp"):
        conds.append({"type": "Terminating", "status": "True",
                      "reason": "InstanceDeletionInProgress",
                      "message": "CustomResource deletion is in progress",
                      "lastTransitionTime": obj["metadata"]["deletionTimestamp"]})
        fin = obj["metadata"].setdefault("finalizers", [])
        if "customresourcecleanup.apiextensions.k8s.io" not in fin:
            fin.append("customresourcecleanup.apiextensions.k8s.io")
    stored = [v.get("name") for v in spec.get("versions") or []
              if v.get("storage")]
    obj["status"] = {"acceptedNames": names, "conditions": conds,
                     "storedVersions": stored}


def synth_deployment_status(obj, mode):
    md, spec = obj["metadata"], obj.setdefault("spec", {})
    name = md["name"]
    ts = md.get("creationTimestamp")
    if mode == "zero-replicas":
        spec["replicas"] = 0
    replicas = spec.get("replicas", 1)
    gen = md.setdefault("generation", 1)
    rs = '%s-%s' % (name, hashlib.sha256(name.encode()).hexdigest()[:10])

    def cond(t, s, reason, msg):
        return {"type": t, "status": s, "lastUpdateTime": ts,
                "lastTransitionTime": ts, "reason": reason, "message": msg}

    avail = cond("Available", "True", "MinimumReplicasAvailable",
                 "Deployment has minimum availability.")
    unavail = cond("Available", "False", "MinimumReplicasUnavailable",
                   "Deployment does not have minimum availability.")
    progressed = cond("Progressing", "True", "NewReplicaSetAvailable",
                      'ReplicaSet "%s" has successfully progressed.' % rs)
    progressing = cond("Progressing", "True", "ReplicaSetUpdated",
                       'ReplicaSet "%s" is progressing.' % rs)
    st = {"observedGeneration": gen}
    if mode in (None, "available") or replicas == 0:
        if replicas:
            st.update(replicas=replicas, updatedReplicas=replicas,
                      readyReplicas=replicas, availableReplicas=replicas)
        st["conditions"] = [avail, progressed]
    elif mode == "unavailable":
        st.update(replicas=replicas, updatedReplicas=replicas,
                  unavailableReplicas=replicas)
        st["conditions"] = [progressing, unavail]
    elif mode == "progress-deadline-exceeded":
        st.update(replicas=replicas, updatedReplicas=replicas,
                  unavailableReplicas=replicas)
        st["conditions"] = [unavail, cond(
            "Progressing", "False", "ProgressDeadlineExceeded",
            'ReplicaSet "%s" has timed out progressing.' % rs)]
    elif mode == "rolling":
        if gen < 2:
            gen = md["generation"] = 2
        st.update(observedGeneration=gen - 1, replicas=replicas,
                  updatedReplicas=0, readyReplicas=replicas,
                  availableReplicas=replicas)
        st["conditions"] = [avail, progressed]
    else:
        raise KubesimError("deploymentStatus: unknown mode %r for %s (use "
                           "available, unavailable, progress-deadline-exceeded,"
                           " zero-replicas or rolling)" % (mode, name))
    obj["status"] = st


def synth_namespace_status(obj, contents):
    """contents: [(resource.group, finalizers)] of objects in the namespace."""
    md = obj["metadata"]
    if not md.get("deletionTimestamp"):
        obj["status"] = {"phase": "Active"}
        return
    ts = md["deletionTimestamp"]
    remaining, fins = {}, {}
    for rg, finalizers in contents:
        remaining[rg] = remaining.get(rg, 0) + 1
        for f in finalizers or []:
            fins[f] = fins.get(f, 0) + 1

    def cond(t, s, reason, msg):
        return {"type": t, "status": s, "lastTransitionTime": ts,
                "reason": reason, "message": msg}

    conds = [
        cond("NamespaceDeletionDiscoveryFailure", "False",
             "ResourcesDiscovered", "All resources successfully discovered"),
        cond("NamespaceDeletionGroupVersionParsingFailure", "False",
             "ParsedGroupVersions", "All legacy kube types successfully parsed"),
        cond("NamespaceDeletionContentFailure", "False", "ContentDeleted",
             "All content successfully deleted, may be waiting on finalization"),
    ]
    if remaining:
        conds.append(cond("NamespaceContentRemaining", "True",
                          "SomeResourcesRemain",
                          "Some resources are remaining: " + ", ".join(sorted(
                              "%s has %d resource instances" % (rg, n)
                              for rg, n in remaining.items()))))
    else:
        conds.append(cond("NamespaceContentRemaining", "False",
                          "ContentRemoved", "All content successfully removed"))
    if fins:
        conds.append(cond("NamespaceFinalizersRemaining", "True",
                          "SomeFinalizersRemain",
                          "Some content in the namespace has finalizers "
                          "remaining: " + ", ".join(sorted(
                              "%s in %d resource instances" % (f, n)
                              for f, n in fins.items()))))
    else:
        conds.append(cond("NamespaceFinalizersRemaining", "False",
                          "ContentHasNoFinalizers",
                          "All content-preserving finalizers finished"))
    obj["status"] = {"phase": "Terminating", "conditions": conds}


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------

class Store:
    """Objects keyed by (group, kind, namespace, name), a resourceVersion
    counter, the watch event log and the resource registry built from the
    built-ins and the CRDs present."""

    EVENT_LOG = 20000
    FIRST_RV = 1000

    def __init__(self, config, start_time):
        self.config = config
        self.start_time = start_time
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects = {}
        self.synth = set()    # keys whose status kubesim synthesizes
        self.rv = self.FIRST_RV
        self.events = deque(maxlen=self.EVENT_LOG)
        self.index = {}       # (group, kind) -> KindIndex: what a list reads
        self.ns_keys = {}     # namespace -> {key} of the objects in it
        self.snapshots = {}   # (list RV, group, kind) -> frozen KindIndex, for continue
        self.snapshot_order = deque()
        self.resources = {}   # (group, version, plural) -> Resource
        self.by_kind = {}     # (group, kind) -> [Resource]
        self.synth_crds = set()  # CRDs whose status kubesim synthesizes
        self.rebuild_registry()

    # -- registry
    def rebuild_registry(self):
        res, by_kind = {}, {}
        for r in BUILTINS:
            res[(r.group, r.version, r.plural)] = r
            by_kind.setdefault((r.group, r.kind), []).append(r)
        crds = self.index.get(("apiextensions.k8s.io", "CustomResourceDefinition"))
        for _key, crd in (crds.items(0, len(crds.keys)) if crds else ()):
            for r in crd_resources(crd):
                res[(r.group, r.version, r.plural)] = r
                by_kind.setdefault((r.group, r.kind), []).append(r)
        self.resources, self.by_kind = res, by_kind

    def groups(self):
        """{group: [versions sorted by priority]}"""
        out = {}
        for (g, v, _), _r in self.resources.items():
            out.setdefault(g, set()).add(v)
        return {g: sort_versions(vs) for g, vs in out.items()}

    def resource_for(self, obj):
        g, _ = split_api_version(obj.get("apiVersion", ""))
        rs = self.by_kind.get((g, obj.get("kind")))
        return rs[0] if rs else None

    # -- normalisation
    def next_rv(self):
        self.rv += 1
        return self.rv

    def normalise(self, obj, origin, initial, old=None):
        obj = clone(obj)
        md = obj.setdefault("metadata", {})
        res = self.resource_for(obj)
        if res is None:
            raise KubesimError(
                "%s: %s (apiVersion %s) is neither a built-in kind nor "
                "served by a CustomResourceDefinition in the state"
                % (origin, obj.get("kind"), obj.get("apiVersion")))
        if res.namespaced:
            md.setdefault("namespace", "default")
        else:
            md.pop("namespace", None)
        key = obj_key(obj)
        if "uid" not in md:
            md["uid"] = (old or {}).get("metadata", {}).get("uid") or (
                str(uuid.uuid5(uuid.NAMESPACE_URL, "kubesim:" + "/".join(key)))
                if initial else str(uuid.uuid4()))
        if "creationTimestamp" not in md:
            md["creationTimestamp"] = (old or {}).get("metadata", {}).get(
                "creationTimestamp") or rfc3339(
                    self.start_time - 3600 if initial else time.time())
        if "generation" not in md and has_generation(res):
            g = (old or {}).get("metadata", {}).get("generation", 0) or 0
            if old is not None and old.get("spec") != obj.get("spec"):
                g += 1
            md["generation"] = g or 1
        if obj.get("kind") == "Namespace" and not obj.get("apiVersion", "v1") \
                .count("/"):
            md.setdefault("labels", {})
            md["labels"] = dict(md["labels"] or {})
            md["labels"]["kubernetes.io/metadata.name"] = md["name"]
            spec = obj.setdefault("spec", {})
            if spec is not None and "finalizers" not in spec:
                spec["finalizers"] = ["kubernetes"]
        return key, obj

    # -- mutations (caller holds the lock)
    def _emit(self, etype, key, obj, old):
        self.events.append((self.rv, etype, key, obj, old))
        self.changed.notify_all()

    def _writable_index(self, gk):
        """The index of kind gk, copied first if a paged list still reads it."""
        idx = self.index.get(gk)
        if idx is None:
            idx = self.index[gk] = KindIndex()
        elif idx.frozen:
            idx = self.index[gk] = idx.copy()
        return idx

    def put(self, key, obj, synth, record=True):
        old = self.objects.get(key)
        obj["metadata"]["resourceVersion"] = str(self.next_rv())
        self.objects[key] = obj
        self._writable_index(key[:2]).put(key, obj)
        if key[2]:
            self.ns_keys.setdefault(key[2], set()).add(key)
        if synth:
            self.synth.add(key)
        else:
            self.synth.discard(key)
        if record:
            self._emit("MODIFIED" if old is not None else "ADDED", key, obj, old)
        return old

    def remove(self, key, record=True):
        old = self.objects.pop(key, None)
        self.synth.discard(key)
        if old is not None:
            self._writable_index(key[:2]).remove(key)
            if key[2]:
                self.ns_keys.get(key[2], set()).discard(key)
        if old is not None and record:
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self.next_rv())
            self._emit("DELETED", key, gone, old)
        return old

    # -- deletion, as the registry, the namespace controller and the CRD
    #    finalizer do it (caller holds the lock)
    def delete_object(self, key, when):
        """DELETE: gone at once without finalizers, else deletionTimestamp
        set and kept until the last finalizer is removed. True if gone."""
        o = self.objects.get(key)
        if o is None:
            return True
        fins = o["metadata"].get("finalizers") or []
        if key[:2] == ("", "Namespace"):
            fins = fins or ["kubernetes"]  # spec.finalizers: the namespace controller's
        if key[:2] == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            fins = list(fins) + ["customresourcecleanup.apiextensions.k8s.io"]
        if not fins:
            self.remove(key)
            return True
        if o["metadata"].get("deletionTimestamp"):
            return False  # deleting again changes nothing
        new = copy.deepcopy(o)
        new["metadata"]["deletionTimestamp"] = rfc3339(when)
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        if key[:2] == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            if "customresourcecleanup.apiextensions.k8s.io" not in \
                    new["metadata"].setdefault("finalizers", []):
                new["metadata"]["finalizers"].append(
                    "customresourcecleanup.apiextensions.k8s.io")
            if new.get("status") is not None and key in self.synth_crds:
                synth_crd_status(new)
        self.put(key, new, key in self.synth)
        return False

    def finish_deletions(self, when):
        """What kube-controller-manager's namespace controller and the
        apiextensions CRD finalizer do, run to a fixed point: the content of
        a deleted namespace or CRD is deleted; a deleting namespace or CRD
        goes once nothing is left; an object whose last finalizer is gone
        goes too."""
        changed = True
        while changed:
            changed = False
            for key in sorted(self.objects):
                o = self.objects.get(key)
                if o is None or not o["metadata"].get("deletionTimestamp"):
                    continue
                if key[:2] == ("", "Namespace"):
                    inside = sorted(self.ns_keys.get(key[3], ()))
                    for k in inside:
                        if not self.objects[k]["metadata"].get("deletionTimestamp"):
                            self.delete_object(k, when)
                            changed = True
                    if not self.ns_keys.get(key[3]):
                        self.remove(key)
                        changed = True
                elif key[:2] == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                    spec = o.get("spec") or {}
                    kind = (spec.get("names") or {}).get("kind")
                    idx = self.index.get((spec.get("group"), kind))
                    mine = [k for k, _ in idx.items(0, len(idx.keys))] if idx else []
                    for k in mine:
                        if not self.objects[k]["metadata"].get("deletionTimestamp"):
                            self.delete_object(k, when)
                            changed = True
                    idx = self.index.get((spec.get("group"), kind))
                    if not (idx and idx.keys):
                        self.remove(key)
                        self.rebuild_registry()
                        changed = True
                elif not o["metadata"].get("finalizers"):
                    self.remove(key)
                    changed = True

    def namespace_contents(self, ns):
        """[(resource.group, finalizers)] of what lives in namespace ns."""
        out = []
        for key in self.ns_keys.get(ns, ()):
            o = self.objects[key]
            r = self.resource_for(o)
            if r is not None:
                out.append((r.plural + "." + r.group,
                            o["metadata"].get("finalizers")))
        return out

    def resynthesize(self, record=True):
        """Recompute synthesized statuses that depend on other objects
        (namespace content, CRD registry). Only a terminating namespace's
        status depends on its content: the others cost nothing to redo."""
        self.rebuild_registry()
        for key in sorted(self.synth):
            o = self.objects.get(key)
            if o is None or key[:2] != ("", "Namespace"):
                continue
            new = copy.deepcopy(o)
            synth_namespace_status(new, self.namespace_contents(key[3])
                                   if o["metadata"].get("deletionTimestamp") else [])
            if new.get("status") != o.get("status"):
                self.put(key, new, True, record)

    def snapshot(self, rv, gk):
        """Keep kind gk as it is at rv for the continue pages of a list:
        the index is frozen, and the next write to the kind copies it."""
        idx = self.index.get(gk)
        if idx is None:
            return
        idx.frozen = True
        self.snapshots[(rv,) + gk] = idx
        self.snapshot_order.append((rv,) + gk)
        while len(self.snapshot_order) > 1024:
            self.snapshots.pop(self.snapshot_order.popleft(), None)


class KindIndex:
    """The objects of one (group, kind) in list order: ascending "ns/name"
    (the apiserver's etcd key order), kept sorted as objects come and go,
    so a list page is a bisection and a slice, whatever the store holds."""

    __slots__ = ("keys", "objs", "frozen")

    def __init__(self, keys=None, objs=None):
        self.keys = keys if keys is not None else []   # sorted seek keys
        self.objs = objs if objs is not None else {}   # seek key -> (key, obj)
        self.frozen = False

    def copy(self):
        return KindIndex(list(self.keys), dict(self.objs))

    def put(self, key, obj):
        seek = _seek_key(key)
        if seek not in self.objs:
            bisect.insort(self.keys, seek)
        self.objs[seek] = (key, obj)

    def remove(self, key):
        seek = _seek_key(key)
        if self.objs.pop(seek, None) is not None:
            del self.keys[bisect.bisect_left(self.keys, seek)]

    def span(self, ns, start):
        """[lo, hi) of the keys in namespace ns (None: all) from start on."""
        lo, hi = 0, len(self.keys)
        if ns is not None:
            lo = bisect.bisect_left(self.keys, ns + "/")
            hi = bisect.bisect_left(self.keys, ns + "0")  # "0" follows "/"
        if start:
            lo = max(lo, bisect.bisect_left(self.keys, start))
        return lo, max(lo, hi)

    def items(self, lo, hi):
        return [self.objs[k] for k in self.keys[lo:hi]]


EMPTY_INDEX = KindIndex()


GENERATION_GROUPS = {"apps", "batch", "networking.k8s.io", "policy",
                     "apiextensions.k8s.io", "admissionregistration.k8s.io",
                     "scheduling.k8s.io"}


def has_generation(res):
    """Kinds whose registry strategy maintains metadata.generation (custom
    resources always; Namespace, Secret, RBAC ... never)."""
    return res.crd is not None or res.group in GENERATION_GROUPS


def crd_resources(crd):
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    kind, plural = names.get("kind"), names.get("plural")
    if not (isinstance(group, str) and group and isinstance(kind, str) and kind
            and isinstance(plural, str) and plural):
        raise KubesimError("CustomResourceDefinition %s: spec.group, "
                           "spec.names.kind and spec.names.plural are required"
                           % crd["metadata"]["name"])
    if crd["metadata"]["name"] != plural + "." + group:
        raise KubesimError("CustomResourceDefinition %s: metadata.name must be "
                           "spec.names.plural + \".\" + spec.group (%s.%s)"
                           % (crd["metadata"]["name"], plural, group))
    out = []
    versions = spec.get("versions") or []
    if not versions and spec.get("version"):
        versions = [{"name": spec["version"], "served": True, "storage": True}]
    for v in versions:
        if not v.get("served", False):
            continue
        subs = []
        sr = v.get("subresources") or spec.get("subresources") or {}
        if "status" in sr:
            subs.append("status")
        if "scale" in sr:
            subs.append("scale")
        cols = v.get("additionalPrinterColumns")
        if cols is None:
            cols = [{"name": c.get("name"), "type": c.get("type"),
                     "jsonPath": c.get("JSONPath")}
                    for c in spec.get("additionalPrinterColumns") or []]
        out.append(Resource(group, v.get("name"), kind, plural,
                            names.get("singular") or kind.lower(),
                            spec.get("scope", "Namespaced") == "Namespaced",
                            names.get("shortNames") or (),
                            names.get("categories") or (), subs, crd=crd,
                            columns=cols, list_kind=names.get("listKind")))
    return out


# ---------------------------------------------------------------------------
# Scenario and config
# ---------------------------------------------------------------------------

def resolve_path(p, base):
    """A state entry: a file name (relative to `base`), or a mapping
    `{generate: {release, installer, ...}}` that tests/fluxgen writes."""
    if isinstance(p, dict) and set(p) == {"generate"}:
        return ("generate", p["generate"])
    if not isinstance(p, str) or not p:
        raise KubesimError("state entry must be a file name or {generate: {...}}, "
                           "got %r" % (p,))
    return p if os.path.isabs(p) else os.path.join(base, p)


def generated_objects(spec):
    """The objects tests/fluxgen/fluxgen.py generates for a `generate:` entry."""
    here = os.path.dirname(os.path.abspath(__file__))
    gen_dir = os.path.join(here, "..", "fluxgen")
    if gen_dir not in sys.path:
        sys.path.insert(0, gen_dir)
    import fluxgen
    try:
        return fluxgen.generate_spec(spec)
    except fluxgen.FluxgenError as e:
        raise KubesimError("state: %s" % e)


def load_config_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            c = yaml.load(f, Loader=_YamlLoader)
    except OSError as e:
        raise KubesimError("cannot read config %s: %s" % (path, e.strerror))
    except yaml.YAMLError as e:
        raise KubesimError("%s: invalid YAML: %s" % (path, e))
    if c is None:
        return {}
    if not isinstance(c, dict):
        raise KubesimError("%s: config must be a mapping" % path)
    return c


CONFIG_KEYS = {
    "serverVersion", "serverName", "users", "kubeconfigUser", "anonymous",
    "deny", "faults", "remove", "patches", "deploymentStatus",
    "synthesizeStatus", "maxPageSize", "aggregatedDiscovery",
    "defaultNamespaces", "watchTimeoutSeconds", "description", "serverSANs",
}


def load_scenario(dirpath):
    path = os.path.join(dirpath, "scenario.yaml")
    sc = load_config_file(path)
    states = sc.get("state") or []
    if not isinstance(states, list):
        raise KubesimError("%s: state must be a list of files" % path)
    files = [resolve_path(s, dirpath) for s in states]
    cfg = sc.get("config") or {}
    if isinstance(cfg, str):
        cfg = load_config_file(resolve_path(cfg, dirpath))
    if not isinstance(cfg, dict):
        raise KubesimError("%s: config must be a mapping or a file name" % path)
    return files, cfg


FAULT_KEYS = {"method", "path", "query", "nth", "times", "status", "body",
              "contentType", "message", "retryAfter", "delayMs", "reset",
              "truncate", "malformed", "oversized", "redirect", "expired",
              "endsList"}
DENY_KEYS = {"user", "userGroup", "verbs", "group", "resource", "namespace",
             "name", "path"}
USER_KEYS = {"name", "token", "password", "username", "groups", "clientCert"}
REF_KEYS = {"kind", "name", "namespace", "apiVersion", "group"}


def validate_config(cfg):
    unknown = set(cfg) - CONFIG_KEYS
    if unknown:
        raise KubesimError("config: unknown key(s): %s (known: %s)" % (
            ", ".join(sorted(unknown)), ", ".join(sorted(CONFIG_KEYS))))
    sv = str(cfg.get("serverVersion", DEFAULT_SERVER_VERSION))
    if not re.match(r"^v\d+\.\d+\.\d+", sv):
        raise KubesimError("config: serverVersion %r is not like v1.29.1" % sv)
    for k in ("deny", "faults", "remove", "patches", "users"):
        if k in cfg and not isinstance(cfg[k], list):
            raise KubesimError("config: %s must be a list" % k)
    known = {
        "faults": FAULT_KEYS, "deny": DENY_KEYS, "users": USER_KEYS,
        "remove": REF_KEYS, "patches": REF_KEYS | {"patch"},
    }
    for k, keys in known.items():
        for i, entry in enumerate(cfg.get(k) or []):
            if not isinstance(entry, dict):
                raise KubesimError("config: %s[%d] must be a mapping" % (k, i))
            bad = set(entry) - keys
            if bad:
                raise KubesimError("config: %s[%d]: unknown key(s) %s (known: %s)"
                                   % (k, i, ", ".join(sorted(bad)),
                                      ", ".join(sorted(keys))))
    for i, f in enumerate(cfg.get("faults") or []):
        if not isinstance(f, dict) or "path" not in f:
            raise KubesimError("config: faults[%d] needs at least a path regex" % i)
        try:
            re.compile(f["path"])
            re.compile(f.get("query", ""))
        except re.error as e:
            raise KubesimError("config: faults[%d]: bad regex: %s" % (i, e))
    for i, d in enumerate(cfg.get("deny") or []):
        if not isinstance(d, dict) or not ("resource" in d or "path" in d):
            raise KubesimError("config: deny[%d] needs resource (or path)" % i)
    sans = cfg.get("serverSANs")
    if sans is not None and (not isinstance(sans, list) or not sans or not all(
            isinstance(x, str) and re.fullmatch(r"[A-Za-z0-9.:*-]+", x)
            for x in sans)):
        raise KubesimError("config: serverSANs must be a non-empty list of "
                           "IP addresses and DNS names")
    ds = cfg.get("deploymentStatus") or {}
    if not isinstance(ds, dict):
        raise KubesimError("config: deploymentStatus must map ns/name to a mode")
    for k in ds:
        if "/" not in k:
            raise KubesimError("config: deploymentStatus key %r must be "
                               "NAMESPACE/NAME" % k)
    users = cfg.get("users")
    if users is not None:
        names = set()
        for i, u in enumerate(users):
            if not isinstance(u, dict) or not u.get("name"):
                raise KubesimError("config: users[%d] needs a name" % i)
            if u["name"] in names:
                raise KubesimError("config: duplicate user %s" % u["name"])
            names.add(u["name"])
        ku = cfg.get("kubeconfigUser")
        if ku is not None and ku not in names:
            raise KubesimError("config: kubeconfigUser %s is not in users" % ku)


ANONYMOUS = {"name": "system:anonymous", "groups": ["system:unauthenticated"]}
# what ClusterRole system:public-info-viewer grants everyone
PUBLIC_PATHS = ("/version", "/version/", "/healthz", "/livez", "/readyz")


def default_users():
    return [
        {"name": "admin", "token": "kubesim-" + secrets.token_hex(16),
         "groups": ["system:masters"]},
        {"name": "cert-admin", "clientCert": True,
         "groups": ["system:masters"]},
    ]


def _ref_matches(ref, key):
    g, kind, ns, name = key
    if ref.get("kind") != kind:
        return False
    if ref.get("name") is not None and ref.get("name") != name:
        return False
    if (ref.get("namespace") or "") != ns and ref.get("namespace") != "*":
        return False
    if "apiVersion" in ref and split_api_version(ref["apiVersion"])[0] != g:
        return False
    if "group" in ref and ref["group"] != g:
        return False
    return True


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

OPENSSL_CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = %s
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
"""


def _openssl(args):
    try:
        p = subprocess.run(["openssl"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    except FileNotFoundError:
        raise KubesimError("the openssl command is needed to generate "
                           "certificates")
    if p.returncode != 0:
        raise KubesimError("openssl %s failed: %s" % (
            args[0], p.stderr.decode(errors="replace").strip()[:400]))


def _subj_escape(s):
    return re.sub(r"([/+=,\\])", r"\\\1", s)


class CertFactory:
    """Throwaway CA, server and client certificates (EC P-256)."""

    def __init__(self, directory, server_name, sans=None):
        self.dir = directory
        if sans is None:
            sans = ["127.0.0.1", "::1", "localhost"] + (
                [server_name] if server_name else [])
        parts = []
        for n in sans:
            try:
                ipaddress.ip_address(n)
                parts.append("IP:" + n)
            except ValueError:
                parts.append("DNS:" + n)
        sans = ",".join(parts)
        self.cnf = os.path.join(directory, "openssl.cnf")
        with open(self.cnf, "w") as f:
            f.write(OPENSSL_CNF % sans)
        self.ca_crt = os.path.join(directory, "ca.crt")
        self.ca_key = os.path.join(directory, "ca.key")
        self._req("ca", "/CN=kubesim-ca", self.ca_key, self.ca_crt, ca=False)
        self.server_crt = os.path.join(directory, "server.crt")
        self.server_key = os.path.join(directory, "server.key")
        self._req("server", "/CN=kubesim", self.server_key, self.server_crt)

    def _req(self, ext, subj, key, crt, ca=True):
        args = ["req", "-x509", "-config", self.cnf, "-extensions", ext,
                "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", crt, "-subj", subj,
                "-days", "7", "-utf8"]
        if ca:
            args += ["-CA", self.ca_crt, "-CAkey", self.ca_key]
        _openssl(args)
        os.chmod(key, 0o600)

    def client(self, user, groups):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", user)
        crt = os.path.join(self.dir, "client-%s.crt" % safe)
        key = os.path.join(self.dir, "client-%s.key" % safe)
        subj = "".join("/O=" + _subj_escape(g) for g in groups) + \
            "/CN=" + _subj_escape(user)
        self._req("client", subj, key, crt)
        return crt, key


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------

class Simulator:
    """Loads state and config, owns the store, certificates and server."""

    def __init__(self, state_files=(), config=None, scenario=None,
                 listen="127.0.0.1:0", plain_http=False, log_path=None,
                 cert_dir=None):
        self.start_time = time.time()
        files, cfg = [], {}
        if scenario:
            files, cfg = load_scenario(scenario)
        files = files + [resolve_path(s, os.getcwd()) for s in state_files]
        cfg = dict(cfg)
        cfg.update(config or {})
        validate_config(cfg)
        self.cfg = cfg
        self.state_files = files
        self.server_version = str(cfg.get("serverVersion",
                                          DEFAULT_SERVER_VERSION))
        self.server_minor = int(self.server_version[1:].split(".")[1])
        self.users = cfg.get("users")
        if self.users is None:
            self.users = default_users()
        self.users = [dict(u) for u in self.users]
        for u in self.users:
            u["groups"] = list(u.get("groups") or [])
        self.kubeconfig_user = cfg.get("kubeconfigUser") or self.users[0]["name"] \
            if self.users else None
        self.faults = [dict(f, _count=0) for f in cfg.get("faults") or []]
        self.fault_lock = threading.Lock()
        self.plain_http = plain_http
        self.listen = listen
        self.log_path = log_path
        self.log_lock = threading.Lock()
        self.log_file = None
        self.initial = self._load_initial(files)
        self.store = Store(cfg, self.start_time)
        with self.store.lock:
            self._install(self.initial, record=False)
        for k in (cfg.get("deploymentStatus") or {}):
            ns_, _, name = k.partition("/")
            if ("apps", "Deployment", ns_, name) not in self.store.objects:
                raise KubesimError("config: deploymentStatus: no Deployment "
                                   "%s in the state" % k)
        self.tmp = None
        self.cert_dir = cert_dir
        self.certs = None
        self.httpd = None
        self.port = None

    # -- state
    def _load_initial(self, files):
        """Parse every state file into [(key, obj, synth)] with config applied
        (remove, patches, status synthesis); validates kinds."""
        objs = {}
        for path in files:
            if isinstance(path, tuple):  # ("generate", spec)
                origin = "generate %s" % json.dumps(path[1], sort_keys=True)
                loaded = load_yaml_docs(json.dumps(
                    {"kind": "List", "items": generated_objects(path[1])}), origin)
            else:
                origin, loaded = path, load_manifest_file(path)
            for o in loaded:
                objs[obj_key(o)] = (o, origin)
        for ref in self.cfg.get("remove") or []:
            if not isinstance(ref, dict):
                raise KubesimError("config: remove entries are {kind, "
                                   "namespace, name} mappings")
            hit = [k for k in objs if _ref_matches(ref, k)]
            if not hit:
                raise KubesimError("config: remove: no object matches %s"
                                   % json.dumps(ref))
            for k in hit:
                del objs[k]
        for p in self.cfg.get("patches") or []:
            if not isinstance(p, dict) or not isinstance(p.get("patch"), dict):
                raise KubesimError("config: patches entries need kind, name "
                                   "and a patch mapping")
            hit = [k for k in objs if _ref_matches(p, k)]
            if not hit:
                raise KubesimError("config: patches: no object matches %s"
                                   % json.dumps({k: v for k, v in p.items()
                                                 if k != "patch"}))
            for k in hit:
                o, origin = objs.pop(k)
                o = merge_patch(o, p["patch"])
                objs[obj_key(o)] = (o, origin)
        if self.cfg.get("defaultNamespaces", True):
            for ns in ("default", "kube-system", "kube-public",
                       "kube-node-lease"):
                k = ("", "Namespace", "", ns)
                if k not in objs:
                    objs[k] = ({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": ns}}, "(built-in)")
        return list(objs.values())

    def _synth_switch(self, what):
        s = self.cfg.get("synthesizeStatus", True)
        if isinstance(s, dict):
            return bool(s.get(what, True))
        return bool(s)

    def _install(self, objs, record, initial=True):
        """Normalise, synthesize and put objects (caller holds the lock)."""
        st = self.store
        # CRDs first so their kinds are known.
        crds = [x for x in objs if x[0].get("kind") == "CustomResourceDefinition"]
        rest = [x for x in objs if x[0].get("kind") != "CustomResourceDefinition"]
        for o, origin in crds + rest:
            if o.get("kind") == "CustomResourceDefinition":
                try:
                    crd_resources(o)
                except KubesimError as e:
                    raise KubesimError("%s: %s" % (origin, e))
            key = obj_key(o)
            old = st.objects.get(key)
            key, obj = st.normalise(o, origin, initial, old)
            synth = self._synthesize(key, obj)
            st.put(key, obj, synth, record)
            if key[:2] == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                st.rebuild_registry()
        # every namespaced object must live in an existing namespace
        for o, origin in objs:
            key = obj_key(o)
            if key[2] and key in st.objects and \
                    ("", "Namespace", "", key[2]) not in st.objects:
                raise KubesimError("%s: %s is in namespace %s, which is not "
                                   "in the state" % (origin, describe_key(key),
                                                     key[2]))
        st.resynthesize(record)

    def _synthesize(self, key, obj):
        """Fill status like a controller would; False if the manifest's
        status wins."""
        if has_content(obj.get("status")):
            return False
        kind = key[:2]
        if kind == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            if self._synth_switch("crds"):
                synth_crd_status(obj)
                self.store.synth_crds.add(key)
                return False
        elif kind == ("apps", "Deployment"):
            if self._synth_switch("deployments"):
                mode = (self.cfg.get("deploymentStatus") or {}).get(
                    "%s/%s" % (key[2], key[3]))
                synth_deployment_status(obj, mode)
                return False
        elif kind == ("", "Namespace"):
            if self._synth_switch("namespaces"):
                synth_namespace_status(obj, self.store.namespace_contents(key[3]))
                return True
        return False

    def apply(self, objs):
        with self.store.lock:
            self._install([(o, "apply") for o in objs], True, initial=False)
        return len(objs)

    def delete(self, refs):
        n = 0
        with self.store.lock:
            for ref in refs:
                if "metadata" in ref:
                    ref = {"apiVersion": ref.get("apiVersion", ""),
                           "kind": ref.get("kind"),
                           "namespace": ref["metadata"].get("namespace"),
                           "name": ref["metadata"].get("name")}
                for key in [k for k in self.store.objects if _ref_matches(ref, k)]:
                    self.store.remove(key)
                    n += 1
            self.store.resynthesize(True)
        return n

    def reset(self):
        with self.store.lock:
            fresh = Store(self.cfg, self.start_time)
            saved = self.store
            # build the initial state in a scratch store, then diff
            self.store = fresh
            try:
                self._install(self.initial, record=False)
            finally:
                self.store = saved
            st = self.store
            for key in list(st.objects):
                if key not in fresh.objects:
                    st.remove(key)
            for key, o in fresh.objects.items():
                cur = st.objects.get(key)
                strip = (lambda x: {k: v for k, v in x.items() if k != "metadata"})
                if cur is None or strip(cur) != strip(o) or \
                        {k: v for k, v in cur["metadata"].items()
                         if k != "resourceVersion"} != \
                        {k: v for k, v in o["metadata"].items()
                         if k != "resourceVersion"}:
                    st.put(key, copy.deepcopy(o), key in fresh.synth)
            st.rebuild_registry()

    # -- certificates and kubeconfig
    def setup_tls(self):
        if self.cert_dir:
            os.makedirs(self.cert_dir, exist_ok=True)
            d = self.cert_dir
        else:
            d = self.tmp = tempfile.mkdtemp(prefix="kubesim-")
        self.certs = CertFactory(d, str(self.cfg.get("serverName",
                                                     DEFAULT_SERVER_NAME)),
                                 self.cfg.get("serverSANs"))
        for u in self.users:
            if u.get("clientCert"):
                u["_crt"], u["_key"] = self.certs.client(u["name"], u["groups"])

    def kubeconfig(self):
        scheme = "http" if self.plain_http else "https"
        host = self.bound_host()
        server = "%s://%s:%d" % (scheme, host, self.port)
        cluster = {"server": server}
        if not self.plain_http:
            cluster["certificate-authority-data"] = base64.b64encode(
                _read(self.certs.ca_crt)).decode()
        users, contexts = [], []
        for u in self.users:
            cred = {}
            if u.get("token"):
                cred["token"] = u["token"]
            elif u.get("password") is not None:
                cred["username"] = u.get("username", u["name"])
                cred["password"] = u["password"]
            if u.get("_crt"):
                cred["client-certificate-data"] = base64.b64encode(
                    _read(u["_crt"])).decode()
                cred["client-key-data"] = base64.b64encode(
                    _read(u["_key"])).decode()
            users.append({"name": u["name"], "user": cred})
            contexts.append({"name": "kubesim-" + u["name"], "context": {
                "cluster": "kubesim", "user": u["name"]}})
        if self.kubeconfig_user:
            contexts.insert(0, {"name": "kubesim", "context": {
                "cluster": "kubesim", "user": self.kubeconfig_user}})
        return {"apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "kubesim", "cluster": cluster}],
                "users": users, "contexts": contexts,
                "current-context": "kubesim" if self.kubeconfig_user else "",
                "preferences": {}}

    def write_kubeconfig(self, path):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            yaml.safe_dump(self.kubeconfig(), f, default_flow_style=False,
                           sort_keys=False)
        os.replace(tmp, path)

    def bound_host(self):
        host = self.httpd.server_address[0]
        return "[%s]" % host if ":" in host else host

    @property
    def url(self):
        return "%s://%s:%d" % ("http" if self.plain_http else "https",
                               self.bound_host(), self.port)

    # -- serving
    def start(self):
        """Bind and serve in a background thread; returns the URL."""
        if not self.plain_http and self.certs is None:
            self.setup_tls()
        host, _, port = self.listen.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        try:
            port = int(port)
        except ValueError:
            raise KubesimError("--listen wants HOST:PORT, got %r" % self.listen)
        if self.log_path:
            self.log_file = open(self.log_path, "a", encoding="utf-8")
        self.httpd = Server((host, port), self)
        self.port = self.httpd.server_address[1]
        # shutdown() waits for the next poll: a short interval makes SIGTERM
        # end the process in about 0.1 s (test suites stop hundreds).
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self.url

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        with self.store.lock:
            self.store.changed.notify_all()
        if self.log_file:
            with self.log_lock:
                self.log_file.close()
                self.log_file = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def log(self, entry):
        if not self.log_file:
            return
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.log_lock:
            if self.log_file:
                self.log_file.write(line)
                self.log_file.flush()

    # -- authentication
    def authenticate(self, headers, peer_cn, peer_groups):
        """(user dict | None, error | None)"""
        if peer_cn is not None:
            return {"name": peer_cn, "groups": peer_groups + [
                "system:authenticated"]}, None
        auth = headers.get("Authorization")
        if not auth:
            return None, None
        scheme, _, cred = auth.partition(" ")
        cred = cred.strip()
        if scheme.lower() == "bearer":
            for u in self.users:
                if u.get("token") and secrets.compare_digest(
                        u["token"].encode(), cred.encode()):
                    return {"name": u["name"], "groups": u["groups"] + [
                        "system:authenticated"]}, None
            return None, "invalid bearer token"
        if scheme.lower() == "basic":
            try:
                user, _, pw = base64.b64decode(cred).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, "malformed basic credentials"
            for u in self.users:
                if u.get("password") is not None and \
                        u.get("username", u["name"]) == user and \
                        secrets.compare_digest(str(u["password"]).encode(),
                                               pw.encode()):
                    return {"name": u["name"], "groups": u["groups"] + [
                        "system:authenticated"]}, None
            return None, "invalid basic credentials"
        return None, "unsupported authorization scheme"

    def denied(self, user, attrs):
        """The first deny rule matching the request attributes, or None."""
        if user is ANONYMOUS and attrs["path"] not in PUBLIC_PATHS:
            return {"anonymous": True}
        for rule in self.cfg.get("deny") or []:
            ru = rule.get("user", "*")
            if ru != "*" and ru != user["name"]:
                continue
            if "userGroup" in rule and rule["userGroup"] not in user["groups"]:
                continue
            verbs = rule.get("verbs", ["*"])
            if isinstance(verbs, str):
                verbs = [verbs]
            if "*" not in verbs and attrs["verb"] not in verbs:
                continue
            if "path" in rule:
                if attrs.get("resource") is None and \
                        re.fullmatch(rule["path"], attrs["path"]):
                    return rule
                continue
            if attrs.get("resource") is None:
                continue
            if "group" in rule and rule["group"] not in ("*", attrs["group"]):
                continue
            if rule.get("resource", "*") not in ("*", attrs["resource"]):
                continue
            ns = rule.get("namespace", "*")
            if ns != "*" and ns != attrs["namespace"]:
                continue
            if "name" in rule and rule["name"] != attrs.get("name"):
                continue
            return rule
        return None

    def match_fault(self, method, path, query):
        with self.fault_lock:
            for i, f in enumerate(self.faults):
                if str(f.get("method", "*")).upper() not in ("*", method):
                    continue
                if not re.search(f["path"], path):
                    continue
                if "query" in f and not re.search(f["query"], query):
                    continue
                if (f.get("expired") or f.get("endsList")) and "continue=" not in query:
                    continue
                f["_count"] += 1
                nth = f.get("nth")
                times = f.get("times", 1 if nth else None)
                if nth is not None:
                    if f["_count"] < nth:
                        continue
                    if times is not None and f["_count"] >= nth + times:
                        continue
                elif times is not None and f["_count"] > times:
                    continue
                return i, f
        return None, None


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # clients open many connections at once
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, sim):
        self.sim = sim
        self.address_family = socket.AF_INET6 if ":" in addr[0] else \
            socket.AF_INET
        self.ssl_ctx = None
        if not sim.plain_http:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(sim.certs.server_crt, sim.certs.server_key)
            ctx.load_verify_locations(sim.certs.ca_crt)
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.set_alpn_protocols(["http/1.1"])
            ctx.sni_callback = self._sni
            self.ssl_ctx = ctx
        super().__init__(addr, Handler)

    @staticmethod
    def _sni(sslsock, name, ctx):
        try:
            sslsock.kubesim_sni = name
        except AttributeError:
            pass
        return None

    def finish_request(self, request, client_address):
        if self.ssl_ctx is not None:
            request.settimeout(10)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.sim.log({"ts": time.time(), "event": "tls-handshake-failed",
                              "error": str(e)[:200]})
                return
            request.settimeout(None)
            try:
                self.RequestHandlerClass(request, client_address, self)
            finally:
                try:
                    request.close()
                except OSError:
                    pass
            return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        # broken connections are normal (resets, clients going away)
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout,
                            BrokenPipeError)):
            return
        super().handle_error(request, client_address)


LOGGED_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type",
                  "Kubectl-Command", "Kubectl-Session", "Host",
                  "If-None-Match", "Impersonate-User", "Impersonate-Group",
                  "Impersonate-Uid", "Connection")


MAX_BODY = 64 << 20


class Aborted(Exception):
    """The response was cut on purpose (fault) or the peer went away."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubesim"
    sys_version = ""
    timeout = 120

    def log_message(self, fmt, *args):
        pass

    def _read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += self.rfile.read(size)
            self.rfile.readline()
            if len(out) > MAX_BODY:
                raise ValueError("request body too large")

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    # -- plumbing
    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self):
        self.sim = self.server.sim
        self.t0 = time.time()
        u = urllib.parse.urlsplit(self.path)
        self.req_path = urllib.parse.unquote(u.path) or "/"
        self.raw_query = u.query
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(
            u.query, keep_blank_values=True).items()}
        self.user = None
        self.fault = None
        self.logged = False
        self.peer_cn, self.peer_groups = None, []
        self.sni = self.alpn = None
        if isinstance(self.connection, ssl.SSLSocket):
            self.sni = getattr(self.connection, "kubesim_sni", None)
            self.alpn = self.connection.selected_alpn_protocol()
            cert = self.connection.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            self.peer_cn = v
                        elif k == "organizationName":
                            self.peer_groups.append(v)
        self.active_fault = None
        self.dry_run = None
        self.body_in = b""
        n = self.headers.get("Content-Length")
        if n:
            try:
                n = int(n)
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BODY:
                self.close_connection = True
                return self.send_status(413 if n > 0 else 400,
                                        "RequestEntityTooLarge" if n > 0
                                        else "BadRequest",
                                        "invalid Content-Length", {})
            self.body_in = self.rfile.read(n)
        elif "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.body_in = self._read_chunked()
        try:
            self._route()
        except Aborted:
            self.close_connection = True
        except (ConnectionError, BrokenPipeError, ssl.SSLError,
                socket.timeout):
            self.close_connection = True
            self._log(0)
        except SelectorError as e:
            self.send_status(400, "BadRequest", str(e))
        except Exception as e:  # a simulator bug: answer 500, keep serving
            import traceback
            traceback.print_exc()
            if not self.logged:
                self.send_status(500, "InternalError",
                                 "kubesim internal error: %s" % e)

    def _log(self, status, extra=None):
        if self.logged:
            return
        self.logged = True
        hdrs = {}
        for h in LOGGED_HEADERS:
            v = self.headers.get_all(h)  # every value: one Impersonate-Group per group
            if v:
                hdrs[h.lower()] = ", ".join(v)
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, cred = auth.partition(" ")
            hdrs["authorization"] = "%s %s" % (scheme, cred_digest(cred.strip()))
        e = {"ts": round(self.t0, 3), "method": self.command,
             "path": self.req_path, "query": self.raw_query,
             "params": self.query, "headers": hdrs, "status": status,
             "user": self.user["name"] if self.user else None,
             "groups": self.user["groups"] if self.user else None,
             "clientCertCN": self.peer_cn, "sni": self.sni, "alpn": self.alpn,
             "tls": isinstance(self.connection, ssl.SSLSocket),
             "httpVersion": self.request_version,
             "ms": round((time.time() - self.t0) * 1000, 1)}
        if self.fault is not None:
            e["fault"] = self.fault
        if getattr(self, "dry_run", None) is not None:
            e["dryRun"] = self.dry_run  # a write's effective dryRun (query or DeleteOptions)
        if extra:
            e.update(extra)
        self.sim.log(e)

    def send_body(self, code, body, ctype="application/json", headers=None,
                  log_extra=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            body = body.encode()
        f = self.active_fault
        if f is not None:
            if f.get("malformed"):
                body = body[: max(1, len(body) // 2)] + b'{"\x00'
            if f.get("oversized"):
                size = int(f["oversized"])
                if ctype.startswith("application/json") and \
                        body.startswith(b"{") and len(body) < size:
                    pad = size - len(body) - 20
                    body = b'{"kubesimPadding":"' + b"x" * max(pad, 0) + \
                        b'",' + body[1:]
                elif len(body) < size:
                    body = body + b" " * (size - len(body))
        self._log(code, log_extra)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        # headers and body in one write: two small writes meet Nagle and
        # delayed ACKs (40 ms per response)
        self._headers_buffer.append(b"\r\n")
        if self.command == "HEAD":
            self.flush_headers()
            return
        if f is not None and (f.get("reset") or f.get("truncate")):
            cut = f.get("truncate") if isinstance(f.get("truncate"), int) and \
                not isinstance(f.get("truncate"), bool) else len(body) // 2
            if f.get("reset") and isinstance(f.get("reset"), int) and \
                    not isinstance(f.get("reset"), bool):
                cut = f["reset"]
            self._headers_buffer.append(body[:cut])
            self.flush_headers()
            try:
                if f.get("reset"):
                    # linger 0: close() sends RST instead of FIN
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.connection.close()
            raise Aborted()
        self._headers_buffer.append(body)
        self.flush_headers()

    def send_status(self, code, reason, message, details=None, headers=None):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
              "status": "Failure", "message": message, "reason": reason,
              "code": code}
        if details is not None:
            # the apiserver omits an empty group (the core API)
            st["details"] = {k: v for k, v in details.items() if not (k == "group" and v == "")}
        self.send_body(code, st, headers=headers)

    def not_found_text(self):
        self.send_body(404, "404 page not found\n",
                       "text/plain; charset=utf-8",
                       {"X-Content-Type-Options": "nosniff"})

    # -- routing
    def _route(self):
        sim = self.sim
        path = self.req_path
        self.active_fault = None
        if path.startswith("/_kubesim/"):
            return self._control(path)
        # who is asking is known (and logged) even when a fault answers
        user, err = sim.authenticate(self.headers, self.peer_cn,
                                     self.peer_groups)
        if user is None and err is None and sim.cfg.get("anonymous", False):
            # --anonymous-auth=true: no credentials at all = system:anonymous,
            # which RBAC then only lets read the public-info paths
            user = ANONYMOUS
        self.user = user
        idx, f = sim.match_fault(self.command, path, self.raw_query)
        if f is not None:
            self.fault = idx
            if f.get("delayMs"):
                time.sleep(float(f["delayMs"]) / 1000.0)
            if f.get("redirect"):
                loc = f["redirect"]
                if urllib.parse.urlsplit(loc).path in ("", "/") and \
                        not loc.endswith("/"):
                    loc += self.path
                return self.send_body(int(f.get("status", 302)), "",
                                      "text/plain; charset=utf-8",
                                      {"Location": loc})
            if f.get("expired"):
                return self._expired()
            self.active_fault = f
            if "status" in f or "body" in f:
                return self._fault_response(f)
        if user is None:
            return self.send_status(401, "Unauthorized", "Unauthorized")
        if path in ("/healthz", "/livez", "/readyz"):
            return self._nonresource("get", lambda: self.send_body(
                200, "ok", "text/plain; charset=utf-8"))
        if path in ("/version", "/version/"):
            return self._nonresource("get", lambda: self.send_body(
                200, self._version()))
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            return self._nonresource(None, self.not_found_text)
        if parts[0] == "api":
            if len(parts) == 1:
                return self._nonresource("get", lambda: self._discovery_root(True))
            if parts[1] != "v1":
                return self._nonresource(None, self.not_found_text)
            group, version, rest = "", "v1", parts[2:]
        else:
            if len(parts) == 1:
                return self._nonresource("get", lambda: self._discovery_root(False))
            group = parts[1]
            groups = sim.store.groups()
            if group not in groups or group == "":
                return self._nonresource(None, self.not_found_text)
            if len(parts) == 2:
                return self._nonresource("get", lambda: self.send_body(
                    200, self._api_group(group, groups[group])))
            version, rest = parts[2], parts[3:]
            if version not in groups[group]:
                return self._nonresource(None, self.not_found_text)
        if not rest:
            return self._nonresource("get", lambda: self.send_body(
                200, self._resource_list(group, version)))
        return self._resource(group, version, rest)

    def _nonresource(self, verb, fn):
        """verb None: a path nothing serves, 404 for any method (as the
        apiserver's not-found handler; a DELETE after its CRD is gone)."""
        if verb is None:
            verb = {"GET": "get", "HEAD": "get", "DELETE": "delete",
                    "PATCH": "patch", "PUT": "put", "POST": "post"}.get(
                        self.command, self.command.lower())
        elif self.command not in ("GET", "HEAD"):
            return self.send_status(405, "MethodNotAllowed",
                                    REASONS[405][1])
        attrs = {"verb": verb, "path": self.req_path, "resource": None}
        if self.sim.denied(self.user, attrs):
            return self.send_status(
                403, "Forbidden", 'forbidden: User "%s" cannot %s path "%s"'
                % (self.user["name"], verb, self.req_path), {})
        return fn()

    def _fault_response(self, f):
        code = int(f.get("status", 200))
        headers = {}
        if f.get("retryAfter") is not None:
            headers["Retry-After"] = str(f["retryAfter"])
        body = f.get("body")
        ctype = f.get("contentType")
        if body is None:
            if code == 429:
                headers.setdefault("Retry-After", "1")
                self.active_fault = dict(f)
                return self.send_body(code, APF_429_TEXT,
                                      ctype or "text/plain; charset=utf-8",
                                      headers)
            reason, msg = REASONS.get(code, ("", "kubesim injected fault"))
            details = {}
            if f.get("retryAfter") is not None:
                try:
                    details["retryAfterSeconds"] = int(f["retryAfter"])
                except ValueError:
                    pass
            st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                  "status": "Failure" if code >= 400 else "Success",
                  "message": f.get("message", msg), "reason": reason,
                  "details": details, "code": code}
            return self.send_body(code, st, ctype or "application/json",
                                  headers)
        if isinstance(body, (dict, list)):
            return self.send_body(code, body, ctype or "application/json",
                                  headers)
        return self.send_body(code, str(body),
                              ctype or "text/plain; charset=utf-8", headers)

    def _expired(self, token_start=None):
        tok = encode_continue(-1, token_start or "")
        st = {"kind": "Status", "apiVersion": "v1",
              "metadata": {"continue": tok}, "status": "Failure",
              "message": EXPIRED_CONTINUE_MSG, "reason": "Expired",
              "code": 410}
        self.send_body(410, st)

    # -- discovery
    def _version(self):
        sv = self.sim.server_version
        m = re.match(r"v(\d+)\.(\d+)", sv)
        return {"major": m.group(1), "minor": m.group(2), "gitVersion": sv,
                "gitCommit": hashlib.sha1(sv.encode()).hexdigest(),
                "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
                "goVersion": "go1.24.2", "compiler": "gc",
                "platform": "linux/amd64"}

    def _discovery_root(self, core):
        sim = self.sim
        agg = None
        if sim.cfg.get("aggregatedDiscovery", True):
            agg = wants_aggregated(self.headers.get("Accept"), sim.server_minor)
        groups = sim.store.groups()
        if agg:
            items = []
            names = [""] if core else self._group_order(groups)
            for g in names:
                items.append(self._agg_group(g, groups[g], agg))
            body = {"kind": "APIGroupDiscoveryList",
                    "apiVersion": "apidiscovery.k8s.io/" + agg,
                    "metadata": {}, "items": items}
            raw = json.dumps(body, separators=(",", ":")).encode()
            etag = '"%s"' % hashlib.sha256(raw).hexdigest().upper()[:64]
            if self.headers.get("If-None-Match") == etag:
                self._log(304)
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            return self.send_body(200, raw, AGG_CT_V2 if agg == "v2" else
                                  AGG_CT_V2BETA1, {"ETag": etag,
                                                   "Vary": "Accept"})
        if core:
            return self.send_body(200, {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0",
                     "serverAddress": "127.0.0.1:%d" % sim.port}]},
                headers={"Vary": "Accept"})
        return self.send_body(200, {
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [self._api_group(g, groups[g], listed=True)
                       for g in self._group_order(groups)]},
            headers={"Vary": "Accept"})

    @staticmethod
    def _group_order(groups):
        builtin_order = []
        for r in BUILTINS:
            if r.group and r.group not in builtin_order:
                builtin_order.append(r.group)
        return builtin_order + sorted(g for g in groups
                                      if g not in BUILTIN_GROUPS)

    @staticmethod
    def _api_group(g, versions, listed=False):
        gv = [{"groupVersion": g + "/" + v, "version": v} for v in versions]
        d = {"name": g, "versions": gv, "preferredVersion": gv[0]}
        if not listed:
            d = {"kind": "APIGroup", "apiVersion": "v1", **d}
        return d

    def _resources_of(self, group, version):
        return sorted((r for (g, v, _), r in self.sim.store.resources.items()
                       if g == group and v == version), key=lambda r: r.plural)

    def _resource_list(self, group, version):
        out = []
        for r in self._resources_of(group, version):
            e = {"name": r.plural, "singularName": r.singular,
                 "namespaced": r.namespaced, "kind": r.kind, "verbs": r.verbs}
            if r.short:
                e["shortNames"] = r.short
            if r.categories:
                e["categories"] = r.categories
            out.append(e)
            for s in r.subresources:
                out.append({"name": r.plural + "/" + s, "singularName": "",
                            "namespaced": r.namespaced,
                            "kind": "Scale" if s == "scale" else r.kind,
                            "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": version if not group else group + "/" + version,
                "resources": out}

    def _agg_group(self, g, versions, agg):
        vs = []
        for v in versions:
            rs = []
            for r in self._resources_of(g, v):
                e = {"resource": r.plural,
                     "responseKind": {"group": g, "version": v, "kind": r.kind},
                     "scope": "Namespaced" if r.namespaced else "Cluster",
                     "singularResource": r.singular, "verbs": r.verbs}
                if r.short:
                    e["shortNames"] = r.short
                if r.categories:
                    e["categories"] = r.categories
                if r.subresources:
                    e["subresources"] = [{
                        "subresource": s,
                        "responseKind": {"group": "autoscaling" if s == "scale"
                                         else g, "version": "v1" if s ==
                                         "scale" else v,
                                         "kind": "Scale" if s == "scale"
                                         else r.kind},
                        "verbs": ["get", "patch", "update"]}
                        for s in r.subresources]
                rs.append(e)
            vs.append({"version": v, "resources": rs, "freshness": "Current"})
        return {"metadata": {"name": g, "creationTimestamp": None},
                "versions": vs}

    # -- resources
    def _resource(self, group, version, rest):
        sim = self.sim
        ns = name = sub = None
        if rest[0] == "namespaces" and len(rest) >= 3 and \
                rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        plural = rest[0]
        if len(rest) > 1:
            name = rest[1]
        if len(rest) > 2:
            sub = "/".join(rest[2:])
        res = sim.store.resources.get((group, version, plural))
        if res is None or (ns is not None and not res.namespaced):
            return self.not_found_text()
        if res.namespaced and ns is None and name and res.kind != "Namespace":
            # .../deployments/NAME without a namespace is no route at all
            return self.not_found_text()
        if res.kind == "Namespace" and name:
            ns = name
        if sub and sub not in res.subresources:
            return self.not_found_text()
        watch = self.query.get("watch") in ("true", "1")
        if self.command in ("DELETE", "PATCH") and name and not sub:
            return self._write(res, ns, name, self.command.lower())
        if self.command not in ("GET", "HEAD"):
            return self.send_status(405, "MethodNotAllowed", REASONS[405][1],
                                    {})
        verb = "watch" if watch else ("get" if name else "list")
        attrs = {"verb": verb, "resource": res.plural, "group": group,
                 "namespace": ns or "", "name": name, "path": self.req_path}
        if sim.denied(self.user, attrs):
            r = res.plural + ("/" + sub if sub else "")
            who = 'User "%s" cannot %s resource "%s" in API group "%s"' % (
                self.user["name"], verb, r, group)
            who += ' in the namespace "%s"' % ns if ns else \
                " at the cluster scope"
            qual = res.qualified
            head = '%s "%s" is forbidden' % (qual, name) if name else \
                "%s is forbidden" % qual
            details = {"group": group, "kind": res.plural}
            if name:
                details = {"name": name, **details}
            return self.send_status(403, "Forbidden", "%s: %s" % (head, who),
                                    details)
        shape, mv = negotiate(self.headers.get("Accept"), bool(name) and not watch, watch)
        if shape is None:
            return self.send_status(406, "NotAcceptable",
                                    "only the following media types are "
                                    "accepted: application/json, "
                                    "application/yaml, "
                                    "application/vnd.kubernetes.protobuf", {})
        if name and not watch:
            return self._get(res, ns, name, shape, mv)
        if name and watch:
            self.query["fieldSelector"] = ",".join(filter(None, [
                self.query.get("fieldSelector"), "metadata.name=" + name]))
        if watch:
            return self._watch(res, ns, shape, mv)
        return self._list(res, ns, shape, mv)

    def _forbidden(self, res, ns, name, verb, sub=None):
        r = res.plural + ("/" + sub if sub else "")
        who = 'User "%s" cannot %s resource "%s" in API group "%s"' % (
            self.user["name"], verb, r, res.group)
        who += ' in the namespace "%s"' % ns if ns else " at the cluster scope"
        head = '%s "%s" is forbidden' % (res.qualified, name) if name else \
            "%s is forbidden" % res.qualified
        details = {"group": res.group, "kind": res.plural}
        if name:
            details = {"name": name, **details}
        return self.send_status(403, "Forbidden", "%s: %s" % (head, who), details)

    def _conflict(self, res, name, why):
        return self.send_status(
            409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
            % (res.qualified, name, why),
            {"name": name, "group": res.group, "kind": res.plural})

    def _write(self, res, ns, name, verb):
        """DELETE and PATCH of one object, with dryRun=All, DeleteOptions
        preconditions, JSON patch (test ops included) and merge patch, and
        the finalizer rules: an object with finalizers gets a
        deletionTimestamp and stays until its last finalizer is removed; a
        deleted namespace or CRD takes its content with it."""
        sim, st = self.sim, self.sim.store
        attrs = {"verb": verb, "resource": res.plural, "group": res.group,
                 "namespace": ns or "", "name": name, "path": self.req_path}
        if sim.denied(self.user, attrs):
            return self._forbidden(res, ns, name, verb)
        body = None
        if self.body_in:
            try:
                body = json.loads(self.body_in)
            except ValueError as e:
                return self.send_status(400, "BadRequest",
                                        "the body of the request was in an "
                                        "unknown format: %s" % e, {})
        # A DELETE with a body takes its options from the body alone: the
        # apiserver decodes the query into DeleteOptions only when the body
        # is empty (a dryRun=All query beside a body is ignored: a real delete).
        if verb == "delete" and body is not None:
            dry = (body.get("dryRun") or [None])[0] if isinstance(body, dict) else None
        else:
            dry = self.query.get("dryRun")
        if dry is not None and dry != "All":
            return self.send_status(400, "BadRequest",
                                    "invalid dry run directive %r: only All is "
                                    "supported" % dry, {})
        self.dry_run = bool(dry)
        key = (res.group, res.kind, (ns or "") if res.namespaced else "", name)
        with st.lock:
            cur = st.objects.get(key)
            if cur is None:
                return self.send_status(
                    404, "NotFound", '%s "%s" not found' % (res.qualified, name),
                    {"name": name, "group": res.group, "kind": res.plural})
            md = cur["metadata"]
            if verb == "delete":
                pre = (body or {}).get("preconditions") or {}
                if pre.get("uid") is not None and pre["uid"] != md.get("uid"):
                    return self._conflict(res, name, "Precondition failed: UID in "
                                          "precondition: %s, UID in object meta: %s"
                                          % (pre["uid"], md.get("uid")))
                if pre.get("resourceVersion") is not None and \
                        pre["resourceVersion"] != md.get("resourceVersion"):
                    return self._conflict(res, name, "Precondition failed: "
                                          "ResourceVersion in precondition: %s, "
                                          "ResourceVersion in object meta: %s"
                                          % (pre["resourceVersion"],
                                             md.get("resourceVersion")))
                if dry:
                    gone = not (md.get("finalizers") or res.kind in
                                ("Namespace", "CustomResourceDefinition"))
                    out = copy.deepcopy(cur)
                    if not gone and not md.get("deletionTimestamp"):
                        out["metadata"]["deletionTimestamp"] = rfc3339(time.time())
                else:
                    gone = st.delete_object(key, time.time())
                    out = st.objects.get(key) or cur
                    st.finish_deletions(time.time())
                    st.resynthesize(True)
                if gone:
                    return self.send_body(200, {
                        "kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Success", "details": {
                            "name": name, "group": res.group, "kind": res.plural,
                            "uid": md.get("uid")}})
                return self._send_shaped(self._view(res, out), "json")
            # PATCH
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            view = self._view(res, cur)
            try:
                if ctype == "application/json-patch+json":
                    new = json_patch(view, body)
                elif ctype in ("application/merge-patch+json",
                               "application/strategic-merge-patch+json"):
                    if ctype.startswith("application/strategic") and res.crd is not None:
                        return self.send_status(
                            415, "UnsupportedMediaType", "the body of the request "
                            "was in an unknown format - accepted media types "
                            "include: application/json-patch+json, "
                            "application/merge-patch+json, "
                            "application/apply-patch+yaml", {})
                    if not isinstance(body, dict):
                        raise JSONPatchError("a merge patch must be an object")
                    new = merge_patch(view, body)
                else:
                    return self.send_status(
                        415, "UnsupportedMediaType", "the body of the request was "
                        "in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, "
                        "application/apply-patch+yaml", {})
            except JSONPatchError as e:
                return self.send_status(
                    422, "Invalid", "the server rejected our request due to an "
                    "error in our request",
                    {"causes": [{"reason": "UnexpectedServerResponse",
                                 "message": str(e)}]})
            nmd = new.setdefault("metadata", {})
            if nmd.get("resourceVersion") not in (None, md.get("resourceVersion")):
                return self._conflict(res, name, "the object has been modified; "
                                      "please apply your changes to the latest "
                                      "version and try again")
            # identity and deletion state are not the client's to change
            for k in ("name", "namespace", "uid", "creationTimestamp",
                      "deletionTimestamp", "deletionGracePeriodSeconds"):
                if k in md:
                    nmd[k] = md[k]
                else:
                    nmd.pop(k, None)
            if not nmd.get("finalizers"):
                nmd.pop("finalizers", None)
            if new.get("spec") != cur.get("spec"):
                nmd.pop("generation", None)  # normalise bumps it, as the registry does
            new["apiVersion"] = cur.get("apiVersion", new.get("apiVersion"))
            new["kind"] = cur.get("kind")
            if dry:
                return self._send_shaped(self._view(res, new), "json")
            _, obj = st.normalise(new, "patch", False, cur)
            st.put(key, obj, key in st.synth)
            out = copy.deepcopy(st.objects[key])
            # the last finalizer of a deleting object removed: it goes now
            st.finish_deletions(time.time())
            st.resynthesize(True)
            return self._send_shaped(self._view(res, out), "json")

    def _view(self, res, obj):
        """The object as served under res's version."""
        # shallow: stored objects are replaced, never changed in place, and a
        # view is serialised at once (a deep copy per item cost most of a page)
        o = dict(obj)
        o["apiVersion"] = res.group_version
        return o

    def _partial(self, obj, mv):
        return {"kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/" + mv,
                "metadata": obj["metadata"]}

    def _table(self, res, objs, mv, list_md, headers=True):
        now = time.time()
        inc = self.query.get("includeObject", "Metadata")
        rows = []
        for o in objs:
            row = {"cells": table_cells(res, o, now)}
            if inc == "Object":
                row["object"] = self._view(res, o)
            elif inc == "None":
                row["object"] = None
            else:
                row["object"] = self._partial(o, mv)
            rows.append(row)
        return {"kind": "Table", "apiVersion": "meta.k8s.io/" + mv,
                "metadata": list_md,
                "columnDefinitions": table_columns(res) if headers else [],
                "rows": rows}

    def _get(self, res, ns, name, shape, mv):
        st = self.sim.store
        key = (res.group, res.kind, (ns or "") if res.namespaced else "", name)
        with st.lock:
            obj = st.objects.get(key)
        if obj is None:
            return self.send_status(
                404, "NotFound", '%s "%s" not found' % (res.qualified, name),
                {"name": name, "group": res.group, "kind": res.plural})
        if shape == "table":
            body = self._table(res, [obj], mv, {"resourceVersion":
                                                 obj["metadata"]["resourceVersion"]})
        elif shape == "partial":
            body = self._partial(obj, mv)
        else:
            body = self._view(res, obj)
        self._send_shaped(body, shape)

    def _send_shaped(self, body, shape):
        if shape == "yaml":
            return self.send_body(200, yaml.safe_dump(body, sort_keys=False),
                                  "application/yaml")
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {}
        if "gzip" in (self.headers.get("Accept-Encoding") or "") and \
                len(raw) > 128 * 1024 and self.active_fault is None:
            raw = gzip.compress(raw, 1)
            headers["Content-Encoding"] = "gzip"
        self.send_body(200, raw, headers=headers)

    def _filters(self, res, ns):
        lsel = parse_label_selector(self.query.get("labelSelector", ""))
        allowed = {"metadata.name", "metadata.namespace"}
        if res.crd is None and res.kind == "Secret":
            allowed.add("type")
        if res.kind == "Namespace":
            allowed.add("status.phase")
        fsel = parse_field_selector(self.query.get("fieldSelector", ""), allowed)

        def ok(key, o):
            if key[:2] != (res.group, res.kind):
                return False
            if ns is not None and key[2] != ns:
                return False
            return label_match(lsel, o["metadata"].get("labels")) and \
                field_match(fsel, o)
        return ok, bool(lsel or fsel)

    def _list(self, res, ns, shape, mv):
        st = self.sim.store
        ok, selected = self._filters(res, ns)
        limit = self.query.get("limit")
        try:
            limit = int(limit) if limit else 0
        except ValueError:
            return self.send_status(400, "BadRequest",
                                    "invalid limit %r" % limit, {})
        limit = max(limit, 0)  # the apiserver ignores a non-positive limit
        maxp = self.sim.cfg.get("maxPageSize")
        if maxp and limit:
            limit = min(limit, int(maxp))
        cont = self.query.get("continue")
        gk = (res.group, res.kind)
        start = ""
        if cont:
            try:
                rv, start = decode_continue(cont)
            except ValueError:
                return self.send_status(400, "BadRequest",
                                        "continue key is not valid: %s" %
                                        "invalid continue token", {})
        # Work proportional to the page, not to the store: the kind's index
        # gives the namespace's span by bisection; selectors filter inside it.
        fresh = not cont or rv == -1  # a first page, or one after 410
        with st.lock:
            if fresh:
                idx = st.index.get(gk)
                rv = st.rv
            else:
                idx = st.snapshots.get((rv,) + gk)
                if idx is None:
                    return self._expired(start)
            if idx is None or (ns is not None and not res.namespaced and ns):
                idx, lo, hi = EMPTY_INDEX, 0, 0
            else:
                lo, hi = idx.span(ns if res.namespaced else None, start)
            if selected:
                items, i = [], lo
                while i < hi and not (limit and len(items) > limit):
                    k, o = idx.objs[idx.keys[i]]
                    if ok(k, o):
                        items.append((k, o))
                    i += 1
                more = limit and len(items) > limit
            else:
                more = limit and hi - lo > limit
                items = idx.items(lo, lo + limit if more else hi)
            if more and fresh:
                st.snapshot(rv, gk)
        md = {"resourceVersion": str(rv)}
        if self.active_fault is not None and self.active_fault.get("endsList"):
            items, more = [], False  # a well-formed page that ends the list early
        if more:
            items = items[:limit]
            md["continue"] = encode_continue(rv, _seek_key(items[-1][0]) + "\x00")
            if not selected:
                md["remainingItemCount"] = hi - lo - limit
        objs = [o for _, o in items]
        if shape == "table":
            body = self._table(res, objs, mv, md)
        elif shape == "partial":
            body = {"kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/" + mv, "metadata": md,
                    "items": [self._partial(o, mv) for o in objs]}
        else:
            items = [self._view(res, o) for o in objs]
            if res.crd is None:
                # typed lists: the apiserver's encoder leaves the items'
                # kind and apiVersion out (custom resources keep them)
                for it in items:
                    it.pop("kind", None)
                    it.pop("apiVersion", None)
            body = {"kind": res.list_kind, "apiVersion": res.group_version,
                    "metadata": md, "items": items}
        self._send_shaped(body, shape)

    # -- watch
    def _watch(self, res, ns, shape, mv):
        st = self.sim.store
        ok, _ = self._filters(res, ns)
        try:
            timeout = float(self.query.get("timeoutSeconds") or
                            self.sim.cfg.get("watchTimeoutSeconds", 1800))
        except ValueError:
            return self.send_status(400, "BadRequest", "invalid timeoutSeconds",
                                    {})
        rv_param = self.query.get("resourceVersion", "")
        pending = []
        with st.lock:
            if rv_param in ("", "0"):
                idx = st.index.get((res.group, res.kind))
                for k, o in (idx.items(0, len(idx.keys)) if idx else ()):
                    if ok(k, o):
                        pending.append(("ADDED", o))
                cursor = st.rv
            else:
                try:
                    cursor = int(rv_param)
                except ValueError:
                    return self.send_status(400, "BadRequest",
                                            "invalid resourceVersion %r"
                                            % rv_param, {})
                oldest = st.events[0][0] - 1 if len(st.events) == \
                    st.EVENT_LOG else st.FIRST_RV
                if cursor < oldest:
                    pending.append(("ERROR", {
                        "kind": "Status", "apiVersion": "v1",
                        "metadata": {}, "status": "Failure",
                        "message": "too old resource version: %d (%d)" %
                        (cursor, oldest), "reason": "Expired",
                        "code": 410}))
                    cursor = None
        self._log(200, {"watch": True})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if shape == "empty-watch":
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        self.first_table = True

        def emit(etype, obj):
            if etype == "ERROR":
                o = obj
            elif shape == "table":
                o = self._table(res, [obj], mv, {"resourceVersion":
                                                  obj["metadata"]["resourceVersion"]},
                                headers=self.first_table)
                self.first_table = False
            elif shape == "partial":
                o = self._partial(obj, mv)
            else:
                o = self._view(res, obj)
            data = json.dumps({"type": etype, "object": o},
                              separators=(",", ":")).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        for etype, o in pending:
            emit(etype, o)
        deadline = time.time() + timeout
        while cursor is not None and self.sim.httpd is not None:
            out = []
            with st.lock:
                for erv, etype, key, obj, old in st.events:
                    if erv <= cursor:
                        continue
                    now_ok = ok(key, obj)
                    was_ok = old is not None and ok(key, old)
                    if etype == "DELETED":
                        if was_ok or now_ok:
                            out.append(("DELETED", obj))
                    elif now_ok and was_ok:
                        out.append(("MODIFIED", obj))
                    elif now_ok:
                        out.append(("ADDED", obj))
                    elif was_ok:
                        gone = copy.deepcopy(obj)
                        out.append(("DELETED", gone))
                cursor = st.rv
                if not out:
                    left = deadline - time.time()
                    if left <= 0:
                        break
                    st.changed.wait(min(left, 0.5))
            for etype, o in out:
                emit(etype, o)
            if time.time() >= deadline:
                break
            if self._peer_gone():
                self.close_connection = True
                return
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _peer_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        if not r:
            return False
        try:
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.setblocking(False)
                try:
                    data = self.connection.recv(1)
                finally:
                    self.connection.setblocking(True)
            else:
                data = self.connection.recv(1, socket.MSG_PEEK)
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except OSError:
            return True
        return data == b""

    # -- control endpoint
    def _control(self, path):
        host = self.client_address[0]
        try:
            loop = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loop = False
        if not loop:
            return self.send_status(403, "Forbidden",
                                    "kubesim control endpoint is loopback only",
                                    {})
        sim = self.sim
        op = path[len("/_kubesim/"):].strip("/")
        try:
            if op == "apply" and self.command == "POST":
                objs = load_yaml_docs(self.body_in.decode("utf-8"), "apply")
                n = sim.apply(objs)
                return self.send_body(200, {"applied": n,
                                            "resourceVersion": str(sim.store.rv)})
            if op == "delete" and self.command == "POST":
                docs = list(yaml.load_all(self.body_in.decode("utf-8"),
                                          Loader=_YamlLoader))
                refs = []
                for d in docs:
                    if isinstance(d, list):
                        refs.extend(d)
                    elif isinstance(d, dict) and d.get("kind") == "List":
                        refs.extend(d.get("items") or [])
                    elif d is not None:
                        refs.append(d)
                n = sim.delete([r for r in refs if isinstance(r, dict)])
                return self.send_body(200, {"deleted": n,
                                            "resourceVersion": str(sim.store.rv)})
            if op == "reset" and self.command == "POST":
                sim.reset()
                return self.send_body(200, {"reset": True,
                                            "resourceVersion": str(sim.store.rv)})
            if op == "state" and self.command == "GET":
                with sim.store.lock:
                    items = [o for _, o in sorted(sim.store.objects.items())]
                return self.send_body(200, {"kind": "List", "apiVersion": "v1",
                                            "items": items})
        except (KubesimError, yaml.YAMLError, UnicodeDecodeError) as e:
            return self.send_status(400, "BadRequest", "kubesim: %s" % e, {})
        return self.send_status(404, "NotFound",
                                "kubesim control: unknown %s %s" %
                                (self.command, path), {})


def _seek_key(key):
    g, kind, ns, name = key
    return ns + "/" + name if ns else name


def encode_continue(rv, start):
    d = {"v": "meta.k8s.io/v1", "rv": rv, "start": start}
    return base64.urlsafe_b64encode(json.dumps(
        d, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_continue(tok):
    pad = "=" * (-len(tok) % 4)
    try:
        d = json.loads(base64.urlsafe_b64decode(tok + pad))
        return int(d["rv"]), str(d["start"])
    except (ValueError, KeyError, TypeError):
        raise ValueError("bad continue token")


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="kubesim", description="Kubernetes API server simulator "
        "(see tests/kubesim/README.md)")
    ap.add_argument("--scenario", help="scenario directory (scenario.yaml)")
    ap.add_argument("--state", action="append", default=[],
                    help="manifest file (repeatable; later files override)")
    ap.add_argument("--config", help="simulation config YAML")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT")
    ap.add_argument("--kubeconfig-out", help="write a ready kubeconfig here")
    ap.add_argument("--log", help="append JSON-lines request log here")
    ap.add_argument("--plain-http", action="store_true",
                    help="serve plain HTTP instead of HTTPS")
    ap.add_argument("--cert-dir", help="keep the generated CA, server and "
                    "client certificates here (default: a temp dir)")
    args = ap.parse_args(argv)
    try:
        cfg = load_config_file(args.config) if args.config else {}
        sim = Simulator(args.state, cfg, args.scenario,
                        args.listen, args.plain_http, args.log, args.cert_dir)
        url = sim.start()
        if args.kubeconfig_out:
            sim.write_kubeconfig(args.kubeconfig_out)
    except KubesimError as e:
        print("kubesim: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("kubesim: %s" % e, file=sys.stderr)
        return 2
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write("listening on %s\n" % url)
    sys.stdout.flush()
    while not done.wait(3600):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
