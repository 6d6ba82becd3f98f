package testutil

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreeAddr returns a loopback address ("127.0.0.1:port") whose port is
// free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreePort is FreeAddr's port.
func FreePort(t testing.TB) int {
	t.Helper()
	addr, err := net.ResolveTCPAddr("tcp", FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return addr.Port
}

// Buffer is an io.Writer safe for a process's stdout and stderr at once.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ExitCode is the exit code that err, from exec.Cmd's Run or Wait, stands
// for: 0 for nil, the code for an *exec.ExitError; any other error (the
// program could not start) fails the test.
func ExitCode(t testing.TB, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("run: %v", err)
	return -1
}

// Proc is a process a test started. Its output (stdout and stderr, unless
// the caller set them) is kept; cleanup kills it and, when the test
// failed, logs the tail of its output.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	Out  *Buffer
	done chan struct{}
	err  error
}

// Start starts cmd, named name in messages.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{Name: name, Cmd: cmd, Out: &Buffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Out
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			out := p.Out.String()
			if len(out) > 6000 {
				out = "…" + out[len(out)-6000:]
			}
			t.Logf("%s output (tail):\n%s", name, out)
		}
	})
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Code is the exit code, once Done is closed (-1 when a signal ended it).
func (p *Proc) Code() int {
	<-p.done
	return p.Cmd.ProcessState.ExitCode()
}

// Alive fails the test when the process has exited.
func (p *Proc) Alive(t testing.TB) {
	t.Helper()
	if p.Exited() {
		t.Fatalf("%s exited (%v):\n%s", p.Name, p.err, p.Out.String())
	}
}

// Stop sends sig and waits up to timeout for the exit; it returns the exit
// code and how long the exit took.
func (p *Proc) Stop(t testing.TB, sig syscall.Signal, timeout time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.Cmd.Process.Signal(sig); err != nil && !p.Exited() {
		t.Fatalf("signal %s: %v", p.Name, err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s of %v", p.Name, timeout, sig)
	}
	return p.Code(), time.Since(start)
}

// WaitHTTP waits until url answers 200, failing the test after timeout or
// when the process exits first.
func (p *Proc) WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, p.Name+" to answer "+url, []*Proc{p}, func() bool {
		code, _, err := HTTPGet(url)
		return err == nil && code == http.StatusOK
	})
}

// Eventually polls cond every 100ms until it holds, failing the test after
// timeout or as soon as one of procs has exited.
func Eventually(t testing.TB, timeout time.Duration, what string, procs []*Proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range procs {
			p.Alive(t)
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

// HTTPGet fetches url with a 5 s timeout and returns the status and body.
func HTTPGet(url string) (int, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
