// SPDX-License-Identifier: MIT

package fluxstate

// #cgo pkg-config: fluxstate
// #include <stdlib.h>
// #include <fluxstate/fluxstate.h>
// #if FLUXSTATE_VERSION_MAJOR != 0
// # error "this package needs libfluxstate 0.x"
// #endif
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Error codes, as in enum fluxstate_error.
const (
	CodeError    = int(C.FLUXSTATE_ERROR)
	CodeNoMem    = int(C.FLUXSTATE_ENOMEM)
	CodeInvalid  = int(C.FLUXSTATE_EINVAL)
	CodeConfig   = int(C.FLUXSTATE_ECONFIG)
	CodeNetwork  = int(C.FLUXSTATE_ENETWORK)
	CodeAuth     = int(C.FLUXSTATE_EAUTH)
	CodeProtocol = int(C.FLUXSTATE_EPROTOCOL)
	CodeTimedOut = int(C.FLUXSTATE_ETIMEDOUT)
)

// Options configure a Context. Zero values mean "as kubectl would".
type Options struct {
	// Kubeconfig is the kubeconfig file (which must exist); "" uses
	// $KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
	Kubeconfig string
	// Context, Cluster, User, Server and TLSServerName override the
	// kubeconfig like kubectl's flags of the same names.
	Context       string
	Cluster       string
	User          string
	Server        string
	TLSServerName string
	// FluxNamespace is where Flux is expected (flux --namespace); ""
	// auto-detects it.
	FluxNamespace string
	// Timeout bounds each operation (default 30 s); ConnectTimeout each
	// TCP+TLS connect (default 10 s). Millisecond resolution.
	Timeout        time.Duration
	ConnectTimeout time.Duration
}

// Context is a cluster connection. Create it with Open; release it with
// Close.
type Context struct {
	mu        sync.Mutex
	ptr       *C.fluxstate_ctx
	timeoutMs C.uint
	id        uint64 // tells this Context's Reports from others'
}

var lastContextID uint64

// Version is the loaded library's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.fluxstate_version_string())
}

func durationMs(d time.Duration, what string) (C.uint, error) {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if d <= 0 || ms > math.MaxUint32 {
		return 0, &Error{Code: CodeInvalid, Message: fmt.Sprintf("%s must be between 1ms and 49 days, not %v", what, d)}
	}
	return C.uint(ms), nil
}

// errorFrom turns a negative return code into an *Error, reading the
// context's message right away (it is valid until the next call).
func (c *Context) errorFrom(rc C.int) error {
	if rc >= 0 {
		return nil
	}
	msg := C.GoString(C.fluxstate_ctx_get_error(c.ptr))
	if msg == "" {
		msg = C.GoString(C.fluxstate_strerror(rc))
	}
	return &Error{Code: int(rc), Message: msg}
}

// Open creates a Context and loads the kubeconfig with kubectl's rules.
func Open(opts Options) (*Context, error) {
	var p *C.fluxstate_ctx
	if rc := C.fluxstate_ctx_new(&p); rc < 0 {
		return nil, &Error{Code: int(rc), Message: C.GoString(C.fluxstate_strerror(rc))}
	}
	c := &Context{ptr: p, timeoutMs: 30000, id: atomic.AddUint64(&lastContextID, 1)}
	runtime.SetFinalizer(c, (*Context).Close)
	if err := c.configure(&opts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Context) setString(fn func(*C.fluxstate_ctx, *C.char) C.int, v string) error {
	if v == "" {
		return nil
	}
	cs, err := cString(v)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	err = c.errorFrom(fn(c.ptr, cs))
	runtime.KeepAlive(c)
	return err
}

func cString(s string) (*C.char, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("%q contains a NUL byte", s)}
		}
	}
	return C.CString(s), nil
}

func (c *Context) configure(o *Options) error {
	setters := []struct {
		fn func(*C.fluxstate_ctx, *C.char) C.int
		v  string
	}{
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_cluster(p, s) }, o.Cluster},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_user(p, s) }, o.User},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_server(p, s) }, o.Server},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_tls_server_name(p, s) }, o.TLSServerName},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_flux_namespace(p, s) }, o.FluxNamespace},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_context(p, s) }, o.Context},
	}
	for _, s := range setters {
		if err := c.setString(s.fn, s.v); err != nil {
			return err
		}
	}
	if o.Timeout != 0 {
		ms, err := durationMs(o.Timeout, "Timeout")
		if err != nil {
			return err
		}
		err = c.errorFrom(C.fluxstate_ctx_set_timeout_ms(c.ptr, ms))
		runtime.KeepAlive(c)
		if err != nil {
			return err
		}
		c.timeoutMs = ms
	}
	if o.ConnectTimeout != 0 {
		ms, err := durationMs(o.ConnectTimeout, "ConnectTimeout")
		if err != nil {
			return err
		}
		err = c.errorFrom(C.fluxstate_ctx_set_connect_timeout_ms(c.ptr, ms))
		runtime.KeepAlive(c)
		if err != nil {
			return err
		}
	}
	var path *C.char
	if o.Kubeconfig != "" {
		var err error
		if path, err = cString(o.Kubeconfig); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(path))
	}
	err := c.errorFrom(C.fluxstate_ctx_load_kubeconfig(c.ptr, path, nil))
	runtime.KeepAlive(c)
	return err
}

// Close releases the Context. It is idempotent and always returns nil.
// Reports obtained earlier stay valid.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		runtime.SetFinalizer(c, nil)
		C.fluxstate_ctx_free(c.ptr)
		c.ptr = nil
	}
	return nil
}

func (c *Context) lock() error {
	c.mu.Lock()
	if c.ptr == nil {
		c.mu.Unlock()
		return &Error{Code: CodeInvalid, Message: "the Context is closed"}
	}
	return nil
}

// Contexts lists the context names of the loaded kubeconfig, in file order.
func (c *Context) Contexts() []string {
	if c.lock() != nil {
		return nil
	}
	defer c.mu.Unlock()
	n := C.fluxstate_ctx_get_n_contexts(c.ptr)
	out := make([]string, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		if s := C.fluxstate_ctx_get_context_name(c.ptr, i); s != nil {
			out = append(out, C.GoString(s))
		}
	}
	runtime.KeepAlive(c)
	return out
}

// CurrentContext is the kubeconfig context in use ("" for in-cluster).
func (c *Context) CurrentContext() string {
	if c.lock() != nil {
		return ""
	}
	defer c.mu.Unlock()
	s := C.GoString(C.fluxstate_ctx_get_current_context(c.ptr))
	runtime.KeepAlive(c)
	return s
}

// DescribeConnection returns what kubectl would use (server, user, CA
// source, auth method, ...) with secrets redacted, as decoded JSON.
func (c *Context) DescribeConnection() (map[string]interface{}, error) {
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	var js *C.char
	err := c.errorFrom(C.fluxstate_ctx_describe_connection(c.ptr, &js))
	runtime.KeepAlive(c)
	if err != nil {
		return nil, err
	}
	text := C.GoString(js)
	C.fluxstate_free(unsafe.Pointer(js))
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, &Error{Code: CodeProtocol, Message: "connection description is not JSON: " + err.Error()}
	}
	return m, nil
}

// SetFluxNamespace sets where Flux is expected for later Detect calls; ""
// restores auto-detection.
func (c *Context) SetFluxNamespace(ns string) error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if ns == "" {
		err := c.errorFrom(C.fluxstate_ctx_set_flux_namespace(c.ptr, nil))
		runtime.KeepAlive(c)
		return err
	}
	return c.setString(func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_flux_namespace(p, s) }, ns)
}

// Detect looks at the cluster and classifies the Flux installation.
//
// Blind spots (403, lists cut off) are not errors: they are findings and
// make the state StateUnknown unless what was seen proves otherwise.
// See the package documentation for how ctx is honoured.
func (c *Context) Detect(ctx context.Context) (*Report, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()

	ms, fromCtx := c.timeoutMs, false
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		if d, err := durationMs(left, "deadline"); err == nil && d < ms {
			ms, fromCtx = d, true
		}
	}
	if err := c.errorFrom(C.fluxstate_ctx_set_timeout_ms(c.ptr, ms)); err != nil {
		runtime.KeepAlive(c)
		return nil, err
	}

	var p *C.fluxstate_report
	err := c.errorFrom(C.fluxstate_ctx_probe(c.ptr, &p))
	runtime.KeepAlive(c)
	if err != nil {
		if e := err.(*Error); e.Code == CodeTimedOut && fromCtx {
			e.cause = context.DeadlineExceeded
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		C.fluxstate_report_free(p)
		return nil, err // cancelled while the probe ran: result discarded
	}
	r, err := decodeReport(p)
	if err != nil {
		C.fluxstate_report_free(p)
		return nil, err
	}
	r.handle = newReportHandle(p, c.id)
	return r, nil
}

// reportHandle owns the C report behind a Report. The report's fields are
// plain Go data; the C report is kept only because it holds what
// WaitForChange watches from (resource versions, which the JSON does not
// carry). It is freed by a finalizer once the Report is unreachable: a few
// kilobytes per Report, and C holds no pointer to it or to any Go memory.
type reportHandle struct {
	ptr   *C.fluxstate_report
	owner uint64 // Context.id: WaitForChange accepts only its own reports
}

func newReportHandle(p *C.fluxstate_report, owner uint64) *reportHandle {
	h := &reportHandle{ptr: p, owner: owner}
	runtime.SetFinalizer(h, func(h *reportHandle) { C.fluxstate_report_free(h.ptr) })
	return h
}

// waitSlice bounds each library wait when ctx can be cancelled: the library
// cannot be interrupted, so a cancel is noticed between slices. Each slice
// re-opens the watches from the same resource versions, so no change made
// between slices is missed.
const waitSlice = 2 * time.Second

// WaitForChange blocks until something that decides the install state
// changes after since was taken, watching with Kubernetes watch requests
// (not polling). It returns true when a change was seen (call Detect again
// to learn the new state), false when timeout passed without one.
//
// since must come from Detect on this Context; a Report whose every read
// failed (all denied, say) has nothing to watch, and WaitForChange then
// returns ErrInvalid at once: Detect again later instead.
//
// ctx is honoured like in Detect: the wait ends at the sooner of timeout
// and ctx.Deadline(), and returns ctx.Err() when ctx is done first. A
// cancel is noticed within about two seconds (the library wait cannot be
// interrupted, so a cancellable ctx waits in slices of that length).
func (c *Context) WaitForChange(ctx context.Context, since *Report, timeout time.Duration) (bool, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if since == nil || since.handle == nil {
		return false, &Error{Code: CodeInvalid, Message: "WaitForChange needs a Report from Detect"}
	}
	if since.handle.owner != c.id {
		return false, &Error{Code: CodeInvalid, Message: "WaitForChange needs a Report from Detect on the same Context"}
	}
	if _, err := durationMs(timeout, "timeout"); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := c.lock(); err != nil {
		return false, err
	}
	defer c.mu.Unlock()

	end := time.Now().Add(timeout)
	dl, hasDeadline := ctx.Deadline()
	for {
		left := time.Until(end)
		ctxFirst := hasDeadline && dl.Before(end)
		if ctxFirst {
			left = time.Until(dl)
		}
		if left <= 0 {
			if ctxFirst {
				return false, context.DeadlineExceeded
			}
			return false, nil
		}
		sliced := false
		if ctx.Done() != nil && left > waitSlice {
			left, sliced = waitSlice, true
		}
		ms, err := durationMs(left, "timeout")
		if err != nil {
			return false, err
		}
		rc := C.fluxstate_ctx_wait_for_change(c.ptr, since.handle.ptr, ms)
		err = c.errorFrom(rc)
		runtime.KeepAlive(c)
		runtime.KeepAlive(since.handle)
		if cerr := ctx.Err(); cerr != nil {
			return false, cerr
		}
		if err == nil {
			return true, nil
		}
		if e := err.(*Error); e.Code != CodeTimedOut {
			return false, err
		}
		if !sliced && !ctxFirst {
			return false, nil // the caller's timeout passed
		}
	}
}

func decodeReport(p *C.fluxstate_report) (*Report, error) {
	var js *C.char
	if rc := C.fluxstate_report_to_json(p, &js); rc < 0 {
		return nil, &Error{Code: int(rc), Message: "cannot serialise the report: " + C.GoString(C.fluxstate_strerror(rc))}
	}
	text := C.GoString(js)
	C.fluxstate_free(unsafe.Pointer(js))
	r, err := parseReport([]byte(text))
	if err != nil {
		return nil, err
	}
	// The JSON and the accessors are two views of one report; a mismatch
	// would mean a wrong answer, so refuse it.
	if st := State(C.fluxstate_report_get_state(p)); st != r.State {
		return nil, &Error{Code: CodeProtocol, Message: fmt.Sprintf("report JSON says %v, accessor says %v", r.State, st)}
	}
	if n := int(C.fluxstate_report_get_n_findings(p)); n != len(r.Findings) {
		return nil, &Error{Code: CodeProtocol, Message: fmt.Sprintf("report JSON has %d findings, accessor %d", len(r.Findings), n)}
	}
	return r, nil
}

// ParseState parses a state name ("healthy", case-insensitive) with the
// library's own parser.
func ParseState(name string) (State, error) {
	cs, err := cString(name)
	if err != nil {
		return StateUnknown, err
	}
	defer C.free(unsafe.Pointer(cs))
	rc := C.fluxstate_state_from_string(cs)
	if rc < 0 {
		return StateUnknown, &Error{Code: int(rc), Message: fmt.Sprintf("%q is not an install state", name)}
	}
	return State(rc), nil
}

func stateName(s State) string {
	return C.GoString(C.fluxstate_state_to_string(C.int(s)))
}
