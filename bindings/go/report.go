// SPDX-License-Identifier: MIT

package fluxstate

import (
	"encoding/json"
	"fmt"
)

// SchemaV1 is the report JSON schema this package decodes.
const SchemaV1 = "fluxstate.report/v1"

// State is the install state. The zero value is StateUnknown ("could not
// see enough"), never StateNone.
type State int

// Install states, as enum fluxstate_install_state.
const (
	StateUnknown  State = 0
	StateNone     State = 1
	StateResidual State = 2
	StatePartial  State = 3
	StateHealthy  State = 4
)

var stateNames = [...]string{"unknown", "none", "residual", "partial", "healthy"}

// String is the lower-case name used in JSON and by the CLI.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// MarshalText encodes the state as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name; an unknown name is an error rather
// than a silent StateUnknown.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown install state %q", b)
}

// Severity of a finding.
type Severity int

// Severities, as enum fluxstate_severity.
const (
	SeverityInfo    Severity = 0
	SeverityWarning Severity = 1
	SeverityError   Severity = 2
)

var severityNames = [...]string{"info", "warning", "error"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "error"
	}
	return severityNames[s]
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if n == string(b) {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", b)
}

// Finding flags, as the report JSON spells them.
const (
	FlagBlocksReinstall   = "blocks-reinstall"
	FlagBlocksFluxInstall = "blocks-flux-install"
	FlagFinalizerBlocked  = "finalizer-blocked"
	FlagNotVisible        = "not-visible"
	FlagNotFluxV2         = "not-flux-v2" // Flux v1 (category "flux-v1"): never cleaned up
)

// Finding is one piece of evidence. Namespace is "" for cluster-scoped
// objects; Name is "" when the finding is about a whole resource type (a
// blind spot).
type Finding struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	Category   string   `json:"category"`
	Problem    string   `json:"problem"`
	Severity   Severity `json:"severity"`
	Reason     string   `json:"reason"`
	Flags      []string `json:"flags"`
}

// HasFlag reports whether the finding carries flag (e.g. FlagNotVisible).
func (f *Finding) HasFlag(flag string) bool {
	for _, x := range f.Flags {
		if x == flag {
			return true
		}
	}
	return false
}

// Component is a Flux controller Deployment that was found.
type Component struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   string `json:"version"`
	Image     string `json:"image"`
	Ready     bool   `json:"ready"`
	Reason    string `json:"reason"`
}

// Kubernetes is the server version check.
type Kubernetes struct {
	ServerVersion string `json:"serverVersion"`
	FluxMinimum   string `json:"fluxMinimum"`
	// Supported is nil when it cannot be told.
	Supported *bool `json:"supported"`
}

// Report is the result of one Detect: plain data, decoded from the
// library's report JSON. JSON null strings become "".
type Report struct {
	Schema          string      `json:"schema"`
	State           State       `json:"state"`
	Summary         string      `json:"summary"`
	Action          string      `json:"action"`
	Namespace       string      `json:"namespace"`
	NamespaceSource string      `json:"namespaceSource"`
	Installer       string      `json:"installer"`
	ManagedBy       string      `json:"managedBy"`
	Bootstrapped    bool        `json:"bootstrapped"`
	Version         string      `json:"version"`
	Kubernetes      Kubernetes  `json:"kubernetes"`
	Components      []Component `json:"components"`
	Findings        []Finding   `json:"findings"`
	Requests        int         `json:"requests"`

	raw    json.RawMessage
	handle *reportHandle // the C report, kept for WaitForChange
}

// JSON returns the library's report JSON exactly as it produced it.
func (r *Report) JSON() []byte { return append([]byte(nil), r.raw...) }

func parseReport(b []byte) (*Report, error) {
	r := &Report{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, &Error{Code: CodeProtocol, Message: "cannot decode the report JSON: " + err.Error()}
	}
	if r.Schema != SchemaV1 {
		return nil, &Error{Code: CodeProtocol, Message: fmt.Sprintf("report schema %q, want %q", r.Schema, SchemaV1)}
	}
	r.raw = append(json.RawMessage(nil), b...)
	return r, nil
}
