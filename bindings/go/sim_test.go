// SPDX-License-Identifier: MIT

package fluxstate

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The API simulator (tests/kubesim) and the scenarios come from meson's
// test environment; without it the tests that need a cluster skip.

func python() string {
	if p := os.Getenv("FLUXSTATE_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func needEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is not set (run through meson test)", name)
	}
	return v
}

func scenarioPath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(needEnv(t, "FLUXSTATE_SCENARIOS"), name)
	if _, err := os.Stat(filepath.Join(p, "scenario.yaml")); err != nil {
		t.Fatalf("scenario %s missing: %v", name, err)
	}
	return p
}

func helper(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(python(), append([]string{filepath.Join("testdata", "scenario.py")}, args...)...)
	cmd.Env = withoutPreload()
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("scenario.py %v: %v %s", args, err, msg)
	}
	return out
}

// withoutPreload keeps a sanitizer runtime out of the Python helpers.
func withoutPreload() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LD_PRELOAD=") {
			env = append(env, kv)
		}
	}
	return env
}

type expectation struct {
	Expect struct {
		State     string                   `json:"state"`
		Namespace *string                  `json:"namespace"`
		Installer *string                  `json:"installer"`
		Version   *string                  `json:"version"`
		Findings  []map[string]interface{} `json:"findings"`
		Absent    []map[string]interface{} `json:"absent"`
	} `json:"expect"`
}

func loadExpect(t *testing.T, dir string) expectation {
	t.Helper()
	var e expectation
	if err := json.Unmarshal(helper(t, "expect", dir), &e); err != nil {
		t.Fatalf("expect of %s: %v", dir, err)
	}
	return e
}

type simulator struct {
	cmd        *exec.Cmd
	dir        string
	Kubeconfig string
	Log        string
	URL        string
}

func startSim(t *testing.T, scenario string) *simulator {
	t.Helper()
	kubesim := needEnv(t, "FLUXSTATE_KUBESIM")
	dir := t.TempDir()
	s := &simulator{dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), Log: filepath.Join(dir, "requests.jsonl")}
	args := []string{kubesim, "--scenario", scenario, "--listen", "127.0.0.1:0",
		"--kubeconfig-out", s.Kubeconfig, "--log", s.Log}
	s.cmd = exec.Command(python(), args...)
	s.cmd.Env = withoutPreload()
	// A test binary killed by a sanitizer abort leaves no simulator behind.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stderr, err := os.Create(filepath.Join(dir, "kubesim.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	s.cmd.Stderr = stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "listening on ") {
				ready <- strings.TrimPrefix(line, "listening on ")
				break
			}
		}
		close(ready)
		for sc.Scan() {
		}
	}()
	select {
	case url, ok := <-ready:
		if ok {
			s.URL = url
			t.Cleanup(s.stop)
			return s
		}
	case <-time.After(20 * time.Second):
		s.stop()
		t.Fatalf("simulator did not start within 20s")
	}
	err = s.cmd.Wait()
	msg, _ := os.ReadFile(filepath.Join(dir, "kubesim.stderr"))
	t.Fatalf("simulator exited (%v): %s", err, msg)
	return nil
}

func (s *simulator) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// requests counts lines in the simulator's request log.
func (s *simulator) requests(t *testing.T) int {
	b, err := os.ReadFile(s.Log)
	if os.IsNotExist(err) {
		return 0
	} else if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

func (s *simulator) kubeconfigDoc(t *testing.T) map[string]interface{} {
	var doc map[string]interface{}
	if err := json.Unmarshal(helper(t, "tojson", s.Kubeconfig), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// secrets lists a kubeconfig's credential strings, to assert they never leak.
func secrets(doc map[string]interface{}) []string {
	var out []string
	users, _ := doc["users"].([]interface{})
	for _, u := range users {
		um, _ := u.(map[string]interface{})
		user, _ := um["user"].(map[string]interface{})
		for _, k := range []string{"token", "password", "client-key-data"} {
			if s, ok := user[k].(string); ok && len(s) >= 8 {
				out = append(out, s)
			}
		}
	}
	return out
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
