// SPDX-License-Identifier: MIT

// Command precheck says whether a Flux release can be installed on the
// cluster of a kubeconfig (the Go side of `fluxstate check --flux-version`):
// the install state must allow it and the server must meet the release's
// Kubernetes minimum. Exit 0 yes, 1 no, 3 state unknown, 4 an error.
//
//	go run ./examples/precheck [-kubeconfig FILE] [-timeout 20s] v2.9.4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"libfluxstate.invalid/go/fluxstate"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: like kubectl)")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline of the probe")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintf(os.Stderr, "usage: %s [-kubeconfig FILE] [-timeout D] FLUX_VERSION\n", os.Args[0])
		os.Exit(2)
	}
	c, err := fluxstate.NewClient(fluxstate.Options{Kubeconfig: *kubeconfig})
	if err != nil {
		fmt.Fprintln(os.Stderr, "precheck:", err)
		os.Exit(4)
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	r, err := c.Detect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "precheck:", err)
		os.Exit(4)
	}
	ok, reason, err := r.CheckInstall(flag.Arg(0))
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "precheck:", err)
		os.Exit(2)
	case ok:
		fmt.Printf("can install Flux %s: %s\n", flag.Arg(0), reason)
	case r.State == fluxstate.StateUnknown:
		fmt.Fprintf(os.Stderr, "cannot tell: %s\n", reason)
		os.Exit(3)
	default:
		fmt.Fprintf(os.Stderr, "cannot install Flux %s: %s\n", flag.Arg(0), reason)
		os.Exit(1)
	}
}
