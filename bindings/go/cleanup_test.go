// SPDX-License-Identifier: MIT

package fluxstate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

var cleanupPhases = map[string]int{"controllers": 0, "finalizers": 1, "custom-resources": 2, "crds": 3,
	"cluster-rbac": 4, "namespaced": 5, "namespace": 6}

func TestCleanupPlanThenApplyToNone(t *testing.T) {
	sim := startSim(t, scenarioPath(t, "crd-terminating"))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	r, err := c.Detect(context.Background())
	if err != nil || r.State != StateResidual {
		t.Fatalf("Detect = %v, %v; want residual", r, err)
	}
	plan, err := c.PlanCleanup(r, CleanupOptions{})
	if err != nil {
		t.Fatalf("PlanCleanup: %v", err)
	}
	if len(plan.Steps) == 0 || plan.State != StateResidual {
		t.Fatalf("plan = %+v", plan)
	}
	last := -1
	for _, s := range plan.Steps {
		p, ok := cleanupPhases[s.Phase]
		if !ok || p < last {
			t.Fatalf("step %+v out of flux uninstall order", s)
		}
		last = p
	}
	js, err := plan.JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	var doc struct {
		Steps []CleanupStep `json:"steps"`
	}
	if err := json.Unmarshal(js, &doc); err != nil || len(doc.Steps) != len(plan.Steps) || doc.Steps[0].Name != plan.Steps[0].Name {
		t.Fatalf("plan JSON %s does not match the steps (%v)", js, err)
	}
	var seen []StepResult
	st, err := c.ApplyCleanup(plan, ApplyOptions{Wait: true, Progress: func(r StepResult) { seen = append(seen, r) }})
	if err != nil || st != StateNone {
		t.Fatalf("ApplyCleanup = %v, %v; want none", st, err)
	}
	if len(seen) != 2*len(plan.Steps) || !seen[0].DryRun || seen[len(seen)-1].DryRun {
		t.Fatalf("progress: %d results for %d steps", len(seen), len(plan.Steps))
	}
	for _, s := range seen {
		if s.Err != nil {
			t.Fatalf("step %+v failed: %v", s.Step, s.Err)
		}
	}
}

func TestCleanupRefusesHealthy(t *testing.T) {
	sim := startSim(t, scenarioPath(t, "healthy-v2.7.5-bootstrap"))
	c := open(t, Options{Kubeconfig: sim.Kubeconfig})
	r, err := c.Detect(context.Background())
	if err != nil || r.State != StateHealthy {
		t.Fatalf("Detect = %v, %v; want healthy", r, err)
	}
	if _, err := c.PlanCleanup(r, CleanupOptions{Force: true}); !errors.Is(err, ErrRefused) {
		t.Fatalf("PlanCleanup(healthy) = %v, want ErrRefused", err)
	}
}
