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
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
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
	CodeCanceled = int(C.FLUXSTATE_ECANCELED)
)

// Options configure a Client. Zero values mean "as kubectl would".
type Options struct {
	// Kubeconfig is the kubeconfig file (which must exist); "" uses
	// $KUBECONFIG, then ~/.kube/config, then the in-cluster service account.
	Kubeconfig string
	// KubeconfigData is a kubeconfig held in memory (YAML or JSON), as
	// client-go's RESTConfigFromKubeConfig takes it; it excludes
	// Kubeconfig. Relative file paths in it resolve against BaseDir; with
	// BaseDir "" they are an ErrConfig naming the field.
	KubeconfigData []byte
	BaseDir        string
	// Context, Cluster, User, Server and TLSServerName override the
	// kubeconfig like kubectl's flags of the same names.
	Context       string
	Cluster       string
	User          string
	Server        string
	TLSServerName string
	// Connection options with the meaning of kubectl's flags:
	// --insecure-skip-tls-verify, --certificate-authority,
	// --client-certificate, --client-key, --token, --as, --as-group
	// (repeatable), --as-uid, --request-timeout (each HTTP request; the
	// whole operation stays bounded by Timeout) and --disable-compression.
	// Token is a secret: it never appears in an error.
	InsecureSkipTLSVerify bool
	CertificateAuthority  string
	ClientCertificate     string
	ClientKey             string
	Token                 string
	As                    string
	AsGroups              []string
	AsUID                 string
	RequestTimeout        time.Duration
	DisableCompression    bool
	// FluxNamespace is where Flux is expected (flux --namespace); ""
	// auto-detects it.
	FluxNamespace string
	// Timeout bounds each operation (default 30 s); ConnectTimeout each
	// TCP+TLS connect (default 10 s). Millisecond resolution.
	Timeout        time.Duration
	ConnectTimeout time.Duration
}

// Client is a cluster connection. Create it with NewClient; release it
// with Close.
type Client struct {
	mu          sync.Mutex
	ptr         *C.fluxstate_ctx
	timeoutMs   C.uint
	id          uint64 // tells this Client's Reports from others'
	staleCancel bool   // a cancel may have landed just after the last call ended
}

var lastClientID atomic.Uint64

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
func (c *Client) errorFrom(rc C.int) error {
	if rc >= 0 {
		return nil
	}
	msg := C.GoString(C.fluxstate_ctx_get_error(c.ptr))
	if msg == "" {
		msg = C.GoString(C.fluxstate_strerror(rc))
	}
	return &Error{Code: int(rc), Message: msg}
}

// NewClient creates a Client and loads the kubeconfig with kubectl's
// rules (or Options.KubeconfigData).
func NewClient(opts Options) (*Client, error) {
	var p *C.fluxstate_ctx
	if rc := C.fluxstate_ctx_new(&p); rc < 0 {
		return nil, &Error{Code: int(rc), Message: C.GoString(C.fluxstate_strerror(rc))}
	}
	c := &Client{ptr: p, timeoutMs: 30000, id: lastClientID.Add(1)}
	runtime.SetFinalizer(c, (*Client).Close)
	if err := c.configure(&opts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) setString(fn func(*C.fluxstate_ctx, *C.char) C.int, v string) error {
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
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Code: CodeInvalid, Message: "a string argument contains a NUL byte"}
	}
	return C.CString(s), nil
}

// setMs applies a duration option; 0 leaves the library's default.
func (c *Client) setMs(fn func(*C.fluxstate_ctx, C.uint) C.int, d time.Duration, what string) (C.uint, error) {
	if d == 0 {
		return 0, nil
	}
	ms, err := durationMs(d, what)
	if err != nil {
		return 0, err
	}
	err = c.errorFrom(fn(c.ptr, ms))
	runtime.KeepAlive(c)
	return ms, err
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

type stringOption struct {
	fn func(*C.fluxstate_ctx, *C.char) C.int
	v  string
}

func (c *Client) configure(o *Options) error {
	if o.KubeconfigData != nil && o.Kubeconfig != "" {
		return &Error{Code: CodeInvalid, Message: "Options.Kubeconfig and Options.KubeconfigData exclude each other"}
	}
	setters := []stringOption{
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_cluster(p, s) }, o.Cluster},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_user(p, s) }, o.User},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_server(p, s) }, o.Server},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_tls_server_name(p, s) }, o.TLSServerName},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_flux_namespace(p, s) }, o.FluxNamespace},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_context(p, s) }, o.Context},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_certificate_authority(p, s) }, o.CertificateAuthority},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_client_certificate(p, s) }, o.ClientCertificate},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_client_key(p, s) }, o.ClientKey},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_token(p, s) }, o.Token},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_impersonate_user(p, s) }, o.As},
		{func(p *C.fluxstate_ctx, s *C.char) C.int { return C.fluxstate_ctx_set_impersonate_uid(p, s) }, o.AsUID},
	}
	for _, g := range o.AsGroups {
		if g == "" {
			return &Error{Code: CodeInvalid, Message: "Options.AsGroups has an empty group"}
		}
		setters = append(setters, stringOption{func(p *C.fluxstate_ctx, s *C.char) C.int {
			return C.fluxstate_ctx_add_impersonate_group(p, s)
		}, g})
	}
	for _, s := range setters {
		if err := c.setString(s.fn, s.v); err != nil {
			return err
		}
	}
	for _, b := range []struct {
		fn func(*C.fluxstate_ctx, C.int) C.int
		v  bool
	}{
		{func(p *C.fluxstate_ctx, v C.int) C.int { return C.fluxstate_ctx_set_insecure_skip_tls_verify(p, v) }, o.InsecureSkipTLSVerify},
		{func(p *C.fluxstate_ctx, v C.int) C.int { return C.fluxstate_ctx_set_disable_compression(p, v) }, o.DisableCompression},
	} {
		if b.v {
			err := c.errorFrom(b.fn(c.ptr, cBool(true)))
			runtime.KeepAlive(c)
			if err != nil {
				return err
			}
		}
	}
	ms, err := c.setMs(func(p *C.fluxstate_ctx, v C.uint) C.int { return C.fluxstate_ctx_set_timeout_ms(p, v) }, o.Timeout, "Timeout")
	if err != nil {
		return err
	}
	if ms != 0 {
		c.timeoutMs = ms
	}
	if _, err := c.setMs(func(p *C.fluxstate_ctx, v C.uint) C.int { return C.fluxstate_ctx_set_connect_timeout_ms(p, v) }, o.ConnectTimeout, "ConnectTimeout"); err != nil {
		return err
	}
	if _, err := c.setMs(func(p *C.fluxstate_ctx, v C.uint) C.int { return C.fluxstate_ctx_set_request_timeout_ms(p, v) }, o.RequestTimeout, "RequestTimeout"); err != nil {
		return err
	}
	if o.KubeconfigData != nil {
		return c.loadFromMemory(o.KubeconfigData, o.BaseDir)
	}
	var path *C.char
	if o.Kubeconfig != "" {
		if path, err = cString(o.Kubeconfig); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(path))
	}
	err = c.errorFrom(C.fluxstate_ctx_load_kubeconfig(c.ptr, path, nil))
	runtime.KeepAlive(c)
	return err
}

// loadFromMemory hands the kubeconfig to C in a C copy, wiped afterwards
// (it may hold credentials).
func (c *Client) loadFromMemory(data []byte, baseDir string) error {
	buf := C.CBytes(data)
	defer func() {
		clear(unsafe.Slice((*byte)(buf), len(data)))
		C.free(buf)
	}()
	var dir *C.char
	if baseDir != "" {
		var err error
		if dir, err = cString(baseDir); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(dir))
	}
	err := c.errorFrom(C.fluxstate_ctx_load_kubeconfig_from_memory(c.ptr, (*C.char)(buf), C.size_t(len(data)), dir, nil))
	runtime.KeepAlive(c)
	return err
}

// Close releases the Client. It is idempotent and always returns nil.
// Reports obtained earlier stay valid.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		runtime.SetFinalizer(c, nil)
		C.fluxstate_ctx_free(c.ptr)
		c.ptr = nil
	}
	return nil
}

func (c *Client) lock() error {
	c.mu.Lock()
	if c.ptr == nil {
		c.mu.Unlock()
		return &Error{Code: CodeInvalid, Message: "the Client is closed"}
	}
	return nil
}

// Contexts lists the context names of the loaded kubeconfig, in file order.
func (c *Client) Contexts() []string {
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
func (c *Client) CurrentContext() string {
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
func (c *Client) DescribeConnection() (map[string]any, error) {
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
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, &Error{Code: CodeProtocol, Message: "connection description is not JSON: " + err.Error()}
	}
	return m, nil
}

// SetFluxNamespace sets where Flux is expected for later Detect calls; ""
// restores auto-detection.
func (c *Client) SetFluxNamespace(ns string) error {
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

// ctxGrace is how far past ctx's deadline the library's own deadline is
// set when ctx is the sooner: ctx.Done() cancels the call first, so the
// error says it was the context's deadline (not a blind spot or a report
// cut short by the library's deadline a moment earlier).
const ctxGrace = time.Second

// deadline returns the library deadline for one call bounded by limit and
// ctx, and whether ctx's deadline is the sooner.
func deadline(ctx context.Context, limit C.uint) (C.uint, bool, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return limit, false, nil
	}
	left := time.Until(dl)
	if left <= 0 {
		return 0, true, ctxError(context.DeadlineExceeded, "")
	}
	if time.Duration(limit)*time.Millisecond <= left {
		return limit, false, nil
	}
	ms, err := durationMs(left+ctxGrace, "deadline")
	if err != nil || ms > limit {
		ms = limit
	}
	return ms, true, nil
}

// ctxError is the error for a call that ctx ended: it matches ctx's error
// (context.Canceled or context.DeadlineExceeded) with errors.Is, and
// ErrCanceled or ErrTimedOut respectively.
func ctxError(cause error, detail string) error {
	e := &Error{Code: CodeCanceled, Message: "canceled by the caller's context", cause: cause}
	if errors.Is(cause, context.DeadlineExceeded) {
		e.Code, e.Message = CodeTimedOut, "the caller's context deadline passed"
	}
	if detail != "" {
		e.Message += " (" + detail + ")"
	}
	return e
}

// interruptible runs op (a blocking library call on c, c.mu held) so
// that ctx ending makes it return FLUXSTATE_ECANCELED promptly: a goroutine
// waiting on ctx.Done() calls fluxstate_ctx_cancel(), which is thread-safe.
func (c *Client) interruptible(ctx context.Context, op func() C.int) C.int {
	rc := c.interruptibleOnce(ctx, op)
	if rc == C.FLUXSTATE_ECANCELED && c.staleCancel && ctx.Err() == nil {
		// The library keeps a cancel that arrives after its call ended for
		// the next call; that one was ours and meant the previous call.
		c.staleCancel = false
		rc = c.interruptibleOnce(ctx, op)
	}
	return rc
}

func (c *Client) interruptibleOnce(ctx context.Context, op func() C.int) C.int {
	done := ctx.Done()
	if done == nil {
		return op()
	}
	var (
		mu       sync.Mutex
		finished bool
		canceled bool
	)
	stop := make(chan struct{})
	exited := make(chan struct{})
	ptr := c.ptr
	go func() {
		defer close(exited)
		select {
		case <-done:
			mu.Lock()
			if !finished {
				C.fluxstate_ctx_cancel(ptr)
				canceled = true
			}
			mu.Unlock()
		case <-stop:
		}
	}()
	rc := op()
	mu.Lock()
	finished = true
	// A cancel that landed after the call's last check stays pending.
	c.staleCancel = canceled && rc != C.FLUXSTATE_ECANCELED
	mu.Unlock()
	close(stop)
	<-exited // the Client (and ptr) may be closed once we return
	return rc
}

// callError maps a failed call's error given how ctx ended: a cancel from
// ctx, or the library's deadline when ctx's deadline was the sooner, becomes
// ctxError (matching ErrTimedOut/ErrCanceled and ctx.Err()).
func callError(ctx context.Context, err error, fromCtx bool) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	switch {
	case e.Code == CodeCanceled && ctx.Err() != nil:
		return ctxError(ctx.Err(), e.Message)
	case e.Code == CodeTimedOut && fromCtx:
		e.cause = context.DeadlineExceeded
	case e.Code == CodeNetwork && errors.Is(ctx.Err(), context.DeadlineExceeded):
		// A connect or TLS handshake cut off by the deadline.
		return ctxError(context.DeadlineExceeded, e.Message)
	}
	return e
}

// Detect looks at the cluster and classifies the Flux installation.
//
// Blind spots (403, lists cut off) are not errors: they are findings and
// make the state StateUnknown unless what was seen proves otherwise.
// When ctx ends first, Detect stops within about 100 ms and returns an
// error matching ctx.Err() (and ErrTimedOut for a deadline, ErrCanceled
// for a cancel) — never a report cut short by it.
func (c *Client) Detect(ctx context.Context) (*Report, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err, "")
	}
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()

	ms, fromCtx, err := deadline(ctx, c.timeoutMs)
	if err != nil {
		return nil, err
	}
	if err := c.errorFrom(C.fluxstate_ctx_set_timeout_ms(c.ptr, ms)); err != nil {
		runtime.KeepAlive(c)
		return nil, err
	}
	var p *C.fluxstate_report
	rc := c.interruptible(ctx, func() C.int { return C.fluxstate_ctx_probe(c.ptr, &p) })
	err = c.errorFrom(rc)
	runtime.KeepAlive(c)
	if err != nil {
		return nil, callError(ctx, err, fromCtx)
	}
	if err := ctx.Err(); err != nil {
		C.fluxstate_report_free(p)
		return nil, ctxError(err, "") // ended while the probe finished: result discarded
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
// plain Go data; the C report is kept because it holds what WaitForChange
// watches from (resource versions, which the JSON does not carry) and what
// CheckInstall reads. It is freed by a finalizer once the Report is
// unreachable: a few kilobytes per Report, and C holds no pointer to it or
// to any Go memory.
type reportHandle struct {
	ptr   *C.fluxstate_report
	owner uint64 // Client.id: WaitForChange accepts only its own reports
}

func newReportHandle(p *C.fluxstate_report, owner uint64) *reportHandle {
	h := &reportHandle{ptr: p, owner: owner}
	runtime.SetFinalizer(h, func(h *reportHandle) { C.fluxstate_report_free(h.ptr) })
	return h
}

// WaitForChange blocks until something that decides the install state
// changes after since was taken, watching with Kubernetes watch requests
// (not polling). It returns true when a change was seen (call Detect again
// to learn the new state), false when timeout passed without one.
//
// since must come from Detect on this Client; a Report whose every read
// failed (all denied, say) has nothing to watch, and WaitForChange then
// returns ErrInvalid at once: Detect again later instead.
//
// The wait ends at the sooner of timeout and ctx: when ctx ends first it
// returns false and an error matching ctx.Err(), within about 100 ms.
func (c *Client) WaitForChange(ctx context.Context, since *Report, timeout time.Duration) (bool, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if since == nil || since.handle == nil {
		return false, &Error{Code: CodeInvalid, Message: "WaitForChange needs a Report from Detect"}
	}
	if since.handle.owner != c.id {
		return false, &Error{Code: CodeInvalid, Message: "WaitForChange needs a Report from Detect on the same Client"}
	}
	limit, err := durationMs(timeout, "timeout")
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, ctxError(err, "")
	}
	if err := c.lock(); err != nil {
		return false, err
	}
	defer c.mu.Unlock()

	ms, fromCtx, err := deadline(ctx, limit)
	if err != nil {
		return false, err
	}
	rc := c.interruptible(ctx, func() C.int { return C.fluxstate_ctx_wait_for_change(c.ptr, since.handle.ptr, ms) })
	err = c.errorFrom(rc)
	runtime.KeepAlive(c)
	runtime.KeepAlive(since.handle)
	if cerr := ctx.Err(); cerr != nil {
		return false, ctxError(cerr, "")
	}
	if err == nil {
		return true, nil
	}
	if e := err.(*Error); e.Code == CodeTimedOut && !fromCtx {
		return false, nil // the caller's timeout passed
	}
	return false, callError(ctx, err, fromCtx)
}

// CheckInstall says whether Flux release fluxVersion (e.g. "v2.9.4") can be
// installed on the cluster r describes: the state allows it (none, or the
// same version already there: a re-apply) and the server meets that
// release's Kubernetes minimum. reason is one line saying why. An unknown
// or malformed version is an ErrInvalid naming the valid form. No I/O.
func (r *Report) CheckInstall(fluxVersion string) (ok bool, reason string, err error) {
	if r == nil || r.handle == nil {
		return false, "", &Error{Code: CodeInvalid, Message: "CheckInstall needs a Report from Detect"}
	}
	cs, err := cString(fluxVersion)
	if err != nil {
		return false, "", err
	}
	defer C.free(unsafe.Pointer(cs))
	var why *C.char
	rc := C.fluxstate_report_check_install(r.handle.ptr, cs, &why)
	runtime.KeepAlive(r.handle)
	if why != nil {
		reason = C.GoString(why)
		C.fluxstate_free(unsafe.Pointer(why))
	}
	if rc < 0 {
		if reason == "" {
			reason = C.GoString(C.fluxstate_strerror(rc))
		}
		return false, "", &Error{Code: int(rc), Message: reason}
	}
	return rc == 1, reason, nil
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
		return StateUnknown, &Error{Code: int(rc), Message: fmt.Sprintf("%q is not an install state (valid: %s)",
			name, strings.Join(stateNames[:], ", "))}
	}
	return State(rc), nil
}

func stateName(s State) string {
	return C.GoString(C.fluxstate_state_to_string(C.int(s)))
}
