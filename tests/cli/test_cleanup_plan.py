#!/usr/bin/python3
"""fluxstate cleanup-plan: the script for residual (and partial with
--force), its order and comments, that real kubectl accepts every command
(client dry run against the simulator), that it changes nothing, and the
refusals for none / healthy / partial / unknown."""
import json
import os
import shlex
import subprocess
import tempfile
import unittest

import clitest
from clitest import run
from test_check import scenario_for

PATCH = """--type=merge -p '{"metadata":{"finalizers":null}}'"""


def commands(script):
    """(comment lines before it, command line) for each kubectl command."""
    out, comments = [], []
    for line in script.splitlines():
        if line.startswith("#"):
            comments.append(line)
        elif line.startswith("kubectl "):
            out.append((comments, line))
            comments = []
        elif not line.strip():
            comments = []
    return out


def actionable(f):
    return (f["name"] and f["problem"] not in ("missing", "not-visible") and f["category"] not in ("access", "server")
            and "not-visible" not in (f.get("flags") or [])
            and not (f["kind"] == "Namespace" and f["problem"] == "pre-created"))


class Residual(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = clitest.shared_sim(scenario_for("residual"))
        cls.report = json.loads(run("--kubeconfig", cls.sim.kubeconfig, "-o", "json").out)
        cls.r = run("--kubeconfig", cls.sim.kubeconfig, "cleanup-plan")
        with open(cls.sim.kubeconfig) as f:
            import yaml
            cls.context = yaml.safe_load(f)["current-context"]

    def test_exit_0_and_a_valid_shell_script(self):
        self.assertEqual(self.r.rc, 0, self.r)
        self.assertEqual(self.r.err, "", self.r)
        self.assertTrue(self.r.out.startswith("#!/bin/sh\n"), self.r.out)
        self.assertIn("\nset -eu\n", self.r.out)
        p = subprocess.run(["sh", "-n"], input=self.r.out.encode(), stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_every_command_targets_the_same_cluster_and_is_commented(self):
        cmds = commands(self.r.out)
        self.assertTrue(cmds, self.r.out)
        prefix = "kubectl --kubeconfig=%s --context=%s " % (shlex.quote(os.path.abspath(self.sim.kubeconfig)),
                                                           shlex.quote(self.context))
        for comments, line in cmds:
            self.assertTrue(line.startswith(prefix), line)
            self.assertTrue(any(c.startswith("# ") and ": " in c and not c.startswith("# ==") for c in comments),
                            (line, comments))

    def test_each_finding_is_named_in_a_comment(self):
        for f in self.report["findings"]:
            if not actionable(f):
                continue
            head = "# %s/%s%s: %s" % (f["kind"], f["namespace"] + "/" if f["namespace"] else "", f["name"], f["problem"])
            self.assertIn(head, self.r.out, f)

    def test_order_is_flux_uninstall_order(self):
        cmds = [line for _, line in commands(self.r.out)]

        def first(pred):
            return next((i for i, l in enumerate(cmds) if pred(l)), None)
        patch = first(lambda l: " patch " in l)
        crd = first(lambda l: " delete customresourcedefinition." in l)
        rbac = first(lambda l: " delete clusterrole" in l)
        ns = first(lambda l: " delete namespace " in l)
        kinds = {f["category"] for f in self.report["findings"] if actionable(f)}
        if "custom-resource" in kinds:
            self.assertIsNotNone(patch, self.r.out)
        if "crd" in kinds:
            self.assertIsNotNone(crd, self.r.out)
        order = [i for i in (patch, crd, rbac, ns) if i is not None]
        self.assertEqual(order, sorted(order), self.r.out)
        if ns is not None:
            self.assertEqual(ns, len(cmds) - 1, "the namespace goes last")
        for l in cmds:
            if " patch " in l:
                self.assertTrue(l.endswith(PATCH), l)
            else:
                self.assertIn(" delete ", l)
                self.assertTrue(l.endswith(" --ignore-not-found"), l)

    def test_residual_custom_resources_get_their_finalizers_stripped(self):
        crs = [f for f in self.report["findings"] if f["category"] == "custom-resource" and actionable(f)]
        self.assertTrue(crs, "scenario %s has no custom-resource finding" % scenario_for("residual"))
        for f in crs:
            group = f["apiVersion"].split("/")[0]
            want = " patch %s.%s %s --namespace=%s %s" % (f["kind"].lower(), group, f["name"], f["namespace"], PATCH)
            self.assertIn(want, self.r.out)

    def test_plan_changed_nothing(self):
        methods = {e.get("method", "GET") for e in self.sim.requests()}
        self.assertTrue(methods, "the request log is empty")
        self.assertLessEqual(methods, {"GET"}, methods)

    def test_real_kubectl_accepts_every_command(self):
        kubectl = clitest.kubectl_binary()
        self.assertIsNotNone(kubectl, "no kubectl binary on this machine")
        shim = tempfile.mkdtemp(prefix="fluxstate-cli-kubectl-")
        os.symlink(kubectl, os.path.join(shim, "kubectl"))
        env = dict(os.environ, PATH=shim + os.pathsep + os.environ.get("PATH", ""), HOME=shim)
        env.pop("KUBECONFIG", None)
        env.pop("LD_PRELOAD", None)
        for _, line in commands(self.r.out):
            # client dry run: kubectl resolves the resource and, for a patch,
            # fetches the object and applies the patch locally
            p = subprocess.run(["sh", "-c", line + " --dry-run=client"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            out = p.stdout.decode() + p.stderr.decode()
            self.assertEqual(p.returncode, 0, (line, out))
            self.assertRegex(out, r" (patched|deleted \(dry run\))\n", (line, out))
            # and the object named is really there
            words = shlex.split(line)
            verb = next(i for i, w in enumerate(words) if w in ("patch", "delete"))
            get = words[:verb] + ["get", words[verb + 1], words[verb + 2], "-o", "name"]
            get += [w for w in words[verb + 3:] if w.startswith("--namespace=")]
            p = subprocess.run(get, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 0, (get, p.stderr.decode()))
            self.assertTrue(p.stdout.decode().strip().endswith("/" + words[verb + 2]), (get, p.stdout))

    def test_kubeconfig_env_is_carried_into_the_script(self):
        r = run("cleanup-plan", env={"KUBECONFIG": self.sim.kubeconfig})
        self.assertEqual(r.rc, 0, r)
        self.assertIn("\nKUBECONFIG=%s\nexport KUBECONFIG\n" % shlex.quote(self.sim.kubeconfig), r.out)
        self.assertNotIn("--kubeconfig=", r.out)

    def test_relative_kubeconfig_becomes_absolute(self):
        d = os.path.dirname(self.sim.kubeconfig)
        r = run("cleanup-plan", "--kubeconfig", os.path.basename(self.sim.kubeconfig), cwd=d)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("--kubeconfig=%s " % shlex.quote(os.path.abspath(self.sim.kubeconfig)), r.out)

    def test_quiet_prints_nothing(self):
        r = run("--kubeconfig", self.sim.kubeconfig, "cleanup-plan", "-q")
        self.assertEqual((r.rc, r.out), (0, ""), r)


class Refusals(unittest.TestCase):
    def refuse(self, state, rc, needle, *extra):
        sim = clitest.shared_sim(scenario_for(state))
        r = run("--kubeconfig", sim.kubeconfig, "cleanup-plan", *extra)
        self.assertEqual(r.rc, rc, r)
        self.assertEqual(r.out, "", r)
        self.assertTrue(r.err.startswith("fluxstate: "), r)
        self.assertIn(needle, r.err, r)
        self.assertEqual(len(r.err.splitlines()), 1, r)

    def test_none_refused(self):
        self.refuse("none", 1, "nothing to clean up: state is none")

    def test_healthy_refused(self):
        self.refuse("healthy", 1, "state is healthy")
        self.refuse("healthy", 1, "state is healthy", "--force")

    def test_partial_needs_force(self):
        self.refuse("partial", 1, "--force")

    def test_unknown_refused_with_exit_3(self):
        self.refuse("unknown", 3, "state is unknown")
        self.refuse("unknown", 3, "state is unknown", "--force")


class PartialForced(unittest.TestCase):
    def test_partial_with_force_stops_controllers_first(self):
        sim = clitest.shared_sim(scenario_for("partial"))
        report = json.loads(run("--kubeconfig", sim.kubeconfig, "-o", "json").out)
        r = run("--kubeconfig", sim.kubeconfig, "cleanup-plan", "--force")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("# WARNING: Flux controllers are present (partial, --force)", r.out)
        cmds = [line for _, line in commands(r.out)]
        # every controller goes, broken or not, and first
        self.assertTrue(report["components"], report)
        for c in report["components"]:
            want = " delete deployment.apps %s --namespace=%s --ignore-not-found" % (c["name"], c["namespace"])
            self.assertTrue(any(l.endswith(want) for l in cmds[:len(report["components"])]), (want, r.out))
        # the library plan is complete: the rest of the install follows the controllers
        crd = next((i for i, l in enumerate(cmds) if " delete customresourcedefinition." in l), None)
        self.assertIsNotNone(crd, r.out)
        self.assertGreaterEqual(crd, len(report["components"]), r.out)
        p = subprocess.run(["sh", "-n"], input=r.out.encode(), stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)


class FluxV1NeverPlanned(unittest.TestCase):
    """#11 item 3: Flux v1 beside Flux v2 leftovers. Deleting helm-operator's
    CRD would delete every v1 HelmRelease while helm-operator runs."""

    def test_flux_v1_is_reported_but_never_in_the_plan(self):
        sim = clitest.shared_sim("flux-v1-beside-leftovers")
        report = json.loads(run("--kubeconfig", sim.kubeconfig, "-o", "json").out)
        self.assertEqual(report["state"], "residual", report)
        v1 = [f for f in report["findings"] if f["category"] == "flux-v1"]
        self.assertEqual(sorted(f["name"] for f in v1), ["flux", "helm-operator", "helmreleases.helm.fluxcd.io"], v1)
        for f in v1:
            self.assertEqual(f["severity"], "warning", f)
            self.assertIn("not-flux-v2", f["flags"], f)
        r = run("--kubeconfig", sim.kubeconfig, "cleanup-plan")
        self.assertEqual(r.rc, 0, r)
        cmds = [line for _, line in commands(r.out)]
        # the Flux v2 CRDs go ...
        self.assertTrue(any(" customresourcedefinition" in l and "gitrepositories.source.toolkit.fluxcd.io" in l
                            for l in cmds), r.out)
        # ... Flux v1 never: not its CRD, not its Deployments, not its namespace
        for l in cmds:
            self.assertNotIn("helm.fluxcd.io", l.replace("helm.toolkit.fluxcd.io", ""), l)
            self.assertNotIn("helm-operator", l, l)
            self.assertNotRegex(l, r"deployment\.apps '?flux'? ", l)
            self.assertNotRegex(l, r"namespace '?flux'?( |$)", l)

if __name__ == "__main__":
    clitest.main()
