#!/usr/bin/python3
"""Every scenario in tests/scenarios loads in kubesim and has a well-formed
`expect` block (the contract in tests/scenarios/README.md). Flux installs
come from tests/fluxgen, so nothing outside the repository is needed."""

import os
import sys
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simhelper  # noqa: E402
sys.path.insert(0, os.path.dirname(simhelper.KUBESIM))
import kubesim  # noqa: E402

STATES = {"none", "residual", "partial", "healthy", "unknown"}
EXPECT_KEYS = {"state", "namespace", "installer", "version", "findings",
               "absent", "description", "notes", "server", "serverVersion",
               "options", "flags", "exitCode"}
TOP_KEYS = {"description", "state", "config", "expect"}


def scenario_dirs():
    root = simhelper.SCENARIOS
    return sorted(os.path.join(root, d) for d in os.listdir(root)
                  if os.path.isfile(os.path.join(root, d, "scenario.yaml")))


class Scenarios(unittest.TestCase):
    def test_required_scenarios_exist(self):
        names = {os.path.basename(d) for d in scenario_dirs()}
        for n in ("seed-1292", "healthy-v2.7.5-bootstrap",
                  "namespace-terminating-finalizers"):
            self.assertIn(n, names)

    def test_every_scenario_loads(self):
        for d in scenario_dirs():
            name = os.path.basename(d)
            with self.subTest(scenario=name):
                with open(os.path.join(d, "scenario.yaml")) as f:
                    sc = yaml.safe_load(f)
                self.assertIsInstance(sc, dict)
                self.assertTrue(set(sc) <= TOP_KEYS,
                                "unknown top-level keys %s" % (set(sc) - TOP_KEYS))
                self.assertIsInstance(sc.get("description"), str,
                                      "description: one line")
                try:
                    sim = kubesim.Simulator(scenario=d)
                except kubesim.KubesimError as e:
                    self.fail("%s: %s" % (name, e))
                self.assertTrue(sim.store.objects)
                exp = sc.get("expect")
                self.assertIsInstance(exp, dict, "expect block missing")
                self.assertTrue(set(exp) <= EXPECT_KEYS,
                                "unknown expect keys %s" % (set(exp) - EXPECT_KEYS))
                self.assertIn(exp.get("state"), STATES)
                for k in ("findings", "absent"):
                    v = exp.get(k, [])
                    self.assertIsInstance(v, list, k)
                    for item in v:
                        self.assertIsInstance(item, dict, k)
                        self.assertTrue(item, "%s: empty matcher" % k)

    def test_seed_1292_state(self):
        sim = kubesim.Simulator(scenario=os.path.join(simhelper.SCENARIOS,
                                                      "seed-1292"))
        objs = sim.store.objects
        self.assertEqual(sim.server_version, "v1.29.1+k3s1")
        fs = [k for k in objs if k[2] == "flux-system"]
        self.assertEqual(fs, [("", "Secret", "flux-system", "sops-age")])
        ns = objs[("", "Namespace", "", "flux-system")]
        self.assertEqual(ns["metadata"]["labels"],
                         {"kubernetes.io/metadata.name": "flux-system"})
        self.assertFalse([k for k in objs if k[1] == "CustomResourceDefinition"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
