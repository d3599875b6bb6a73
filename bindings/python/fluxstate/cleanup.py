# SPDX-License-Identifier: MIT
"""Cleanup (libfluxstate 0.2): make a residual cluster `none` again.

    plan = fluxstate.plan_cleanup(ctx, ctx.probe())
    for step in plan.steps:
        print(step.verb, step.kind, step.namespace, step.name, step.reason)
    state = fluxstate.apply_cleanup(ctx, plan, wait=True)

The plan is made by the library from a fresh read of the cluster and names
only Flux v2 evidence; apply runs a server-side dry run of every step first,
then each step for real (guarded: an object changed since the plan raises
ConflictError, it is never overwritten), then probes again.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json as _json
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _lib
from . import Context, FluxstateError, Report, State, _call, _error, _s

ECONFLICT = -10
EREFUSED = -11

FORCE = 1 << 0
KEEP_NAMESPACE = 1 << 1
DRY_RUN = 1 << 2
WAIT = 1 << 3


class ConflictError(FluxstateError):
    """FLUXSTATE_ECONFLICT: an object changed between the plan and its apply."""


class RefusedError(FluxstateError):
    """FLUXSTATE_EREFUSED: the library refuses to clean up this state
    (healthy, unknown, partial without force, a blind spot, another install)."""


def _raise(e: _lib.CError) -> FluxstateError:
    if e.code == ECONFLICT:
        return ConflictError(e.code, e.message)
    if e.code == EREFUSED:
        return RefusedError(e.code, e.message)
    return _error(e)


@dataclasses.dataclass(frozen=True)
class CleanupStep:
    """One step (or, in CleanupPlan.kept, one object kept on purpose)."""

    index: int
    phase: str
    verb: str
    kind: str
    api_version: str
    namespace: Optional[str]
    name: str
    reason: str
    destructive: bool


@dataclasses.dataclass(frozen=True)
class StepResult:
    """What apply_cleanup reports for one step: result 0 is done; else a
    negative code (AuthError's -6 for an RBAC refusal, -10 for a conflict)."""

    step: CleanupStep
    dry_run: bool
    result: int
    message: str

    @property
    def ok(self) -> bool:
        return self.result == 0


def _step(p: Any, index: int) -> CleanupStep:
    L = _lib.lib
    return CleanupStep(
        index=index,
        phase=_s(L.fluxstate_cleanup_step_get_phase(p)),
        verb=_s(L.fluxstate_cleanup_step_get_verb(p)),
        kind=_s(L.fluxstate_cleanup_step_get_kind(p)),
        api_version=_s(L.fluxstate_cleanup_step_get_api_version(p)),
        namespace=_lib.decode(L.fluxstate_cleanup_step_get_namespace(p)),
        name=_s(L.fluxstate_cleanup_step_get_name(p)),
        reason=_s(L.fluxstate_cleanup_step_get_reason(p)),
        destructive=L.fluxstate_cleanup_step_get_destructive(p) == 1,
    )


class CleanupPlan:
    """The ordered steps; immutable. ``kept`` lists objects the plan leaves
    alone on purpose (not Flux v2 evidence, or --keep-namespace)."""

    state: State
    namespace: Optional[str]
    steps: Tuple[CleanupStep, ...]
    kept: Tuple[CleanupStep, ...]

    def __init__(self, handle: Any) -> None:
        L = _lib.lib
        self._handle = handle
        self._finalizer = weakref.finalize(self, L.fluxstate_cleanup_plan_free, handle)
        self.state = State(L.fluxstate_cleanup_plan_get_state(handle))
        self.namespace = _lib.decode(L.fluxstate_cleanup_plan_get_namespace(handle))
        self.steps = tuple(_step(L.fluxstate_cleanup_plan_get_step(handle, i), i)
                           for i in range(L.fluxstate_cleanup_plan_get_n_steps(handle)))
        self.kept = tuple(_step(L.fluxstate_cleanup_plan_get_kept(handle, i), i)
                          for i in range(L.fluxstate_cleanup_plan_get_n_kept(handle)))

    @property
    def json(self) -> str:
        out = ctypes.c_void_p()
        _call(_lib.lib.fluxstate_cleanup_plan_to_json, self._handle, ctypes.byref(out))
        return _lib.take_string(out)

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = _json.loads(self.json)
        return d

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<fluxstate.CleanupPlan {self.state.label} namespace={self.namespace!r} steps={len(self.steps)}>"


def plan_cleanup(ctx: Context, report: Report, *, force: bool = False,
                 keep_namespace: bool = False) -> CleanupPlan:
    """fluxstate_ctx_plan_cleanup(): reads the cluster again and plans.
    Raises RefusedError, ConflictError (the cluster changed since the
    report), and the probe's errors."""
    flags = (FORCE if force else 0) | (KEEP_NAMESPACE if keep_namespace else 0)
    out = _lib.cleanup_plan_p()
    with ctx._lock:
        try:
            _lib.lib.fluxstate_ctx_plan_cleanup(ctx._p(), report._handle, flags, ctypes.byref(out))
        except _lib.CError as e:
            raise _raise(e) from None
    return CleanupPlan(out)


def apply_cleanup(ctx: Context, plan: CleanupPlan, *, dry_run: bool = False, wait: bool = False,
                  progress: Optional[Callable[[StepResult], None]] = None) -> State:
    """fluxstate_ctx_apply_cleanup(): dry run of every step, then each step
    for real, then a probe (waiting for none with wait=True). Returns the
    state afterwards. Raises AuthError (a step refused by RBAC),
    ConflictError, and network/timeout errors; ``progress`` sees every step
    of both passes (exceptions raised in it are dropped)."""
    flags = (DRY_RUN if dry_run else 0) | (WAIT if wait else 0)
    results: List[StepResult] = []

    def trampoline(_step_p: Any, index: int, dry: int, result: int, message: Optional[bytes],
                   _userdata: Any) -> None:
        r = StepResult(plan.steps[index], bool(dry), result, _s(message))
        results.append(r)
        if progress is not None:
            try:
                progress(r)
            except Exception:
                pass

    cb = _lib.CLEANUP_PROGRESS_FN(trampoline)
    with ctx._lock:
        try:
            rc = _lib.lib.fluxstate_ctx_apply_cleanup(ctx._p(), plan._handle, flags, cb, None)
        except _lib.CError as e:
            err = _raise(e)
            err.results = results  # type: ignore[attr-defined]
            raise err from None
    return State(rc)
