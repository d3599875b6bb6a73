#!/usr/bin/python3
"""fluxstate --wait-for: transitions printed as the simulator's state
changes under it, exit 5 on timeout, and waiting by watch, not by polling."""
import json
import os
import subprocess
import sys
import time
import unittest

import yaml

import clitest
from clitest import run

sys.path.insert(0, clitest.FLUXGEN)
import fluxgen  # noqa: E402


def flux_crd(name="gitrepositories.source.toolkit.fluxcd.io"):
    """One Flux v2.7.5 CRD from tests/fluxgen: applying it to a clean cluster
    leaves a leftover, so the state becomes residual."""
    for doc in fluxgen.generate(release="v2.7.5", installer="cli", parts=["crds"]):
        if doc["metadata"]["name"] == name:
            return yaml.safe_dump(doc)
    raise AssertionError("%s not generated" % name)


def is_watch(entry):
    text = json.dumps(entry)
    return "watch=true" in text or '"watch": "true"' in text or '"watch": true' in text or '"watch": "1"' in text


class WaitFor(unittest.TestCase):
    def setUp(self):
        self.sim = clitest.Sim(clitest.seed())
        self.addCleanup(self.sim.stop)

    def start(self, *args):
        return subprocess.Popen([clitest.CLI, "--kubeconfig", self.sim.kubeconfig] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clitest.cli_env())

    def test_already_in_state_returns_at_once(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "--wait-for", "none", "--timeout", "30s")
        self.assertEqual(r.rc, 0, r)
        self.assertLess(r.elapsed, 10)
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^► \d\d:\d\d:\d\d state: none: ")
        self.assertRegex(lines[-1], r"^✔ state none reached after ")

    def test_transition_is_printed_when_the_cluster_changes(self):
        p = self.start("--wait-for", "residual,partial", "--timeout", "40s")
        first = p.stdout.readline().decode()
        self.assertRegex(first, r"^► \d\d:\d\d:\d\d state: none: ")
        time.sleep(0.5)
        t0 = time.monotonic()
        self.sim.control("apply", flux_crd())
        out, err = p.communicate(timeout=45)
        elapsed = time.monotonic() - t0
        out = first + out.decode()
        self.assertEqual(p.returncode, 0, (out, err))
        self.assertRegex(out, r"(?m)^► \d\d:\d\d:\d\d state: none → residual: ")
        self.assertRegex(out, r"(?m)^✔ state residual reached after ")
        self.assertLess(elapsed, 15, "the change was not noticed promptly (%.1fs)" % elapsed)

    def test_json_prints_one_report_per_transition(self):
        p = self.start("--wait-for", "residual", "--timeout", "40s", "-o", "json")
        time.sleep(1.5)
        self.sim.control("apply", flux_crd())
        out, err = p.communicate(timeout=45)
        self.assertEqual(p.returncode, 0, err)
        text, docs, dec = out.decode().strip(), [], json.JSONDecoder()
        while text:
            doc, end = dec.raw_decode(text)
            docs.append(doc)
            text = text[end:].strip()
        self.assertEqual([d["state"] for d in docs], ["none", "residual"])
        for d in docs:
            self.assertEqual(clitest.report_schema_errors(d), [], d)

    def test_timeout_is_exit_5_and_waits_by_watch(self):
        # One probe's worth of requests, to compare the wait against.
        run("--kubeconfig", self.sim.kubeconfig, "-q")
        per_probe = len(self.sim.requests())
        self.assertGreater(per_probe, 0, "the simulator logged no request")

        r = run("--kubeconfig", self.sim.kubeconfig, "--wait-for", "healthy", "--timeout", "4s")
        self.assertEqual(r.rc, 5, r)
        self.assertGreaterEqual(r.elapsed, 3.5, r)
        self.assertLess(r.elapsed, 15, r)
        self.assertRegex(r.err, r"^fluxstate: timed out after 4s waiting for state healthy; state is none: .+\n$")
        log = self.sim.requests()[per_probe:]
        self.assertTrue(any(is_watch(e) for e in log), "no watch request while waiting")
        # A poll every 100 ms for 4 s would be ~40 probes' worth.
        self.assertLessEqual(len(log), 3 * per_probe + 20, "%d requests for one wait (one probe: %d)" % (len(log), per_probe))

    def test_cluster_with_nothing_to_watch_is_probed_again_until_timeout(self):
        # Every list denied: the report has nothing to watch, so the wait
        # must fall back to probing again (at an interval), not give up
        # with a usage error.
        config = os.path.join(self.sim.dir, "deny-all.yaml")
        with open(config, "w") as f:
            yaml.safe_dump({"deny": [{"user": "*", "verbs": ["list", "get", "watch"], "resource": "*"}]}, f)
        sim = clitest.Sim(clitest.seed(), extra_args=["--config", config])
        self.addCleanup(sim.stop)
        r = run("--kubeconfig", sim.kubeconfig, "--wait-for", "healthy", "--timeout", "5s")
        self.assertEqual(r.rc, 5, r)
        self.assertGreaterEqual(r.elapsed, 4.5, r)
        self.assertLess(r.elapsed, 15, r)
        self.assertRegex(r.err, r"^fluxstate: timed out after 5s waiting for state healthy; state is unknown: .+\n$")
        probes = [e for e in sim.requests() if e.get("path") == "/version"]
        self.assertTrue(2 <= len(probes) <= 4, "%d probes in 5 s" % len(probes))

    def test_quiet_wait(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "--wait-for", "none", "-q")
        self.assertEqual((r.rc, r.out), (0, ""), r)


if __name__ == "__main__":
    clitest.main()
