// SPDX-License-Identifier: MIT

// Package fluxstate tells what state Flux (fluxcd.io) is in on a Kubernetes
// cluster: none, residual, partial, healthy, or unknown when it could not
// see enough, plus the findings that explain it. It is a thin cgo binding
// to libfluxstate (found with pkg-config as "fluxstate").
//
//	c, err := fluxstate.NewClient(fluxstate.Options{}) // kubeconfig found like kubectl
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
//	defer cancel()
//	r, err := c.Detect(ctx)
//	switch {
//	case errors.Is(err, fluxstate.ErrAuth):
//		return fmt.Errorf("credentials rejected: %w", err)
//	case err != nil:
//		return err
//	}
//	fmt.Println(r.State, r.Summary)
//
// StateUnknown means the library could not see enough to decide; never
// treat it as StateNone.
//
// # Reports
//
// A Report is a plain Go value decoded from the library's report JSON
// (fluxstate_report_to_json, schema "fluxstate.report/v1"): one cgo call
// instead of one per field, and the structs carry everything the JSON has
// (components, Kubernetes version check, request count). Detect
// cross-checks the decoded state and finding count against the C accessors
// and fails with ErrProtocol if they ever disagree. A Report also keeps,
// in an unexported field, the library's report it was decoded from (freed
// by a finalizer once the Report is unreachable): it holds the resource
// versions that WaitForChange watches from. C keeps no pointer to Go
// memory.
//
// # Waiting for a change
//
// WaitForChange(ctx, r, timeout) blocks until something that decides the
// state changes after r was taken, using Kubernetes watch requests rather
// than polling; then Detect again:
//
//	for r.State != fluxstate.StateHealthy {
//		if changed, err := c.WaitForChange(ctx, r, time.Minute); err != nil {
//			return err
//		} else if changed {
//			if r, err = c.Detect(ctx); err != nil {
//				return err
//			}
//		}
//	}
//
// # Cancellation
//
// Detect and WaitForChange honour ctx fully: while the library call runs, a
// goroutine waits on ctx.Done() and calls fluxstate_ctx_cancel(), which
// stops the call within about 100 ms (an exec credential plugin it waits
// for is killed too). The error then matches ctx.Err() with errors.Is
// (context.Canceled or context.DeadlineExceeded) and ErrCanceled or
// ErrTimedOut respectively; a probe cut short by ctx never comes back as a
// StateUnknown report. The library's own deadline is the sooner of
// Options.Timeout and a little past ctx.Deadline(), so a deadline set on
// ctx is always reported as ctx's. A context already done returns at once
// without any request.
//
// # Concurrency
//
// A Client serialises its own calls with a mutex, so it may be shared
// between goroutines (calls then run one at a time); separate Clients run
// in parallel. Close is idempotent; a finalizer frees a forgotten Client
// only as a safety net.
package fluxstate
