// SPDX-License-Identifier: MIT

// Command detect probes the cluster of a kubeconfig and prints the state
// and the findings, in the same text as docs/examples/c/detect.c and
// bindings/python/examples/detect.py.
//
//	go run ./examples/detect [KUBECONFIG]
//
// Ctrl-C stops the probe at once (signal.NotifyContext cancels ctx).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"libfluxstate.invalid/go/fluxstate"
)

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func main() {
	if len(os.Args) > 2 {
		fmt.Fprintf(os.Stderr, "usage: %s [KUBECONFIG]\n", os.Args[0])
		os.Exit(2)
	}
	var opts fluxstate.Options
	if len(os.Args) > 1 {
		opts.Kubeconfig = os.Args[1]
	}
	c, err := fluxstate.NewClient(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "detect: %s\n", err.(*fluxstate.Error).Message)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	r, err := c.Detect(ctx)
	stop()
	c.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "detect: %s\n", err.(*fluxstate.Error).Message)
		os.Exit(1)
	}
	fmt.Printf("state: %s\n", r.State)
	fmt.Printf("summary: %s\n", r.Summary)
	fmt.Printf("action: %s\n", r.Action)
	fmt.Printf("namespace: %s\n", orDash(r.Namespace))
	fmt.Printf("installer: %s\n", r.Installer)
	fmt.Printf("version: %s\n", orDash(r.Version))
	fmt.Printf("findings: %d\n", len(r.Findings))
	for _, f := range r.Findings {
		fmt.Printf("- %s %s/%s %s %s %s [%s]\n", f.Severity, f.Category, f.Problem, f.Kind,
			orDash(f.Namespace), orDash(f.Name), strings.Join(f.Flags, ","))
		fmt.Printf("  %s\n", f.Reason)
	}
}
