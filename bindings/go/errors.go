// SPDX-License-Identifier: MIT

package fluxstate

// Error is a failed libfluxstate call: Code is the negative FLUXSTATE_E*
// value, Message the library's explanation (never contains credentials).
type Error struct {
	Code    int
	Message string
	cause   error // the caller's ctx.Err() when its context ended the call
}

func (e *Error) Error() string { return "fluxstate: " + e.Message }

// Is makes errors.Is(err, ErrAuth) and the like match by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap exposes context.DeadlineExceeded or context.Canceled when the
// caller's context.Context ended the call.
func (e *Error) Unwrap() error { return e.cause }

// Sentinels for errors.Is; only the Code is compared.
var (
	ErrNoMem    = &Error{Code: CodeNoMem, Message: "out of memory"}
	ErrInvalid  = &Error{Code: CodeInvalid, Message: "invalid argument"}
	ErrConfig   = &Error{Code: CodeConfig, Message: "kubeconfig error"}
	ErrNetwork  = &Error{Code: CodeNetwork, Message: "cannot reach the API server"}
	ErrAuth     = &Error{Code: CodeAuth, Message: "not authorized by the API server"}
	ErrProtocol = &Error{Code: CodeProtocol, Message: "malformed reply from the API server"}
	ErrTimedOut = &Error{Code: CodeTimedOut, Message: "timed out"}
	ErrCanceled = &Error{Code: CodeCanceled, Message: "canceled"}
)
