"""Shared helpers for the real-cluster tier (suite 'realcluster'): start the
real control plane with tests/realcluster/start, run the real kubectl, and
probe with the library three ways (C, CLI, Python binding).

Nothing is skipped here: a missing binary, kubectl or generator is an error,
so the tier can only pass by running.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
START = os.path.join(HERE, "start")
FLUXGEN = os.path.join(SOURCE_ROOT, "tests", "fluxgen", "fluxgen.py")
KUBECTL_CANDIDATES = ["/usr/lib/google-cloud-sdk/bin/kubectl.1.33", "/usr/bin/kubectl"]


def find_kubectl():
    env = os.environ.get("REALCLUSTER_KUBECTL")
    for p in ([env] if env else KUBECTL_CANDIDATES):
        if p and os.access(p, os.X_OK):
            return p
    raise RuntimeError("no kubectl (tried %s); tests/install-deps.sh installs one"
                       % ", ".join([env] if env else KUBECTL_CANDIDATES))


def flux_install(release="v2.9.4"):
    """→ (manifest documents, Flux version, where they came from): the
    project's generator tests/fluxgen; $REALCLUSTER_MANIFESTS=FILE:VERSION
    names a file to use instead (by hand only)."""
    override = os.environ.get("REALCLUSTER_MANIFESTS")
    if override:
        path, version = override.rsplit(":", 1)
        with open(path) as f:
            text, source = f.read(), path
    else:
        text = subprocess.run([sys.executable, FLUXGEN, "--release", release], check=True,
                              stdout=subprocess.PIPE, text=True).stdout
        version, source = release, "tests/fluxgen/fluxgen.py --release " + release
    import yaml
    return [d for d in yaml.safe_load_all(text) if d], version, source


class Cluster:
    """tests/realcluster/start as a child process; stop() sends SIGTERM and
    checks exit status 0."""

    def __init__(self, *start_args):
        self.dir = tempfile.mkdtemp(prefix="realcluster-test-")
        self.proc = subprocess.Popen([START, "--dir", self.dir] + list(start_args),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready https://127.0.0.1:"):
            self.proc.wait(30)
            raise RuntimeError("tests/realcluster/start failed (exit %s, stdout %r); logs in %s"
                               % (self.proc.returncode, line, self.dir))
        self.server = line.split()[1]
        self.admin = os.path.join(self.dir, "admin.kubeconfig")
        self.viewer = os.path.join(self.dir, "viewer.kubeconfig")
        self.cert = os.path.join(self.dir, "cert.kubeconfig")
        self.audit = os.path.join(self.dir, "audit.log")
        self.kubectl_bin = find_kubectl()
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)

    def stats(self):
        with open(os.path.join(self.dir, "cluster.json")) as f:
            return json.load(f)

    def stop(self, keep=False):
        self.proc.terminate()
        rc = self.proc.wait(60)
        st = self.stats()
        if not keep and rc == 0:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc, st

    def kubectl(self, *args, kubeconfig=None, stdin=None, check=True):
        cmd = [self.kubectl_bin, "--kubeconfig", kubeconfig or self.admin] + list(args)
        p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": self.home})
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def wait(self, what, cond, timeout=90):
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
            time.sleep(0.5)


# --- the library, three ways ------------------------------------------------

def lib_env():
    """The environment for the CLI and the C program: no ambient kubeconfig."""
    env = dict(os.environ)
    for k in ("KUBECONFIG", "FLUX_SYSTEM_NAMESPACE", "LD_PRELOAD"):
        env.pop(k, None)
    if env.get("FLUXSTATE_LD_PRELOAD"):
        env["LD_PRELOAD"] = env["FLUXSTATE_LD_PRELOAD"]
    return env


def finding_key(category, problem, kind, namespace, name):
    return "%s/%s %s %s/%s" % (category, problem, kind, namespace or "-", name or "-")


def parse_c_detect(out):
    """docs/examples/c/detect.c's text → (state, {finding keys})."""
    state, keys = None, set()
    for line in out.splitlines():
        if line.startswith("state: "):
            state = line[7:]
        m = re.match(r"^- \S+ (\S+)/(\S+) (\S+) (\S+) (\S+) \[", line)
        if m:
            keys.add(finding_key(m[1], m[2], m[3], None if m[4] == "-" else m[4],
                                 None if m[5] == "-" else m[5]))
    return state, keys


class Probe:
    """A probe through the C example program, the CLI and the Python binding;
    each must give the same state and findings."""

    def __init__(self, cli, c_detect):
        self.cli = cli
        self.c_detect = c_detect
        import fluxstate  # bindings/python on PYTHONPATH, FLUXSTATE_LIBRARY set
        self.py = fluxstate

    def env(self):
        return lib_env()

    def run_cli(self, kubeconfig, *args, timeout=120):
        return subprocess.run([self.cli, "--kubeconfig", kubeconfig] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=self.env(), timeout=timeout)

    def all(self, kubeconfig):
        """→ the CLI's report JSON, after checking C and Python agree with it."""
        p = self.run_cli(kubeconfig, "check", "-o", "json")
        if p.returncode not in (0, 3):
            raise AssertionError("fluxstate check exit %d: %s" % (p.returncode, p.stderr))
        report = json.loads(p.stdout)
        cli_keys = {finding_key(f["category"], f["problem"], f["kind"], f["namespace"], f["name"])
                    for f in report["findings"]}

        c = subprocess.run([self.c_detect, kubeconfig], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=self.env(), timeout=120)
        if c.returncode != 0:
            raise AssertionError("C detect exit %d: %s" % (c.returncode, c.stderr))
        c_state, c_keys = parse_c_detect(c.stdout)

        with self.py.Context(kubeconfig, timeout=60) as ctx:
            r = ctx.probe()
        py_state = r.state.label
        py_keys = {finding_key(f.category, f.problem, f.kind, f.namespace, f.name) for f in r.findings}

        # three probes of a cluster nobody changes must agree
        if not (report["state"] == c_state == py_state and cli_keys == c_keys == py_keys):
            raise AssertionError("C, CLI and Python disagree:\nCLI %s %s\nC   %s %s\nPy  %s %s"
                                 % (report["state"], sorted(cli_keys), c_state, sorted(c_keys),
                                    py_state, sorted(py_keys)))
        report["_keys"] = cli_keys
        return report


def findings(report, category=None, problem=None, name=None):
    return [f for f in report["findings"]
            if (category is None or f["category"] == category)
            and (problem is None or f["problem"] == problem)
            and (name is None or f["name"] == name)]
