"""Shared helpers for the fluxstate CLI tests (suite 'cli').

The CLI under test is the built binary (argv[1] or $FLUXSTATE_CLI); the
cluster is the real simulator (tests/kubesim/kubesim.py) started on a
scenario directory. Nothing here mocks the library.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
KUBESIM = os.environ.get("FLUXSTATE_KUBESIM") or os.path.join(SOURCE_ROOT, "tests", "kubesim", "kubesim.py")
SCENARIOS = os.environ.get("FLUXSTATE_SCENARIOS") or os.path.join(SOURCE_ROOT, "tests", "scenarios")
FLUXGEN = os.path.join(SOURCE_ROOT, "tests", "fluxgen")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

CLI = None


def setup_cli():
    """Resolve the binary from argv[1] (meson passes it) or $FLUXSTATE_CLI."""
    global CLI
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        CLI = os.path.abspath(sys.argv.pop(1))
    else:
        CLI = os.environ.get("FLUXSTATE_CLI")
    if not CLI or not os.access(CLI, os.X_OK):
        sys.stderr.write("clitest: the fluxstate binary is needed as argv[1] or $FLUXSTATE_CLI\n")
        sys.exit(1)


def cli_env(extra=None):
    env = dict(os.environ)
    for k in ("KUBECONFIG", "NO_COLOR", "FLUX_SYSTEM_NAMESPACE", "LD_PRELOAD"):
        env.pop(k, None)
    env["HOME"] = _home()
    if env.get("FLUXSTATE_LD_PRELOAD"):
        # ASan build: the binary is instrumented itself; let it report leaks.
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=1"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


_HOME = None


def _home():
    global _HOME
    if _HOME is None:
        _HOME = tempfile.mkdtemp(prefix="fluxstate-cli-home-")
    return _HOME


class Result:
    def __init__(self, args, rc, out, err, elapsed):
        self.args, self.rc, self.out, self.err, self.elapsed = args, rc, out, err, elapsed

    def __repr__(self):
        return "fluxstate %s -> %d\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(self.args), self.rc, self.out, self.err)


def run(*args, env=None, timeout=90, cwd=None):
    """Run the CLI; returns a Result with decoded stdout/stderr."""
    t0 = time.monotonic()
    p = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=cli_env(env), timeout=timeout, cwd=cwd)
    return Result(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                  p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def run_on_tty(args, env=None, timeout=60, stdout_tty=True, stderr_tty=False):
    """Run with stdout and/or stderr on a pseudo-terminal; returns (rc, out, err)."""
    import pty
    master, slave = pty.openpty()
    outs = {}
    p = subprocess.Popen([CLI] + list(args),
                         stdout=slave if stdout_tty else subprocess.PIPE,
                         stderr=slave if stderr_tty else subprocess.PIPE,
                         env=cli_env(env), close_fds=True)
    os.close(slave)
    chunks = []

    def reader():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    piped_out, piped_err = p.communicate(timeout=timeout)
    t.join(5)
    os.close(master)
    tty_text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    out = tty_text if stdout_tty else piped_out.decode("utf-8", "replace")
    err = tty_text if stderr_tty and not stdout_tty else (piped_err or b"").decode("utf-8", "replace")
    return p.returncode, out, err


# ---------------------------------------------------------------- simulator

class Sim:
    """One simulator process on a scenario directory."""

    def __init__(self, scenario, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="fluxstate-cli-sim-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.log = os.path.join(self.dir, "requests.jsonl")
        self.url = None
        out_path = os.path.join(self.dir, "stdout")
        err_path = os.path.join(self.dir, "stderr")
        args = ["/usr/bin/python3", KUBESIM]
        if scenario:
            args += ["--scenario", scenario_path(scenario)]
        args += list(extra_args) + ["--listen", "127.0.0.1:0", "--kubeconfig-out", self.kubeconfig,
                                    "--log", self.log]
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open(out_path, "rb") as f:
                m = re.search(rb"listening on (\S+)", f.read())
            if m and os.path.exists(self.kubeconfig):
                self.url = m.group(1).decode()
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.url is None:
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
            with open(err_path, "rb") as f:
                err = f.read().decode("utf-8", "replace")
            raise RuntimeError("simulator did not start on %s (rc %s): %s" % (scenario, rc, err))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def control(self, action, body=""):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request("%s/_kubesim/%s" % (self.url, action), data=body.encode(),
                                     method="POST", headers={"Content-Type": "application/yaml"})
        with urllib.request.urlopen(req, context=ctx if self.url.startswith("https") else None,
                                    timeout=10) as r:
            return r.status

    def requests(self):
        """The request log as a list of dicts."""
        out = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            out.append(json.loads(line))
                        except ValueError:
                            pass
        return out

    def secrets(self):
        """Every credential in the kubeconfig the simulator wrote, and the
        telling parts of each: a token's random tail, a private key's body."""
        import base64
        with open(self.kubeconfig) as f:
            kc = yaml.safe_load(f)
        found = []
        for u in kc.get("users") or []:
            user = u.get("user") or {}
            for key in ("token", "password"):
                if user.get(key):
                    value = str(user[key])
                    found.append(value)
                    tail = value.rsplit("-", 1)[-1]
                    if len(tail) >= 16 and tail != value:
                        found.append(tail)
            if user.get("client-key-data"):
                found.append(user["client-key-data"])
                pem = base64.b64decode(user["client-key-data"]).decode("ascii", "replace")
                body = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
                found.append(body[len(body) // 2:len(body) // 2 + 32])
        return found


_SIMS = {}


def shared_sim(scenario):
    """A simulator per scenario, reused across tests and stopped at exit."""
    if scenario not in _SIMS:
        _SIMS[scenario] = Sim(scenario)
    return _SIMS[scenario]


def stop_all():
    for s in _SIMS.values():
        s.stop()
    _SIMS.clear()
    if _HOME:
        shutil.rmtree(_HOME, ignore_errors=True)


# ---------------------------------------------------------------- report schema

REPORT_SCHEMA = os.path.join(SOURCE_ROOT, "docs", "report.schema.json")
_KEYWORDS = {"$schema", "$id", "$ref", "$defs", "title", "description", "type", "enum", "const",
             "properties", "required", "additionalProperties", "items", "uniqueItems", "anyOf",
             "oneOf", "allOf", "minimum", "pattern", "minLength"}


def report_schema_errors(doc):
    """Errors of @doc against docs/report.schema.json: with python3-jsonschema
    (tests/install-deps.sh installs it) as draft 2020-12, else with the
    small validator below."""
    with open(REPORT_SCHEMA) as f:
        schema = json.load(f)
    try:
        import jsonschema
        validator = jsonschema.Draft202012Validator
    except (ImportError, AttributeError):
        return validate(doc, schema)
    validator.check_schema(schema)
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "$", e.message)
            for e in validator(schema).iter_errors(doc)]


def validate(instance, schema, root=None, path="$"):
    """Returns a list of error strings (empty when valid). Supports the
    keywords a report schema needs (_KEYWORDS); a schema using another one
    is an error, so a keyword added to the schema is never silently
    ignored."""
    root = root or schema
    errors = []
    if schema is True or schema == {}:
        return errors
    if schema is False:
        return ["%s: not allowed" % path]
    unsupported = set(schema) - _KEYWORDS
    if unsupported:
        return ["%s: the fallback validator does not support %s" % (path, sorted(unsupported))]
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return ["%s: unsupported $ref %s" % (path, ref)]
        target = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        errors += validate(instance, target, root, path)
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        ok = False
        for ty in types:
            ok = ok or {
                "null": instance is None,
                "boolean": isinstance(instance, bool),
                "object": isinstance(instance, dict),
                "array": isinstance(instance, list),
                "string": isinstance(instance, str),
                "integer": isinstance(instance, int) and not isinstance(instance, bool),
                "number": isinstance(instance, (int, float)) and not isinstance(instance, bool),
            }.get(ty, False)
        if not ok:
            return errors + ["%s: %r is not of type %s" % (path, instance, t)]
    if "enum" in schema and instance not in schema["enum"]:
        errors.append("%s: %r not in %r" % (path, instance, schema["enum"]))
    if "const" in schema and instance != schema["const"]:
        errors.append("%s: %r != %r" % (path, instance, schema["const"]))
    if isinstance(instance, str):
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            errors.append("%s: %r does not match %s" % (path, instance, schema["pattern"]))
        if "minLength" in schema and len(instance) < schema["minLength"]:
            errors.append("%s: too short" % path)
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append("%s: below minimum" % path)
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in instance:
                errors.append("%s: missing required %s" % (path, key))
        for key, value in instance.items():
            if key in props:
                errors += validate(value, props[key], root, "%s.%s" % (path, key))
            elif "additionalProperties" in schema:
                errors += validate(value, schema["additionalProperties"], root, "%s.%s" % (path, key))
    if isinstance(instance, list) and schema.get("uniqueItems"):
        seen = [json.dumps(x, sort_keys=True) for x in instance]
        if len(set(seen)) != len(seen):
            errors.append("%s: items are not unique" % path)
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            errors += validate(item, schema["items"], root, "%s[%d]" % (path, i))
    if "anyOf" in schema and not any(not validate(instance, s, root, path) for s in schema["anyOf"]):
        errors.append("%s: matches none of anyOf" % path)
    if "oneOf" in schema and sum(1 for s in schema["oneOf"] if not validate(instance, s, root, path)) != 1:
        errors.append("%s: does not match exactly one of oneOf" % path)
    if "allOf" in schema:
        for s in schema["allOf"]:
            errors += validate(instance, s, root, path)
    return errors


# ---------------------------------------------------------------- scenarios

def scenario_path(name):
    return name if os.path.isabs(name) else os.path.join(SCENARIOS, name)


def scenarios():
    """{name: parsed scenario.yaml} for every scenario directory."""
    found = {}
    for path in sorted(glob.glob(os.path.join(SCENARIOS, "*", "scenario.yaml"))):
        with open(path) as f:
            found[os.path.basename(os.path.dirname(path))] = yaml.safe_load(f) or {}
    return found


def expected_state(name):
    return ((scenarios().get(name) or {}).get("expect") or {}).get("state")


def pick(state, prefer=()):
    """A scenario expected to be @state: a preferred name if it exists, else
    the simplest one (fewest findings expected, then name)."""
    all_ = scenarios()
    for name in prefer:
        if name in all_ and (all_[name].get("expect") or {}).get("state") == state:
            return name
    cands = [(len((s.get("expect") or {}).get("findings") or []) + len((s.get("config") or {}).get("faults") or []), n)
             for n, s in all_.items() if (s.get("expect") or {}).get("state") == state]
    if not cands:
        raise AssertionError("no scenario in %s expects state %s" % (SCENARIOS, state))
    return sorted(cands)[0][1]


SEED = ("seed-1292",)
RESIDUAL = ("namespace-terminating-finalizers",)
HEALTHY = ("healthy-v2.7.5-bootstrap",)
PARTIAL = ("controller-unavailable",)
UNKNOWN = ("denied-crds-healthy",)


def seed():
    all_ = scenarios()
    for n in SEED:
        if n in all_:
            return n
    for n in sorted(all_):
        if "1292" in n:
            return n
    return pick("none")


def kubectl_binary():
    """The newest pinned real kubectl, else one on PATH."""
    pinned = sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"),
                    key=lambda p: int(p.rsplit(".", 1)[1]) if p.rsplit(".", 1)[1].isdigit() else 0)
    if pinned:
        return pinned[-1]
    return shutil.which("kubectl")


def black_hole():
    """A TCP listener that accepts and never answers; returns (socket, port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s, s.getsockname()[1]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def kubeconfig_for_server(path, server, name="dead", token="t0k3n-not-real"):
    """A minimal kubeconfig pointing at @server (insecure TLS), one context."""
    kc = {
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }
    with open(path, "w") as f:
        yaml.safe_dump(kc, f)
    return path


def merge_kubeconfigs(path, named):
    """Write one kubeconfig with a context per (name, kubeconfig path), in order."""
    out = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name, src in named:
        with open(src) as f:
            kc = yaml.safe_load(f)
        ctx_name = kc.get("current-context") or kc["contexts"][0]["name"]
        ctx = next(c for c in kc["contexts"] if c["name"] == ctx_name)["context"]
        cluster = next(c for c in kc["clusters"] if c["name"] == ctx["cluster"])["cluster"]
        user = next(u for u in kc["users"] if u["name"] == ctx["user"])["user"]
        out["clusters"].append({"name": name, "cluster": cluster})
        out["users"].append({"name": name, "user": user})
        out["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    out["current-context"] = named[0][0]
    with open(path, "w") as f:
        yaml.safe_dump(out, f)
    return path


def main():
    """unittest.main with the simulators stopped afterwards."""
    setup_cli()
    try:
        unittest.main(verbosity=2)
    finally:
        stop_all()
