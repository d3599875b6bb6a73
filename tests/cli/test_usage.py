#!/usr/bin/python3
"""fluxstate without a cluster: help, version, usage errors (exit 2),
kubeconfig errors (exit 2), unreachable servers and timeouts (exit 4)."""
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

import clitest
from clitest import run


class Usage(unittest.TestCase):
    def assert_usage_error(self, args, needle):
        r = run(*args)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.out, "", r)
        self.assertTrue(r.err.startswith("fluxstate: "), r)
        self.assertIn(needle, r.err, r)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r)

    def test_help_lists_commands_flags_and_exit_codes(self):
        for args in (["--help"], ["-h"], ["help"]):
            r = run(*args)
            self.assertEqual(r.rc, 0, r)
            for word in ("check", "config", "cleanup-plan", "--kubeconfig", "--context", "--cluster",
                         "--user", "--namespace", "--timeout", "--output", "--no-color", "--expect",
                         "--wait-for", "--all-contexts", "--force", "-v", "Exit codes"):
                self.assertIn(word, r.out, (args, word))

    def test_version_names_cli_and_library(self):
        for args in (["--version"], ["version"]):
            r = run(*args)
            self.assertEqual(r.rc, 0, r)
            self.assertRegex(r.out, r"^fluxstate \d+\.\d+\.\d+ \(libfluxstate \d+\.\d+\.\d+\)\n$")

    def test_unknown_option(self):
        self.assert_usage_error(["--bogus"], '"--bogus"')
        self.assert_usage_error(["-Z"], '"-Z"')

    def test_unknown_command(self):
        self.assert_usage_error(["frobnicate"], 'unknown command "frobnicate"')

    def test_extra_argument(self):
        self.assert_usage_error(["check", "extra"], 'unexpected argument "extra"')

    def test_missing_value(self):
        self.assert_usage_error(["--context"], "--context needs a value")
        self.assert_usage_error(["--timeout"], "--timeout needs a value")

    def test_bad_output_format(self):
        self.assert_usage_error(["-o", "xml"], 'unknown format "xml"')
        self.assert_usage_error(["-o=xml"], 'unknown format "xml"')
        self.assert_usage_error(["--output=table"], 'unknown format "table"')

    def test_bad_timeouts(self):
        for bad in ("0", "0s", "abc", "10x", "-5s", "5s3", "s", "", "1.5.2s", "99999999h"):
            self.assert_usage_error(["--timeout", bad], "--timeout: invalid duration")

    def test_bad_expect_and_wait_for_states(self):
        self.assert_usage_error(["--expect", "installed"], 'unknown state "installed"')
        self.assert_usage_error(["--expect", "none,"], "--expect")
        self.assert_usage_error(["--wait-for", "ready"], 'unknown state "ready"')

    def test_bad_verbosity(self):
        self.assert_usage_error(["-v=x"], "-v: expected a level")

    def test_refused_combinations(self):
        self.assert_usage_error(["--force"], "--force and --keep-namespace only apply to cleanup-plan and cleanup")
        self.assert_usage_error(["config", "--expect", "none"], "only apply to check")
        self.assert_usage_error(["cleanup-plan", "--all-contexts"], "only apply to check")
        self.assert_usage_error(["cleanup-plan", "-o", "json"], "--output json does not apply")
        self.assert_usage_error(["--expect", "none", "--wait-for", "healthy"], "cannot be combined")
        self.assert_usage_error(["--all-contexts", "--wait-for", "healthy"], "cannot be combined")
        self.assert_usage_error(["--all-contexts", "--context", "x"], "--all-contexts cannot be combined")


class KubeconfigErrors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fluxstate-cli-kc-")

    def test_missing_kubeconfig_file_is_exit_2(self):
        path = os.path.join(self.tmp, "does-not-exist")
        for cmd in ([], ["config"], ["cleanup-plan"], ["--all-contexts"]):
            r = run(*cmd, "--kubeconfig", path)
            self.assertEqual(r.rc, 2, r)
            self.assertTrue(r.err.startswith("fluxstate: "), r)
            self.assertIn("does-not-exist", r.err, r)
            self.assertEqual(r.out.strip(), "", r)

    def test_malformed_kubeconfig_is_exit_2(self):
        path = os.path.join(self.tmp, "broken")
        with open(path, "w") as f:
            f.write("apiVersion: v1\nclusters: [ {name: a, cluster: {server: 'https://x'}\n")
        r = run("--kubeconfig", path)
        self.assertEqual(r.rc, 2, r)
        self.assertTrue(r.err.startswith("fluxstate: "), r)

    def test_unknown_context_is_exit_2(self):
        path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:1")
        r = run("--kubeconfig", path, "--context", "no-such-context")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("no-such-context", r.err, r)

    def test_unknown_cluster_or_user_and_bad_server_are_exit_2(self):
        path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:1")
        for args, needle in ((["--cluster", "no-such-cluster"], 'cluster "no-such-cluster"'),
                             (["--user", "no-such-user"], '"no-such-user"'),
                             (["-s", "not a url"], "server URL"),
                             (["config", "--user", "no-such-user"], '"no-such-user"')):
            with self.subTest(args=args):
                r = run("--kubeconfig", path, *args)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "", r)
                self.assertTrue(r.err.startswith("fluxstate: "), r)
                self.assertIn(needle, r.err, r)

    def test_invalid_namespace_is_exit_2(self):
        path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:1")
        r = run("--kubeconfig", path, "-n", "Not_A_Label")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("Not_A_Label", r.err, r)


class Unreachable(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fluxstate-cli-kc-")

    def test_connection_refused_is_exit_4(self):
        port = clitest.closed_port()
        path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:%d" % port)
        for extra in ([], ["--expect", "none"], ["-o", "json"], ["cleanup-plan"]):
            r = run("--kubeconfig", path, *extra)
            self.assertEqual(r.rc, 4, r)
            self.assertEqual(r.out, "", r)
            self.assertTrue(r.err.startswith("fluxstate: "), r)
            self.assertNotIn("t0k3n-not-real", r.err + r.out)

    def test_timeout_is_exit_4_and_honoured(self):
        sock, port = clitest.black_hole()
        try:
            path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:%d" % port)
            for timeout, limit in (("1s", 8.0), ("1500ms", 8.0), ("2", 9.0)):
                t0 = time.monotonic()
                r = run("--kubeconfig", path, "--timeout", timeout)
                elapsed = time.monotonic() - t0
                self.assertEqual(r.rc, 4, r)
                self.assertLess(elapsed, limit, r)
                self.assertTrue(r.err.startswith("fluxstate: "), r)
        finally:
            sock.close()

    def test_timeout_counts_from_the_start_of_the_process(self):
        # --timeout is the whole command's (issue 11 item 6): time spent
        # before the probe starts (loading libraries, a busy machine) comes
        # out of it. The process is stopped right after exec for 1.5 s, so
        # a deadline counted from the probe's start ends at >= 3.5 s.
        sock, port = clitest.black_hole()
        try:
            path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:%d" % port)
            t0 = time.monotonic()
            p = subprocess.Popen([clitest.CLI, "--kubeconfig", path, "--timeout", "2s"], env=clitest.cli_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            os.kill(p.pid, signal.SIGSTOP)
            time.sleep(1.5)
            os.kill(p.pid, signal.SIGCONT)
            out, err = p.communicate(timeout=60)
            elapsed = time.monotonic() - t0
            self.assertEqual(p.returncode, 4, err)
            self.assertIn(b"deadline", err)
            self.assertLess(elapsed, 3.0, err)
        finally:
            sock.close()

    def test_deadline_cutting_one_list_is_exit_4(self):
        # The cluster answers, but the Deployments list is slower than
        # --timeout: the probe did not complete (exit 4, the deadline named),
        # not "unknown" with a hint to grant read access (exit 3).
        config = os.path.join(self.tmp, "slow.yaml")
        with open(config, "w") as f:
            f.write("faults:\n  - {path: '^/apis/apps/v1/deployments$', delayMs: 6000}\n")
        sim = clitest.Sim(clitest.seed(), extra_args=["--config", config])
        self.addCleanup(sim.stop)
        r = run("--kubeconfig", sim.kubeconfig, "--timeout", "1500ms")
        self.assertEqual(r.rc, 4, r)
        self.assertEqual(r.out, "", r)
        # the library's deadline is what --timeout leaves after start-up
        m = re.match(r"fluxstate: the (\d+) ms deadline passed before .*deployments", r.err)
        self.assertTrue(m, r)
        self.assertTrue(1000 <= int(m.group(1)) <= 1500, r)
        self.assertNotIn("grant read access", r.err + r.out, r)
        self.assertLess(r.elapsed, 4.0, r)

    def test_tls_that_never_completes_is_exit_4_with_its_cause(self):
        # TCP accepted, no TLS: kubectl's defaults (10 s connect timeout, 30 s
        # deadline) once gave exit 3; the connect timeouts and the deadline
        # together must give exit 4 naming the handshake.
        sock, port = clitest.black_hole()
        try:
            path = clitest.kubeconfig_for_server(os.path.join(self.tmp, "kc"), "https://127.0.0.1:%d" % port)
            r = run("--kubeconfig", path, "--timeout", "12s", timeout=60)
            self.assertEqual(r.rc, 4, r)
            self.assertIn("TLS handshake never completed", r.err, r)
            self.assertNotIn("grant read access", r.err + r.out, r)
        finally:
            sock.close()


if __name__ == "__main__":
    clitest.main()
