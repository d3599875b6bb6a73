#!/usr/bin/python3
"""The report JSON of one scenario per state validates against
docs/report.schema.json (draft 2020-12). Skips (77) without python3-jsonschema
or when the scenarios' probes cannot run."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "docs", "report.schema.json")
SCENARIOS = ["empty-cluster", "crd-terminating", "controller-unavailable", "healthy-helm",
             "denied-crds-healthy", "precreated-namespace-secrets", "operator-not-ready"]

try:
    import jsonschema
except ImportError:
    print("1..0 # SKIP python3-jsonschema is not installed")
    sys.exit(77)


class ReportSchema(unittest.TestCase):
    def setUp(self):
        with open(SCHEMA, encoding="utf-8") as f:
            self.schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(self.schema)
        self.validator = jsonschema.Draft202012Validator(self.schema)
        self.exe = os.path.join(os.environ["FLUXSTATE_BUILD_ROOT"], "tests", "detect", "test-scenario")

    def test_reports_validate(self):
        states = set()
        for name in SCENARIOS:
            with self.subTest(scenario=name), tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "report.json")
                p = subprocess.run([self.exe, name, out], capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                with open(out, encoding="utf-8") as f:
                    report = json.load(f)
                errors = sorted(self.validator.iter_errors(report), key=str)
                self.assertEqual([], [e.message for e in errors])
                states.add(report["state"])
        self.assertEqual(states, {"none", "residual", "partial", "healthy", "unknown"})

    def test_schema_rejects_a_bad_report(self):
        bad = {"schema": "fluxstate.report/v1", "state": "fine"}
        self.assertTrue(list(self.validator.iter_errors(bad)))


if __name__ == "__main__":
    unittest.main()
