#!/usr/bin/python3
"""Every scenario in tests/scenarios through the CLI: the state and exit
code it expects, every finding in the text output, --expect, and a
cleanup-plan that is refused or is valid shell, as the state says."""
import json
import subprocess
import unittest

import clitest
from clitest import run

CHECK_RC = {"none": 0, "residual": 0, "partial": 0, "healthy": 0, "unknown": 3}
PLAN_RC = {"none": 1, "residual": 0, "partial": 1, "healthy": 1, "unknown": 3}


def finding_head(f):
    if f["kind"]:
        obj = "%s/%s%s" % (f["kind"], f["namespace"] + "/" if f["namespace"] else "", f["name"] or "*")
    else:
        obj = f["name"] or f["category"]
    return "%s: %s" % (obj, f["problem"])


class Scenarios(unittest.TestCase):
    def test_every_scenario(self):
        all_ = clitest.scenarios()
        self.assertGreater(len(all_), 3, "no scenarios found in %s" % clitest.SCENARIOS)
        for name, sc in sorted(all_.items()):
            want = (sc.get("expect") or {}).get("state")
            with self.subTest(scenario=name):
                sim = clitest.Sim(name)
                try:
                    self.check(sim, want)
                finally:
                    sim.stop()

    def check(self, sim, want):
        kc = ("--kubeconfig", sim.kubeconfig)
        rj = run(*kc, "-o", "json")
        report = json.loads(rj.out)
        self.assertEqual(report["state"], want)
        self.assertEqual(rj.rc, CHECK_RC[want], rj)

        r = run(*kc)
        self.assertEqual(r.rc, CHECK_RC[want], r)
        self.assertIn("state: %s: " % want, r.out.splitlines()[1])
        for f in report["findings"]:
            self.assertIn(finding_head(f), r.out, r)
        self.assertTrue(r.out.splitlines()[-1].startswith("► next: "), r)

        r = run(*kc, "--expect", want, "-q")
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""), r)

        # A read that failed could hide what a plan would destroy: the
        # planner refuses then, even on a residual cluster.
        blind = any("not-visible" in f["flags"] for f in report["findings"])
        r = run(*kc, "cleanup-plan")
        self.assertEqual(r.rc, 1 if blind and want != "unknown" else PLAN_RC[want], r)
        if r.rc == 0:
            p = subprocess.run(["sh", "-n"], input=r.out.encode(), stderr=subprocess.PIPE)
            self.assertEqual(p.returncode, 0, p.stderr)
        else:
            self.assertEqual(r.out, "")
            self.assertTrue(r.err.startswith("fluxstate: "), r)
        if want == "partial" and not blind:
            r = run(*kc, "cleanup-plan", "--force")
            self.assertEqual(r.rc, 0, r)
            p = subprocess.run(["sh", "-n"], input=r.out.encode(), stderr=subprocess.PIPE)
            self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    clitest.main()
