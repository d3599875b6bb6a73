# SPDX-License-Identifier: MIT
"""Each error kind, produced by the real simulator over HTTPS."""

import os
import tempfile
import threading
import time
import unittest

import fluxstate
from fluxstate import _lib
from simulator import Simulator, copy_scenario, free_port, scenarios_dir, secrets_of

# The states are written here.
BASE = "seed-1292"


def base_scenario():
    path = os.path.join(scenarios_dir(), BASE)
    if not os.path.isdir(path):
        raise AssertionError(f"scenario {BASE} missing from {scenarios_dir()}")
    return path


class TestErrorKinds(unittest.TestCase):
    def test_probe_works_and_context_closes_idempotently(self):
        with Simulator(base_scenario()) as sim:
            ctx = fluxstate.Context(sim.kubeconfig)
            self.assertIn(ctx.current_context, ctx.contexts)
            conn = ctx.describe_connection()
            self.assertIsInstance(conn, dict)
            for secret in secrets_of(sim.kubeconfig_doc()):
                self.assertNotIn(secret, repr(conn))
            report = ctx.probe()
            ctx.close()
            ctx.close()
            self.assertTrue(ctx.closed)
            # The report outlives its context.
            self.assertIsInstance(report.state, fluxstate.State)
            self.assertEqual(report.to_dict()["state"], report.state.label)
            with self.assertRaises(fluxstate.InvalidArgumentError):
                ctx.probe()

    def test_unreachable_server_is_network_error(self):
        with Simulator(base_scenario()) as sim:
            url = f"https://127.0.0.1:{free_port()}"
            with fluxstate.Context(sim.kubeconfig, server=url, timeout=10) as ctx:
                t0 = time.monotonic()
                with self.assertRaises(fluxstate.NetworkError) as cm:
                    ctx.probe()
                self.assertLess(time.monotonic() - t0, 9)
            self.assertEqual(cm.exception.code, _lib.ENETWORK)
            self.assertTrue(str(cm.exception))

    def test_wrong_token_is_auth_error_and_token_not_shown(self):
        bad = "fluxstate-test-wrong-token-0123456789"
        with Simulator(base_scenario()) as sim:
            doc = sim.kubeconfig_doc()
            real = secrets_of(doc)
            for u in doc.get("users") or []:
                user = u.setdefault("user", {})
                for k in ("client-certificate-data", "client-key-data", "client-certificate",
                          "client-key", "username", "password", "exec", "auth-provider"):
                    user.pop(k, None)
                user["token"] = bad
            path = sim.write_kubeconfig(doc, "bad-token")
            with fluxstate.Context(path) as ctx:
                with self.assertRaises(fluxstate.AuthError) as cm:
                    ctx.probe()
            self.assertEqual(cm.exception.code, _lib.EAUTH)
            for secret in real + [bad]:
                self.assertNotIn(secret, str(cm.exception))

    def test_deadline_is_timeout_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            base_scenario()
            scen = copy_scenario(BASE, tmp, faults=[{"path": ".*", "delayMs": 5000}])
            with Simulator(scen) as sim:
                with fluxstate.Context(sim.kubeconfig, timeout=0.5) as ctx:
                    t0 = time.monotonic()
                    with self.assertRaises(fluxstate.FluxstateTimeoutError) as cm:
                        ctx.probe()
                    elapsed = time.monotonic() - t0
            self.assertIsInstance(cm.exception, TimeoutError)
            self.assertEqual(cm.exception.code, _lib.ETIMEDOUT)
            self.assertLess(elapsed, 3.0, "the 0.5 s deadline was not honoured")

    def test_malformed_replies_are_protocol_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            base_scenario()
            scen = copy_scenario(BASE, tmp, faults=[{"path": ".*", "status": 200, "body": "{not json"}])
            with Simulator(scen) as sim:
                with fluxstate.Context(sim.kubeconfig) as ctx:
                    with self.assertRaises(fluxstate.ProtocolError) as cm:
                        ctx.probe()
        self.assertEqual(cm.exception.code, _lib.EPROTOCOL)

    def test_log_handler_sees_requests_without_credentials(self):
        lines = []
        with Simulator(base_scenario()) as sim:
            with fluxstate.Context(sim.kubeconfig, log=lines.append) as ctx:
                ctx.probe()
            secrets = secrets_of(sim.kubeconfig_doc())
        self.assertTrue(lines, "no trace lines")
        for line in lines:
            for s in secrets:
                self.assertNotIn(s, line)

    def test_wait_for_change_times_out_without_change(self):
        with Simulator(base_scenario()) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                r = ctx.probe()
                t0 = time.monotonic()
                self.assertFalse(ctx.wait_for_change(r, 0.3))
                self.assertLess(time.monotonic() - t0, 5)


    def test_wait_for_change_with_nothing_to_watch_is_value_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            scen = copy_scenario(BASE, tmp, deny=[{"user": "*", "verbs": ["list", "get", "watch"],
                                                   "resource": "*"}])
            with Simulator(scen) as sim:
                with fluxstate.Context(sim.kubeconfig) as ctx:
                    r = ctx.probe()
                    self.assertIs(r.state, fluxstate.State.UNKNOWN, r.summary)
                    t0 = time.monotonic()
                    with self.assertRaises(ValueError) as cm:
                        ctx.wait_for_change(r, 30)
                    self.assertLess(time.monotonic() - t0, 5, "did not fail at once")
        self.assertIsInstance(cm.exception, fluxstate.InvalidArgumentError)
        self.assertIn("nothing to watch", str(cm.exception))


FLUX_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gitrepositories.source.toolkit.fluxcd.io
  labels: {app.kubernetes.io/part-of: flux, app.kubernetes.io/version: v2.7.5}
spec:
  group: source.toolkit.fluxcd.io
  scope: Namespaced
  names: {kind: GitRepository, plural: gitrepositories, singular: gitrepository, listKind: GitRepositoryList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


class TestWaitForChange(unittest.TestCase):
    def test_a_flux_crd_appearing_ends_the_wait(self):
        path = os.path.join(scenarios_dir(), "empty-cluster")
        if not os.path.isdir(path):
            self.fail(f"scenario empty-cluster missing from {scenarios_dir()}")
        with Simulator(path) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                before = ctx.probe()
                self.assertIs(before.state, fluxstate.State.NONE, before.summary)
                timer = threading.Timer(0.3, sim.control, ("apply", FLUX_CRD))
                timer.start()
                try:
                    t0 = time.monotonic()
                    self.assertTrue(ctx.wait_for_change(before, 10))
                    self.assertLess(time.monotonic() - t0, 9, "returned on the timeout, not the event")
                finally:
                    timer.join()
                after = ctx.probe()
        self.assertIs(after.state, fluxstate.State.RESIDUAL, after.summary)
        self.assertTrue(any(f.name == "gitrepositories.source.toolkit.fluxcd.io"
                            for f in after.findings))


if __name__ == "__main__":
    unittest.main()
