# SPDX-License-Identifier: MIT
"""fluxstate: what state is Flux (fluxcd.io) in on this Kubernetes cluster?

A thin binding over libfluxstate (ctypes, standard library only)::

    import fluxstate

    with fluxstate.Context() as ctx:          # kubeconfig found like kubectl
        report = ctx.probe()
    print(report.state.label, report.summary)
    for f in report.findings:
        print(f.kind, f.name, f.problem)

Errors raise :class:`FluxstateError` subclasses; out-of-memory also is a
:class:`MemoryError` and bad arguments also are a :class:`ValueError`.

A :class:`Context` may be used by one thread at a time (calls are serialised
by a lock); different contexts are independent.  The library releases the
GIL while it talks to the API server.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import json as _json
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _lib

__all__ = [
    "AuthError", "ConfigError", "Context", "Finding", "FindingFlag",
    "FluxstateError", "FluxstateMemoryError", "FluxstateTimeoutError",
    "InvalidArgumentError", "NetworkError", "ProtocolError", "Report",
    "Severity", "State", "library_version", "__version__",
]

# The binding speaks the 0.x ABI from 0.1 on.
_NEED_MAJOR = 0
_NEED_MIN = (0 << 16) | (1 << 8) | 0


def _check_version() -> str:
    v = _lib.lib.fluxstate_version()
    s = _lib.decode(_lib.lib.fluxstate_version_string()) or "?"
    if (v >> 16) != _NEED_MAJOR or v < _NEED_MIN:
        raise ImportError(f"fluxstate needs libfluxstate 0.x, at least 0.1.0; loaded {s}")
    return s


__version__ = "0.1.0"
library_version = _check_version()


# ---------------------------------------------------------------- errors

class FluxstateError(Exception):
    """A libfluxstate call failed.  ``code`` is the negative FLUXSTATE_E*
    value, ``message`` the library's explanation (never contains secrets)."""

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class FluxstateMemoryError(FluxstateError, MemoryError):
    """FLUXSTATE_ENOMEM."""


class InvalidArgumentError(FluxstateError, ValueError):
    """FLUXSTATE_EINVAL: a bad argument (a caller bug)."""


class ConfigError(FluxstateError):
    """FLUXSTATE_ECONFIG: kubeconfig missing, unreadable or malformed."""


class NetworkError(FluxstateError):
    """FLUXSTATE_ENETWORK: the API server could not be reached (TCP/TLS)."""


class AuthError(FluxstateError):
    """FLUXSTATE_EAUTH: credentials rejected (401) or unobtainable."""


class ProtocolError(FluxstateError):
    """FLUXSTATE_EPROTOCOL: malformed reply from the API server."""


class FluxstateTimeoutError(FluxstateError, TimeoutError):
    """FLUXSTATE_ETIMEDOUT: the operation's deadline passed."""

    def __str__(self) -> str:  # TimeoutError would print "[Errno -8] ..."
        return self.message


_ERRORS = {
    _lib.ENOMEM: FluxstateMemoryError,
    _lib.EINVAL: InvalidArgumentError,
    _lib.ECONFIG: ConfigError,
    _lib.ENETWORK: NetworkError,
    _lib.EAUTH: AuthError,
    _lib.EPROTOCOL: ProtocolError,
    _lib.ETIMEDOUT: FluxstateTimeoutError,
}


def _error(e: _lib.CError) -> FluxstateError:
    return _ERRORS.get(e.code, FluxstateError)(e.code, e.message)


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except _lib.CError as e:
        raise _error(e) from None


# ---------------------------------------------------------------- values

class State(enum.Enum):
    """The install state; values are the C enum's.  UNKNOWN (could not see
    enough) is never to be read as NONE."""

    UNKNOWN = 0
    NONE = 1
    RESIDUAL = 2
    PARTIAL = 3
    HEALTHY = 4

    @property
    def label(self) -> str:
        """The lower-case name used in JSON and by the CLI ("healthy")."""
        return _lib.decode(_lib.lib.fluxstate_state_to_string(self.value)) or "unknown"

    @classmethod
    def from_string(cls, name: str) -> "State":
        """Parse a state name (case-insensitive); ValueError if it is none."""
        return cls(_call(_lib.lib.fluxstate_state_from_string, _enc(name, "state name")))

    def __str__(self) -> str:
        return self.label


class Severity(enum.Enum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    def __str__(self) -> str:
        return self.label


class FindingFlag(enum.IntFlag):
    BLOCKS_REINSTALL = 1 << 0
    BLOCKS_FLUX_INSTALL = 1 << 1
    FINALIZER_BLOCKED = 1 << 2
    NOT_VISIBLE = 1 << 3
    NOT_FLUX_V2 = 1 << 4    # Flux v1 (category "flux-v1"): never cleaned up

    @property
    def labels(self) -> List[str]:
        """The flag names as the report JSON spells them, in bit order."""
        return [f.name.lower().replace("_", "-") for f in FindingFlag
                if f.value & self.value]


@dataclasses.dataclass(frozen=True)
class Finding:
    """One piece of evidence.  ``namespace`` is None for cluster-scoped
    objects; ``name`` is "" for a whole resource type (e.g. a blind spot)."""

    kind: str
    api_version: str
    namespace: Optional[str]
    name: str
    category: str
    problem: str
    severity: Severity
    reason: str
    flags: FindingFlag

    def to_dict(self) -> Dict[str, Any]:
        """The finding as the report JSON spells it."""
        return {
            "kind": self.kind, "apiVersion": self.api_version,
            "namespace": self.namespace, "name": self.name,
            "category": self.category, "problem": self.problem,
            "severity": self.severity.label, "reason": self.reason,
            "flags": self.flags.labels,
        }


def _enc(s: Optional[str], what: str) -> Optional[bytes]:
    """UTF-8 at the boundary.  An embedded NUL would silently cut the string
    short in C, so it is refused here."""
    if s is None:
        return None
    if not isinstance(s, str):
        raise TypeError(f"{what} must be str, not {type(s).__name__}")
    if "\0" in s:
        raise InvalidArgumentError(_lib.EINVAL, f"{what} contains a NUL character")
    return s.encode("utf-8")


def _s(b: Optional[bytes]) -> str:
    return _lib.decode(b) or ""


def _finding(p: "ctypes._Pointer[_lib.Finding]") -> Finding:
    L = _lib.lib
    sev = L.fluxstate_finding_get_severity(p)
    try:
        severity = Severity(sev)
    except ValueError:  # a newer library's severity: do not crash on it
        severity = Severity.ERROR
    return Finding(
        kind=_s(L.fluxstate_finding_get_kind(p)),
        api_version=_s(L.fluxstate_finding_get_api_version(p)),
        namespace=_lib.decode(L.fluxstate_finding_get_namespace(p)),
        name=_s(L.fluxstate_finding_get_name(p)),
        category=_s(L.fluxstate_finding_get_category(p)),
        problem=_s(L.fluxstate_finding_get_problem(p)),
        severity=severity,
        reason=_s(L.fluxstate_finding_get_reason(p)),
        flags=FindingFlag(L.fluxstate_finding_get_flags(p)),
    )


class Report:
    """The result of one probe: immutable, independent of its Context.

    Attributes are read once from the C accessors; :attr:`json` is the
    library's own report JSON (schema ``fluxstate.report/v1``), which also
    carries components, the Kubernetes version check and the request count.
    """

    state: State
    summary: str
    action: str
    namespace: Optional[str]
    installer: str
    version: Optional[str]
    server_version: Optional[str]
    server_supported: Optional[bool]
    findings: Tuple[Finding, ...]

    def __init__(self, handle: "ctypes._Pointer[_lib.Report]") -> None:
        L = _lib.lib
        self._handle = handle
        self._finalizer = weakref.finalize(self, L.fluxstate_report_free, handle)
        try:
            self.state = State(L.fluxstate_report_get_state(handle))
        except ValueError:  # a state this binding does not know: not sure
            self.state = State.UNKNOWN
        self.summary = _s(L.fluxstate_report_get_summary(handle))
        self.action = _s(L.fluxstate_report_get_action(handle))
        self.namespace = _lib.decode(L.fluxstate_report_get_namespace(handle))
        self.installer = _s(L.fluxstate_report_get_installer(handle))
        self.version = _lib.decode(L.fluxstate_report_get_version(handle))
        self.server_version = _lib.decode(L.fluxstate_report_get_server_version(handle))
        sup = L.fluxstate_report_get_server_supported(handle)
        self.server_supported = None if sup < 0 else bool(sup)
        n = L.fluxstate_report_get_n_findings(handle)
        found: List[Finding] = []
        for i in range(n):
            p = L.fluxstate_report_get_finding(handle, i)
            if not p:
                raise ProtocolError(_lib.EPROTOCOL, f"report claims {n} findings but has no finding {i}")
            found.append(_finding(p))
        self.findings = tuple(found)
        self._json: Optional[str] = None

    @property
    def json(self) -> str:
        """The report as JSON (``fluxstate.report/v1``), as the CLI prints it."""
        if self._json is None:
            out = ctypes.c_void_p()
            _call(_lib.lib.fluxstate_report_to_json, self._handle, ctypes.byref(out))
            self._json = _lib.take_string(out)
        return self._json

    def to_dict(self) -> Dict[str, Any]:
        """The report JSON decoded into plain dicts and lists."""
        d: Dict[str, Any] = _json.loads(self.json)
        return d

    def __repr__(self) -> str:
        return (f"<fluxstate.Report state={self.state.label} namespace={self.namespace!r} "
                f"findings={len(self.findings)}>")


# ---------------------------------------------------------------- context

def _ms(seconds: float, what: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} must be a number of seconds")
    ms = int(seconds * 1000 + 0.999)
    if seconds <= 0 or ms <= 0 or ms > 0xFFFFFFFF:
        raise InvalidArgumentError(_lib.EINVAL, f"{what} must be > 0 and < 49 days, not {seconds!r}")
    return ms


LogHandler = Callable[[str], None]


class Context:
    """A cluster connection.  The kubeconfig is loaded when the Context is
    created, exactly like kubectl would: *kubeconfig* (must exist), else
    ``$KUBECONFIG``, else ``~/.kube/config``, else in-cluster config.

    Keyword arguments mirror kubectl's flags (``context``, ``cluster``,
    ``user``, ``server``, ``tls_server_name``) and ``flux --namespace``
    (``flux_namespace``; None auto-detects).  ``timeout`` bounds each
    operation and ``connect_timeout`` each TCP+TLS connect, in seconds.
    ``log`` receives one line per API request (never credentials).

    Use it as a context manager or call :meth:`close`; garbage collection
    releases a forgotten Context only as a fallback.
    """

    def __init__(self, kubeconfig: Optional[str] = None, *,
                 context: Optional[str] = None, cluster: Optional[str] = None,
                 user: Optional[str] = None, server: Optional[str] = None,
                 tls_server_name: Optional[str] = None,
                 flux_namespace: Optional[str] = None,
                 timeout: Optional[float] = None,
                 connect_timeout: Optional[float] = None,
                 log: Optional[LogHandler] = None) -> None:
        L = _lib.lib
        self._lock = threading.RLock()
        self._ptr: Optional["ctypes._Pointer[_lib.Ctx]"] = None
        self._log_cb: Any = None
        p = _lib.ctx_p()
        _call(L.fluxstate_ctx_new, ctypes.byref(p))
        self._ptr = p
        self._finalizer = weakref.finalize(self, L.fluxstate_ctx_free, p)
        try:
            for fn, value, what in (
                    (L.fluxstate_ctx_set_cluster, cluster, "cluster"),
                    (L.fluxstate_ctx_set_user, user, "user"),
                    (L.fluxstate_ctx_set_server, server, "server"),
                    (L.fluxstate_ctx_set_tls_server_name, tls_server_name, "tls_server_name"),
                    (L.fluxstate_ctx_set_flux_namespace, flux_namespace, "flux_namespace")):
                if value is not None:
                    _call(fn, p, _enc(value, what))
            if timeout is not None:
                _call(L.fluxstate_ctx_set_timeout_ms, p, _ms(timeout, "timeout"))
            if connect_timeout is not None:
                _call(L.fluxstate_ctx_set_connect_timeout_ms, p, _ms(connect_timeout, "connect_timeout"))
            if log is not None:
                self._set_log(log)
            if kubeconfig is not None and not isinstance(kubeconfig, str):
                kubeconfig = str(kubeconfig)  # os.PathLike
            _call(L.fluxstate_ctx_load_kubeconfig, p,
                  _enc(kubeconfig, "kubeconfig"), _enc(context, "context"))
        except BaseException:
            self.close()
            raise

    def _set_log(self, log: LogHandler) -> None:
        if not callable(log):
            raise TypeError("log must be callable")

        def trampoline(msg: Optional[bytes], _userdata: Optional[int]) -> None:
            try:
                log(_s(msg))
            except Exception:  # an exception cannot cross C; drop it
                pass

        cb = _lib.LOG_FN(trampoline)
        _call(_lib.lib.fluxstate_ctx_set_log_fn, self._ptr, cb, None)
        self._log_cb = cb  # C holds the pointer: keep the thunk alive

    def _p(self) -> "ctypes._Pointer[_lib.Ctx]":
        if self._ptr is None:
            raise InvalidArgumentError(_lib.EINVAL, "the Context is closed")
        return self._ptr

    def close(self) -> None:
        """Release the connection.  Idempotent; Reports stay valid."""
        with self._lock:
            if self._ptr is not None:
                self._ptr = None
                self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Context":
        self._p()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # Fallback only; weakref.finalize does the same at interpreter exit.
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()

    @property
    def contexts(self) -> List[str]:
        """Context names of the loaded kubeconfig, in file order."""
        with self._lock:
            p = self._p()
            n = _lib.lib.fluxstate_ctx_get_n_contexts(p)
            return [_s(_lib.lib.fluxstate_ctx_get_context_name(p, i)) for i in range(n)]

    @property
    def current_context(self) -> Optional[str]:
        """The kubeconfig context in use; None for in-cluster config."""
        with self._lock:
            return _lib.decode(_lib.lib.fluxstate_ctx_get_current_context(self._p()))

    def describe_connection(self) -> Dict[str, Any]:
        """What kubectl would use (server, user, CA source, auth method…),
        secrets redacted."""
        with self._lock:
            out = ctypes.c_void_p()
            _call(_lib.lib.fluxstate_ctx_describe_connection, self._p(), ctypes.byref(out))
            d: Dict[str, Any] = _json.loads(_lib.take_string(out))
            return d

    @property
    def flux_namespace(self) -> None:
        raise AttributeError("flux_namespace is write-only; see Report.namespace")

    @flux_namespace.setter
    def flux_namespace(self, ns: Optional[str]) -> None:
        """The namespace Flux is expected in; None auto-detects."""
        with self._lock:
            _call(_lib.lib.fluxstate_ctx_set_flux_namespace, self._p(),
                  _enc(ns, "flux_namespace"))

    def set_timeout(self, seconds: float) -> None:
        """Deadline for each later operation, in seconds."""
        with self._lock:
            _call(_lib.lib.fluxstate_ctx_set_timeout_ms, self._p(), _ms(seconds, "timeout"))

    def probe(self) -> Report:
        """Look at the cluster and classify the Flux installation.

        Blind spots (403, lists cut off) do not raise: they show up as
        findings and make the state UNKNOWN unless what was seen proves
        otherwise.  Raises NetworkError, AuthError, ProtocolError,
        FluxstateTimeoutError for failures of the whole probe."""
        with self._lock:
            out = _lib.report_p()
            _call(_lib.lib.fluxstate_ctx_probe, self._p(), ctypes.byref(out))
        return Report(out)

    def wait_for_change(self, since: Report, timeout: float) -> bool:
        """Block until something that decides the state changed after
        *since* was taken (True), or *timeout* seconds passed (False).
        Probe again afterwards to learn the new state.  A report whose
        every read failed (all denied, say) has nothing to watch: that
        raises InvalidArgumentError (a ValueError) at once; probe again
        later instead."""
        if not isinstance(since, Report):
            raise TypeError("since must be a Report")
        ms = _ms(timeout, "timeout")
        with self._lock:
            try:
                _lib.lib.fluxstate_ctx_wait_for_change(self._p(), since._handle, ms)
            except _lib.CError as e:
                if e.code == _lib.ETIMEDOUT:
                    return False
                raise _error(e) from None
        return True

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<fluxstate.Context closed>"
        return f"<fluxstate.Context context={self.current_context!r}>"


# Cleanup (0.2) lives in its own module; re-exported here.
from .cleanup import (  # noqa: E402
    CleanupPlan, CleanupStep, ConflictError, RefusedError, StepResult, apply_cleanup, plan_cleanup)

__all__ += ["CleanupPlan", "CleanupStep", "ConflictError", "RefusedError", "StepResult",
            "apply_cleanup", "plan_cleanup"]
