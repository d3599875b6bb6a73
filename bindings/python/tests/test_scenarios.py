# SPDX-License-Identifier: MIT
"""The report for each install state matches the scenario's `expect:` block
(the same scenarios the C detection tests use), through the accessors and
through the report JSON alike."""

import os
import unittest

import fluxstate
from simulator import (Simulator, finding_matches, list_scenarios, load_scenario,
                       scenarios_dir)

# Named by the detection contract; the rest are picked per state below.
NAMED = ["seed-1292", "namespace-terminating-finalizers", "healthy-v2.7.5-bootstrap"]
STATES = ["none", "residual", "partial", "healthy", "unknown"]


def _expect_state(name):
    try:
        doc = load_scenario(os.path.join(os.environ["FLUXSTATE_SCENARIOS"], name))
    except (OSError, KeyError, unittest.SkipTest, AssertionError):
        return None
    return (doc.get("expect") or {}).get("state")


def _pick():
    """NAMED plus, for each state, the first scenario that expects it."""
    names = list(NAMED)
    by_state = {}
    for n in list_scenarios():
        st = _expect_state(n)
        if st in STATES:
            by_state.setdefault(st, []).append(n)
    for st in STATES:
        cands = by_state.get(st, [])
        if cands and not any(n in names for n in cands):
            names.append(cands[0])
    return names, by_state


class TestScenarios(unittest.TestCase):
    def check(self, name):
        path = os.path.join(scenarios_dir(), name)
        if not os.path.isdir(path):
            self.fail(f"scenario {name} missing from {scenarios_dir()}")
        expect = load_scenario(path).get("expect")
        self.assertIsInstance(expect, dict, f"{name}: no expect block")
        with Simulator(path) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                report = ctx.probe()
            sim.stop()
            served = sim.requests()
        d = report.to_dict()
        msg = f"{name}: {report.state.label}: {report.summary}"

        self.assertEqual(d["schema"], "fluxstate.report/v1")
        self.assertIs(report.state, fluxstate.State.from_string(expect["state"]), msg)
        self.assertEqual(d["state"], expect["state"], msg)
        for key, attr in (("namespace", "namespace"), ("installer", "installer"),
                          ("version", "version")):
            if key in expect:
                self.assertEqual(getattr(report, attr), expect[key], msg)
        self.assertEqual(d["summary"], report.summary)
        self.assertEqual(d["action"], report.action)
        self.assertEqual(d["namespace"], report.namespace)
        self.assertEqual(d["installer"], report.installer)
        self.assertEqual(d["version"], report.version)
        self.assertEqual(d["kubernetes"]["serverVersion"], report.server_version)
        self.assertEqual(d["kubernetes"]["supported"], report.server_supported)
        # The accessors and the JSON describe the same findings, in order.
        self.assertEqual([f.to_dict() for f in report.findings], d["findings"], msg)
        for want in expect.get("findings") or []:
            self.assertTrue(any(finding_matches(want, f) for f in d["findings"]),
                            f"{msg}: no finding matches {want}; got {d['findings']}")
        for unwanted in expect.get("absent") or []:
            bad = [f for f in d["findings"] if finding_matches(unwanted, f)]
            self.assertEqual(bad, [], f"{msg}: findings match absent {unwanted}")
        # The library's request count agrees with what the simulator served.
        self.assertGreater(d["requests"], 0)
        self.assertLessEqual(d["requests"], served)

    def test_every_state_has_a_scenario(self):
        _, by_state = _pick()
        missing = [s for s in STATES if s not in by_state]
        self.assertEqual(missing, [], "no scenario expects these states")


def _add(name):
    def test(self):
        self.check(name)
    test.__doc__ = f"scenario {name}"
    setattr(TestScenarios, "test_scenario_" + name.replace("-", "_").replace(".", "_"), test)


if os.environ.get("FLUXSTATE_SCENARIOS"):
    for _n in _pick()[0]:
        _add(_n)


if __name__ == "__main__":
    unittest.main()
