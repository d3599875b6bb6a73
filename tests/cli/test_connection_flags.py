#!/usr/bin/python3
"""kubectl's connection flags, every pflag spelling, -o yaml, the pre-install
check, FLUX_SYSTEM_NAMESPACE validation and SIGINT/SIGTERM, through the real
binary against the simulator (issue 12; issue 11 items 10, 11, 14).

What reached the server is read from the simulator's request log."""
import base64
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

import yaml

import clitest
from clitest import run
from test_check import scenario_for


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def write(path, doc):
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return path


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fluxstate-cli-flags-")
        cls.sim = clitest.shared_sim(clitest.seed())
        cls.kc = load(cls.sim.kubeconfig)
        admin = next(u for u in cls.kc["users"] if u["name"] == "admin")["user"]
        cls.token = admin["token"]
        cert = next(u for u in cls.kc["users"] if u["name"] == "cert-admin")["user"]
        cls.ca = os.path.join(cls.tmp, "ca.crt")
        cls.crt = os.path.join(cls.tmp, "client.crt")
        cls.key = os.path.join(cls.tmp, "client.key")
        for path, data in ((cls.ca, cls.kc["clusters"][0]["cluster"]["certificate-authority-data"]),
                           (cls.crt, cert["client-certificate-data"]), (cls.key, cert["client-key-data"])):
            with open(path, "wb") as f:
                f.write(base64.b64decode(data))

    def kubeconfig(self, name, user, cluster_extra=None, drop_ca=False):
        """The simulator's cluster with one user @user (a dict)."""
        cluster = dict(self.kc["clusters"][0]["cluster"])
        if drop_ca:
            cluster.pop("certificate-authority-data")
        cluster.update(cluster_extra or {})
        return write(os.path.join(self.tmp, name), {
            "apiVersion": "v1", "kind": "Config", "current-context": "x",
            "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]})

    def requests_of(self, fn):
        """Run @fn; return the simulator's log entries it caused."""
        before = len(self.sim.requests())
        r = fn()
        time.sleep(0.1)
        return r, self.sim.requests()[before:]


class ConnectionFlags(Base):
    def test_token_replaces_a_wrong_token(self):
        kc = self.kubeconfig("wrong-token", {"token": "wrong-token-0000"})
        r = run("--kubeconfig", kc, "--expect", "none", "-q")
        self.assertEqual(r.rc, 4, r)
        r, reqs = self.requests_of(lambda: run("--kubeconfig", kc, "--token", self.token, "--expect", "none", "-q"))
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertTrue(reqs and all(q["user"] == "admin" for q in reqs), reqs[:2])
        r = run("--kubeconfig", kc, "--token", self.token, "config")
        self.assertRegex(r.out, r"(?m)^auth: +token$", r)
        self.assertNotIn(self.token, r.out + r.err)

    def test_token_with_basic_auth_user_is_kubectls_error(self):
        kc = self.kubeconfig("basic", {"username": "bob", "password": "pw-secret"})
        r = run("--kubeconfig", kc, "--token", self.token)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("more than one authentication method found", r.err)
        self.assertNotIn(self.token, r.out + r.err)

    def test_token_stops_an_exec_plugin(self):
        kc = self.kubeconfig("exec", {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                               "command": "/bin/false", "interactiveMode": "Never"}})
        self.assertEqual(run("--kubeconfig", kc, "-q").rc, 4)
        r = run("--kubeconfig", kc, "--token", self.token, "--expect", "none", "-q")
        self.assertEqual((r.rc, r.err), (0, ""), r)

    def test_client_certificate_and_key(self):
        kc = self.kubeconfig("nocred", {})
        r, reqs = self.requests_of(lambda: run("--kubeconfig", kc, "--client-certificate", self.crt,
                                               "--client-key", self.key, "--expect", "none", "-q"))
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertTrue(reqs and all(q["clientCertCN"] == "cert-admin" for q in reqs), reqs[:2])
        r = run("--kubeconfig", kc, "--client-certificate", self.crt)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("client-key-data or client-key must be specified", r.err)

    def test_certificate_authority_and_insecure(self):
        kc = self.kubeconfig("noca", {"token": self.token}, drop_ca=True)
        self.assertEqual(run("--kubeconfig", kc, "-q").rc, 4)
        r = run("--kubeconfig", kc, "--certificate-authority", self.ca, "--expect", "none", "-q")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        r = run("--kubeconfig", kc, "--insecure-skip-tls-verify", "--expect", "none", "-q")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        r = run("--kubeconfig", kc, "--insecure-skip-tls-verify=false", "-q")
        self.assertEqual(r.rc, 4, r)
        # the kubeconfig's own CA is replaced, so insecure works with it too
        r = run("--kubeconfig", self.kubeconfig("withca", {"token": self.token}), "--insecure-skip-tls-verify",
                "--expect", "none", "-q")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        r = run("--kubeconfig", kc, "--insecure-skip-tls-verify", "--certificate-authority", self.ca)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("specifying a root certificates file with the insecure flag is not allowed", r.err)
        r = run("--kubeconfig", kc, "--certificate-authority", os.path.join(self.tmp, "missing.crt"))
        self.assertEqual(r.rc, 2, r)
        self.assertIn("missing.crt", r.err)

    def test_impersonation_headers(self):
        kc = self.kubeconfig("imp", {"token": self.token})
        r, reqs = self.requests_of(lambda: run("--kubeconfig", kc, "--as", "jane", "--as-group", "g1",
                                               "--as-group=g2", "--as-uid", "1234", "-q"))
        self.assertIn(r.rc, (0, 3, 4), r)
        self.assertTrue(reqs, r)
        for q in reqs:
            h = q["headers"]
            self.assertEqual((h.get("impersonate-user"), h.get("impersonate-group"), h.get("impersonate-uid")),
                             ("jane", "g1, g2", "1234"), q)
        r = run("--kubeconfig", kc, "--as-group", "g1")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("without impersonating a user", r.err)

    def test_disable_compression(self):
        kc = self.kubeconfig("gz", {"token": self.token})
        _, reqs = self.requests_of(lambda: run("--kubeconfig", kc, "-q"))
        self.assertTrue(any("gzip" in (q["headers"].get("accept-encoding") or "") for q in reqs))
        r, reqs = self.requests_of(lambda: run("--kubeconfig", kc, "--disable-compression", "-q"))
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(reqs)
        self.assertFalse(any("gzip" in (q["headers"].get("accept-encoding") or "") for q in reqs), reqs[:2])

    def test_request_timeout_values(self):
        kc = self.kubeconfig("rt", {"token": self.token})
        for ok in ("0", "5", "5s", "1m", "1500ms"):
            r = run("--kubeconfig", kc, "--request-timeout", ok, "--expect", "none", "-q")
            self.assertEqual((r.rc, r.err), (0, ""), (ok, r))
        for bad in ("abc", "-1s", "5x"):
            r = run("--kubeconfig", kc, "--request-timeout", bad)
            self.assertEqual(r.rc, 2, r)
            self.assertIn("--request-timeout: invalid duration", r.err)

    def test_request_timeout_bounds_each_request(self):
        # a server that accepts and never answers: each request gives up after
        # --request-timeout while --timeout (the whole probe) is much longer
        sock, port = clitest.black_hole()
        try:
            kc = clitest.kubeconfig_for_server(os.path.join(self.tmp, "hole"), "https://127.0.0.1:%d" % port)
            r = run("--kubeconfig", kc, "--request-timeout", "1s", "--timeout", "60s", "-v")
            self.assertEqual(r.rc, 4, r)
            self.assertLess(r.elapsed, 50, r)
        finally:
            sock.close()

    def test_as_group_needs_a_value_and_empty_values_are_refused(self):
        for flag in ("--token", "--as", "--as-group", "--as-uid", "--certificate-authority"):
            r = run(flag + "=")
            self.assertEqual(r.rc, 2, r)
            self.assertIn("empty value", r.err)


class PflagForms(Base):
    """Issue 11 item 10: every spelling pflag accepts."""

    def test_output_and_namespace_spellings(self):
        for args in (["-o=json"], ["-ojson"], ["-o", "json"], ["--output=json"], ["--output", "json"],
                     ["-qo=json"], ["-n=flux-system", "-o", "json"], ["-nflux-system", "-ojson"],
                     ["-v", "0", "-o", "json"], ["--v=0", "-o", "json"]):
            r = run("--kubeconfig", self.sim.kubeconfig, *args)
            self.assertEqual(r.rc, 0, (args, r))
            if "-qo=json" not in args:
                self.assertEqual(json.loads(r.out)["state"], "none", args)
            if any(a.startswith("-n") for a in args):
                self.assertEqual(json.loads(r.out)["namespace"], "flux-system", args)

    def test_verbosity_with_a_separate_value(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "-v", "7", "check")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("fluxstate: trace:", r.err)
        r = run("--kubeconfig", self.sim.kubeconfig, "-v", "0")
        self.assertNotIn("fluxstate: trace:", r.err)
        r = run("--kubeconfig", self.sim.kubeconfig, "-v", "11")
        self.assertEqual(r.rc, 2, r)


class YamlOutput(Base):
    def test_check_yaml_is_the_json_document(self):
        rj = run("--kubeconfig", self.sim.kubeconfig, "-o", "json")
        ry = run("--kubeconfig", self.sim.kubeconfig, "-o", "yaml")
        self.assertEqual((rj.rc, ry.rc), (0, 0), ry)
        j, y = json.loads(rj.out), yaml.safe_load(ry.out)
        j.pop("requests", None)
        y.pop("requests", None)
        self.assertEqual(y, j)
        self.assertFalse(ry.out.lstrip().startswith("{"), ry.out[:80])

    def test_config_yaml_and_camel_case_keys(self):
        rj = run("config", "--kubeconfig", self.sim.kubeconfig, "--as", "jane", "--as-group", "g", "-o", "json")
        ry = run("config", "--kubeconfig", self.sim.kubeconfig, "--as", "jane", "--as-group", "g", "-o=yaml")
        self.assertEqual(yaml.safe_load(ry.out), json.loads(rj.out))
        # issue 11 item 14: one convention for all JSON
        for key in json.loads(rj.out):
            self.assertRegex(key, r"^[a-z][a-zA-Z]*$")
        self.assertEqual(json.loads(rj.out)["impersonateGroups"], ["g"])

    def test_all_contexts_yaml_list(self):
        kc = clitest.merge_kubeconfigs(os.path.join(self.tmp, "two"), [("one", self.sim.kubeconfig),
                                                                         ("two", self.sim.kubeconfig)])
        rj = run("--kubeconfig", kc, "--all-contexts", "-o", "json")
        ry = run("--kubeconfig", kc, "--all-contexts", "-o", "yaml")
        self.assertEqual((rj.rc, ry.rc), (0, 0), ry)
        y, j = yaml.safe_load(ry.out), json.loads(rj.out)
        self.assertEqual([e["context"] for e in y], ["one", "two"])
        for a, b in zip(y, j):
            a["report"].pop("requests")
            b["report"].pop("requests")
        self.assertEqual(y, j)
        self.assertIsNone(y[0]["error"])

    def test_cleanup_plan_refuses_yaml(self):
        r = run("cleanup-plan", "--kubeconfig", self.sim.kubeconfig, "-o", "yaml")
        self.assertEqual(r.rc, 2, r)


class PreInstallCheck(Base):
    def test_none_cluster_and_the_kubernetes_minimum(self):
        server = json.loads(run("--kubeconfig", self.sim.kubeconfig, "-o", "json").out)["kubernetes"]["serverVersion"]
        self.assertTrue(server.startswith("v1.29."), server)  # the simulator's default
        # v2.2 needs Kubernetes >= 1.26: fine on 1.29
        r = run("--kubeconfig", self.sim.kubeconfig, "check", "--flux-version", "v2.2.2")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("Flux v2.2.2 can be installed", r.out)
        r = run("--kubeconfig", self.sim.kubeconfig, "--flux-version=2.2.2", "-q")
        self.assertEqual((r.rc, r.out), (0, ""), r)
        # v2.9 needs >= 1.33: refused, with the reason
        r = run("--kubeconfig", self.sim.kubeconfig, "check", "--flux-version", "v2.9.4")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("older than v1.33.0, the minimum of Flux v2.9.4", r.err)

    def test_bad_or_unknown_versions(self):
        for bad in ("2.9", "v2.9.4-rc.1", "latest", "v9.0.0"):
            r = run("--kubeconfig", self.sim.kubeconfig, "--flux-version", bad)
            self.assertEqual(r.rc, 2, (bad, r))
            self.assertIn("--flux-version:", r.err)

    def test_installed_release(self):
        sim = clitest.shared_sim(scenario_for("healthy"))
        version = json.loads(run("--kubeconfig", sim.kubeconfig, "-o", "json").out)["version"]
        r = run("--kubeconfig", sim.kubeconfig, "--flux-version", version, "-q")
        self.assertEqual(r.rc, 0, r)
        other = "v2.9.4" if version != "v2.9.4" else "v2.8.0"
        r = run("--kubeconfig", sim.kubeconfig, "--flux-version", other, "-q")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("cannot install Flux %s" % other, r.err)

    def test_residual_cannot_take_a_release(self):
        sim = clitest.shared_sim(scenario_for("residual"))
        r = run("--kubeconfig", sim.kubeconfig, "--flux-version", "v2.9.4", "-o", "json")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(json.loads(r.out)["state"], "residual")
        self.assertIn("clean up first", r.err)

    def test_only_with_check(self):
        for extra in (["--all-contexts"], ["--expect", "none"], ["config"]):
            r = run("--kubeconfig", self.sim.kubeconfig, "--flux-version", "v2.9.4", *extra)
            self.assertEqual(r.rc, 2, (extra, r))


class FluxSystemNamespace(Base):
    """Issue 11 item 11: an invalid FLUX_SYSTEM_NAMESPACE is ignored with a warning."""

    def test_invalid_value_is_ignored_with_a_warning(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "-o", "json", env={"FLUX_SYSTEM_NAMESPACE": "Bad_NS"})
        self.assertEqual(r.rc, 0, r)
        self.assertIn('warning: ignoring FLUX_SYSTEM_NAMESPACE="Bad_NS"', r.err)
        doc = json.loads(r.out)
        self.assertNotEqual(doc["namespace"], "Bad_NS")
        self.assertNotEqual(doc["namespaceSource"], "environment")

    def test_valid_value_is_used(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "-o", "json", env={"FLUX_SYSTEM_NAMESPACE": "gitops"})
        self.assertNotIn("warning", r.err)
        doc = json.loads(r.out)
        if doc["namespaceSource"] != "detected":
            self.assertEqual((doc["namespace"], doc["namespaceSource"]), ("gitops", "environment"))


class Signals(Base):
    """SIGINT/SIGTERM cancel the probe: exit 128+signal, long before --timeout."""

    def interrupt(self, kubeconfig, sig, *extra):
        p = subprocess.Popen([clitest.CLI, "--kubeconfig", kubeconfig, "--timeout", "60s"] + list(extra),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clitest.cli_env())
        time.sleep(1.0)
        self.assertIsNone(p.poll(), "it ended before the signal")
        t0 = time.monotonic()
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        return p.returncode, time.monotonic() - t0, err.decode()

    def test_sigint_and_sigterm_during_a_probe(self):
        sock, port = clitest.black_hole()
        try:
            kc = clitest.kubeconfig_for_server(os.path.join(self.tmp, "hole-sig"), "https://127.0.0.1:%d" % port)
            rc, took, err = self.interrupt(kc, signal.SIGINT)
            self.assertEqual(rc, 130, err)
            self.assertIn("fluxstate: interrupted", err)
            self.assertLess(took, 20, "cancelled only at the deadline")
            rc, took, err = self.interrupt(kc, signal.SIGTERM)
            self.assertEqual(rc, 143, err)
        finally:
            sock.close()

    def test_sigint_stops_an_exec_plugin_wait(self):
        marker = os.path.join(self.tmp, "plugin-started")
        plugin = os.path.join(self.tmp, "slow-plugin.sh")
        with open(plugin, "w") as f:
            f.write("#!/bin/sh\ntouch %s\nexec sleep 60\n" % marker)
        os.chmod(plugin, 0o755)
        kc = self.kubeconfig("slow-exec", {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                    "command": plugin, "interactiveMode": "Never"}})
        rc, took, err = self.interrupt(kc, signal.SIGINT)
        self.assertTrue(os.path.exists(marker), "the plugin never ran")
        self.assertEqual(rc, 130, err)
        self.assertLess(took, 20, "the plugin wait was not cancelled")

    def test_sigint_during_wait_for(self):
        rc, took, err = self.interrupt(self.sim.kubeconfig, signal.SIGINT, "--wait-for", "healthy")
        self.assertEqual(rc, 130, err)


class AllContextsTerminal(Base):
    """Issue 11 item 12: on a terminal the progress line never glues to the header."""

    @staticmethod
    def render(text):
        """What a terminal shows: \\r returns, ESC[K erases to the end of the line."""
        lines = []
        for raw in re.sub(r"\x1b\[[0-9;]*m", "", text).split("\n"):
            buf, col, i = [], 0, 0
            while i < len(raw):
                if raw[i] == "\r":
                    col = 0
                elif raw.startswith("\x1b[K", i):
                    del buf[col:]
                    i += 3
                    continue
                else:
                    if col < len(buf):
                        buf[col] = raw[i]
                    else:
                        buf.append(raw[i])
                    col += 1
                i += 1
            lines.append("".join(buf))
        return lines

    def test_header_on_its_own_line_and_no_green_tick_for_residual(self):
        residual = clitest.shared_sim(scenario_for("residual"))
        kc = clitest.merge_kubeconfigs(os.path.join(self.tmp, "tty"), [("seed", self.sim.kubeconfig),
                                                                         ("left", residual.kubeconfig)])
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", kc, "--all-contexts"], stdout_tty=True, stderr_tty=True)
        self.assertEqual(rc, 0, out)
        shown = [l for l in self.render(out) if l.strip()]
        header = [l for l in shown if "CONTEXT" in l]
        self.assertEqual(len(header), 1, shown)
        self.assertRegex(header[0], r"^\s+CONTEXT\s+STATE\s+NAMESPACE\s+VERSION\s+SUMMARY$", shown)
        rows = {l.split()[1]: l.split()[0] for l in shown if l.split()[1:2] in (["seed"], ["left"])}
        self.assertEqual(rows, {"seed": "✔", "left": "⚠"}, shown)


if __name__ == "__main__":
    clitest.main()
