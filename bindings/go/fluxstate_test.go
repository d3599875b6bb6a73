// SPDX-License-Identifier: MIT

package fluxstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// A scenario written here, used for error kinds.
const baseScenario = "seed-1292"

func TestVersion(t *testing.T) {
	if v := Version(); !strings.HasPrefix(v, "0.") {
		t.Fatalf("Version() = %q, want 0.x", v)
	}
}

func TestStateNamesMatchLibrary(t *testing.T) {
	for s := StateUnknown; s <= StateHealthy; s++ {
		if got, want := s.String(), stateName(s); got != want {
			t.Errorf("State(%d).String() = %q, library says %q", s, got, want)
		}
		p, err := ParseState(strings.ToUpper(s.String()))
		if err != nil || p != s {
			t.Errorf("ParseState(%q) = %v, %v", strings.ToUpper(s.String()), p, err)
		}
	}
	if _, err := ParseState("installed"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseState(installed) error = %v, want ErrInvalid", err)
	}
	var s State
	if err := s.UnmarshalText([]byte("bogus")); err == nil {
		t.Error("UnmarshalText accepted an unknown state")
	}
	if State(0) != StateUnknown {
		t.Error("zero State is not StateUnknown")
	}
}

func TestErrorsIs(t *testing.T) {
	e := error(&Error{Code: CodeAuth, Message: "401"})
	if !errors.Is(e, ErrAuth) || errors.Is(e, ErrNetwork) {
		t.Fatal("errors.Is does not match by code")
	}
	var fe *Error
	if !errors.As(fmt.Errorf("wrapped: %w", e), &fe) || fe.Code != CodeAuth {
		t.Fatal("errors.As through a wrapper failed")
	}
	for _, s := range []*Error{ErrNoMem, ErrInvalid, ErrConfig, ErrNetwork, ErrAuth, ErrProtocol, ErrTimedOut} {
		if s.Code >= 0 {
			t.Errorf("sentinel %v has code %d", s, s.Code)
		}
	}
}

func TestMissingKubeconfigIsConfigError(t *testing.T) {
	path := "/nonexistent/fluxstate-go-test/kubeconfig"
	c, err := NewClient(Options{Kubeconfig: path})
	if c != nil || !errors.Is(err, ErrConfig) {
		t.Fatalf("NewClient(missing) = %v, %v; want ErrConfig", c, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
}

func TestBadArgumentsAreInvalid(t *testing.T) {
	for name, o := range map[string]Options{
		"namespace": {Kubeconfig: "/nonexistent", FluxNamespace: "Not_A_Label"},
		"timeout":   {Kubeconfig: "/nonexistent", Timeout: -time.Second},
		"connect":   {Kubeconfig: "/nonexistent", ConnectTimeout: time.Nanosecond * -1},
		"nul":       {Kubeconfig: "/nonexistent\x00/x"},
	} {
		if _, err := NewClient(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Open error = %v, want ErrInvalid", name, err)
		}
	}
}

func open(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := NewClient(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCloseIsIdempotent(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	if cur := c.CurrentContext(); cur == "" || !contains(c.Contexts(), cur) {
		t.Errorf("current context %q not in %v", cur, c.Contexts())
	}
	conn, err := c.DescribeConnection()
	if err != nil {
		t.Fatalf("DescribeConnection: %v", err)
	}
	b, _ := json.Marshal(conn)
	for _, s := range secrets(sim.kubeconfigDoc(t)) {
		if strings.Contains(string(b), s) {
			t.Error("DescribeConnection shows a credential")
		}
	}
	r, err := c.Detect(context.Background())
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Detect(context.Background()); !errors.Is(err, ErrInvalid) {
		t.Errorf("Detect after Close = %v, want ErrInvalid", err)
	}
	if r.State.String() == "" || len(r.JSON()) == 0 { // the report outlives its Context
		t.Error("report lost its data")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestUnreachableServerIsNetworkError(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig, Server: fmt.Sprintf("https://127.0.0.1:%d", freePort(t)), Timeout: 10 * time.Second})
	if _, err := c.Detect(context.Background()); !errors.Is(err, ErrNetwork) {
		t.Fatalf("Detect = %v, want ErrNetwork", err)
	}
}

func TestWrongTokenIsAuthError(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	doc := sim.kubeconfigDoc(t)
	real := secrets(doc)
	const bad = "fluxstate-go-wrong-token-0123456789"
	users, _ := doc["users"].([]interface{})
	for _, u := range users {
		um := u.(map[string]interface{})
		user, _ := um["user"].(map[string]interface{})
		if user == nil {
			user = map[string]interface{}{}
			um["user"] = user
		}
		for _, k := range []string{"client-certificate-data", "client-key-data", "client-certificate",
			"client-key", "username", "password", "exec", "auth-provider"} {
			delete(user, k)
		}
		user["token"] = bad
	}
	b, _ := json.Marshal(doc) // JSON is YAML: the loader reads it as is
	path := filepath.Join(t.TempDir(), "bad-token.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c := open(t, Options{Kubeconfig: path})
	_, err := c.Detect(context.Background())
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Detect = %v, want ErrAuth", err)
	}
	for _, s := range append(real, bad) {
		if strings.Contains(err.Error(), s) {
			t.Error("the error message shows a credential")
		}
	}
}

func slowScenario(t *testing.T) string {
	dest := filepath.Join(t.TempDir(), baseScenario)
	helper(t, "with-config", scenarioPath(t, baseScenario), dest,
		`{"faults": [{"path": ".*", "delayMs": 5000}]}`)
	return dest
}

func TestTimeoutOption(t *testing.T) {
	sim := startSim(t, slowScenario(t))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig, Timeout: 500 * time.Millisecond})
	t0 := time.Now()
	_, err := c.Detect(context.Background())
	if !errors.Is(err, ErrTimedOut) {
		t.Fatalf("Detect = %v, want ErrTimedOut", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("Options.Timeout reported as the context's deadline")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("500ms timeout took %v", d)
	}
}

func TestContextDeadlineBoundsDetect(t *testing.T) {
	sim := startSim(t, slowScenario(t))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig}) // library default: 30 s
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.Detect(ctx)
	if !errors.Is(err, ErrTimedOut) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Detect = %v, want ErrTimedOut and context.DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("500ms deadline took %v", d)
	}
}

func TestMalformedReplyIsProtocolError(t *testing.T) {
	dest := filepath.Join(t.TempDir(), baseScenario)
	helper(t, "with-config", scenarioPath(t, baseScenario), dest,
		`{"faults": [{"path": ".*", "status": 200, "body": "{not json"}]}`)
	sim := startSim(t, dest)
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	if _, err := c.Detect(context.Background()); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Detect = %v, want ErrProtocol", err)
	}
}

func TestCancelledContextMakesNoRequest(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	before := sim.requests(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Detect(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Detect = %v, want context.Canceled", err)
	}
	time.Sleep(100 * time.Millisecond)
	if after := sim.requests(t); after != before {
		t.Errorf("a cancelled Detect made %d requests", after-before)
	}
}

func TestConcurrentDetectOnOneContext(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	var wg sync.WaitGroup
	states := make([]State, 4)
	errs := make([]error, 4)
	for i := range states {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := c.Detect(context.Background())
			errs[i] = err
			if err == nil {
				states[i] = r.State
			}
		}(i)
	}
	wg.Wait()
	for i := range states {
		if errs[i] != nil || states[i] != states[0] {
			t.Errorf("goroutine %d: %v %v (first: %v)", i, states[i], errs[i], states[0])
		}
	}
}

// Scenarios: the named ones plus one per state, as in the Python tests.
var namedScenarios = []string{"seed-1292", "namespace-terminating-finalizers", "healthy-v2.7.5-bootstrap"}
var allStates = []string{"none", "residual", "partial", "healthy", "unknown"}

func pickScenarios(t *testing.T) ([]string, map[string][]string) {
	dir := needEnv(t, "FLUXSTATE_SCENARIOS")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	byState := map[string][]string{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(p, "scenario.yaml")); err != nil {
			continue
		}
		ex := loadExpect(t, p)
		byState[ex.Expect.State] = append(byState[ex.Expect.State], e.Name())
	}
	names := append([]string(nil), namedScenarios...)
	for _, st := range allStates {
		cands := byState[st]
		covered := false
		for _, n := range cands {
			covered = covered || contains(names, n)
		}
		if len(cands) > 0 && !covered {
			names = append(names, cands[0])
		}
	}
	return names, byState
}

func TestEveryStateHasAScenario(t *testing.T) {
	_, byState := pickScenarios(t)
	for _, st := range allStates {
		if len(byState[st]) == 0 {
			t.Errorf("no scenario expects state %s", st)
		}
	}
}

func findingMatches(want map[string]interface{}, f Finding) bool {
	b, _ := json.Marshal(f)
	var got map[string]interface{}
	_ = json.Unmarshal(b, &got)
	if f.Namespace == "" {
		got["namespace"] = nil
	}
	for k, v := range want {
		g := got[k]
		if wl, ok := v.([]interface{}); ok {
			gl, _ := g.([]interface{})
			for _, x := range wl {
				if !containsAny(gl, x) {
					return false
				}
			}
		} else if !reflect.DeepEqual(g, v) {
			return false
		}
	}
	return true
}

func containsAny(list []interface{}, x interface{}) bool {
	for _, y := range list {
		if reflect.DeepEqual(x, y) {
			return true
		}
	}
	return false
}

func TestScenarios(t *testing.T) {
	names, _ := pickScenarios(t)
	for _, name := range names {
		name := name
		t.Run(name, func(t *testing.T) {
			dir := scenarioPath(t, name)
			ex := loadExpect(t, dir).Expect
			if ex.State == "" {
				t.Fatalf("%s has no expect.state", name)
			}
			sim := startSim(t, dir)
			c := open(t, Options{Kubeconfig: sim.Kubeconfig})
			r, err := c.Detect(context.Background())
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			sim.stop()
			msg := fmt.Sprintf("%s: %v: %s", name, r.State, r.Summary)
			if r.State.String() != ex.State {
				t.Errorf("%s: state %v, want %s", msg, r.State, ex.State)
			}
			for _, kv := range []struct {
				key  string
				got  string
				want *string
			}{{"namespace", r.Namespace, ex.Namespace}, {"installer", r.Installer, ex.Installer}, {"version", r.Version, ex.Version}} {
				if kv.want != nil && kv.got != *kv.want {
					t.Errorf("%s: %s %q, want %q", msg, kv.key, kv.got, *kv.want)
				}
			}
			for _, want := range ex.Findings {
				ok := false
				for _, f := range r.Findings {
					ok = ok || findingMatches(want, f)
				}
				if !ok {
					t.Errorf("%s: no finding matches %v; got %+v", msg, want, r.Findings)
				}
			}
			for _, unwanted := range ex.Absent {
				for _, f := range r.Findings {
					if findingMatches(unwanted, f) {
						t.Errorf("%s: finding %+v matches absent %v", msg, f, unwanted)
					}
				}
			}
			if served := sim.requests(t); r.Requests <= 0 || r.Requests > served {
				t.Errorf("%s: report counts %d requests, simulator served %d", msg, r.Requests, served)
			}
			// Round trip: the structs hold everything the JSON has.
			var a, b map[string]interface{}
			_ = json.Unmarshal(r.JSON(), &a)
			if a["state"] != ex.State {
				t.Errorf("raw JSON state %v", a["state"])
			}
			again, _ := json.Marshal(r)
			_ = json.Unmarshal(again, &b)
			if len(b["findings"].([]interface{})) != len(a["findings"].([]interface{})) {
				t.Errorf("findings lost in decoding")
			}
		})
	}
}
