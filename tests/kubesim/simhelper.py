"""Test helpers: run kubesim as a real process and talk HTTPS to it."""

import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
KUBESIM = os.environ.get("FLUXSTATE_KUBESIM") or os.path.join(HERE, "kubesim.py")
SCENARIOS = os.environ.get("FLUXSTATE_SCENARIOS") or os.path.join(
    HERE, "..", "scenarios")
PYTHON = "/usr/bin/python3"

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                "application/json")
PARTIAL_ACCEPT = ("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;"
                  "v=v1,application/json;as=PartialObjectMetadataList;"
                  "g=meta.k8s.io;v=v1beta1,application/json")
AGG_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;"
              "as=APIGroupDiscoveryList,application/json")


def kubesim_module():
    import importlib
    import sys
    sys.path.insert(0, os.path.dirname(KUBESIM))
    return importlib.import_module("kubesim")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Sim:
    """kubesim in a subprocess, started like the C harness starts it."""

    def __init__(self, scenario=None, states=(), config=None, extra=(),
                 plain=False):
        self.dir = tempfile.mkdtemp(prefix="kubesim-test-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.log = os.path.join(self.dir, "requests.jsonl")
        args = [PYTHON, KUBESIM, "--listen", "127.0.0.1:0",
                "--kubeconfig-out", self.kubeconfig, "--log", self.log,
                "--cert-dir", os.path.join(self.dir, "certs")]
        if scenario:
            args += ["--scenario", scenario if os.path.isabs(scenario)
                     else os.path.join(SCENARIOS, scenario)]
        for s in states:
            if isinstance(s, (list, dict)):
                p = os.path.join(self.dir, "state-%d.yaml" % len(args))
                with open(p, "w") as f:
                    yaml.safe_dump_all(s if isinstance(s, list) else [s], f)
                s = p
            args += ["--state", s]
        if config is not None:
            p = os.path.join(self.dir, "config.yaml")
            with open(p, "w") as f:
                yaml.safe_dump(config, f)
            args += ["--config", p]
        if plain:
            args.append("--plain-http")
        args += list(extra)
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            err = self.proc.stderr.read()
            self.proc.wait()
            raise RuntimeError("kubesim did not start (rc %s): %s" %
                               (self.proc.returncode, err.strip()))
        self.url = line.split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        with open(self.kubeconfig) as f:
            self.kc = yaml.safe_load(f)
        self.plain = plain

    def user(self, name):
        for u in self.kc["users"]:
            if u["name"] == name:
                return u["user"]
        raise KeyError(name)

    @property
    def token(self):
        return self.user("admin")["token"]

    def ssl_context(self, user=None, check_hostname=False):
        ctx = ssl.create_default_context(cafile=os.path.join(
            self.dir, "certs", "ca.crt"))
        ctx.check_hostname = check_hostname
        if user:
            ctx.load_cert_chain(os.path.join(self.dir, "certs",
                                             "client-%s.crt" % user),
                                os.path.join(self.dir, "certs",
                                             "client-%s.key" % user))
        return ctx

    def conn(self, cert_user=None, server_hostname=None, timeout=10):
        if self.plain:
            return http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=timeout)
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout,
            context=self.ssl_context(cert_user))

    def request(self, path, method="GET", accept="application/json", token=True,
                headers=None, body=None, conn=None, cert_user=None):
        hdrs = {"Accept": accept}
        if token is True:
            hdrs["Authorization"] = "Bearer " + self.token
        elif isinstance(token, str):
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        c = conn or self.conn(cert_user)
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            if conn is None:
                c.close()

    def get(self, path, **kw):
        return self.request(path, **kw)

    def control(self, op, body=""):
        if isinstance(body, (list, dict)):
            body = yaml.safe_dump_all(body if isinstance(body, list) else [body])
        r = self.request("/_kubesim/" + op, method="POST", token=False,
                         body=body.encode(),
                         headers={"Content-Type": "application/yaml"})
        if r.status != 200:
            raise RuntimeError("control %s: %d %s" % (op, r.status, r.body))
        return r.json()

    def log_entries(self):
        with open(self.log) as f:
            return [json.loads(x) for x in f if x.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def wait_for(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()
