package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"milogin/internal/notify/smtptest"
)

// miloginBin is the binary that TestMain builds from ./cmd/milogin.
var miloginBin string

// osmisBin is the binary that TestMain builds from ./cmd/osmis.
var osmisBin string

// moduleDir is the root of the milogin module (the parent of e2e/).
var moduleDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := findModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleDir = dir

	tmp, err := os.MkdirTemp("", "milogin-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	// One build for the whole package; every test starts its own process.
	bin := filepath.Join(tmp, "milogin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/milogin")
	build.Dir = moduleDir
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/milogin: %v\n%s", err, out)
		return 1
	}
	miloginBin = bin

	// OSMIS as its own binary, for the journeys that stop one program and
	// not the other (`milogin demo` runs it in-process).
	obin := filepath.Join(tmp, "osmis")
	build = exec.Command("go", "build", "-o", obin, "./cmd/osmis")
	build.Dir = moduleDir
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/osmis: %v\n%s", err, out)
		return 1
	}
	osmisBin = obin
	return m.Run()
}

// findModuleRoot walks up from the package folder (go test's working
// directory) to the folder holding go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the e2e folder")
		}
		dir = parent
	}
}

// skipOrFail skips the test when a tool it needs is missing, except in CI
// (CI=true), where a missing tool is an installation bug and fails the test.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: .ci/run should have installed it)")
	}
	t.Skip(msg + " (run .ci/run, or install it; CI=true turns this skip into a failure)")
}

// server is one running `milogin serve --demo` process.
type server struct {
	// URL is the base URL, scheme and host, e.g. http://127.0.0.1:41235.
	URL string
	// Mail receives every email the server sends.
	Mail *smtptest.Server
	// Data is the server's --data folder.
	Data string

	logs *syncBuffer
}

// startServer starts milogin on a free port with a fresh data folder, demo
// accounts and an in-process SMTP server. The process is stopped when the
// test ends; its output is printed if the test failed.
func startServer(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	if miloginBin == "" {
		t.Fatal("e2e: the milogin binary was not built (TestMain did not run?)")
	}
	mail := smtptest.Start(t)
	data := t.TempDir()
	args := append([]string{
		"serve",
		"--addr", "127.0.0.1:0",
		"--data", data,
		"--smtp", mail.URL(),
		"--demo",
		"--metrics-addr", "127.0.0.1:0", // many servers run at once: no fixed port
	}, extraArgs...)

	logs := &syncBuffer{}
	cmd := exec.Command(miloginBin, args...)
	cmd.Dir = data
	cmd.Env = serverEnv()
	cmd.Stderr = logs
	// Should the test binary die, the kernel kills the server too: nothing
	// started here outlives the test run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := startLocked(cmd)
	if err != nil {
		t.Fatalf("starting %s: %v", miloginBin, err)
	}

	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintf(logs, "stdout: %s\n", line)
			if !found && strings.Contains(line, "running at") {
				if u := httpURL.FindString(line); u != "" {
					found = true
					urlc <- u
				}
			}
		}
		// Keep draining so the server never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()

	t.Cleanup(func() {
		exitedEarly := false
		select {
		case <-proc.done:
			exitedEarly = true
		default:
		}
		if exitedEarly {
			t.Errorf("milogin exited before the end of the test: %v", proc.err)
		} else if err := proc.stop(10 * time.Second); err != nil {
			t.Errorf("stopping milogin: %v", err)
		}
		if t.Failed() {
			t.Logf("milogin %s output:\n%s", strings.Join(args, " "), logs.String())
		}
	})

	var raw string
	select {
	case raw = <-urlc:
	case <-proc.done:
		t.Fatalf("milogin exited before printing its URL: %v", proc.err)
	case <-time.After(30 * time.Second):
		t.Fatal(`milogin printed no line containing "running at" within 30s`)
	}
	base, err := baseURL(raw)
	if err != nil {
		t.Fatalf("milogin printed %q: %v", raw, err)
	}
	s := &server{URL: base, Mail: mail, Data: data, logs: logs}
	s.waitHealthy(t, proc, 15*time.Second)
	return s
}

var httpURL = regexp.MustCompile(`https?://[^\s"'<>]+`)

// baseURL keeps the scheme and host of the URL the server printed.
func baseURL(raw string) (string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", errors.New("not a URL")
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" {
		return "", errors.New("no host")
	}
	return scheme + "://" + host, nil
}

// serverEnv is the test's environment without MILOGIN_* variables, so that a
// developer's (or CI's) settings never change what the server under test
// does: everything it needs is on its command line.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MILOGIN_") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *server) waitHealthy(t *testing.T, proc *process, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-proc.done:
			t.Fatalf("milogin exited while waiting for /healthz: %v", proc.err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("GET %s/healthz did not answer 200 within %v (last: %s)", s.URL, timeout, last)
}

// process is a started command whose Wait runs in its own goroutine.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// startLocked starts cmd from a goroutine locked to its OS thread, which
// waits for the process. Pdeathsig fires when the thread that started the
// child exits, not the process, so the thread must live as long as the child
// (https://go.dev/issue/27505).
func startLocked(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread exits with this goroutine, after
		// the child has been reaped.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// stop sends SIGTERM, waits up to grace for a graceful exit and kills the
// process if it hangs.
func (p *process) stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil // a signal-terminated exit status is fine here
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("no exit within %v of SIGTERM; killed", grace)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
