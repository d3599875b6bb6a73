#!/usr/bin/python3
"""fluxstate --all-contexts: one line per context in kubeconfig order, the
probes run concurrently, the worst exit code wins, JSON array form, the
progress line only on a terminal."""
import json
import os
import tempfile
import time
import unittest

import clitest
from clitest import run
from test_check import scenario_for


class AllContexts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fluxstate-cli-all-")
        cls.healthy = clitest.shared_sim(scenario_for("healthy"))
        cls.seed = clitest.shared_sim(clitest.seed())
        cls.residual = clitest.shared_sim(scenario_for("residual"))
        # deliberately not alphabetical: output must follow the kubeconfig
        cls.kc = clitest.merge_kubeconfigs(os.path.join(cls.tmp, "fleet"), [
            ("zeta-healthy", cls.healthy.kubeconfig),
            ("alpha-seed", cls.seed.kubeconfig),
            ("mid-residual", cls.residual.kubeconfig),
        ])
        cls.dead = clitest.kubeconfig_for_server(os.path.join(cls.tmp, "dead"),
                                                 "https://127.0.0.1:%d" % clitest.closed_port(), name="dead")
        cls.kc_with_dead = clitest.merge_kubeconfigs(os.path.join(cls.tmp, "fleet-dead"), [
            ("zeta-healthy", cls.healthy.kubeconfig),
            ("dead", cls.dead),
            ("alpha-seed", cls.seed.kubeconfig),
        ])

    def rows(self, out):
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^\s+CONTEXT\s+STATE\s+NAMESPACE\s+VERSION\s+SUMMARY$")
        return [l.split()[:3] for l in lines[1:]]

    def test_one_line_per_context_in_kubeconfig_order(self):
        r = run("--kubeconfig", self.kc, "--all-contexts")
        self.assertEqual(r.rc, 0, r)
        # issue 11 item 12: a residual (or partial) row is never a green tick
        self.assertEqual(self.rows(r.out), [["✔", "zeta-healthy", "healthy"], ["✔", "alpha-seed", "none"],
                                            ["⚠", "mid-residual", "residual"]], r)
        self.assertNotIn("probing", r.err, "no progress line when stderr is not a terminal")

    def test_expect_over_the_fleet(self):
        r = run("--kubeconfig", self.kc, "--all-contexts", "--expect", "healthy")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual([row[0] for row in self.rows(r.out)], ["✔", "✗", "✗"])
        self.assertIn("fluxstate: alpha-seed: state is none, expected healthy", r.err)
        self.assertIn("fluxstate: mid-residual: state is residual, expected healthy", r.err)
        r = run("--kubeconfig", self.kc, "--all-contexts", "--expect", "none,residual,healthy", "-q")
        self.assertEqual((r.rc, r.out), (0, ""), r)

    def test_unreachable_context_gives_exit_4_and_an_error_line(self):
        r = run("--kubeconfig", self.kc_with_dead, "--all-contexts", "--timeout", "5s")
        self.assertEqual(r.rc, 4, r)
        rows = self.rows(r.out)
        self.assertEqual([row[1:] for row in rows], [["zeta-healthy", "healthy"], ["dead", "error"],
                                                    ["alpha-seed", "none"]], r)
        self.assertIn("fluxstate: dead: ", r.err)
        for secret in ("t0k3n-not-real",) + tuple(self.healthy.secrets()):
            self.assertNotIn(secret, r.out + r.err)

    def test_json_array(self):
        r = run("--kubeconfig", self.kc_with_dead, "--all-contexts", "-o", "json", "--timeout", "5s")
        self.assertEqual(r.rc, 4, r)
        entries = json.loads(r.out)
        self.assertEqual([e["context"] for e in entries], ["zeta-healthy", "dead", "alpha-seed"])
        self.assertEqual(entries[0]["report"]["state"], "healthy")
        self.assertEqual(entries[0]["exitCode"], 0)
        self.assertIsNone(entries[1]["report"])
        self.assertEqual(entries[1]["exitCode"], 4)
        self.assertTrue(entries[1]["error"])
        self.assertEqual(entries[2]["report"]["state"], "none")
        for e in entries:
            # issue 11 item 14: "error" is always there (null with a report), as docs/cli.md shows
            self.assertEqual(set(e), {"context", "report", "error", "exitCode"}, e)
            if e["report"]:
                self.assertIsNone(e["error"], e)
            if e["report"]:
                self.assertEqual(clitest.report_schema_errors(e["report"]), [], e["context"])

    def test_probes_run_concurrently(self):
        # Four servers that accept and never answer: sequential probes would
        # take 4 x the timeout; concurrent ones about one.
        socks, named = [], []
        try:
            for i in range(4):
                s, port = clitest.black_hole()
                socks.append(s)
                named.append(("hole-%d" % i, clitest.kubeconfig_for_server(
                    os.path.join(self.tmp, "hole-%d" % i), "https://127.0.0.1:%d" % port, name="hole-%d" % i)))
            kc = clitest.merge_kubeconfigs(os.path.join(self.tmp, "holes"), named)
            t0 = time.monotonic()
            r = run("--kubeconfig", kc, "--all-contexts", "--timeout", "2s")
            elapsed = time.monotonic() - t0
            self.assertEqual(r.rc, 4, r)
            self.assertEqual([row[1] for row in self.rows(r.out)], ["hole-0", "hole-1", "hole-2", "hole-3"])
            self.assertLess(elapsed, 6.0, "probes did not overlap (%.1fs)" % elapsed)
            self.assertGreaterEqual(elapsed, 1.5, "the timeout was not honoured (%.1fs)" % elapsed)
        finally:
            for s in socks:
                s.close()

    def test_verbose_traces_name_their_context_and_no_secret(self):
        r = run("--kubeconfig", self.kc, "--all-contexts", "-v")
        self.assertEqual(r.rc, 0, r)
        for ctx in ("zeta-healthy", "alpha-seed", "mid-residual"):
            self.assertIn("fluxstate: trace: [%s] GET " % ctx, r.err)
        for sim in (self.healthy, self.seed, self.residual):
            for secret in sim.secrets():
                self.assertNotIn(secret, r.out + r.err)

    def test_progress_line_on_a_terminal_stderr(self):
        rc, out, err = clitest.run_on_tty(["--kubeconfig", self.kc, "--all-contexts"],
                                          stdout_tty=False, stderr_tty=True)
        self.assertEqual(rc, 0, err)
        self.assertIn("probing 3 contexts", err)
        self.assertEqual(len(out.splitlines()), 4, out)
        self.assertNotIn("probing", out)


if __name__ == "__main__":
    clitest.main()
