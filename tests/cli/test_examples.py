#!/usr/bin/python3
"""docs/examples: each example's shell line, run against the simulator.
The #1292 seed must pass the bootstrap precondition; a healthy cluster must
fail it with the documented message."""
import json
import os
import re
import subprocess
import tempfile
import unittest

import yaml

import clitest
from test_check import scenario_for

EXAMPLES = os.path.join(clitest.SOURCE_ROOT, "docs", "examples")
DOC = os.path.join(clitest.SOURCE_ROOT, "docs", "cli.md")
DOCUMENTED = re.compile(r"^fluxstate: state is (\w+), expected ([\w,]+): .+$", re.M)


def shell(script, kubeconfig=None, env=None, shell_args=("bash", "-c"), cwd=None):
    """Run a shell line with `fluxstate` on PATH pointing at the built binary."""
    bindir = tempfile.mkdtemp(prefix="fluxstate-cli-bin-")
    os.symlink(clitest.CLI, os.path.join(bindir, "fluxstate"))
    e = clitest.cli_env(env)
    e["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
    p = subprocess.run(list(shell_args) + [script], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=90, cwd=cwd)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def taskfile_precondition(task):
    with open(os.path.join(EXAMPLES, "Taskfile.yaml")) as f:
        tf = yaml.safe_load(f)
    for pre in tf["tasks"][task]["preconditions"]:
        if "fluxstate" in pre["sh"]:
            return pre["sh"], pre["msg"]
    raise AssertionError("no fluxstate precondition in task %s" % task)


def just_recipe(name):
    """The body of a recipe in docs/examples/justfile (indented lines)."""
    with open(os.path.join(EXAMPLES, "justfile")) as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if re.match(r"^%s\s*:" % re.escape(name), l))
    body = []
    for l in lines[start + 1:]:
        if not l.startswith((" ", "\t")):
            break
        body.append(l.strip())
    return "\n".join(body)


def ci_step(step_id):
    with open(os.path.join(EXAMPLES, "ci.yaml")) as f:
        wf = yaml.safe_load(f)
    for job in wf["jobs"].values():
        for step in job["steps"]:
            if step.get("id") == step_id:
                return step["run"]
    raise AssertionError("no step %s in ci.yaml" % step_id)


class Documented(unittest.TestCase):
    def test_the_message_format_is_documented(self):
        with open(DOC) as f:
            doc = f.read()
        self.assertIn("fluxstate: state is <state>, expected <state[,state…]>: <summary>", doc)
        for example in ("Taskfile.yaml", "justfile", "ci.yaml"):
            with open(os.path.join(EXAMPLES, example)) as f:
                self.assertIn("--expect none", f.read(), example)
        with open(os.path.join(EXAMPLES, "Taskfile.yaml")) as f:
            self.assertIn("kubectl get namespace flux-system", f.read(), "the replaced precondition is shown")


class Taskfile(unittest.TestCase):
    def run_pre(self, task, state):
        sim = clitest.shared_sim(clitest.seed() if state == "none" else scenario_for(state))
        sh, msg = taskfile_precondition(task)
        self.assertIn("{{.KUBECONFIG_FILE}}", sh)
        return shell(sh.replace("{{.KUBECONFIG_FILE}}", sim.kubeconfig)), msg

    def test_seed_passes_bootstrap_precondition(self):
        (rc, out, err), _ = self.run_pre("bootstrap", "none")
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_healthy_fails_bootstrap_precondition_with_documented_message(self):
        (rc, out, err), msg = self.run_pre("bootstrap", "healthy")
        self.assertEqual(rc, 1, err)
        m = DOCUMENTED.search(err)
        self.assertIsNotNone(m, err)
        self.assertEqual(m.groups(), ("healthy", "none"))
        self.assertIn("Flux is installed or left traces on this cluster, or fluxstate could not tell", msg)

    def test_unknown_fails_bootstrap_precondition_with_exit_3(self):
        (rc, out, err), _ = self.run_pre("bootstrap", "unknown")
        self.assertEqual(rc, 3, err)
        self.assertIn("fluxstate: state is unknown (could not see enough), expected none: ", err)

    def test_residual_fails_bootstrap_precondition(self):
        (rc, out, err), _ = self.run_pre("bootstrap", "residual")
        self.assertEqual(rc, 1, err)
        self.assertEqual(DOCUMENTED.search(err).groups(), ("residual", "none"))

    def test_reconcile_precondition(self):
        (rc, _, err), _ = self.run_pre("reconcile", "healthy")
        self.assertEqual(rc, 0, err)
        (rc, _, err), _ = self.run_pre("reconcile", "none")
        self.assertEqual(rc, 1, err)
        self.assertEqual(DOCUMENTED.search(err).groups(), ("none", "healthy"))


class Justfile(unittest.TestCase):
    def run_recipe(self, recipe, state):
        sim = clitest.shared_sim(clitest.seed() if state == "none" else scenario_for(state))
        body = just_recipe(recipe)
        self.assertIn("{{kubeconfig}}", body)
        return shell(body.replace("{{kubeconfig}}", sim.kubeconfig), shell_args=("bash", "-euo", "pipefail", "-c"))

    def test_seed_passes_flux_absent(self):
        self.assertEqual(self.run_recipe("flux-absent", "none"), (0, "", ""))

    def test_healthy_fails_flux_absent_with_documented_message(self):
        rc, out, err = self.run_recipe("flux-absent", "healthy")
        self.assertEqual(rc, 1, err)
        self.assertEqual(DOCUMENTED.search(err).groups(), ("healthy", "none"))
        self.assertIn("Flux is installed or left traces on this cluster", err)

    def test_flux_healthy(self):
        self.assertEqual(self.run_recipe("flux-healthy", "healthy")[0], 0)
        rc, _, err = self.run_recipe("flux-healthy", "residual")
        self.assertEqual(rc, 1, err)

    def test_unknown_and_unreachable_keep_their_exit_code(self):
        rc, out, err = self.run_recipe("flux-absent", "unknown")
        self.assertEqual(rc, 3, err)
        self.assertIn("fluxstate: state is unknown (could not see enough), expected none: ", err)
        self.assertNotIn("Flux is installed or left traces", err)
        tmp = tempfile.mkdtemp(prefix="fluxstate-cli-just-")
        kc = clitest.kubeconfig_for_server(os.path.join(tmp, "kc"), "https://127.0.0.1:%d" % clitest.closed_port())
        rc, out, err = shell(just_recipe("flux-absent").replace("{{kubeconfig}}", kc),
                             shell_args=("bash", "-euo", "pipefail", "-c"))
        self.assertEqual(rc, 4, err)
        self.assertRegex(err, r"(?m)^fluxstate: cannot reach the API server: ")
        self.assertNotIn("Flux is installed or left traces", err)

    def test_bootstrap_depends_on_flux_absent(self):
        with open(os.path.join(EXAMPLES, "justfile")) as f:
            self.assertRegex(f.read(), r"(?m)^bootstrap:.*\bflux-absent\b")


def every_fluxstate_line():
    """(example, line) for every shell line of the Taskfile and the justfile
    that runs fluxstate, with its template variable for the kubeconfig."""
    with open(os.path.join(EXAMPLES, "Taskfile.yaml")) as f:
        tf = yaml.safe_load(f)
    found = []
    for name, task in tf["tasks"].items():
        for cmd in task.get("cmds") or []:
            if isinstance(cmd, str) and "fluxstate" in cmd:
                found.append(("Taskfile %s" % name, cmd.replace("{{.KUBECONFIG_FILE}}", "{kc}")))
        for pre in task.get("preconditions") or []:
            if "fluxstate" in pre["sh"]:
                found.append(("Taskfile %s precondition" % name, pre["sh"].replace("{{.KUBECONFIG_FILE}}", "{kc}")))
    with open(os.path.join(EXAMPLES, "justfile")) as f:
        names = re.findall(r"(?m)^([a-z][\w-]*)\s*:", f.read())
    for name in names:
        body = just_recipe(name)
        if "fluxstate" in body:
            found.append(("justfile %s" % name, body.replace("{{kubeconfig}}", "{kc}")))
    return found


class EveryLine(unittest.TestCase):
    # What each state must give, per kind of line (0 ok, 1 another state).
    WANT = {"--expect none": {"none": 0, "residual": 1, "healthy": 1},
            "--expect healthy": {"none": 1, "residual": 1, "healthy": 0},
            "cleanup-plan": {"none": 1, "residual": 0, "healthy": 1},
            "": {"none": 0, "residual": 0, "healthy": 0}}

    def test_every_fluxstate_line_runs_with_its_documented_exit_code(self):
        lines = every_fluxstate_line()
        self.assertGreaterEqual(len(lines), 8, lines)
        for state in ("none", "residual", "healthy"):
            sim = clitest.shared_sim(clitest.seed() if state == "none" else scenario_for(state))
            for where, line in lines:
                kind = next(k for k in self.WANT if k in line)
                with self.subTest(example=where, state=state):
                    rc, out, err = shell(line.replace("{kc}", sim.kubeconfig),
                                         shell_args=("bash", "-euo", "pipefail", "-c"))
                    self.assertEqual(rc, self.WANT[kind][state], (line, out, err))
                    if kind == "cleanup-plan" and rc == 0:
                        self.assertTrue(out.startswith("#!/bin/sh\n"), out)
                    if kind == "" and rc == 0:
                        self.assertIn("state: %s" % state, out)


class CI(unittest.TestCase):
    def run_step(self, kubeconfig):
        work = tempfile.mkdtemp(prefix="fluxstate-cli-ci-")
        output = os.path.join(work, "github-output")
        open(output, "w").close()
        rc, out, err = shell(ci_step("flux-state"), env={"KUBECONFIG": kubeconfig, "GITHUB_OUTPUT": output},
                             shell_args=("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"), cwd=work)
        with open(output) as f:
            outputs = f.read()
        report = None
        path = os.path.join(work, "fluxstate-report.json")
        if os.path.exists(path) and os.path.getsize(path):
            with open(path) as f:
                report = json.load(f)
        return rc, out, err, outputs, report

    def test_seed_bootstraps(self):
        sim = clitest.shared_sim(clitest.seed())
        rc, out, err, outputs, report = self.run_step(sim.kubeconfig)
        self.assertEqual(rc, 0, err)
        self.assertEqual(outputs, "bootstrap=true\n")
        self.assertEqual(report["state"], "none")

    def test_healthy_skips_bootstrap(self):
        sim = clitest.shared_sim(scenario_for("healthy"))
        rc, out, err, outputs, report = self.run_step(sim.kubeconfig)
        self.assertEqual(rc, 0, err)
        self.assertEqual(outputs, "bootstrap=false\n")
        self.assertIn("::notice::", out)
        self.assertEqual(DOCUMENTED.search(err).groups(), ("healthy", "none"))
        self.assertEqual(report["state"], "healthy")

    def test_unknown_fails_the_job(self):
        sim = clitest.shared_sim(scenario_for("unknown"))
        rc, out, err, outputs, report = self.run_step(sim.kubeconfig)
        self.assertEqual(rc, 3, err)
        self.assertIn("::error::", out)
        self.assertEqual(outputs, "")

    def test_unreachable_fails_the_job(self):
        tmp = tempfile.mkdtemp(prefix="fluxstate-cli-ci-")
        kc = clitest.kubeconfig_for_server(os.path.join(tmp, "kc"), "https://127.0.0.1:%d" % clitest.closed_port())
        rc, out, err, outputs, report = self.run_step(kc)
        self.assertEqual(rc, 4, err)
        self.assertIn("::error::fluxstate failed with exit code 4", out)
        self.assertEqual(outputs, "")


if __name__ == "__main__":
    clitest.main()
