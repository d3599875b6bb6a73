// Servers for the comparing benchmark (tests/bench/compare.py); not a test.
//
//	benchsrv replay -upstream URL -upstream-ca FILE -dir DIR
//	    An HTTPS server (HTTP/2 and HTTP/1.1) that answers each request from
//	    memory: the first time a method+URI+Accept+Accept-Encoding is asked it
//	    is forwarded to the upstream (the simulator) with the caller's
//	    Authorization, and the answer is kept. So after one warm-up round
//	    every client measures itself, not the simulator. Writes DIR/ca.crt.
//	benchsrv delay -target HOST:PORT -delay 25ms
//	    A TCP proxy that holds every chunk for the delay in each direction
//	    (order kept), so handshakes pay the round trips too.
//
// Both print "listening on ADDR" once ready and run until killed.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

func die(err error) {
	fmt.Fprintln(os.Stderr, "benchsrv:", err)
	os.Exit(1)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func selfSigned(dir string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		die(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "benchsrv"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		die(err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), pemCert, 0o644); err != nil {
		die(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		die(err)
	}
	c, err := tls.X509KeyPair(pemCert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	if err != nil {
		die(err)
	}
	return c
}

func replay(args []string) {
	fs := flag.NewFlagSet("replay", flag.ExitOnError)
	upstream := fs.String("upstream", "", "upstream base URL")
	upstreamCA := fs.String("upstream-ca", "", "upstream CA (PEM)")
	dir := fs.String("dir", "", "where ca.crt is written")
	fs.Parse(args)
	pool := x509.NewCertPool()
	if ca, err := os.ReadFile(*upstreamCA); err != nil || !pool.AppendCertsFromPEM(ca) {
		die(fmt.Errorf("cannot use upstream CA %q: %v", *upstreamCA, err))
	}
	up := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		DisableCompression:  true, // pass the caller's Accept-Encoding and body through
		MaxIdleConnsPerHost: 16,
	}}
	var mu sync.Mutex
	cache := map[string]*answer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.RequestURI() + "\n" + r.Header.Get("Accept") + "\n" +
			r.Header.Get("Accept-Encoding") + "\n" + r.Header.Get("Authorization")
		mu.Lock()
		a := cache[key]
		mu.Unlock()
		if a == nil {
			req, err := http.NewRequest(r.Method, *upstream+r.URL.RequestURI(), nil)
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			for _, k := range []string{"Accept", "Accept-Encoding", "Authorization", "User-Agent"} {
				if v := r.Header.Get(k); v != "" {
					req.Header.Set(k, v)
				}
			}
			resp, err := up.Do(req)
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			a = &answer{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
			a.header.Del("Content-Length")
			a.header.Del("Connection")
			a.header.Del("Transfer-Encoding")
			mu.Lock()
			cache[key] = a
			mu.Unlock()
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
		w.WriteHeader(a.status)
		io.Copy(w, bytes.NewReader(a.body))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{selfSigned(*dir)},
		NextProtos:   []string{"h2", "http/1.1"},
	}}
	fmt.Printf("listening on https://%s\n", ln.Addr())
	os.Stdout.Sync()
	die(srv.ServeTLS(ln, "", ""))
}

type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst, each chunk delivered delay after it was read.
func pipe(dst, src net.Conn, delay time.Duration) {
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64*1024)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

func delayProxy(args []string) {
	fs := flag.NewFlagSet("delay", flag.ExitOnError)
	target := fs.String("target", "", "HOST:PORT to forward to")
	delay := fs.Duration("delay", 0, "added per direction")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	for {
		c, err := ln.Accept()
		if err != nil {
			die(err)
		}
		go func(c net.Conn) {
			u, err := net.Dial("tcp", *target)
			if err != nil {
				c.Close()
				return
			}
			done := make(chan struct{}, 2)
			go func() { pipe(u, c, *delay); done <- struct{}{} }()
			go func() { pipe(c, u, *delay); done <- struct{}{} }()
			<-done
			<-done
			c.Close()
			u.Close()
		}(c)
	}
}

func main() {
	if len(os.Args) < 2 {
		die(fmt.Errorf("usage: benchsrv replay|delay ..."))
	}
	switch os.Args[1] {
	case "replay":
		replay(os.Args[2:])
	case "delay":
		delayProxy(os.Args[2:])
	default:
		die(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}
