// SPDX-License-Identifier: MIT

package fluxstate

// #include <stdint.h>
// #include <stdlib.h>
// #include <fluxstate/fluxstate.h>
//
// extern void fluxstateGoCleanupProgress(fluxstate_cleanup_step *step, size_t index, int dry_run,
//                                        int result, char *message, uintptr_t handle);
//
// static void cleanup_progress(const fluxstate_cleanup_step *step, size_t index, int dry_run,
//                              int result, const char *message, void *userdata)
// {
//         fluxstateGoCleanupProgress((fluxstate_cleanup_step *)step, index, dry_run, result,
//                                    (char *)message, (uintptr_t)userdata);
// }
//
// static int apply_cleanup(fluxstate_ctx *ctx, const fluxstate_cleanup_plan *plan, unsigned int flags,
//                          uintptr_t handle)
// {
//         return fluxstate_ctx_apply_cleanup(ctx, plan, flags, handle ? cleanup_progress : NULL,
//                                            (void *)handle);
// }
import "C"

import (
	"encoding/json"
	"runtime"
	"runtime/cgo"
)

// Cleanup error codes (libfluxstate 0.2).
const (
	CodeConflict = -10 // an object changed between the plan and its apply
	CodeRefused  = -11 // the library refuses to clean up this state
)

// Sentinels for errors.Is.
var (
	ErrConflict = &Error{Code: CodeConflict, Message: "changed since the plan was made"}
	ErrRefused  = &Error{Code: CodeRefused, Message: "refused in this state"}
)

// CleanupStep is one step of a CleanupPlan, or one object it keeps on
// purpose (Verb "keep").
type CleanupStep struct {
	Index       int    `json:"-"`
	Phase       string `json:"phase"` // controllers, finalizers, custom-resources, crds, cluster-rbac, namespaced, namespace, kept
	Verb        string `json:"verb"`  // remove-finalizers, delete, keep
	Kind        string `json:"kind"`
	APIVersion  string `json:"apiVersion"`
	Namespace   string `json:"namespace"` // "" for cluster-scoped objects
	Name        string `json:"name"`
	Reason      string `json:"reason"`
	Destructive bool   `json:"destructive"` // deletes user data
}

// CleanupPlan is what fluxstate_ctx_plan_cleanup() decided: the ordered
// steps that make a residual cluster none, as flux uninstall orders them.
type CleanupPlan struct {
	State     State
	Namespace string
	Steps     []CleanupStep
	Kept      []CleanupStep
	handle    *planHandle
}

type planHandle struct {
	ptr *C.fluxstate_cleanup_plan
}

// CleanupOptions select what PlanCleanup may plan.
type CleanupOptions struct {
	Force         bool // also a partial install (its controllers go first)
	KeepNamespace bool // keep the Flux namespace, as flux uninstall --keep-namespace
}

// StepResult is one step's outcome, as ApplyCleanup reports it.
type StepResult struct {
	Step    CleanupStep
	DryRun  bool
	Err     error // nil: done (or already gone); errors.Is(Err, ErrAuth) for an RBAC refusal, ErrConflict
	Message string
}

// ApplyOptions select how ApplyCleanup runs.
type ApplyOptions struct {
	DryRun   bool             // only the server-side dry run
	Wait     bool             // afterwards, wait (up to the Client's timeout) until the state is none
	Progress func(StepResult) // called after every step of both passes, on the calling goroutine
}

func goStep(p *C.fluxstate_cleanup_step, i int) CleanupStep {
	s := CleanupStep{
		Index:       i,
		Phase:       C.GoString(C.fluxstate_cleanup_step_get_phase(p)),
		Verb:        C.GoString(C.fluxstate_cleanup_step_get_verb(p)),
		Kind:        C.GoString(C.fluxstate_cleanup_step_get_kind(p)),
		APIVersion:  C.GoString(C.fluxstate_cleanup_step_get_api_version(p)),
		Name:        C.GoString(C.fluxstate_cleanup_step_get_name(p)),
		Reason:      C.GoString(C.fluxstate_cleanup_step_get_reason(p)),
		Destructive: C.fluxstate_cleanup_step_get_destructive(p) == 1,
	}
	if ns := C.fluxstate_cleanup_step_get_namespace(p); ns != nil {
		s.Namespace = C.GoString(ns)
	}
	return s
}

// PlanCleanup reads the cluster again and plans the cleanup of the install
// r describes (r must come from Detect). The plan names only Flux v2
// evidence. Errors: ErrRefused (healthy, unknown, partial without Force, a
// blind spot, another Flux install), ErrConflict (the cluster changed since
// r), and Detect's.
func (c *Client) PlanCleanup(r *Report, opts CleanupOptions) (*CleanupPlan, error) {
	if r == nil || r.handle == nil {
		return nil, &Error{Code: CodeInvalid, Message: "PlanCleanup needs a Report from Detect"}
	}
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if err := c.errorFrom(C.fluxstate_ctx_set_timeout_ms(c.ptr, c.timeoutMs)); err != nil {
		return nil, err // Detect may have left a shorter deadline set
	}
	var flags C.uint
	if opts.Force {
		flags |= C.FLUXSTATE_CLEANUP_FORCE
	}
	if opts.KeepNamespace {
		flags |= C.FLUXSTATE_CLEANUP_KEEP_NAMESPACE
	}
	var p *C.fluxstate_cleanup_plan
	err := c.errorFrom(C.fluxstate_ctx_plan_cleanup(c.ptr, r.handle.ptr, flags, &p))
	runtime.KeepAlive(c)
	runtime.KeepAlive(r)
	if err != nil {
		return nil, err
	}
	plan := &CleanupPlan{
		State:     State(C.fluxstate_cleanup_plan_get_state(p)),
		Namespace: C.GoString(C.fluxstate_cleanup_plan_get_namespace(p)),
		handle:    &planHandle{ptr: p},
	}
	runtime.SetFinalizer(plan.handle, func(h *planHandle) { C.fluxstate_cleanup_plan_free(h.ptr) })
	for i := 0; i < int(C.fluxstate_cleanup_plan_get_n_steps(p)); i++ {
		plan.Steps = append(plan.Steps, goStep(C.fluxstate_cleanup_plan_get_step(p, C.size_t(i)), i))
	}
	for i := 0; i < int(C.fluxstate_cleanup_plan_get_n_kept(p)); i++ {
		plan.Kept = append(plan.Kept, goStep(C.fluxstate_cleanup_plan_get_kept(p, C.size_t(i)), i))
	}
	return plan, nil
}

// JSON is the library's JSON form of the plan.
func (p *CleanupPlan) JSON() ([]byte, error) {
	if p == nil || p.handle == nil {
		return nil, &Error{Code: CodeInvalid, Message: "no plan"}
	}
	var js *C.char
	rc := C.fluxstate_cleanup_plan_to_json(p.handle.ptr, &js)
	runtime.KeepAlive(p)
	if rc < 0 {
		return nil, &Error{Code: int(rc), Message: C.GoString(C.fluxstate_strerror(rc))}
	}
	defer C.fluxstate_free(unsafePointer(js))
	out := []byte(C.GoString(js))
	if !json.Valid(out) {
		return nil, &Error{Code: CodeProtocol, Message: "the library's plan JSON does not parse"}
	}
	return out, nil
}

type applyState struct {
	plan     *CleanupPlan
	progress func(StepResult)
}

// ApplyCleanup carries out plan: a server-side dry run of every step, then
// each step for real (stopping at the first failure), then a probe. It
// returns the state afterwards (StateNone when the cluster is clean; the
// plan's state for a dry run). Errors: ErrAuth (a step refused by RBAC),
// ErrConflict (an object changed since the plan; never overwritten),
// ErrTimedOut (Wait: every step done, not none in time), network errors.
func (c *Client) ApplyCleanup(plan *CleanupPlan, opts ApplyOptions) (State, error) {
	if plan == nil || plan.handle == nil {
		return StateUnknown, &Error{Code: CodeInvalid, Message: "ApplyCleanup needs a plan from PlanCleanup"}
	}
	if err := c.lock(); err != nil {
		return StateUnknown, err
	}
	defer c.mu.Unlock()
	if err := c.errorFrom(C.fluxstate_ctx_set_timeout_ms(c.ptr, c.timeoutMs)); err != nil {
		return StateUnknown, err
	}
	var flags C.uint
	if opts.DryRun {
		flags |= C.FLUXSTATE_CLEANUP_DRY_RUN
	}
	if opts.Wait {
		flags |= C.FLUXSTATE_CLEANUP_WAIT
	}
	var h cgo.Handle
	if opts.Progress != nil {
		h = cgo.NewHandle(&applyState{plan: plan, progress: opts.Progress})
		defer h.Delete()
	}
	rc := C.apply_cleanup(c.ptr, plan.handle.ptr, flags, C.uintptr_t(h))
	err := c.errorFrom(rc)
	runtime.KeepAlive(c)
	runtime.KeepAlive(plan)
	if err != nil {
		return StateUnknown, err
	}
	return State(rc), nil
}
