#!/usr/bin/python3
"""fluxstate check against the simulator: text and JSON output for every
state, --expect, config, -n, -v without secrets, colour rules."""
import subprocess
import json
import os
import re
import unittest

import clitest
from clitest import run

STATES = ("none", "residual", "partial", "healthy", "unknown")
HINT_WORD = {"bootstrap": "bootstrap", "cleanup": "cleanup-plan", "repair": "repair",
             "none": "leave alone", "investigate": "investigate"}
MARK = {"error": "✗", "warning": "⚠", "info": "✔"}
FLAG_ORDER = ("blocks-reinstall", "blocks-flux-install", "finalizer-blocked", "not-visible", "not-flux-v2")
FLAG_TEXT = {"blocks-reinstall": "blocks reinstall", "blocks-flux-install": "blocks flux install",
             "finalizer-blocked": "finalizer-blocked", "not-visible": "not visible", "not-flux-v2": "not Flux v2"}


def scenario_for(state):
    if state == "none":
        return clitest.seed()
    prefer = {"residual": clitest.RESIDUAL, "healthy": clitest.HEALTHY,
              "partial": clitest.PARTIAL, "unknown": clitest.UNKNOWN}[state]
    return clitest.pick(state, prefer)


def probe(state, *args, env=None):
    sim = clitest.shared_sim(scenario_for(state))
    return sim, run("--kubeconfig", sim.kubeconfig, *args, env=env)


LIBRARY_JSON = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.fluxstate_ctx_get_error.restype = ctypes.c_char_p
ctx, report, out = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
assert lib.fluxstate_ctx_new(ctypes.byref(ctx)) == 0
if lib.fluxstate_ctx_load_kubeconfig(ctx, sys.argv[2].encode(), None) != 0 or \
        lib.fluxstate_ctx_probe(ctx, ctypes.byref(report)) != 0:
    sys.exit(lib.fluxstate_ctx_get_error(ctx).decode())
assert lib.fluxstate_report_to_json(report, ctypes.byref(out)) == 0
sys.stdout.write(ctypes.string_at(out).decode())
lib.fluxstate_free(out)
lib.fluxstate_report_free(report)
lib.fluxstate_ctx_free(ctx)
"""


def library_json(kubeconfig):
    """The library's own report JSON for the same cluster, through ctypes in
    a child interpreter (which needs the sanitizer runtime preloaded when
    the library is instrumented)."""
    root = os.environ.get("FLUXSTATE_BUILD_ROOT")
    if not root:
        return None
    env = dict(os.environ)
    if env.get("FLUXSTATE_LD_PRELOAD"):
        env["LD_PRELOAD"] = env["FLUXSTATE_LD_PRELOAD"]
    p = subprocess.run(["/usr/bin/python3", "-c", LIBRARY_JSON,
                        os.path.join(root, "libfluxstate", "libfluxstate.so.0"), kubeconfig],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


class TextOutput(unittest.TestCase):
    def check_text(self, state):
        sim, r = probe(state)
        report = json.loads(run("--kubeconfig", sim.kubeconfig, "-o", "json").out)
        self.assertEqual(report["state"], state, "scenario %s" % scenario_for(state))
        self.assertEqual(r.rc, 3 if state == "unknown" else 0, r)
        self.assertIsNone(clitest.ANSI.search(r.out), "colour on a pipe")
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^► checking Flux in namespace %s \(context .+\)$" % re.escape(report["namespace"]))
        mark = "✔" if state in ("none", "healthy") else "✗"
        self.assertEqual(lines[1], "%s state: %s: %s" % (mark, state, report["summary"]), r)
        self.assertTrue(lines[-1].startswith("► next: "), r)
        self.assertIn(HINT_WORD[report["action"]], lines[-1], r)
        # every finding is printed once, exactly, under its category's heading
        for f in report["findings"]:
            if f["kind"]:
                obj = "%s/%s%s" % (f["kind"], f["namespace"] + "/" if f["namespace"] else "", f["name"] or "*")
            else:
                obj = f["name"] or f["category"]
            line = "%s %s: %s" % (MARK[f["severity"]], obj, f["problem"])
            if f["reason"]:
                line += " (%s)" % f["reason"]
            flags = [FLAG_TEXT[x] for x in FLAG_ORDER if x in (f.get("flags") or [])]
            if flags:
                line += " [%s]" % ", ".join(flags)
            self.assertIn(line, lines, r)
        body = lines[2:-1]
        if body and re.match(r"^► (Flux v|installed by|Kubernetes )", body[0]):
            body = body[1:]  # the versions line
        # the controllers, as flux check lists them
        block = []
        for c in report.get("components") or []:
            if c["ready"]:
                block.append("✔ %s: deployment ready" % c["name"])
            else:
                block.append("✗ %s: deployment not ready%s" % (c["name"], " (%s)" % c["reason"] if c.get("reason") else ""))
            if c.get("image"):
                block.append("► %s" % c["image"])
        if block:
            self.assertEqual(body[:len(block) + 1], ["► checking controllers"] + block, r)
            body = body[len(block) + 1:]
        else:
            self.assertNotIn("► checking controllers", lines, r)
        finding_lines = [l for l in body if l[:1] in ("✔", "✗", "⚠")]
        self.assertEqual(len(finding_lines), len(report["findings"]), r)
        headings = [l for l in body if l.startswith("► ")]
        self.assertEqual(len(headings), len({f["category"] for f in report["findings"]}), r)
        if state == "unknown":
            self.assertIn("fluxstate: state is unknown (could not see enough)", r.err)
        else:
            self.assertEqual(r.err, "", r)
        return r, report

    def test_text_none(self):
        r, report = self.check_text("none")
        self.assertIn("bootstrap", r.out.splitlines()[-1])

    def test_text_residual(self):
        r, report = self.check_text("residual")
        self.assertIn("fluxstate cleanup-plan", r.out.splitlines()[-1])

    def test_text_partial(self):
        self.check_text("partial")

    def test_text_healthy(self):
        r, report = self.check_text("healthy")
        self.assertIn("leave alone", r.out.splitlines()[-1])
        if report["version"]:
            self.assertIn("Flux %s" % report["version"], r.out)

    def test_text_unknown(self):
        r, report = self.check_text("unknown")
        self.assertTrue(any(f["category"] == "access" for f in report["findings"]), report)
        self.assertIn("not visible", r.out)

    def test_check_command_is_the_default(self):
        sim, r1 = probe("none")
        r2 = run("check", "--kubeconfig", sim.kubeconfig)
        self.assertEqual(r1.rc, r2.rc)
        self.assertEqual(r1.out, r2.out)


class JsonOutput(unittest.TestCase):
    def test_schema_validation_catches_a_wrong_report(self):
        # The validation the other tests rely on must be able to fail.
        sim, r = probe("residual", "-o", "json")
        report = json.loads(r.out)
        with open(clitest.REPORT_SCHEMA) as fh:
            schema = json.load(fh)
        self.assertEqual(clitest.report_schema_errors(report), [])
        self.assertEqual(clitest.validate(report, schema), [], "the stdlib fallback validator disagrees")
        self.assertTrue(report["findings"], "a residual report without findings")
        f = report["findings"][0]
        for name, broken in (("state", dict(report, state="installed")),
                             ("schema id", dict(report, schema="fluxstate.report/v9")),
                             ("finding kind type", dict(report, findings=[dict(f, kind=1)])),
                             ("finding extra key", dict(report, findings=[dict(f, colour="red")])),
                             ("duplicate flag", dict(report, findings=[dict(f, flags=["not-visible", "not-visible"])])),
                             ("missing namespace", {k: v for k, v in report.items() if k != "namespace"})):
            with self.subTest(broken=name):
                self.assertNotEqual(clitest.report_schema_errors(broken), [])
                self.assertNotEqual(clitest.validate(broken, schema), [])

    def test_json_for_every_state(self):
        for state in STATES:
            with self.subTest(state=state):
                sim, r = probe(state, "-o", "json")
                self.assertEqual(r.rc, 3 if state == "unknown" else 0, r)
                report = json.loads(r.out)
                self.assertEqual(report["state"], state)
                for key in ("state", "namespace", "installer", "version", "findings", "summary", "action"):
                    self.assertIn(key, report)
                self.assertIn(report["state"], STATES)
                for f in report["findings"]:
                    for key in ("kind", "name", "namespace", "reason", "category", "problem", "severity"):
                        self.assertIn(key, f)
                self.assertEqual(clitest.report_schema_errors(report), [], r.out)
                expect = clitest.scenarios()[scenario_for(state)].get("expect") or {}
                for key in ("namespace", "installer", "version"):
                    if key in expect:
                        self.assertEqual(report[key], expect[key], key)

    def test_json_is_the_library_json_unchanged(self):
        for state in ("none", "residual", "healthy"):
            with self.subTest(state=state):
                sim, r = probe(state, "-o", "json")
                lib = library_json(sim.kubeconfig)
                self.assertIsNotNone(lib, "FLUXSTATE_BUILD_ROOT is not set")
                # The same cluster probed twice may differ in its request
                # count, and (library issue, reported) in the order of
                # equally important findings, which follows response arrival.
                def norm(text):
                    doc = json.loads(text)
                    doc["requests"] = 0
                    doc["findings"].sort(key=lambda f: json.dumps(f, sort_keys=True))
                    return doc
                self.assertEqual(norm(r.out), norm(lib))
                # unchanged means the library's own bytes, not a re-encoding
                self.assertEqual(set(r.out.rstrip("\n")) - set(lib), set())
                self.assertEqual(len(r.out.rstrip("\n")), len(lib.rstrip("\n")) + len(
                    re.search(r'"requests":\s*(\d+)', r.out).group(1)) - len(
                    re.search(r'"requests":\s*(\d+)', lib).group(1)))


class Expect(unittest.TestCase):
    def test_seed_passes_expect_none(self):
        sim, r = probe("none", "--expect", "none", "-q")
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""), r)

    def test_healthy_fails_expect_none_with_one_line(self):
        sim, r = probe("healthy", "--expect", "none", "-q")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^fluxstate: state is healthy, expected none: .+\n$")

    def test_lists_and_case(self):
        sim, r = probe("healthy", "--expect", "none,healthy", "-q")
        self.assertEqual(r.rc, 0, r)
        sim, r = probe("healthy", "--expect", "NONE, Healthy", "-q")
        self.assertEqual(r.rc, 0, r)
        sim, r = probe("residual", "--expect", "none,healthy", "-q")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("state is residual, expected none,healthy", r.err)

    def test_unknown_is_exit_3_unless_expected(self):
        sim, r = probe("unknown", "--expect", "none", "-q")
        self.assertEqual(r.rc, 3, r)
        self.assertIn("fluxstate: state is unknown (could not see enough), expected none:", r.err)
        sim, r = probe("unknown", "--expect", "unknown", "-q")
        self.assertEqual(r.rc, 0, r)

    def test_expect_still_prints_without_quiet(self):
        sim, r = probe("residual", "--expect", "none")
        self.assertEqual(r.rc, 1)
        self.assertIn("state: residual", r.out)
        sim, r = probe("residual", "--expect", "none", "-o", "json")
        self.assertEqual(json.loads(r.out)["state"], "residual")


class Config(unittest.TestCase):
    def test_config_text_and_json(self):
        sim = clitest.shared_sim(clitest.seed())
        r = run("config", "--kubeconfig", sim.kubeconfig)
        self.assertEqual(r.rc, 0, r)
        rj = run("config", "--kubeconfig", sim.kubeconfig, "-o", "json")
        self.assertEqual(rj.rc, 0, rj)
        desc = json.loads(rj.out)
        self.assertIsInstance(desc, dict)
        self.assertIn(sim.url, rj.out)
        self.assertIn(sim.url, r.out)
        # every top-level scalar appears as a "key: value" line
        for key, value in desc.items():
            if isinstance(value, str) and value:
                self.assertRegex(r.out, r"(?m)^%s: +%s$" % (re.escape(key), re.escape(value)))
        for secret in sim.secrets():
            self.assertNotIn(secret, r.out + r.err + rj.out + rj.err)

    def test_config_follows_context_flag(self):
        sim = clitest.shared_sim(clitest.seed())
        r = run("config", "--kubeconfig", sim.kubeconfig, "--context", "no-such")
        self.assertEqual(r.rc, 2, r)


class Namespace(unittest.TestCase):
    def test_namespace_flag_is_the_flux_namespace(self):
        sim, r = probe("healthy", "-n", "elsewhere", "-o", "json")
        self.assertIn(r.rc, (0, 3), r)
        self.assertEqual(json.loads(r.out)["namespace"], "elsewhere")
        sim, r2 = probe("healthy", "--namespace=elsewhere")
        self.assertIn("namespace elsewhere", r2.out.splitlines()[0])


class ConnectionFlags(unittest.TestCase):
    def test_server_and_tls_server_name_override_the_kubeconfig(self):
        sim = clitest.shared_sim(clitest.seed())
        # The simulator's certificate names 127.0.0.1, localhost and kubesim.test.
        r = run("--kubeconfig", sim.kubeconfig, "--tls-server-name", "kubesim.test", "--expect", "none", "-q")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        r = run("--kubeconfig", sim.kubeconfig, "--tls-server-name", "wrong.example", "--expect", "none", "-q")
        self.assertEqual(r.rc, 4, r)
        self.assertIn("wrong.example", r.err, r)
        url = sim.url.replace("127.0.0.1", "localhost")
        r = run("--kubeconfig", sim.kubeconfig, "-s", url, "config")
        self.assertRegex(r.out, r"(?m)^server: +%s$" % re.escape(url), r)
        r = run("--kubeconfig", sim.kubeconfig, "--server=%s" % url, "--expect", "none", "-q")
        self.assertEqual(r.rc, 0, r)
        dead = "https://127.0.0.1:%d" % clitest.closed_port()
        r = run("--kubeconfig", sim.kubeconfig, "-s", dead)
        self.assertEqual(r.rc, 4, r)

    def test_context_cluster_and_user_flags(self):
        sim = clitest.shared_sim(clitest.seed())
        # kubesim-cert-admin: the same cluster with the client-certificate user
        r = run("--kubeconfig", sim.kubeconfig, "--context", "kubesim-cert-admin", "config")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"(?m)^auth: +client-certificate$", r)
        r = run("--kubeconfig", sim.kubeconfig, "--user", "cert-admin", "config")
        self.assertRegex(r.out, r"(?m)^user: +cert-admin$", r)
        r = run("--kubeconfig", sim.kubeconfig, "--user", "cert-admin", "--cluster", "kubesim", "--expect", "none", "-q")
        self.assertEqual((r.rc, r.err), (0, ""), r)


class VerboseAndSecrets(unittest.TestCase):
    def test_verbose_traces_requests_without_secrets(self):
        for state in ("none", "residual", "healthy", "unknown"):
            with self.subTest(state=state):
                sim = clitest.shared_sim(scenario_for(state))
                secrets = sim.secrets()
                self.assertTrue(secrets, "the simulator's kubeconfig carries no credential to look for")
                outputs = []
                for args in (["-v"], ["-v", "-o", "json"], ["--verbose", "config"], ["-v=6", "config", "-o", "json"],
                             ["-v", "cleanup-plan", "--force"]):
                    r = run("--kubeconfig", sim.kubeconfig, *args)
                    outputs.append(r.out + r.err)
                    if "config" not in args:
                        self.assertRegex(r.err, r"fluxstate: trace: ", r)
                for text in outputs:
                    for secret in secrets:
                        self.assertNotIn(secret, text)

    def test_not_verbose_prints_no_trace(self):
        sim, r = probe("healthy")
        self.assertNotIn("trace:", r.err)
        sim, r = probe("healthy", "-v=0")
        self.assertNotIn("trace:", r.err)


class Colour(unittest.TestCase):
    def test_colour_only_on_a_terminal_without_no_color(self):
        sim = clitest.shared_sim(scenario_for("residual"))
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", sim.kubeconfig])
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"\x1b\[3[12]m", out)
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", sim.kubeconfig], env={"NO_COLOR": "1"})
        self.assertNotRegex(out, r"\x1b\[", out)
        self.assertIn("state: residual", out)
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", sim.kubeconfig, "--no-color"])
        self.assertNotRegex(out, r"\x1b\[", out)
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", sim.kubeconfig], env={"NO_COLOR": ""})
        self.assertRegex(out, r"\x1b\[", "an empty NO_COLOR does not disable colour")
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", sim.kubeconfig, "-o", "json"])
        self.assertNotRegex(out, r"\x1b\[", "JSON is never coloured")
        rc, out, _ = clitest.run_on_tty(["--kubeconfig", sim.kubeconfig], env={"TERM": "dumb"})
        self.assertNotRegex(out, r"\x1b\[", "TERM=dumb")
        self.assertIn("state: residual", out)


class KubeconfigSources(unittest.TestCase):
    def test_kubeconfig_env_and_timeout_forms(self):
        sim = clitest.shared_sim(clitest.seed())
        r = run("--expect", "none", "-q", env={"KUBECONFIG": sim.kubeconfig})
        self.assertEqual(r.rc, 0, r)
        for t in ("30s", "1m30s", "45", "2.5s", "1h"):
            r = run("--kubeconfig", sim.kubeconfig, "--timeout", t, "--expect", "none", "-q")
            self.assertEqual(r.rc, 0, (t, r))


if __name__ == "__main__":
    clitest.main()
