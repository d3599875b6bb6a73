// SPDX-License-Identifier: MIT

package fluxstate

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// One Flux CRD: applied to a cluster without Flux, it is a leftover, so
// the state goes from none to residual.
const fluxCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gitrepositories.source.toolkit.fluxcd.io
  labels: {app.kubernetes.io/part-of: flux, app.kubernetes.io/version: v2.7.5}
spec:
  group: source.toolkit.fluxcd.io
  scope: Namespaced
  names: {kind: GitRepository, plural: gitrepositories, singular: gitrepository, listKind: GitRepositoryList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// control changes the simulator's state while it runs (its loopback-only
// control endpoint; the throwaway CA is not worth verifying here).
func (s *simulator) control(action, body string) error {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	resp, err := client.Post(s.URL+"/_kubesim/"+action, "application/yaml", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status + ": " + string(msg))
	}
	return nil
}

// watches counts the watch requests in the simulator's log.
func (s *simulator) watches(t *testing.T) int {
	b, err := os.ReadFile(s.Log)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		var e struct {
			Watch bool `json:"watch"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Watch {
			n++
		}
	}
	return n
}

func detectState(t *testing.T, c *Client, want State) *Report {
	t.Helper()
	r, err := c.Detect(context.Background())
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if r.State != want {
		t.Fatalf("state %v (%s), want %v", r.State, r.Summary, want)
	}
	return r
}

// applyAfter applies the Flux CRD after d; the returned channel carries
// the error once done.
func applyAfter(sim *simulator, d time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(d)
		done <- sim.control("apply", fluxCRD)
	}()
	return done
}

func TestWaitForChangeSeesTheClusterChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ctx   func() (context.Context, context.CancelFunc)
		after time.Duration
	}{
		// Not cancellable: a plain library wait.
		{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }, 300 * time.Millisecond},
		// Cancellable: a goroutine watches ctx.Done() beside the same wait;
		// a change well into the wait is still seen.
		{"cancellable", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, 2500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, scenarioPath(t, "empty-cluster"))
			c := open(t, Options{Kubeconfig: sim.Kubeconfig})
			before := detectState(t, c, StateNone)
			ctx, cancel := tc.ctx()
			defer cancel()
			applied := applyAfter(sim, tc.after)
			watchesBefore := sim.watches(t)
			t0 := time.Now()
			changed, err := c.WaitForChange(ctx, before, 20*time.Second)
			elapsed := time.Since(t0)
			if err := <-applied; err != nil {
				t.Fatalf("control apply: %v", err)
			}
			if err != nil || !changed {
				t.Fatalf("WaitForChange = %v, %v; want true, nil", changed, err)
			}
			if elapsed < tc.after || elapsed > tc.after+8*time.Second {
				t.Errorf("returned after %v; the change came after %v", elapsed, tc.after)
			}
			if sim.watches(t) == watchesBefore {
				t.Error("no watch request while waiting")
			}
			after := detectState(t, c, StateResidual)
			found := false
			for _, f := range after.Findings {
				found = found || f.Name == "gitrepositories.source.toolkit.fluxcd.io"
			}
			if !found {
				t.Errorf("the applied CRD is not a finding: %+v", after.Findings)
			}
		})
	}
}

func TestWaitForChangeTimesOutWithoutChange(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	r := detectState(t, c, StateNone)
	requests := sim.requests(t)
	t0 := time.Now()
	changed, err := c.WaitForChange(context.Background(), r, 1500*time.Millisecond)
	elapsed := time.Since(t0)
	if changed || err != nil {
		t.Fatalf("WaitForChange = %v, %v; want false, nil", changed, err)
	}
	if elapsed < 1400*time.Millisecond || elapsed > 6*time.Second {
		t.Errorf("1.5s wait took %v", elapsed)
	}
	// A watch per resource, not a poll: far fewer requests than one probe
	// every 100 ms would make.
	if n := sim.requests(t) - requests; n == 0 || n > 2*requests {
		t.Errorf("%d requests for a 1.5 s wait (a whole probe: %d)", n, requests)
	}
}

func TestWaitForChangeHonoursCancelAndDeadline(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	r := detectState(t, c, StateNone)

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	t0 := time.Now()
	changed, err := c.WaitForChange(ctx, r, time.Minute)
	if changed || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled WaitForChange = %v, %v; want false, context.Canceled", changed, err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("the cancel was noticed after %v", d)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	t0 = time.Now()
	changed, err = c.WaitForChange(ctx, r, time.Minute)
	if changed || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForChange past the ctx deadline = %v, %v; want false, context.DeadlineExceeded", changed, err)
	}
	if d := time.Since(t0); d < 600*time.Millisecond || d > 4*time.Second {
		t.Errorf("a 700ms ctx deadline ended the wait after %v", d)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	requests := sim.requests(t)
	if _, err := c.WaitForChange(done, r, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitForChange on a done ctx = %v, want context.Canceled", err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := sim.requests(t) - requests; n != 0 {
		t.Errorf("a WaitForChange on a done ctx made %d requests", n)
	}
}

func TestWaitForChangeRefusesForeignAndBadArguments(t *testing.T) {
	sim := startSim(t, scenarioPath(t, baseScenario))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	other := open(t, Options{Kubeconfig: sim.Kubeconfig})
	r := detectState(t, c, StateNone)
	theirs := detectState(t, other, StateNone)
	copied := *r // a copy still names its Context
	for name, call := range map[string]func() (bool, error){
		"nil report":    func() (bool, error) { return c.WaitForChange(context.Background(), nil, time.Second) },
		"zero Report":   func() (bool, error) { return c.WaitForChange(context.Background(), &Report{}, time.Second) },
		"other Context": func() (bool, error) { return c.WaitForChange(context.Background(), theirs, time.Second) },
		"zero timeout":  func() (bool, error) { return c.WaitForChange(context.Background(), r, 0) },
		"negative":      func() (bool, error) { return c.WaitForChange(context.Background(), r, -time.Second) },
		"closed Context": func() (bool, error) {
			other.Close()
			return other.WaitForChange(context.Background(), theirs, time.Second)
		},
	} {
		if changed, err := call(); changed || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: WaitForChange = %v, %v; want ErrInvalid", name, changed, err)
		}
	}
	if changed, err := c.WaitForChange(context.Background(), &copied, 200*time.Millisecond); changed || err != nil {
		t.Errorf("copied Report: WaitForChange = %v, %v; want false, nil", changed, err)
	}
}

func TestWaitForChangeWithNothingToWatchIsInvalid(t *testing.T) {
	dest := t.TempDir() + "/" + baseScenario
	helper(t, "with-config", scenarioPath(t, baseScenario), dest,
		`{"deny": [{"user": "*", "verbs": ["list", "get", "watch"], "resource": "*"}]}`)
	sim := startSim(t, dest)
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	r := detectState(t, c, StateUnknown)
	t0 := time.Now()
	changed, err := c.WaitForChange(context.Background(), r, 30*time.Second)
	if changed || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nothing to watch") {
		t.Errorf("WaitForChange on an all-denied report = %v, %v; want ErrInvalid (nothing to watch)", changed, err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("took %v; want at once", d)
	}
}
