#!/usr/bin/python3
"""tests/demo.sh, the README's first command, run against the simulator with
the built binary: the #1292 seed reads none and passes --expect none, the
Terminating-namespace cluster reads residual, fails it with the documented
line, and gets a cleanup plan; the demo ends with the rendered man page."""
import os
import re
import subprocess
import unittest

import clitest

DEMO = os.path.join(clitest.SOURCE_ROOT, "tests", "demo.sh")


class Demo(unittest.TestCase):
    def test_demo_shows_none_then_residual(self):
        env = clitest.cli_env({"SKIP_DEPS": "1", "FLUXSTATE_CLI": clitest.CLI})
        p = subprocess.run(["bash", DEMO], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertEqual(p.returncode, 0, out + err)
        self.assertIsNone(clitest.ANSI.search(out), "escape codes on a pipe")
        one, two = out.split("==> Cluster 2:", 1)
        two, man = two.split("==> The manual page: man -l ", 1)
        # a rendered page (man's header line, indented sections), not scdoc source
        self.assertRegex(man, r"(?m)^fluxstate\(1\) +General Commands Manual +fluxstate\(1\)$")
        self.assertRegex(man, r"(?m)^NAME\n {7}fluxstate - ")
        self.assertNotIn("# NAME", man)
        self.assertTrue(man.rstrip().endswith("docs/cli.md"), man[-200:])
        self.assertIn("==> Cluster 1: seed-1292", one)
        self.assertRegex(one, r"(?m)^✔ state: none: ")
        self.assertEqual(re.findall(r"\(exit code (\d+)", one), ["0", "0"], one)
        self.assertRegex(two, r"(?m)^✗ state: residual: ")
        self.assertEqual(re.findall(r"\(exit code (\d+)", two), ["0", "1", "0"], two)
        self.assertRegex(err, r"(?m)^fluxstate: state is residual, expected none: .+$")
        plan = two[two.index("$ fluxstate cleanup-plan"):]
        self.assertIn("#!/bin/sh", plan)
        self.assertRegex(plan, r"(?m)^kubectl .* delete namespace flux-system --ignore-not-found$")


if __name__ == "__main__":
    clitest.main()
