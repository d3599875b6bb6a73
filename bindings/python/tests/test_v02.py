# SPDX-License-Identifier: MIT
"""The 0.2 additions (issue 12): the whole report as typed attributes,
kubectl's connection options, a kubeconfig from memory, the pre-install
check, and stopping a probe (Ctrl-C, cancel()).  pytest style."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

import fluxstate
from simulator import Simulator, copy_scenario, scenarios_dir

BASE = "seed-1292"  # state none, self-contained


def scenario(name: str) -> str:
    path = os.path.join(scenarios_dir(), name)
    assert os.path.isdir(path), f"scenario {name} missing"
    return path


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(scenario(BASE)) as s:
        yield s


@pytest.fixture
def stalled() -> Iterator[str]:
    """A server that accepts TCP and never answers (TLS never completes)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        ls.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(ls.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield "https://127.0.0.1:%d" % ls.getsockname()[1]
    stop.set()
    t.join()
    for c in held:
        c.close()
    ls.close()


def last_request(s: Simulator) -> Dict[str, Any]:
    with open(s.log, encoding="utf-8") as f:
        lines = [ln for ln in f if ln.strip()]
    assert lines, "no request logged"
    e: Dict[str, Any] = json.loads(lines[-1])
    return e


# ------------------------------------------------------------ values, errors

def test_state_from_string_names_the_valid_names() -> None:
    with pytest.raises(ValueError) as ei:
        fluxstate.State.from_string("installed")
    assert isinstance(ei.value, fluxstate.InvalidArgumentError)
    for s in fluxstate.State:
        assert s.label in str(ei.value)
    assert fluxstate.State.from_string("Healthy") is fluxstate.State.HEALTHY


def test_network_error_is_a_connection_error() -> None:
    assert issubclass(fluxstate.NetworkError, ConnectionError)
    e = fluxstate.NetworkError(-5, "cannot connect")
    assert str(e) == "cannot connect" and e.code == -5


def test_unreachable_server_raises_connection_error(sim: Simulator) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with fluxstate.Context(sim.kubeconfig, server=f"https://127.0.0.1:{port}", timeout=10) as ctx:
        with pytest.raises(ConnectionError):
            ctx.probe()


@pytest.mark.parametrize("name", ["healthy-v2.7.5-bootstrap", "healthy-helm", BASE])
def test_report_attributes_match_the_report_json(name: str) -> None:
    with Simulator(scenario(name)) as s, fluxstate.Context(s.kubeconfig) as ctx:
        r = ctx.probe()
    d = r.to_dict()
    assert r.state.label == d["state"]
    assert r.namespace == d["namespace"]
    assert r.namespace_source == d["namespaceSource"]
    assert r.installer == d["installer"]
    assert r.managed_by == d["managedBy"]
    assert r.bootstrapped is d["bootstrapped"]
    assert r.version == d["version"]
    assert r.server_version == d["kubernetes"]["serverVersion"]
    assert r.flux_minimum == d["kubernetes"]["fluxMinimum"]
    assert r.server_supported == d["kubernetes"]["supported"]
    assert len(r.components) == len(d["components"])
    for c, j in zip(r.components, d["components"]):
        assert isinstance(c, fluxstate.Component)
        assert (c.name, c.namespace, c.version, c.image, c.ready, c.reason) == \
            (j["name"], j["namespace"], j["version"], j["image"], j["ready"], j["reason"])
    if name.startswith("healthy"):
        assert r.components and all(c.ready for c in r.components)
        assert r.flux_minimum and r.server_supported is True


def test_flux_namespace_is_readable(sim: Simulator) -> None:
    with fluxstate.Context(sim.kubeconfig, flux_namespace="flux-x") as ctx:
        assert ctx.flux_namespace == "flux-x"
        ctx.flux_namespace = None
        assert ctx.flux_namespace is None
        ctx.flux_namespace = "flux-system"
        r = ctx.probe()
        assert ctx.flux_namespace == r.namespace == "flux-system"
        assert r.namespace_source == "option"


# ------------------------------------------------------------ pre-install check

def test_check_install() -> None:
    with Simulator(scenario(BASE)) as s, fluxstate.Context(s.kubeconfig) as ctx:
        none = ctx.probe()
    assert none.state is fluxstate.State.NONE
    ok = none.check_install("v2.2.2")  # Kubernetes >= 1.26; the simulator is 1.29
    assert ok and ok.ok and ok.reason
    with pytest.raises(fluxstate.InvalidArgumentError):
        none.check_install("v9.99.0")
    with pytest.raises(ValueError):
        none.check_install("latest")
    with Simulator(scenario("healthy-v2.7.5-bootstrap")) as s, fluxstate.Context(s.kubeconfig) as ctx:
        healthy = ctx.probe()
    assert healthy.check_install("v2.7.5")  # the same version: a re-apply
    other = healthy.check_install("v2.9.4")
    assert not other and other.reason


# ------------------------------------------------------------ connection options

def test_token_option_reaches_the_server_and_stays_secret(sim: Simulator) -> None:
    bad = "fluxstate-py-option-token-0123456789"
    with fluxstate.Context(sim.kubeconfig, token=bad) as ctx:
        with pytest.raises(fluxstate.AuthError) as ei:
            ctx.probe()
    assert bad not in str(ei.value) and bad not in repr(ei.value)
    assert last_request(sim)["headers"]["authorization"].startswith("Bearer ")


def test_impersonation_headers(sim: Simulator) -> None:
    with fluxstate.Context(sim.kubeconfig, as_user="jane", as_groups=["devs", "ops"], as_uid="42") as ctx:
        try:
            ctx.probe()  # jane may be denied: only the headers matter
        except fluxstate.FluxstateError:
            pass
    h = last_request(sim)["headers"]
    assert h["impersonate-user"] == "jane"
    assert h["impersonate-group"].startswith("devs")
    with pytest.raises(fluxstate.ConfigError):
        fluxstate.Context(sim.kubeconfig, as_groups=["devs"])  # --as-group needs --as


def test_disable_compression(sim: Simulator) -> None:
    with fluxstate.Context(sim.kubeconfig) as ctx:
        ctx.probe()
    assert "gzip" in last_request(sim)["headers"].get("accept-encoding", "")
    with fluxstate.Context(sim.kubeconfig, disable_compression=True) as ctx:
        ctx.probe()
    assert "gzip" not in last_request(sim)["headers"].get("accept-encoding", "")


def test_certificate_authority_and_insecure(sim: Simulator, tmp_path: Any) -> None:
    # A CA that did not sign the simulator: the client certificate of the
    # kubeconfig's cert-admin user is a valid PEM certificate of another CA.
    doc = sim.kubeconfig_doc()
    cert = next(u["user"]["client-certificate-data"] for u in doc["users"]
                if "client-certificate-data" in u["user"])
    wrong = tmp_path / "wrong-ca.pem"
    wrong.write_bytes(base64.b64decode(cert))
    with fluxstate.Context(sim.kubeconfig, certificate_authority=wrong, timeout=10) as ctx:
        with pytest.raises(fluxstate.NetworkError):
            ctx.probe()
    with fluxstate.Context(sim.kubeconfig, insecure_skip_tls_verify=True) as ctx:
        assert ctx.probe().state is fluxstate.State.NONE
    with pytest.raises(fluxstate.ConfigError):
        fluxstate.Context(sim.kubeconfig, insecure_skip_tls_verify=True, certificate_authority=wrong)


def test_request_timeout_bounds_each_request() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scen = copy_scenario(BASE, tmp, faults=[{"path": ".*", "delayMs": 5000}])
        with Simulator(scen) as s, \
                fluxstate.Context(s.kubeconfig, request_timeout=0.3, timeout=20) as ctx:
            t0 = time.monotonic()
            try:
                state = ctx.probe().state
            except fluxstate.FluxstateError:
                state = None
            took = time.monotonic() - t0
    assert took < 4, f"a 0.3 s request timeout let the probe run {took:.1f}s"
    assert state in (None, fluxstate.State.UNKNOWN)


# ------------------------------------------------------------ kubeconfig from memory

def test_kubeconfig_from_memory(sim: Simulator, tmp_path: Any) -> None:
    with open(sim.kubeconfig, "rb") as f:
        data = f.read()
    for d in (data, data.decode()):
        with fluxstate.Context(kubeconfig_data=d, context="kubesim-cert-admin") as ctx:
            assert ctx.current_context == "kubesim-cert-admin"
            assert ctx.probe().state is fluxstate.State.NONE
    with pytest.raises(fluxstate.InvalidArgumentError):
        fluxstate.Context(sim.kubeconfig, kubeconfig_data=data)
    with pytest.raises(fluxstate.ConfigError):
        fluxstate.Context(kubeconfig_data=b"clusters: [")
    # A relative CA path: rejected naming the field, or resolved against base_dir.
    doc = sim.kubeconfig_doc()
    for c in doc["clusters"]:
        (tmp_path / "ca.pem").write_bytes(base64.b64decode(c["cluster"].pop("certificate-authority-data")))
        c["cluster"]["certificate-authority"] = "ca.pem"
    rel = json.dumps(doc)
    with pytest.raises(fluxstate.ConfigError, match="certificate-authority"):
        fluxstate.Context(kubeconfig_data=rel)
    with fluxstate.Context.from_kubeconfig_data(rel, base_dir=tmp_path) as ctx:
        assert ctx.probe().state is fluxstate.State.NONE


# ------------------------------------------------------------ stopping a probe

def test_cancel_from_another_thread(stalled: str, sim: Simulator) -> None:
    with fluxstate.Context(sim.kubeconfig, server=stalled, timeout=20) as ctx:
        timer = threading.Timer(0.3, ctx.cancel)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(fluxstate.CanceledError):
            ctx.probe()
        took = time.monotonic() - t0 - 0.3
        timer.join()
        assert took < 1.0, f"probe ended {took:.3f}s after cancel()"
        # Usable afterwards, and the cancel was consumed.
        with pytest.raises((fluxstate.FluxstateTimeoutError, fluxstate.NetworkError)):
            ctx.set_timeout(0.3)
            ctx.probe()


CHILD = r'''
import sys, time, fluxstate
kubeconfig, server = sys.argv[1:3]
ctx = fluxstate.Context(kubeconfig, server=server, timeout=20)
print("probing", flush=True)
try:
    ctx.probe()
    print("probe returned", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt %.6f" % time.monotonic(), flush=True)
    ctx.set_timeout(0.3)
    try:
        ctx.probe()
    except fluxstate.FluxstateError as e:
        print("next", type(e).__name__, flush=True)
        print(e, file=sys.stderr, flush=True)
    raise
'''


def sigint_child(code: str, *args: str) -> "tuple[List[str], str, int, float]":
    """Run *code* in a child Python; once it prints its first line, wait
    0.5 s (well inside the blocking call), send SIGINT.  Returns its other
    output lines, stderr, exit status and when the signal was sent."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.Popen([sys.executable, "-c", code, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout is not None
        first = p.stdout.readline()
        assert first.strip() in ("probing", "waiting"), first + p.communicate(timeout=30)[1]
        time.sleep(0.5)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return out.splitlines(), err, p.returncode, sent


def interrupt_latency(lines: List[str], err: str, sent: float) -> float:
    assert lines and lines[0].startswith("KeyboardInterrupt "), (lines, err)
    latency = float(lines[0].split()[1]) - sent
    assert latency < 1.0, f"KeyboardInterrupt {latency:.3f}s after SIGINT"
    return latency


def test_ctrl_c_interrupts_a_probe_promptly(stalled: str, sim: Simulator) -> None:
    """A real SIGINT to a child process probing a server that never
    answers: KeyboardInterrupt within ~100 ms (before: after the 20 s
    timeout), re-raised, and the Context stays usable."""
    lines, err, rc, sent = sigint_child(CHILD, sim.kubeconfig, stalled)
    print(f"Ctrl-C latency (probe) {interrupt_latency(lines, err, sent) * 1000:.1f} ms")
    assert lines[1] in ("next FluxstateTimeoutError", "next NetworkError"), (lines, err)
    assert rc == -signal.SIGINT, (rc, err)  # re-raised
    assert "KeyboardInterrupt" in err


WAIT_CHILD = r'''
import sys, time, fluxstate
ctx = fluxstate.Context(sys.argv[1])
r = ctx.probe()
print("waiting", flush=True)
try:
    ctx.wait_for_change(r, 60)
except KeyboardInterrupt:
    print("KeyboardInterrupt %.6f" % time.monotonic(), flush=True)
'''


def test_ctrl_c_interrupts_wait_for_change(sim: Simulator) -> None:
    lines, err, rc, sent = sigint_child(WAIT_CHILD, sim.kubeconfig)
    print(f"Ctrl-C latency (wait) {interrupt_latency(lines, err, sent) * 1000:.1f} ms")
    assert rc == 0, (rc, lines, err)
