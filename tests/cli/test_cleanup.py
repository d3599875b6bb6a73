#!/usr/bin/python3
"""fluxstate cleanup (issue #14) against the simulator: each residual history
is cleaned to `none` with every object outside the plan still there (same
uid); the server-side dry run changes nothing; refusals write nothing; a
user who may not delete gets one refusal per object and nothing half-done;
the confirmation rules (--yes, no terminal) hold."""
import json
import ssl
import unittest
import urllib.request

import clitest
from clitest import run

# Objects a user owns on the same cluster: none of them is Flux v2 evidence.
USER_OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Secret
metadata: {name: db-password, namespace: team-a}
type: Opaque
data: {password: c2VjcmV0}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team-a, labels: {app.kubernetes.io/part-of: shop}}
data: {a: b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-a-view}
rules: []
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: gear, namespace: team-a, finalizers: [example.com/keep]}
"""

# Every residual history of the issue, by scenario.
HISTORIES = {
    "namespace-terminating-finalizers": "namespace Terminating behind finalizers",
    "crd-terminating": "CRD Terminating",
    "flux-instance-orphaned": "orphaned FluxInstance",
    "rbac-only": "RBAC-only leftovers",
    "deleted-ns-v2.9.4": "deleted namespace with CRDs remaining",
}


def state_of(sim):
    """Every object in the simulator: {(apiVersion group, kind, ns, name): uid}."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(sim.url + "/_kubesim/state", context=ctx, timeout=10) as r:
        items = json.loads(r.read())["items"]
    out = {}
    for o in items:
        md = o["metadata"]
        group = o["apiVersion"].rpartition("/")[0]
        out[(group, o["kind"], md.get("namespace") or "", md["name"])] = md.get("uid")
    return out


def events(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def writes(sim):
    return [e for e in sim.requests() if e.get("method") in ("DELETE", "PATCH", "POST", "PUT")
            and not e.get("path", "").startswith("/_kubesim")]


def expected_gone(plan, before):
    """What the plan may remove: its objects, the content of a namespace it
    deletes, the objects of a CRD it deletes."""
    gone = set()
    for s in plan:
        if s["verb"] != "delete":
            continue
        group = s["apiVersion"].rpartition("/")[0]
        gone.add((group, s["kind"], s["namespace"] or "", s["name"]))
        if s["kind"] == "Namespace":
            gone |= {k for k in before if k[2] == s["name"]}
        if s["kind"] == "CustomResourceDefinition":
            plural, _, grp = s["name"].partition(".")
            gone |= {k for k in before if k[0] == grp and k[1].lower() + "s" == plural
                     or (k[0] == grp and plural.startswith(k[1].lower()))}
    return gone


class Histories(unittest.TestCase):
    def clean(self, scenario):
        sim = clitest.Sim(scenario)
        self.addCleanup(sim.stop)
        self.assertEqual(sim.control("apply", USER_OBJECTS), 200)
        self.assertEqual(json.loads(run("--kubeconfig", sim.kubeconfig, "-o", "json").out)["state"], "residual")
        before = state_of(sim)
        r = run("--kubeconfig", sim.kubeconfig, "cleanup", "--yes", "-o", "json", timeout=180)
        self.assertEqual(r.rc, 0, r)
        ev = events(r.out)
        plan = [e for e in ev if e["event"] == "plan"]
        self.assertTrue(plan, r.out)
        # every step passed the dry run before anything was changed
        kinds = [e["event"] for e in ev]
        self.assertEqual(kinds, ["plan"] * len(plan) + ["dry-run"] * len(plan) + ["apply"] * len(plan) + ["result"],
                         r.out)
        self.assertTrue(all(e["result"] == "ok" for e in ev if e["event"] in ("dry-run", "apply")), r.out)
        self.assertEqual(ev[-1]["result"], "none", r.out)
        # nothing user-owned was touched, nothing outside the plan is gone
        after = state_of(sim)
        gone = expected_gone(plan, before)
        for key, uid in before.items():
            if key in gone:
                continue
            self.assertIn(key, after, "%s vanished but was not in the plan (%s)" % (key, HISTORIES[scenario]))
            self.assertEqual(after[key], uid, key)
        for key in [k for k in before if k[2] == "team-a"] + [("rbac.authorization.k8s.io", "ClusterRole", "", "team-a-view"),
                                                            ("apiextensions.k8s.io", "CustomResourceDefinition", "",
                                                             "widgets.example.com")]:
            self.assertIn(key, after, key)
        # the user's Widget keeps its own finalizer: the cleanup never strips what is not Flux's
        self.assertFalse([e for e in writes(sim) if "/widgets/" in e.get("path", "")])
        # and the cluster is none for a fresh probe
        r = run("--kubeconfig", sim.kubeconfig, "--expect", "none", "-q")
        self.assertEqual(r.rc, 0, r)

    def test_namespace_terminating_behind_finalizers(self):
        self.clean("namespace-terminating-finalizers")

    def test_crd_terminating(self):
        self.clean("crd-terminating")

    def test_orphaned_flux_instance(self):
        self.clean("flux-instance-orphaned")

    def test_rbac_only(self):
        self.clean("rbac-only")

    def test_deleted_namespace_with_crds_remaining(self):
        self.clean("deleted-ns-v2.9.4")


class DryRunAndConfirmation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = clitest.Sim("namespace-terminating-finalizers")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_server_dry_run_changes_nothing(self):
        before = state_of(self.sim)
        r = run("--kubeconfig", self.sim.kubeconfig, "cleanup", "--dry-run=server")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("Server-side dry run: all", r.out)
        w = writes(self.sim)
        self.assertTrue(w, "no write reached the server")
        for e in w:
            self.assertIs(e.get("dryRun"), True, e)
        self.assertEqual(state_of(self.sim), before)

    def test_no_terminal_needs_yes(self):
        n = len(writes(self.sim))
        r = run("--kubeconfig", self.sim.kubeconfig, "cleanup")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("--yes", r.err)
        self.assertEqual(len(writes(self.sim)), n)

    def test_plan_is_printed_with_destructive_marks(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "cleanup", "--dry-run=server")
        self.assertIn("remove-finalizers", r.out)
        self.assertIn("[deletes user data]", r.out)


class Refusals(unittest.TestCase):
    def refuse(self, state, rc, *extra):
        from test_check import scenario_for
        sim = clitest.shared_sim(scenario_for(state))
        n = len(writes(sim))
        r = run("--kubeconfig", sim.kubeconfig, "cleanup", "--yes", *extra)
        self.assertEqual(r.rc, rc, r)
        self.assertEqual(len(writes(sim)), n, "a refused cleanup wrote to the cluster")
        return r

    def test_healthy_refused(self):
        self.assertIn("state is healthy", self.refuse("healthy", 1).err)
        self.assertIn("state is healthy", self.refuse("healthy", 1, "--force").err)

    def test_partial_needs_force(self):
        self.assertIn("--force", self.refuse("partial", 1).err)

    def test_unknown_refused(self):
        self.assertIn("state is unknown", self.refuse("unknown", 3).err)

    def test_none_is_already_clean(self):
        r = self.refuse("none", 0)
        self.assertIn("Nothing to clean up", r.out)


class Denied(unittest.TestCase):
    def test_no_delete_rights_refused_per_object_nothing_half_done(self):
        import os
        import tempfile
        cfg = os.path.join(tempfile.mkdtemp(prefix="fluxstate-cleanup-"), "deny.yaml")
        with open(cfg, "w") as f:
            f.write("deny:\n"
                    "- {verbs: [delete], group: apiextensions.k8s.io, resource: customresourcedefinitions}\n"
                    "- {verbs: [delete], group: rbac.authorization.k8s.io, resource: clusterroles}\n")
        sim = clitest.Sim("crd-terminating", extra_args=["--config", cfg])
        self.addCleanup(sim.stop)
        before = state_of(sim)
        r = run("--kubeconfig", sim.kubeconfig, "cleanup", "--yes", "-o", "json")
        self.assertEqual(r.rc, 4, r)
        ev = events(r.out)
        plan = [e for e in ev if e["event"] == "plan"]
        refused = [e for e in ev if e["event"] == "dry-run" and e["result"] == "refused"]
        want = [e for e in plan if e["kind"] in ("CustomResourceDefinition", "ClusterRole")]
        self.assertTrue(want, r.out)
        # one refusal per object, each naming it
        self.assertEqual([(e["kind"], e["name"]) for e in refused], [(e["kind"], e["name"]) for e in want])
        for e in refused:
            self.assertIn("forbidden", e["message"])
        # the dry run failed: nothing was done for real
        self.assertFalse([e for e in ev if e["event"] == "apply"], r.out)
        # every write the server let through was a dry run; the others were refused
        self.assertFalse([e for e in writes(sim) if e.get("status") != 403 and e.get("dryRun") is not True])
        self.assertEqual(state_of(sim), before)
        self.assertIn("more steps failed; nothing was changed", r.err)


def on_terminal(args, answer):
    """Run the CLI with stdin, stdout and stderr on one pseudo-terminal,
    type @answer at the confirmation prompt; (rc, everything shown)."""
    import os
    import pty
    import select
    import subprocess
    import time
    master, slave = pty.openpty()
    p = subprocess.Popen([clitest.CLI] + list(args), stdin=slave, stdout=slave, stderr=slave,
                         env=clitest.cli_env(), close_fds=True)
    os.close(slave)
    shown, answered = b"", False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
        if not answered and b"[y/N] " in shown:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if p.poll() is not None and not r:
            break
    p.wait(30)
    os.close(master)
    return p.returncode, shown.decode("utf-8", "replace").replace("\r\n", "\n")


class Terminal(unittest.TestCase):
    def test_no_at_the_prompt_changes_nothing(self):
        sim = clitest.Sim("rbac-only")
        self.addCleanup(sim.stop)
        rc, shown = on_terminal(["--kubeconfig", sim.kubeconfig, "cleanup"], "n")
        self.assertEqual(rc, 1, shown)
        self.assertIn("Carry out these", shown)
        self.assertIn("cancelled; nothing was changed", shown)
        self.assertEqual(writes(sim), [])

    def test_yes_at_the_prompt_shows_progress_and_ends_none(self):
        sim = clitest.Sim("rbac-only")
        self.addCleanup(sim.stop)
        rc, shown = on_terminal(["--kubeconfig", sim.kubeconfig, "cleanup"], "y")
        self.assertEqual(rc, 0, shown)
        self.assertRegex(shown, r"dry run \[1/\d+\] ok ")
        self.assertRegex(shown, r"\n\[1/\d+\] ok ")
        self.assertIn("the state is now none", shown)


if __name__ == "__main__":
    clitest.main()
