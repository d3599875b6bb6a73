// SPDX-License-Identifier: MIT

package fluxstate

// #include <stdint.h>
// #include <fluxstate/fluxstate.h>
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

func unsafePointer(p *C.char) unsafe.Pointer { return unsafe.Pointer(p) }

// fluxstateGoCleanupProgress is the C progress callback of ApplyCleanup:
// it runs on the goroutine that called ApplyCleanup.
//
//export fluxstateGoCleanupProgress
func fluxstateGoCleanupProgress(step *C.fluxstate_cleanup_step, index C.size_t, dryRun C.int, result C.int,
	message *C.char, handle C.uintptr_t) {
	st := cgo.Handle(handle).Value().(*applyState)
	r := StepResult{DryRun: dryRun != 0, Message: C.GoString(message)}
	if i := int(index); i < len(st.plan.Steps) {
		r.Step = st.plan.Steps[i]
	} else {
		r.Step = goStep(step, i)
	}
	if result < 0 {
		r.Err = &Error{Code: int(result), Message: r.Message}
	}
	st.progress(r)
}
