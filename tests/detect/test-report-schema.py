#!/usr/bin/python3
"""The report JSON of every scenario validates against docs/report.schema.json
(draft 2020-12), and the report's fields beyond the state (installer,
managed-by, bootstrapped, versions overall and per component, the namespace
and where it came from, the Kubernetes server version and whether it meets the
Flux minimum) say what docs/states.md says for those installs.

Skips (77) without python3-jsonschema."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "docs", "report.schema.json")
SCENARIOS = os.path.join(HERE, "..", "scenarios")

# Report fields per scenario (docs/states.md, tests/fluxgen/README.md). Dotted keys
# go into objects; "components" maps a controller name to its version.
FIELDS = {
    "seed-1292": {
        "installer": "unknown", "managedBy": None, "bootstrapped": False, "version": None,
        "namespace": "flux-system", "namespaceSource": "default",
        "kubernetes.serverVersion": "v1.29.1+k3s1", "kubernetes.fluxMinimum": None,
        "kubernetes.supported": None, "components": {},
    },
    "empty-cluster": {
        "installer": "unknown", "version": None, "namespaceSource": "default", "components": {},
    },
    "healthy-cli": {
        "installer": "flux-cli", "managedBy": None, "bootstrapped": False, "version": "v2.7.5",
        "namespace": "flux-system", "namespaceSource": "detected",
        "kubernetes.serverVersion": "v1.33.1", "kubernetes.fluxMinimum": "1.32.0",
        "kubernetes.supported": True,
        "components": {"source-controller": "v2.7.5", "kustomize-controller": "v2.7.5",
                       "helm-controller": "v2.7.5", "notification-controller": "v2.7.5"},
    },
    # the chart writes app.kubernetes.io/version without a v and managed-by=Helm (§2.8)
    "healthy-helm": {
        "installer": "helm", "managedBy": "Helm", "bootstrapped": False, "version": "v2.7.5",
        "kubernetes.fluxMinimum": "1.32.0", "kubernetes.supported": True,
    },
    # install.yaml has no version label: the image tags decide (§2.1, §2.4)
    "healthy-install-yaml": {
        "installer": "install-yaml", "managedBy": None, "bootstrapped": False, "version": "v2.7.5",
        "components": {"source-controller": "v2.7.5", "kustomize-controller": "v2.7.5",
                       "helm-controller": "v2.7.5", "notification-controller": "v2.7.5",
                       "image-reflector-controller": "v2.7.5", "image-automation-controller": "v2.7.5",
                       "source-watcher": "v2.7.5"},
    },
    # kustomize-controller's labels on the gitrepositories CRD: `flux check` says bootstrapped (§4)
    "healthy-v2.9.4-bootstrap": {
        "installer": "flux-bootstrap", "managedBy": None, "bootstrapped": True, "version": "v2.9.4",
        "kubernetes.fluxMinimum": "1.33.0", "kubernetes.supported": True,
        "components": {"source-controller": "v2.9.4", "kustomize-controller": "v2.9.4",
                       "helm-controller": "v2.9.4", "notification-controller": "v2.9.4"},
    },
    "healthy-v2.2.2-bootstrap": {
        "installer": "flux-bootstrap", "bootstrapped": True, "version": "v2.2.2",
        "kubernetes.fluxMinimum": "1.26.0", "kubernetes.supported": True,
    },
    # the same manifests before kustomize-controller labelled them: the sync Kustomization decides,
    # and bootstrapped agrees with the installer (#11 item 13)
    "healthy-v2.7.5-bootstrap": {
        "installer": "flux-bootstrap", "bootstrapped": True, "version": "v2.7.5",
    },
    "bootstrapped-crd-leftover": {"installer": "flux-bootstrap", "bootstrapped": True, "components": {}},
    "operator-ready": {"installer": "flux-operator", "managedBy": "flux-operator", "version": "v2.7.5"},
    "server-too-old": {
        "version": "v2.7.5", "kubernetes.serverVersion": "v1.29.1+k3s1",
        "kubernetes.fluxMinimum": "1.32.0", "kubernetes.supported": False,
    },
    "server-too-old-v2.9.4": {
        "version": "v2.9.4", "kubernetes.fluxMinimum": "1.33.0", "kubernetes.supported": False,
    },
    # flux check's >=1.32.0-0 admits pre-releases and build metadata (§3)
    "server-prerelease": {"kubernetes.fluxMinimum": "1.32.0", "kubernetes.supported": True},
    "non-default-namespace": {"namespace": "flux", "namespaceSource": "detected", "installer": "flux-cli"},
    "unlabelled-controllers-other-namespace": {"namespace": "flux", "namespaceSource": "detected"},
    "version-skew": {
        "version": "v2.7.5",
        "components": {"source-controller": "v2.7.5", "kustomize-controller": "v2.7.5",
                       "helm-controller": "v2.4.0", "notification-controller": "v2.7.5"},
    },
}

try:
    import jsonschema
except ImportError:
    print("1..0 # SKIP python3-jsonschema is not installed")
    sys.exit(77)


def scenario_names():
    return sorted(d for d in os.listdir(SCENARIOS)
                  if os.path.isfile(os.path.join(SCENARIOS, d, "scenario.yaml")))


class Reports(unittest.TestCase):
    reports = {}

    @classmethod
    def setUpClass(cls):
        exe = os.path.join(os.environ["FLUXSTATE_BUILD_ROOT"], "tests", "detect", "test-scenario")
        cls.failures = {}
        for name in scenario_names():
            with tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "report.json")
                p = subprocess.run([exe, name, out], capture_output=True, text=True, timeout=60)
                if p.returncode != 0 or not os.path.exists(out):
                    cls.failures[name] = p.stdout + p.stderr
                    continue
                with open(out, encoding="utf-8") as f:
                    cls.reports[name] = json.load(f)

    def setUp(self):
        with open(SCHEMA, encoding="utf-8") as f:
            self.schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(self.schema)
        self.validator = jsonschema.Draft202012Validator(self.schema)

    def test_every_scenario_probes(self):
        self.assertEqual({}, self.failures)
        self.assertEqual(len(self.reports), len(scenario_names()), "every scenario probed")

    def test_reports_validate(self):
        for name, report in sorted(self.reports.items()):
            with self.subTest(scenario=name):
                errors = sorted(self.validator.iter_errors(report), key=str)
                self.assertEqual([], [e.message for e in errors])
        self.assertEqual({r["state"] for r in self.reports.values()},
                         {"none", "residual", "partial", "healthy", "unknown"})

    def test_report_fields(self):
        checked = 0
        for name, want in sorted(FIELDS.items()):
            with self.subTest(scenario=name):
                self.assertIn(name, self.reports)
                report = self.reports[name]
                for key, value in want.items():
                    if key == "components":
                        have = {c["name"]: c["version"] for c in report["components"]}
                    else:
                        have = report
                        for part in key.split("."):
                            have = have[part]
                    self.assertEqual(value, have, "%s: %s" % (name, key))
                checked += 1
        self.assertGreaterEqual(checked, 10)

    def test_action_follows_state(self):
        actions = {"none": "bootstrap", "residual": "cleanup", "partial": "repair",
                   "healthy": "none", "unknown": "investigate"}
        for name, report in sorted(self.reports.items()):
            with self.subTest(scenario=name):
                self.assertEqual(actions[report["state"]], report["action"])

    def test_schema_rejects_a_bad_report(self):
        bad = {"schema": "fluxstate.report/v1", "state": "fine"}
        self.assertTrue(list(self.validator.iter_errors(bad)))


if __name__ == "__main__":
    unittest.main()
