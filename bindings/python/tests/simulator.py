# SPDX-License-Identifier: MIT
"""Start the Kubernetes API simulator (tests/kubesim) for a scenario and
read the scenario's `expect:` block.  Test helper, not part of the package.

Environment (set by meson's test_env): FLUXSTATE_KUBESIM (kubesim.py),
FLUXSTATE_SCENARIOS (tests/scenarios).
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from typing import Any, Dict, List, Optional

try:
    import yaml  # Debian's python3-yaml; the simulator needs it anyway
except ImportError:  # pragma: no cover
    yaml = None

START_TIMEOUT = 20.0


def _require_env(name: str) -> str:
    v = os.environ.get(name)
    if not v:
        raise unittest.SkipTest(f"{name} is not set (run through `meson test`)")
    return v


def kubesim_path() -> str:
    p = _require_env("FLUXSTATE_KUBESIM")
    if not os.path.exists(p):
        raise unittest.SkipTest(f"simulator not found: {p}")
    return p


def scenarios_dir() -> str:
    return _require_env("FLUXSTATE_SCENARIOS")


def load_scenario(path: str) -> Dict[str, Any]:
    if yaml is None:
        raise unittest.SkipTest("python3-yaml is not installed")
    with open(os.path.join(path, "scenario.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        raise AssertionError(f"{path}/scenario.yaml is not a mapping")
    return doc


def list_scenarios() -> List[str]:
    d = os.environ.get("FLUXSTATE_SCENARIOS")
    if not d or not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d)
                  if os.path.isfile(os.path.join(d, n, "scenario.yaml")))


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so a test
    killed by a sanitizer abort leaves no simulator behind (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Simulator:
    """One kubesim process serving one scenario.  Use as a context manager."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.tmp = tempfile.mkdtemp(prefix="fluxstate-py-")
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig")
        self.log = os.path.join(self.tmp, "requests.jsonl")
        self.url = ""
        self.proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> "Simulator":
        cmd = [sys.executable, kubesim_path(), "--scenario", self.scenario,
               "--listen", "127.0.0.1:0", "--kubeconfig-out", self.kubeconfig,
               "--log", self.log]
        # The simulator is pure Python: keep the sanitizer runtime out of it.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        self.stderr = open(os.path.join(self.tmp, "kubesim.stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, env=env, text=True,
                                     preexec_fn=_die_with_parent)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _stderr(self) -> str:
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().strip()

    def _wait_ready(self) -> None:
        assert self.proc and self.proc.stdout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not sel.select(timeout=deadline - time.monotonic()):
                break
            line = self.proc.stdout.readline()
            if not line:  # exited
                rc = self.proc.wait()
                raise AssertionError(f"simulator exited with {rc} for {self.scenario}: {self._stderr()}")
            if line.startswith("listening on "):
                self.url = line.split()[-1]
                if not os.path.exists(self.kubeconfig):
                    raise AssertionError("simulator did not write its kubeconfig")
                return
        raise AssertionError(f"simulator did not start within {START_TIMEOUT}s: {self._stderr()}")

    def stop(self) -> None:
        """Stop the simulator (its log is complete afterwards)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if hasattr(self, "stderr"):
            self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def control(self, action: str, body: str) -> None:
        """POST to the simulator's control endpoint (apply/delete/reset).
        Loopback test channel: its throwaway CA is not verified."""
        import ssl
        import urllib.request
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request(f"{self.url}/_kubesim/{action}", data=body.encode(),
                                     method="POST")
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            if not 200 <= r.status < 300:
                raise AssertionError(f"control {action}: HTTP {r.status}")

    def requests(self) -> int:
        """Number of requests in the simulator's JSON-lines log."""
        try:
            with open(self.log, encoding="utf-8") as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    def kubeconfig_doc(self) -> Dict[str, Any]:
        with open(self.kubeconfig, encoding="utf-8") as f:
            return yaml.safe_load(f)

    def write_kubeconfig(self, doc: Dict[str, Any], name: str) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(doc, f)
        return path


def copy_scenario(name: str, dest: str, **config: Any) -> str:
    """Copy scenario *name* into *dest* and merge *config* into its
    `config:` block (lists are appended).  Returns the new directory."""
    src = os.path.join(scenarios_dir(), name)
    if not os.path.isdir(src):
        raise AssertionError(f"scenario {name} not found in {scenarios_dir()}")
    out = os.path.join(dest, name)
    shutil.copytree(src, out)
    doc = load_scenario(out)
    cfg = doc.get("config")
    if isinstance(cfg, str):  # config: kubesim.yaml
        with open(os.path.join(out, cfg), encoding="utf-8") as f:
            cfg = yaml.safe_load(f) or {}
    cfg = dict(cfg or {})
    for k, v in config.items():
        if isinstance(v, list):
            cfg[k] = list(cfg.get(k) or []) + v
        else:
            cfg[k] = v
    doc["config"] = cfg
    with open(os.path.join(out, "scenario.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f)
    return out


def finding_matches(want: Dict[str, Any], got: Dict[str, Any]) -> bool:
    """All keys given in an expect entry are equal; a list (flags) must be
    contained in the finding's list."""
    for k, v in want.items():
        g = got.get(k)
        if isinstance(v, list):
            if not isinstance(g, list) or any(x not in g for x in v):
                return False
        elif g != v:
            return False
    return True


def secrets_of(kubeconfig: Dict[str, Any]) -> List[str]:
    """Credential strings of a kubeconfig, to assert they never leak."""
    out = []
    for u in kubeconfig.get("users") or []:
        user = u.get("user") or {}
        for k in ("token", "password", "client-key-data"):
            if isinstance(user.get(k), str) and len(user[k]) >= 8:
                out.append(user[k])
    return out
