#!/usr/bin/python3
"""fluxstate with every kind of kubeconfig credential the simulator and
kubectl know (bearer token, basic password, client certificate, exec
plugin): every command works, -v traces the requests, and no credential
appears in stdout or stderr; rejected or unobtainable credentials and a
failed TLS handshake are exit 4 with one line naming the problem."""
import os
import stat
import tempfile
import unittest

import yaml

import clitest
from clitest import run
from test_check import scenario_for

TOKEN = "kubesim-token-7f3c9a2e51d84b06a1c5e9f0"
PASSWORD = "kubesim-password-c41f0e9b2d7a4356b8e1"
# Printed by the exec plugins on stdout only: the plugin's stderr is passed
# through to the user on purpose (as kubectl does), its stdout never is.
EXEC_STDOUT_MARK = "exec-stdout-5b2e7d0c9a1f"

USERS = {
    "users": [
        {"name": "tok", "token": TOKEN, "groups": ["system:masters"]},
        {"name": "basic", "password": PASSWORD, "groups": ["system:masters"]},
        {"name": "cert", "clientCert": True, "groups": ["system:masters"]},
    ],
    "kubeconfigUser": "tok",
}

EXEC_OK = """#!/bin/sh
echo "exec plugin: logging in" >&2
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}'
""" % TOKEN

EXEC_FAIL = """#!/bin/sh
echo "%s token %s"
echo "exec plugin: login refused" >&2
exit 3
""" % (EXEC_STDOUT_MARK, TOKEN)

EXEC_BAD_JSON = """#!/bin/sh
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s %s"'
""" % (TOKEN, EXEC_STDOUT_MARK)

WORKING = ("kubesim-tok", "kubesim-basic", "kubesim-cert", "exec-ok")
COMMANDS = (
    ["-v"],
    ["-v", "-o", "json"],
    ["-v", "--expect", "none"],
    ["-v", "--wait-for", "residual", "--timeout", "20s"],
    ["-v", "config"],
    ["-v=6", "config", "-o", "json"],
    ["-v", "cleanup-plan"],
)


class Credentials(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fluxstate-cli-cred-")
        config = os.path.join(cls.tmp, "users.yaml")
        with open(config, "w") as f:
            yaml.safe_dump(USERS, f)
        cls.sim = clitest.Sim(scenario_for("residual"), extra_args=["--config", config])
        with open(cls.sim.kubeconfig) as f:
            kc = yaml.safe_load(f)
        for name, script in (("exec-ok", EXEC_OK), ("exec-fail", EXEC_FAIL), ("exec-bad-json", EXEC_BAD_JSON)):
            path = os.path.join(cls.tmp, name + ".sh")
            with open(path, "w") as f:
                f.write(script)
            os.chmod(path, stat.S_IRWXU)
            kc["users"].append({"name": name, "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": path, "interactiveMode": "Never"}}})
            kc["contexts"].append({"name": name, "context": {"cluster": "kubesim", "user": name}})
        cls.kubeconfig = os.path.join(cls.tmp, "kubeconfig")
        with open(cls.kubeconfig, "w") as f:
            yaml.safe_dump(kc, f)
        os.chmod(cls.kubeconfig, 0o600)
        cls.secrets = cls.sim.secrets() + [TOKEN, PASSWORD, EXEC_STDOUT_MARK]
        users = {u["name"]: u.get("user") or {} for u in kc["users"]}
        # The simulator wrote the credentials this test is about.
        assert users["tok"].get("token") == TOKEN, users["tok"]
        assert users["basic"].get("password") == PASSWORD, users["basic"]
        assert users["cert"].get("client-key-data"), users["cert"]

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def assert_no_secret(self, r):
        for secret in self.secrets:
            self.assertNotIn(secret, r.out, "secret on stdout: %r" % (r,))
            self.assertNotIn(secret, r.err, "secret on stderr: %r" % (r,))

    def test_every_command_with_every_credential_shows_no_secret(self):
        for context in WORKING:
            for args in COMMANDS:
                with self.subTest(context=context, args=args):
                    r = run("--kubeconfig", self.kubeconfig, "--context", context, *args)
                    want = 1 if "--expect" in args else 0
                    self.assertEqual(r.rc, want, r)
                    self.assertIn("fluxstate: trace: using context %s" % context, r.err, r)
                    if "config" not in args:
                        self.assertRegex(r.err, r"fluxstate: trace: GET /\S+ -> 200", r)
                    self.assert_no_secret(r)

    def test_config_names_the_auth_method_not_the_secret(self):
        for context, method in (("kubesim-tok", "token"), ("kubesim-basic", "basic"),
                                ("kubesim-cert", "client-certificate"), ("exec-ok", "exec")):
            with self.subTest(context=context):
                r = run("--kubeconfig", self.kubeconfig, "--context", context, "config")
                self.assertEqual(r.rc, 0, r)
                self.assertRegex(r.out, r"(?m)^auth: +%s$" % method, r)
                self.assert_no_secret(r)

    def test_all_contexts_verbose_shows_no_secret(self):
        r = run("--kubeconfig", self.kubeconfig, "--all-contexts", "-v", "--timeout", "20s")
        self.assertEqual(r.rc, 4, r)  # the two broken exec plugins
        rows = {l.split()[1]: l.split()[2] for l in r.out.splitlines()[1:]}
        for context in WORKING:
            self.assertEqual(rows.get(context), "residual", r)
            self.assertIn("fluxstate: trace: [%s] GET " % context, r.err, r)
        self.assertEqual(rows.get("exec-fail"), "error", r)
        self.assertEqual(rows.get("exec-bad-json"), "error", r)
        self.assert_no_secret(r)

    def test_failing_exec_plugin_is_exit_4_without_its_output(self):
        for context in ("exec-fail", "exec-bad-json"):
            for args in ([], ["-v"], ["--expect", "none", "-q"], ["cleanup-plan"], ["--wait-for", "healthy"]):
                with self.subTest(context=context, args=args):
                    r = run("--kubeconfig", self.kubeconfig, "--context", context, *args)
                    self.assertEqual(r.rc, 4, r)
                    self.assertEqual(r.out, "", r)
                    errors = [l for l in r.err.splitlines() if l.startswith("fluxstate: ") and "trace:" not in l]
                    self.assertEqual(len(errors), 1, r)
                    self.assertIn("credentials", errors[0], r)
                    self.assert_no_secret(r)

    def test_rejected_credentials_are_exit_4(self):
        with open(self.kubeconfig) as f:
            kc = yaml.safe_load(f)
        for u in kc["users"]:
            if u["name"] == "tok":
                u["user"]["token"] = "kubesim-wrong-token-0d9e8c7b6a5f"
            if u["name"] == "basic":
                u["user"]["password"] = "kubesim-wrong-password-1a2b3c4d"
        path = os.path.join(self.tmp, "wrong")
        with open(path, "w") as f:
            yaml.safe_dump(kc, f)
        for context in ("kubesim-tok", "kubesim-basic"):
            for args in ([], ["-v", "-o", "json"], ["--expect", "none"], ["cleanup-plan"]):
                with self.subTest(context=context, args=args):
                    r = run("--kubeconfig", path, "--context", context, *args)
                    self.assertEqual(r.rc, 4, r)
                    self.assertEqual(r.out, "", r)
                    self.assertRegex(r.err, r"(?m)^fluxstate: .*(credentials|Unauthorized)", r)
                    for secret in ("kubesim-wrong-token-0d9e8c7b6a5f", "kubesim-wrong-password-1a2b3c4d"):
                        self.assertNotIn(secret, r.out + r.err)
                    self.assert_no_secret(r)

    def test_untrusted_server_certificate_is_exit_4(self):
        with open(self.kubeconfig) as f:
            kc = yaml.safe_load(f)
        # A CA that did not sign the simulator's certificate: the
        # simulator's own client certificate, which is no CA at all.
        cert_user = next(u for u in kc["users"] if u["name"] == "cert")["user"]
        kc["clusters"][0]["cluster"]["certificate-authority-data"] = cert_user["client-certificate-data"]
        path = os.path.join(self.tmp, "wrong-ca")
        with open(path, "w") as f:
            yaml.safe_dump(kc, f)
        r = run("--kubeconfig", path, "--context", "kubesim-tok", "-v")
        self.assertEqual(r.rc, 4, r)
        self.assertEqual(r.out, "", r)
        self.assertRegex(r.err, r"(?m)^fluxstate: cannot reach the API server: .*(certificate|SSL|TLS)", r)
        self.assert_no_secret(r)


if __name__ == "__main__":
    clitest.main()
