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
:class:`MemoryError`, bad arguments also are a :class:`ValueError`, an
unreachable server also is a :class:`ConnectionError` and a deadline also
is a :class:`TimeoutError`.

A :class:`Context` may be used by one thread at a time (calls are serialised
by a lock); different contexts are independent.  The library releases the
GIL while it talks to the API server.  Ctrl-C stops a running probe or wait
within about 100 ms (the call runs in a worker thread; KeyboardInterrupt in
the main thread cancels it and is re-raised), and :meth:`Context.cancel`
does the same from another thread.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import json as _json
import os
import threading
import weakref
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar, Union

from . import _lib

__all__ = [
    "AuthError", "CanceledError", "Component", "ConfigError", "Context", "Finding",
    "FindingFlag", "FluxstateError", "FluxstateMemoryError", "FluxstateTimeoutError",
    "InstallCheck", "InvalidArgumentError", "NetworkError", "ProtocolError", "Report",
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


class NetworkError(FluxstateError, ConnectionError):
    """FLUXSTATE_ENETWORK: the API server could not be reached (TCP/TLS).
    Also a :class:`ConnectionError`."""

    def __str__(self) -> str:  # ConnectionError would print "[Errno -5] ..."
        return self.message


class AuthError(FluxstateError):
    """FLUXSTATE_EAUTH: credentials rejected (401) or unobtainable."""


class ProtocolError(FluxstateError):
    """FLUXSTATE_EPROTOCOL: malformed reply from the API server."""


class FluxstateTimeoutError(FluxstateError, TimeoutError):
    """FLUXSTATE_ETIMEDOUT: the operation's deadline passed."""

    def __str__(self) -> str:  # TimeoutError would print "[Errno -8] ..."
        return self.message


class CanceledError(FluxstateError):
    """FLUXSTATE_ECANCELED: :meth:`Context.cancel` stopped the operation."""


_ERRORS = {
    _lib.ENOMEM: FluxstateMemoryError,
    _lib.EINVAL: InvalidArgumentError,
    _lib.ECONFIG: ConfigError,
    _lib.ENETWORK: NetworkError,
    _lib.EAUTH: AuthError,
    _lib.EPROTOCOL: ProtocolError,
    _lib.ETIMEDOUT: FluxstateTimeoutError,
    _lib.ECANCELED: CanceledError,
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
        """Parse a state name (case-insensitive); an InvalidArgumentError
        (a ValueError) naming the valid names if it is none."""
        try:
            return cls(_lib.lib.fluxstate_state_from_string(_enc(name, "state name")))
        except _lib.CError as e:
            valid = ", ".join(s.label for s in cls)
            raise InvalidArgumentError(e.code, f"{name!r} is not an install state; valid: {valid}") from None

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
        return [(f.name or "").lower().replace("_", "-") for f in FindingFlag
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


@dataclasses.dataclass(frozen=True)
class Component:
    """A Flux controller Deployment that was found (`flux check`'s
    components).  ``version``/``image`` are None when unknown."""

    name: str
    namespace: str
    version: Optional[str]
    image: Optional[str]
    ready: bool
    reason: str


@dataclasses.dataclass(frozen=True)
class InstallCheck:
    """The answer of :meth:`Report.check_install`: truthy when the release
    can be installed; ``reason`` says why in one line."""

    ok: bool
    version: str
    reason: str

    def __bool__(self) -> bool:
        return self.ok


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


def _component(p: "ctypes._Pointer[_lib.Component]") -> Component:
    L = _lib.lib
    return Component(
        name=_s(L.fluxstate_component_get_name(p)),
        namespace=_s(L.fluxstate_component_get_namespace(p)),
        version=_lib.decode(L.fluxstate_component_get_version(p)),
        image=_lib.decode(L.fluxstate_component_get_image(p)),
        ready=L.fluxstate_component_get_ready(p) == 1,
        reason=_s(L.fluxstate_component_get_reason(p)),
    )


class Report:
    """The result of one probe: immutable, independent of its Context.

    Every attribute is read once from the C accessors: ``state``,
    ``summary``, ``action`` ("bootstrap", "cleanup", "repair", "none",
    "investigate"), ``namespace`` and where it came from
    (``namespace_source``: "option", "detected", "environment", "default"),
    ``installer``, ``managed_by`` (the app.kubernetes.io/managed-by label
    Flux reads, or None), ``bootstrapped``, ``version`` (Flux), the
    Kubernetes check (``server_version``, ``flux_minimum``,
    ``server_supported``: None when it cannot be told), ``components`` and
    ``findings``.  :attr:`json` is the library's own report JSON (schema
    ``fluxstate.report/v1``).
    """

    state: State
    summary: str
    action: str
    namespace: Optional[str]
    namespace_source: str
    installer: str
    managed_by: Optional[str]
    bootstrapped: bool
    version: Optional[str]
    server_version: Optional[str]
    flux_minimum: Optional[str]
    server_supported: Optional[bool]
    components: Tuple[Component, ...]
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
        self.namespace_source = _s(L.fluxstate_report_get_namespace_source(handle))
        self.installer = _s(L.fluxstate_report_get_installer(handle))
        self.managed_by = _lib.decode(L.fluxstate_report_get_managed_by(handle))
        self.bootstrapped = L.fluxstate_report_get_bootstrapped(handle) == 1
        self.version = _lib.decode(L.fluxstate_report_get_version(handle))
        self.server_version = _lib.decode(L.fluxstate_report_get_server_version(handle))
        self.flux_minimum = _lib.decode(L.fluxstate_report_get_flux_minimum(handle))
        sup = L.fluxstate_report_get_server_supported(handle)
        self.server_supported = None if sup < 0 else bool(sup)
        comps: List[Component] = []
        for i in range(L.fluxstate_report_get_n_components(handle)):
            c = L.fluxstate_report_get_component(handle, i)
            if not c:
                raise ProtocolError(_lib.EPROTOCOL, f"report has no component {i}")
            comps.append(_component(c))
        self.components = tuple(comps)
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

    def check_install(self, flux_version: str) -> InstallCheck:
        """Whether Flux *flux_version* (e.g. "v2.9.4") can be installed on
        the cluster this report describes: the state allows it (none, or the
        same version already there: a re-apply) and the server meets that
        release's Kubernetes minimum.  No I/O.  An unknown or malformed
        version raises InvalidArgumentError (a ValueError) saying why."""
        out = ctypes.c_void_p()
        rc = _lib.lib.fluxstate_report_check_install(
            self._handle, _enc(flux_version, "flux_version"), ctypes.byref(out))
        reason = _lib.take_string(out)
        if rc < 0:
            raise _error(_lib.CError(rc, reason or _lib.strerror(rc)))
        return InstallCheck(ok=rc == 1, version=flux_version, reason=reason)

    def __repr__(self) -> str:
        return (f"<fluxstate.Report state={self.state.label} namespace={self.namespace!r} "
                f"findings={len(self.findings)}>")


# ---------------------------------------------------------------- context

def _path(p: Union[str, "os.PathLike[str]", None]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def _ms(seconds: float, what: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} must be a number of seconds")
    ms = int(seconds * 1000 + 0.999)
    if seconds <= 0 or ms <= 0 or ms > 0xFFFFFFFF:
        raise InvalidArgumentError(_lib.EINVAL, f"{what} must be > 0 and < 49 days, not {seconds!r}")
    return ms


LogHandler = Callable[[str], None]
_T = TypeVar("_T")


class Context:
    """A cluster connection.  The kubeconfig is loaded when the Context is
    created, exactly like kubectl would: *kubeconfig* (must exist), else
    ``$KUBECONFIG``, else ``~/.kube/config``, else in-cluster config.  Or
    from memory: *kubeconfig_data* (bytes or str, client-go's
    RESTConfigFromKubeConfig), whose relative file paths resolve against
    *base_dir* (None rejects them with ConfigError naming the field); see
    also :meth:`from_kubeconfig_data`.

    Keyword arguments mirror kubectl's flags: ``context``, ``cluster``,
    ``user``, ``server``, ``tls_server_name``, ``insecure_skip_tls_verify``,
    ``certificate_authority``, ``client_certificate``, ``client_key``,
    ``token``, ``as_user`` (--as), ``as_groups`` (--as-group, several),
    ``as_uid``, ``request_timeout`` (seconds, each HTTP request) and
    ``disable_compression``; and ``flux --namespace`` (``flux_namespace``;
    None auto-detects).  ``timeout`` bounds each operation and
    ``connect_timeout`` each TCP+TLS connect, in seconds.  ``log`` receives
    one line per API request (never credentials).

    Use it as a context manager or call :meth:`close`; garbage collection
    releases a forgotten Context only as a fallback.
    """

    def __init__(self, kubeconfig: Union[str, "os.PathLike[str]", None] = None, *,
                 kubeconfig_data: Union[bytes, str, None] = None,
                 base_dir: Union[str, "os.PathLike[str]", None] = None,
                 context: Optional[str] = None, cluster: Optional[str] = None,
                 user: Optional[str] = None, server: Optional[str] = None,
                 tls_server_name: Optional[str] = None,
                 insecure_skip_tls_verify: bool = False,
                 certificate_authority: Union[str, "os.PathLike[str]", None] = None,
                 client_certificate: Union[str, "os.PathLike[str]", None] = None,
                 client_key: Union[str, "os.PathLike[str]", None] = None,
                 token: Optional[str] = None,
                 as_user: Optional[str] = None,
                 as_groups: Optional[Iterable[str]] = None,
                 as_uid: Optional[str] = None,
                 request_timeout: Optional[float] = None,
                 disable_compression: bool = False,
                 flux_namespace: Optional[str] = None,
                 timeout: Optional[float] = None,
                 connect_timeout: Optional[float] = None,
                 log: Optional[LogHandler] = None) -> None:
        L = _lib.lib
        self._lock = threading.RLock()
        self._cancel_lock = threading.Lock()  # cancel() vs close(): never free while cancelling
        self._stale_cancel = False
        self._ptr: Optional["ctypes._Pointer[_lib.Ctx]"] = None
        self._log_cb: Any = None
        self._flux_namespace = flux_namespace
        p = _lib.ctx_p()
        _call(L.fluxstate_ctx_new, ctypes.byref(p))
        self._ptr = p
        self._finalizer = weakref.finalize(self, L.fluxstate_ctx_free, p)
        try:
            if kubeconfig is not None and kubeconfig_data is not None:
                raise InvalidArgumentError(_lib.EINVAL, "kubeconfig and kubeconfig_data exclude each other")
            groups = [] if as_groups is None else list(as_groups)
            if isinstance(as_groups, str):
                raise TypeError("as_groups must be a list of group names, not a str")
            for fn, value, what in (
                    (L.fluxstate_ctx_set_cluster, cluster, "cluster"),
                    (L.fluxstate_ctx_set_user, user, "user"),
                    (L.fluxstate_ctx_set_server, server, "server"),
                    (L.fluxstate_ctx_set_tls_server_name, tls_server_name, "tls_server_name"),
                    (L.fluxstate_ctx_set_flux_namespace, flux_namespace, "flux_namespace"),
                    (L.fluxstate_ctx_set_certificate_authority, _path(certificate_authority), "certificate_authority"),
                    (L.fluxstate_ctx_set_client_certificate, _path(client_certificate), "client_certificate"),
                    (L.fluxstate_ctx_set_client_key, _path(client_key), "client_key"),
                    (L.fluxstate_ctx_set_token, token, "token"),
                    (L.fluxstate_ctx_set_impersonate_user, as_user, "as_user"),
                    (L.fluxstate_ctx_set_impersonate_uid, as_uid, "as_uid"),
            ) + tuple((L.fluxstate_ctx_add_impersonate_group, g, "as_groups") for g in groups):
                if value is not None:
                    _call(fn, p, _enc(value, what))
            if insecure_skip_tls_verify:
                _call(L.fluxstate_ctx_set_insecure_skip_tls_verify, p, 1)
            if disable_compression:
                _call(L.fluxstate_ctx_set_disable_compression, p, 1)
            if timeout is not None:
                _call(L.fluxstate_ctx_set_timeout_ms, p, _ms(timeout, "timeout"))
            if connect_timeout is not None:
                _call(L.fluxstate_ctx_set_connect_timeout_ms, p, _ms(connect_timeout, "connect_timeout"))
            if request_timeout is not None:
                _call(L.fluxstate_ctx_set_request_timeout_ms, p, _ms(request_timeout, "request_timeout"))
            if log is not None:
                self._set_log(log)
            if kubeconfig_data is not None:
                self._load_data(kubeconfig_data, _path(base_dir), context)
            else:
                _call(L.fluxstate_ctx_load_kubeconfig, p,
                      _enc(_path(kubeconfig), "kubeconfig"), _enc(context, "context"))
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_kubeconfig_data(cls, data: Union[bytes, str], *,
                             base_dir: Union[str, "os.PathLike[str]", None] = None,
                             **kwargs: Any) -> "Context":
        """A Context from a kubeconfig held in memory (e.g. read from a
        secret store): ``Context(kubeconfig_data=data, base_dir=..., ...)``."""
        return cls(kubeconfig_data=data, base_dir=base_dir, **kwargs)

    def _load_data(self, data: Union[bytes, str], base_dir: Optional[str],
                   context: Optional[str]) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"kubeconfig_data must be bytes or str, not {type(data).__name__}")
        raw = bytes(data)
        # A C buffer we can wipe: the kubeconfig may hold credentials.
        buf = ctypes.create_string_buffer(raw, len(raw))
        try:
            _call(_lib.lib.fluxstate_ctx_load_kubeconfig_from_memory, self._ptr,
                  ctypes.cast(buf, ctypes.c_char_p), len(raw),
                  _enc(base_dir, "base_dir"), _enc(context, "context"))
        finally:
            ctypes.memset(buf, 0, len(raw))

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
        with self._lock, self._cancel_lock:
            if self._ptr is not None:
                self._ptr = None
                self._finalizer()

    def cancel(self) -> None:
        """Stop a probe or wait running on this Context (from another
        thread): it raises CanceledError within about 100 ms.  With nothing
        running, the next probe or wait is cancelled at once, so call it only
        to stop.  Never blocks; a no-op on a closed Context."""
        with self._cancel_lock:
            if self._ptr is not None:
                _lib.lib.fluxstate_ctx_cancel(self._ptr)

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
    def flux_namespace(self) -> Optional[str]:
        """The namespace Flux is expected in, as set; None auto-detects (the
        namespace a probe used is :attr:`Report.namespace`)."""
        return self._flux_namespace

    @flux_namespace.setter
    def flux_namespace(self, ns: Optional[str]) -> None:
        with self._lock:
            _call(_lib.lib.fluxstate_ctx_set_flux_namespace, self._p(),
                  _enc(ns, "flux_namespace"))
            self._flux_namespace = ns

    def set_timeout(self, seconds: float) -> None:
        """Deadline for each later operation, in seconds."""
        with self._lock:
            _call(_lib.lib.fluxstate_ctx_set_timeout_ms, self._p(), _ms(seconds, "timeout"))

    def _interruptible(self, fn: Callable[[], _T]) -> _T:
        """Run a blocking library call (self._lock held) so that Ctrl-C
        stops it: in the main thread the call runs in a worker thread, and a
        KeyboardInterrupt cancels it, waits for it to return and is
        re-raised.  Elsewhere the call runs here (cancel() stops it)."""
        r = self._run_once(fn)
        if isinstance(r, CanceledError) and self._stale_cancel:
            # A Ctrl-C that landed just after the previous call had ended is
            # kept by the library for the next call: that one meant the
            # previous call, so run this one again.
            self._stale_cancel = False
            r = self._run_once(fn)
        if isinstance(r, BaseException):
            raise r
        return r

    def _run_once(self, fn: Callable[[], _T]) -> Union[_T, BaseException]:
        if threading.current_thread() is not threading.main_thread():
            try:
                return fn()
            except _lib.CError as e:
                return _error(e)
        box: List[Union[_T, BaseException]] = []
        done = threading.Event()

        def work() -> None:
            try:
                box.append(fn())
            except _lib.CError as e:
                box.append(_error(e))
            except BaseException as e:  # noqa: B036 -- handed to the caller
                box.append(e)
            finally:
                done.set()

        # Wait on an Event, not Thread.join(): a join interrupted by Ctrl-C
        # marks a still-running thread as stopped on Python < 3.13.
        threading.Thread(target=work, name="fluxstate-call", daemon=True).start()
        try:
            done.wait()
        except KeyboardInterrupt:
            _lib.lib.fluxstate_ctx_cancel(self._p())
            while True:  # the call returns within ~100 ms of the cancel
                try:
                    if done.wait(1.0):
                        break
                except KeyboardInterrupt:  # a second Ctrl-C: still wait, C uses the ctx
                    continue
            # A call that ended anyway leaves the cancel pending for the next.
            self._stale_cancel = not isinstance(box[0], CanceledError)
            raise
        self._stale_cancel = False
        return box[0]

    def probe(self) -> Report:
        """Look at the cluster and classify the Flux installation.

        Blind spots (403, lists cut off) do not raise: they show up as
        findings and make the state UNKNOWN unless what was seen proves
        otherwise.  Raises NetworkError, AuthError, ProtocolError,
        FluxstateTimeoutError for failures of the whole probe; CanceledError
        when :meth:`cancel` stopped it.  Ctrl-C stops it within ~100 ms."""
        with self._lock:
            p = self._p()
            out = _lib.report_p()
            self._interruptible(lambda: _lib.lib.fluxstate_ctx_probe(p, ctypes.byref(out)))
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
            p = self._p()
            try:
                self._interruptible(lambda: _lib.lib.fluxstate_ctx_wait_for_change(p, since._handle, ms))
            except FluxstateTimeoutError:
                return False
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
