# SPDX-License-Identifier: MIT
"""The only module that knows C exists: loads libfluxstate and declares a
typed prototype for every exported function.

The library is found, in this order: ``FLUXSTATE_LIBRARY`` (a path to a
particular file, e.g. a build tree's ``libfluxstate/libfluxstate.so.0``);
the soname ``libfluxstate.so.0`` with the dynamic linker's usual rules
(installed prefix, ``LD_LIBRARY_PATH``); ``ctypes.util.find_library``;
and the ``lib`` directories of the Python prefix the package is installed
in (a venv or ``--prefix`` install beside libfluxstate).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

SONAME = "libfluxstate.so.0"
ENV_LIBRARY = "FLUXSTATE_LIBRARY"

# enum fluxstate_error; never renumbered, only appended.
OK = 0
ERROR = -1
ENOMEM = -2
EINVAL = -3
ECONFIG = -4
ENETWORK = -5
EAUTH = -6
EPROTOCOL = -7
ETIMEDOUT = -8
ECANCELED = -9
ECONFLICT = -10
EREFUSED = -11


def _prefix_candidates() -> List[str]:
    """libfluxstate in the lib directories of this Python's prefixes."""
    libdirs = ["lib", "lib64"]
    multiarch = getattr(sys.implementation, "_multiarch", None)
    if isinstance(multiarch, str):
        libdirs.append(os.path.join("lib", multiarch))
    return [os.path.join(prefix, d, SONAME)
            for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)) for d in libdirs]


def _load() -> ctypes.CDLL:
    path = os.environ.get(ENV_LIBRARY)
    if path:
        if not os.path.exists(path):
            raise ImportError(
                f"{ENV_LIBRARY}={path}: no such file (unset it to load {SONAME} from the system)")
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            raise ImportError(f"cannot load {path} (from {ENV_LIBRARY}): {e}") from None
    try:
        return ctypes.CDLL(SONAME)
    except OSError as e:
        first = e
    found = ctypes.util.find_library("fluxstate")
    for cand in ([found] if found else []) + [p for p in _prefix_candidates() if os.path.exists(p)]:
        try:
            return ctypes.CDLL(cand)
        except OSError:
            continue
    raise ImportError(
        f"cannot load {SONAME}: {first}; install libfluxstate, or set {ENV_LIBRARY} "
        "to the library file or LD_LIBRARY_PATH to its directory") from None


lib = _load()


class Ctx(ctypes.Structure):
    """struct fluxstate_ctx (opaque)."""


class Report(ctypes.Structure):
    """struct fluxstate_report (opaque)."""


class Finding(ctypes.Structure):
    """struct fluxstate_finding (opaque)."""


class Component(ctypes.Structure):
    """struct fluxstate_component (opaque)."""


ctx_p = ctypes.POINTER(Ctx)
report_p = ctypes.POINTER(Report)
finding_p = ctypes.POINTER(Finding)
component_p = ctypes.POINTER(Component)

# typedef void (*fluxstate_log_fn)(const char *message, void *userdata);
class CleanupPlan(ctypes.Structure):
    """struct fluxstate_cleanup_plan (opaque)."""


class CleanupStep(ctypes.Structure):
    """struct fluxstate_cleanup_step (opaque, borrowed from its plan)."""


cleanup_plan_p = ctypes.POINTER(CleanupPlan)
cleanup_step_p = ctypes.POINTER(CleanupStep)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)
# fluxstate_cleanup_progress_fn(step, index, dry_run, result, message, userdata)
CLEANUP_PROGRESS_FN = ctypes.CFUNCTYPE(None, cleanup_step_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                                       ctypes.c_char_p, ctypes.c_void_p)

_c_str = ctypes.c_char_p
_c_int = ctypes.c_int
_c_uint = ctypes.c_uint
_c_size = ctypes.c_size_t


class CError(Exception):
    """Raised by the errcheck hooks; the public layer maps it to its
    exception hierarchy.  Carries the negative code and the message read
    from the context right after the failing call."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def _decode(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")


def strerror(code: int) -> str:
    return _decode(lib.fluxstate_strerror(code)) or "unknown error"


def _check_ctx(result: int, func: Any, args: Tuple[Any, ...]) -> int:
    """errcheck for calls whose first argument is a ctx: the message is the
    context's, read before anything else can overwrite it."""
    if result < 0:
        msg = ""
        if args and args[0]:
            msg = _decode(lib.fluxstate_ctx_get_error(args[0])) or ""
        raise CError(result, msg or strerror(result))
    return result


def _check_plain(result: int, func: Any, args: Tuple[Any, ...]) -> int:
    """errcheck for calls without a ctx: only the code is known."""
    if result < 0:
        raise CError(result, f"{func.__name__}: {strerror(result)}")
    return result


# name -> (argtypes, restype, errcheck).  One entry per symbol in
# libfluxstate/libfluxstate.sym; tests/test_api.py holds us to that.
PROTOTYPES: Dict[str, Tuple[List[Any], Any, Optional[Callable[..., Any]]]] = {
    # errors, states, version
    "fluxstate_strerror": ([_c_int], _c_str, None),
    "fluxstate_state_to_string": ([_c_int], _c_str, None),
    "fluxstate_state_from_string": ([_c_str], _c_int, _check_plain),
    "fluxstate_version": ([], _c_uint, None),
    "fluxstate_version_string": ([], _c_str, None),
    "fluxstate_free": ([ctypes.c_void_p], None, None),
    # context
    "fluxstate_ctx_new": ([ctypes.POINTER(ctx_p)], _c_int, _check_plain),
    "fluxstate_ctx_free": ([ctx_p], None, None),
    "fluxstate_ctx_get_error": ([ctx_p], _c_str, None),
    "fluxstate_ctx_set_context": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_cluster": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_user": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_server": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_tls_server_name": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_flux_namespace": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_timeout_ms": ([ctx_p, _c_uint], _c_int, _check_ctx),
    "fluxstate_ctx_set_connect_timeout_ms": ([ctx_p, _c_uint], _c_int, _check_ctx),
    "fluxstate_ctx_set_log_fn": ([ctx_p, LOG_FN, ctypes.c_void_p], _c_int, _check_ctx),
    "fluxstate_ctx_load_kubeconfig": ([ctx_p, _c_str, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_get_n_contexts": ([ctx_p], _c_size, None),
    "fluxstate_ctx_get_context_name": ([ctx_p, _c_size], _c_str, None),
    "fluxstate_ctx_get_current_context": ([ctx_p], _c_str, None),
    "fluxstate_ctx_describe_connection": ([ctx_p, ctypes.POINTER(ctypes.c_void_p)], _c_int, _check_ctx),
    "fluxstate_ctx_probe": ([ctx_p, ctypes.POINTER(report_p)], _c_int, _check_ctx),
    "fluxstate_ctx_wait_for_change": ([ctx_p, report_p, _c_uint], _c_int, _check_ctx),
    # 0.2: kubectl's connection flags, kubeconfig from memory, cancel
    "fluxstate_ctx_set_insecure_skip_tls_verify": ([ctx_p, _c_int], _c_int, _check_ctx),
    "fluxstate_ctx_set_certificate_authority": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_client_certificate": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_client_key": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_token": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_impersonate_user": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_add_impersonate_group": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_impersonate_uid": ([ctx_p, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_set_request_timeout_ms": ([ctx_p, _c_uint], _c_int, _check_ctx),
    "fluxstate_ctx_set_disable_compression": ([ctx_p, _c_int], _c_int, _check_ctx),
    # data is bytes with an explicit length (need not be NUL-terminated)
    "fluxstate_ctx_load_kubeconfig_from_memory": ([ctx_p, _c_str, _c_size, _c_str, _c_str], _c_int, _check_ctx),
    "fluxstate_ctx_cancel": ([ctx_p], None, None),
    # report
    "fluxstate_report_free": ([report_p], None, None),
    "fluxstate_report_get_state": ([report_p], _c_int, None),
    "fluxstate_report_get_summary": ([report_p], _c_str, None),
    "fluxstate_report_get_action": ([report_p], _c_str, None),
    "fluxstate_report_get_namespace": ([report_p], _c_str, None),
    "fluxstate_report_get_installer": ([report_p], _c_str, None),
    "fluxstate_report_get_version": ([report_p], _c_str, None),
    "fluxstate_report_get_server_version": ([report_p], _c_str, None),
    # 1 / 0 / FLUXSTATE_ERROR (cannot tell): not an error, so no errcheck
    "fluxstate_report_get_server_supported": ([report_p], _c_int, None),
    "fluxstate_report_get_namespace_source": ([report_p], _c_str, None),
    "fluxstate_report_get_managed_by": ([report_p], _c_str, None),
    "fluxstate_report_get_bootstrapped": ([report_p], _c_int, _check_plain),
    "fluxstate_report_get_flux_minimum": ([report_p], _c_str, None),
    "fluxstate_report_get_n_components": ([report_p], _c_size, None),
    "fluxstate_report_get_component": ([report_p, _c_size], component_p, None),
    "fluxstate_report_get_n_findings": ([report_p], _c_size, None),
    "fluxstate_report_get_finding": ([report_p, _c_size], finding_p, None),
    "fluxstate_report_to_json": ([report_p, ctypes.POINTER(ctypes.c_void_p)], _c_int, _check_plain),
    # 1 / 0 / negative error; the reason comes back through the out-pointer
    "fluxstate_report_check_install": ([report_p, _c_str, ctypes.POINTER(ctypes.c_void_p)], _c_int, None),
    # finding
    "fluxstate_finding_get_kind": ([finding_p], _c_str, None),
    "fluxstate_finding_get_api_version": ([finding_p], _c_str, None),
    "fluxstate_finding_get_namespace": ([finding_p], _c_str, None),
    "fluxstate_finding_get_name": ([finding_p], _c_str, None),
    "fluxstate_finding_get_category": ([finding_p], _c_str, None),
    "fluxstate_finding_get_problem": ([finding_p], _c_str, None),
    "fluxstate_finding_get_reason": ([finding_p], _c_str, None),
    "fluxstate_finding_get_severity": ([finding_p], _c_int, None),
    "fluxstate_finding_get_flags": ([finding_p], _c_uint, None),
    # component
    "fluxstate_component_get_name": ([component_p], _c_str, None),
    "fluxstate_component_get_namespace": ([component_p], _c_str, None),
    "fluxstate_component_get_version": ([component_p], _c_str, None),
    "fluxstate_component_get_image": ([component_p], _c_str, None),
    "fluxstate_component_get_ready": ([component_p], _c_int, _check_plain),
    "fluxstate_component_get_reason": ([component_p], _c_str, None),
    # cleanup (0.2)
    "fluxstate_ctx_plan_cleanup": ([ctx_p, report_p, _c_uint, ctypes.POINTER(cleanup_plan_p)], _c_int, _check_ctx),
    # returns the install state (>= 0) or a code
    "fluxstate_ctx_apply_cleanup": ([ctx_p, cleanup_plan_p, _c_uint, CLEANUP_PROGRESS_FN, ctypes.c_void_p],
                                    _c_int, _check_ctx),
    "fluxstate_cleanup_plan_free": ([cleanup_plan_p], None, None),
    "fluxstate_cleanup_plan_get_state": ([cleanup_plan_p], _c_int, _check_plain),
    "fluxstate_cleanup_plan_get_namespace": ([cleanup_plan_p], _c_str, None),
    "fluxstate_cleanup_plan_get_n_steps": ([cleanup_plan_p], _c_size, None),
    "fluxstate_cleanup_plan_get_step": ([cleanup_plan_p, _c_size], cleanup_step_p, None),
    "fluxstate_cleanup_plan_get_n_kept": ([cleanup_plan_p], _c_size, None),
    "fluxstate_cleanup_plan_get_kept": ([cleanup_plan_p, _c_size], cleanup_step_p, None),
    "fluxstate_cleanup_plan_to_json": ([cleanup_plan_p, ctypes.POINTER(ctypes.c_void_p)], _c_int, _check_plain),
    "fluxstate_cleanup_step_get_verb": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_phase": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_kind": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_api_version": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_namespace": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_name": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_reason": ([cleanup_step_p], _c_str, None),
    "fluxstate_cleanup_step_get_destructive": ([cleanup_step_p], _c_int, _check_plain),
}


def _declare(name: str, argtypes: Sequence[Any], restype: Any,
             errcheck: Optional[Callable[..., Any]]) -> None:
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise ImportError(f"{lib._name} does not export {name}: library too old or not libfluxstate") from None
    fn.argtypes = list(argtypes)
    fn.restype = restype
    if errcheck is not None:
        fn.errcheck = errcheck


for _name, (_args, _res, _check) in PROTOTYPES.items():
    _declare(_name, _args, _res, _check)


def take_string(ptr: ctypes.c_void_p) -> str:
    """Copy a string the library handed over through ``char **ret_*`` and
    release it with fluxstate_free()."""
    if not ptr.value:
        return ""
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace")
    finally:
        lib.fluxstate_free(ptr)


def decode(b: Optional[bytes]) -> Optional[str]:
    return _decode(b)

