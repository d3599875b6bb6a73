// An HTTPS server that speaks HTTP/2 (tests only; the simulator is
// HTTP/1.1). One log line per request: "<proto> <client addr> <path>".
// Every GET gets a one-item ConfigMapList after 300 ms, so concurrent
// requests overlap. Prints "listening on 127.0.0.1:PORT" once ready.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

const body = `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},` +
	`"items":[{"metadata":{"name":"a"}}]}`

func main() {
	cert := flag.String("cert", "", "server certificate (PEM)")
	key := flag.String("key", "", "server key (PEM)")
	logPath := flag.String("log", "", "request log")
	flag.Parse()
	logf, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Fprintf(logf, "%s %s %s\n", r.Proto, r.RemoteAddr, r.URL.Path)
		mu.Unlock()
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	})}
	fmt.Printf("listening on 127.0.0.1:%d\n", ln.Addr().(*net.TCPAddr).Port)
	// ServeTLS turns HTTP/2 on (ALPN h2, http/1.1)
	fmt.Fprintln(os.Stderr, srv.ServeTLS(ln, *cert, *key))
	os.Exit(1)
}
